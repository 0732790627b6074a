//! Reading JSON text into typed values with errors that name the field at fault.

use serde::de::DeserializeOwned;

/// JSON that does not read as the expected type: the path of the first bad field and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    /// JSON path of the culprit, e.g. `violations[1].points`; empty for the whole value.
    pub path: String,
    pub problem: String,
    /// For text that is not JSON at all: the line and column (both from 1, the column in characters)
    /// where reading stopped.
    pub position: Option<(usize, usize)>,
}

/// Reads a contract value from JSON text: the value, or the path of the first bad field and the problem.
pub fn decode<T: DeserializeOwned>(text: &str) -> Result<T, DecodeError> {
    serde_json::from_str(text).map_err(|e| describe(text, &e))
}

/// Where and why reading failed. Not generic, so that one copy serves every type read.
fn describe(text: &str, e: &serde_json::Error) -> DecodeError {
    let offset = byte_offset(text, e.line(), e.column());
    let stop = path_at(text, offset);
    let mut problem = without_position(&e.to_string());
    let mut position = None;
    if e.is_syntax() || e.is_eof() {
        let (line, column) = (e.line(), char_column(text, offset));
        problem = format!("not valid JSON at line {line}, column {column}: {problem}");
        position = Some((line, column));
    }
    let missing = problem
        .strip_prefix("missing field `")
        .and_then(|r| r.strip_suffix('`'));
    // A value checked after reading (a vehicle's plate number against its plate type) names its
    // field itself: `plateNumber: …`.
    let named = match problem.split_once(": ") {
        Some((field, rest))
            if !field.is_empty() && field.bytes().all(|b| b.is_ascii_alphanumeric()) =>
        {
            Some((field, rest))
        }
        _ => None,
    };
    // Right after a closing bracket, serde_json's position means one of two things. A missing field,
    // or an object refused as a whole while more members follow it, is reported just after that
    // object. A value refused after it was read (an unknown code, a fractional amount, or an object
    // that is its parent's last member) is reported after its parent's closing bracket, since the
    // parent was finished first.
    // An array reads the comma after an element before it reports that element's error.
    let path = match (&stop.closed, stop.after_element) {
        (None, Some(element)) if missing.is_none() => element,
        (None, _) => stop.path,
        (Some(_), _) if missing.is_some() => stop.path,
        (Some(c), _) if named.is_some() && !c.member_was_container => stop.path,
        (Some(c), _) => c.member_path.clone(),
    };
    let join = |field: &str| {
        if path.is_empty() {
            field.to_owned()
        } else {
            format!("{path}.{field}")
        }
    };
    let (path, problem) = match (missing, named) {
        (Some(field), _) => (join(field), problem.clone()),
        (None, Some((field, rest))) => (join(field), rest.to_owned()),
        (None, None) => (path, problem),
    };
    DecodeError {
        path,
        problem,
        position,
    }
}

/// The column, in characters from 1, of the character at or just before byte `offset`.
fn char_column(text: &str, offset: usize) -> usize {
    let before = text.get(..offset.min(text.len())).unwrap_or(text);
    let line = before.rsplit_once('\n').map_or(before, |(_, line)| line);
    line.chars().count().max(1)
}

/// The byte offset of serde_json's error position (1-based line; column = bytes read on that line).
fn byte_offset(text: &str, line: usize, column: usize) -> usize {
    let line_start = text
        .bytes()
        .enumerate()
        .filter(|(_, b)| *b == b'\n')
        .nth(line.saturating_sub(2))
        .map_or(0, |(i, _)| i + 1);
    if line <= 1 {
        column
    } else {
        line_start + column
    }
}

enum Frame {
    Object {
        key: Option<String>,
        awaiting_key: bool,
    },
    Array {
        index: usize,
        started: bool,
    },
}

/// Where reading stopped.
struct Stop {
    /// The keys and indexes open at that point: `violations[1].points`.
    path: String,
    /// When the last thing read was a closing bracket: the path of that container's last member, and
    /// whether that member was itself a container.
    closed: Option<Closed>,
    /// When the last thing read was a comma between array elements: the element before it.
    after_element: Option<String>,
}

struct Closed {
    member_path: String,
    member_was_container: bool,
}

fn path_of(stack: &[Frame]) -> String {
    let mut path = String::new();
    for frame in stack {
        match frame {
            Frame::Object { key: Some(k), .. } => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
            }
            Frame::Array {
                index,
                started: true,
            } => path.push_str(&format!("[{index}]")),
            _ => {}
        }
    }
    path
}

/// Reads compact JSON text up to byte `offset`, keeping the open keys and indexes.
///
/// Finding the path this way after a failure, instead of tracking it during every read
/// (serde_path_to_error), keeps the common case fast and the module smaller.
fn path_at(text: &str, offset: usize) -> Stop {
    let bytes = text.as_bytes();
    let end = offset.min(bytes.len());
    let mut stack: Vec<Frame> = Vec::new();
    let mut closed: Option<Closed> = None;
    let mut after_element: Option<String> = None;
    let value_starts = |stack: &mut Vec<Frame>| {
        if let Some(Frame::Array { started, .. }) = stack.last_mut() {
            *started = true;
        }
    };
    let mut i = 0;
    while i < end {
        let b = bytes.get(i).copied().unwrap_or(b' ');
        let mut just_closed = None;
        let mut just_after_element = None;
        match b {
            b'{' => {
                value_starts(&mut stack);
                stack.push(Frame::Object {
                    key: None,
                    awaiting_key: true,
                });
            }
            b'[' => {
                value_starts(&mut stack);
                stack.push(Frame::Array {
                    index: 0,
                    started: false,
                });
            }
            b'}' | b']' => {
                just_closed = Some(Closed {
                    member_path: path_of(&stack),
                    member_was_container: closed.is_some(),
                });
                stack.pop();
            }
            b',' => {
                if matches!(stack.last(), Some(Frame::Array { .. })) {
                    just_after_element = Some(path_of(&stack));
                }
                match stack.last_mut() {
                    Some(Frame::Object { key, awaiting_key }) => {
                        *key = None;
                        *awaiting_key = true;
                    }
                    Some(Frame::Array { index, .. }) => *index += 1,
                    None => {}
                }
            }
            b'"' => {
                let close = string_end(bytes, i);
                match stack.last_mut() {
                    Some(Frame::Object { key, awaiting_key }) if *awaiting_key => {
                        *key = text
                            .get(i..close)
                            .and_then(|t| serde_json::from_str(t).ok());
                        *awaiting_key = false;
                    }
                    _ => value_starts(&mut stack),
                }
                closed = None;
                after_element = None;
                i = close;
                continue;
            }
            b' ' | b'\t' | b'\n' | b'\r' => {
                i += 1;
                continue;
            }
            b':' => {}
            _ => value_starts(&mut stack),
        }
        closed = just_closed;
        after_element = just_after_element;
        i += 1;
    }
    Stop {
        path: path_of(&stack),
        closed,
        after_element,
    }
}

/// The index just after the string that opens at `start`.
fn string_end(bytes: &[u8], start: usize) -> usize {
    let mut j = start + 1;
    while let Some(&b) = bytes.get(j) {
        match b {
            b'\\' => j += 2,
            b'"' => return j + 1,
            _ => j += 1,
        }
    }
    bytes.len()
}

/// serde_json ends its messages with "at line 1 column 345", which means nothing to a caller who passed an
/// object rather than text.
fn without_position(message: &str) -> String {
    match message.rsplit_once(" at line ") {
        Some((head, tail))
            if tail
                .split(" column ")
                .all(|n| n.bytes().all(|b| b.is_ascii_digit())) =>
        {
            head.to_owned()
        }
        _ => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::{BindingCall, RouteCall};

    const VEHICLE: &str = r#"{"id":"v","plateType":"02","plateNumber":"粤S12345","ownerKind":"individual","useNature":"A"}"#;

    fn route_call(violations: &str) -> String {
        format!(
            r#"{{"person":{{"id":"u"}},"vehicle":{VEHICLE},"channel":"app","now":"2026-09-01T00:00:00Z","violations":[{violations}]}}"#
        )
    }

    fn violation(id: &str, points: &str) -> String {
        format!(
            r#"{{"id":"{id}","vehicleId":"v","occurredAt":"2026-08-01T00:00:00Z","points":{points},"fineFen":100,"source":"device","state":"unhandled"}}"#
        )
    }

    #[test]
    fn names_the_bad_element_of_a_list() {
        let text = route_call(
            &[
                violation("a", "3"),
                violation("b", "4"),
                violation("c", "3"),
            ]
            .join(","),
        );
        let e = decode::<RouteCall>(&text).unwrap_err();
        assert_eq!(e.path, "violations[1].points", "{e:?}");
        let text = route_call(&[violation("a", "3"), violation("b", "4")].join(","));
        assert_eq!(
            decode::<RouteCall>(&text).unwrap_err().path,
            "violations[1].points"
        );
    }

    #[test]
    fn names_unknown_and_missing_fields() {
        let text = route_call("").replace(r#""channel":"app""#, r#""channel":"app","chanel":1"#);
        let e = decode::<RouteCall>(&text).unwrap_err();
        assert!(e.problem.contains("chanel"), "{e:?}");
        let e = decode::<BindingCall>(r#"{"binder":{"id":"u"}}"#).unwrap_err();
        assert_eq!(
            (e.path.as_str(), e.problem.as_str()),
            ("vehicle", "missing field `vehicle`")
        );
    }

    #[test]
    fn refuses_empty_ids_naming_the_field() {
        let text = route_call(&violation("a", "3")).replace(r#""id":"u""#, r#""id":"""#);
        let e = decode::<RouteCall>(&text).unwrap_err();
        assert_eq!(
            (e.path.as_str(), e.problem.as_str()),
            ("person.id", "an id cannot be empty")
        );
        let text = route_call(&violation("a", "3")).replace(r#""id":"v""#, r#""id":"""#);
        assert_eq!(decode::<RouteCall>(&text).unwrap_err().path, "vehicle.id");
        let text = route_call(&violation("", "3"));
        assert_eq!(
            decode::<RouteCall>(&text).unwrap_err().path,
            "violations[0].id"
        );
        let text = route_call(&violation("a", "3"))
            .replace(r#""useNature":"A""#, r#""useNature":"A","ownerId":"""#);
        assert_eq!(
            decode::<RouteCall>(&text).unwrap_err().path,
            "vehicle.ownerId"
        );
        let text = route_call(&violation("a", "3"))
            .replace(r#""useNature":"A""#, r#""useNature":"A","ownerId":null"#);
        assert!(
            decode::<RouteCall>(&text).is_ok(),
            "no owner on record is not an empty id"
        );
    }

    #[test]
    fn refuses_an_unhandled_violation_with_a_decision_date() {
        let decided = violation("a", "3").replace(
            r#""state":"unhandled""#,
            r#""state":"unhandled","decidedAt":"2026-08-02T00:00:00Z""#,
        );
        let e = decode::<RouteCall>(&route_call(&decided)).unwrap_err();
        assert_eq!(e.path, "violations[0].decidedAt", "{e:?}");
        assert!(
            e.problem
                .starts_with("an unhandled violation has no penalty decision"),
            "{e:?}"
        );
        let handled = decided.replace(r#""state":"unhandled""#, r#""state":"handled""#);
        assert!(decode::<RouteCall>(&route_call(&handled)).is_ok());
    }

    #[test]
    fn says_when_the_text_is_not_json() {
        let e = decode::<BindingCall>(r#"{"binder":"#).unwrap_err();
        assert!(
            e.problem
                .starts_with("not valid JSON at line 1, column 10: "),
            "{e:?}"
        );
        assert_eq!(e.position, Some((1, 10)));
        // Text typed by hand: the line and the column in characters, not bytes.
        let e = decode::<BindingCall>("{\n  \"binder\": {\"id\": \"人车\" x").unwrap_err();
        assert_eq!(e.position, Some((2, 25)), "{e:?}");
        assert!(e.problem.contains("line 2, column 25"), "{e:?}");
        let e = decode::<BindingCall>(r#"{"binder":{"id":7}}"#).unwrap_err();
        assert_eq!(e.path, "binder.id");
        assert!(!e.problem.starts_with("not valid JSON"), "{e:?}");
        assert_eq!(e.position, None);
    }
}
