//! Traffic violation codes (违法代码, GA 408.1) and the table of common codes with their names in both
//! languages. The table is data (`offence_codes.tsv`, with its source named at the top): a violation
//! record carries its code, and the server sends the English name beside the record's Chinese wording
//! (`offenceEn`), so that the table stays out of the browser's WebAssembly module.

use serde::{Serialize, Serializer};
use std::fmt;

/// A violation code: four or five digits, the first naming the kind of road user (never 0).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OffenceCode(String);

impl OffenceCode {
    pub fn parse(text: &str) -> Result<Self, OffenceCodeError> {
        let text = text.trim();
        let well_formed = (4..=5).contains(&text.len())
            && text.bytes().all(|b| b.is_ascii_digit())
            && !text.starts_with('0');
        if !well_formed {
            return Err(OffenceCodeError {
                found: text.chars().take(16).collect(),
            });
        }
        Ok(OffenceCode(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OffenceCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for OffenceCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OffenceCodeError {
    pub found: String,
}

impl fmt::Display for OffenceCodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "“{}” is not a violation code (four or five digits)",
            self.found
        )
    }
}
impl std::error::Error for OffenceCodeError {}

/// One row of the table: the code as written and its names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Offence {
    pub code: &'static str,
    pub zh: &'static str,
    pub en: &'static str,
}

/// The table as shipped: tab-separated `code zh en`, `#` comments and blank lines skipped.
pub const OFFENCE_TABLE: &str = include_str!("offence_codes.tsv");

/// The table's data lines (not comments, not blank), each with its line number, for the tests.
pub fn offence_lines() -> impl Iterator<Item = (usize, &'static str)> {
    OFFENCE_TABLE
        .lines()
        .enumerate()
        .map(|(i, line)| (i + 1, line))
        .filter(|(_, line)| !line.trim().is_empty() && !line.starts_with('#'))
}

/// A data line as a row, when it has a valid code and both names.
pub fn parse_offence_line(line: &'static str) -> Option<Offence> {
    let mut cols = line.split('\t');
    let (code, zh, en) = (cols.next()?, cols.next()?, cols.next()?);
    if cols.next().is_some() || zh.trim().is_empty() || en.trim().is_empty() {
        return None;
    }
    OffenceCode::parse(code).ok()?;
    Some(Offence {
        code: code.trim(),
        zh: zh.trim(),
        en: en.trim(),
    })
}

/// Every row of the table, in its order.
pub fn offences() -> impl Iterator<Item = Offence> {
    offence_lines().filter_map(|(_, line)| parse_offence_line(line))
}

/// The row of one code, if the table has it.
pub fn offence(code: &OffenceCode) -> Option<Offence> {
    offences().find(|o| o.code == code.as_str())
}

/// The English name of a code as a record stores it, if it is a valid code in the table.
pub fn offence_name_en(code: &str) -> Option<&'static str> {
    OffenceCode::parse(code)
        .ok()
        .and_then(|c| offence(&c))
        .map(|o| o.en)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_of_the_table_has_a_valid_code_and_both_names() {
        let mut seen = std::collections::HashSet::new();
        let mut rows = 0;
        for (number, line) in offence_lines() {
            let row = parse_offence_line(line).unwrap_or_else(|| {
                panic!("offence_codes.tsv line {number} is not `code\\tzh\\ten`: {line}")
            });
            assert!(OffenceCode::parse(row.code).is_ok(), "line {number}");
            assert!(
                row.zh
                    .chars()
                    .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
                "line {number}: the Chinese name has no Chinese"
            );
            assert!(
                row.en.is_ascii(),
                "line {number}: the English name is not plain English"
            );
            assert!(seen.insert(row.code), "line {number}: {} twice", row.code);
            rows += 1;
        }
        assert!(rows >= 9, "{rows} rows");
    }

    #[test]
    fn the_demo_codes_are_in_the_table_and_a_missing_one_is_none() {
        for code in ["1625", "1636", "1039", "1042", "1344"] {
            let parsed = OffenceCode::parse(code).unwrap();
            assert!(offence(&parsed).is_some(), "{code}");
        }
        assert_eq!(offence(&OffenceCode::parse("19999").unwrap()), None);
        assert_eq!(
            offence_name_en("1625"),
            Some("Going against a traffic signal (running a red light)")
        );
        assert_eq!(offence_name_en("1352"), None);
        assert_eq!(offence_name_en("not a code"), None);
    }

    #[test]
    fn codes_are_four_or_five_digits_not_starting_with_zero() {
        assert_eq!(OffenceCode::parse(" 16250 ").unwrap().as_str(), "16250");
        for bad in ["", "162", "162500", "0625", "16a5", "１６２５"] {
            assert!(OffenceCode::parse(bad).is_err(), "{bad:?}");
        }
    }
}
