//! Moving contract values across the boundary.
//!
//! Inputs go through `JSON.stringify` and `serde_json`, outputs through `serde_json` and `JSON.parse`. For
//! a 10,000-violation route call this measured as fast as, or faster than, walking the JS objects field by
//! field with `serde-wasm-bindgen` (docs/benchmarks.md), with less code. Route answers add one step of
//! their own (`packed.rs`).

use serde::de::DeserializeOwned;
use serde::Serialize;
use wasm_bindgen::prelude::*;

/// A JS `Error` for input that is not a valid call. `field` is the JSON path of the culprit (empty for the
/// whole value), also set as the error's `field` property so callers can highlight it.
pub fn input_error(what: &str, field: &str, problem: &str) -> JsValue {
    let message = if field.is_empty() {
        format!("{what}: {problem}")
    } else {
        format!("{what}: field `{field}`: {problem}")
    };
    let error = js_sys::Error::new(&message);
    // Setting a plain data property on a fresh Error cannot fail; ignore the impossible case.
    let _ = js_sys::Reflect::set(
        &error,
        &JsValue::from_str("field"),
        &JsValue::from_str(field),
    );
    error.into()
}

/// `JSON.stringify(value)`, or an error naming `what` when the value has no JSON form.
pub fn stringify(value: &JsValue, what: &str) -> Result<String, JsValue> {
    let text = js_sys::JSON::stringify(value).map_err(|e| {
        let problem = e
            .dyn_ref::<js_sys::Error>()
            .map(|e| String::from(e.message()))
            .unwrap_or_default();
        input_error(what, "", &format!("not convertible to JSON ({problem})"))
    })?;
    // `JSON.stringify(undefined)` (and of a function) answers `undefined`, not a string.
    JsValue::from(text)
        .as_string()
        .ok_or_else(|| input_error(what, "", "expected an object, got undefined"))
}

/// Reads a contract value from JSON text: the value, or the path of the first bad field and the problem.
pub fn decode<T: DeserializeOwned>(text: &str) -> Result<T, (String, String)> {
    // Tracking the path costs about a tenth of a large call; only a failed read needs it, so read again.
    serde_json::from_str(text).or_else(|_| decode_with_path(text))
}

fn decode_with_path<T: DeserializeOwned>(text: &str) -> Result<T, (String, String)> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let path = if path == "." { String::new() } else { path };
        let problem = without_position(&e.into_inner().to_string());
        let join = |field: &str| {
            if path.is_empty() {
                field.to_owned()
            } else {
                format!("{path}.{field}")
            }
        };
        // The path stops at the object for a missing field, and for a value checked after reading (a
        // vehicle's plate number against its plate type, reported as `plateNumber: …`): name the field.
        if let Some(field) = problem
            .strip_prefix("missing field `")
            .and_then(|r| r.strip_suffix('`'))
        {
            return (join(field), problem.clone());
        }
        match problem.split_once(": ") {
            Some((field, rest))
                if !field.is_empty() && field.bytes().all(|b| b.is_ascii_alphanumeric()) =>
            {
                (join(field), rest.to_owned())
            }
            _ => (path, problem),
        }
    })?;
    de.end()
        .map_err(|e| (String::new(), without_position(&e.to_string())))?;
    Ok(value)
}

/// Reads a contract value from a JS value; errors name `what` (the export) and the field.
pub fn from_js<T: DeserializeOwned>(value: &JsValue, what: &str) -> Result<T, JsValue> {
    decode(&stringify(value, what)?).map_err(|(field, problem)| input_error(what, &field, &problem))
}

/// Reads one plain argument of an export; errors name the argument.
pub fn arg<T: DeserializeOwned>(value: &JsValue, what: &str, name: &str) -> Result<T, JsValue> {
    decode(&stringify(value, what)?).map_err(|(_, problem)| input_error(what, name, &problem))
}

/// Writes a contract value as a plain JS object (no Maps, no BigInts).
pub fn to_js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, JsValue> {
    let text = serde_json::to_string(value)
        .map_err(|e| js_sys::Error::new(&format!("cannot encode answer: {e}")))?;
    js_sys::JSON::parse(&text)
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
