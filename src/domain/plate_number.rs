//! Plate number (号牌号码), GA 36-2018: normalised from what people type, checked against its plate type.

use super::plate_type::PlateType;
use crate::message::{Explain, Message, Params};
use crate::params;
use serde::{Serialize, Serializer};
use std::fmt;

/// The 31 province abbreviations that open a civil plate.
/// An array rather than a string: testing a character against it decodes nothing.
pub const PROVINCES: [char; 31] = [
    '京', '津', '冀', '晋', '蒙', '辽', '吉', '黑', '沪', '苏', '浙', '皖', '闽', '赣', '鲁', '豫',
    '鄂', '湘', '粤', '桂', '琼', '渝', '川', '贵', '云', '藏', '陕', '甘', '青', '宁', '新',
];

/// Serial letters of a small NEV plate: pure electric, then not pure electric.
const NEV_ELECTRIC: &str = "DABCE";
const NEV_HYBRID: &str = "FGHJK";

/// A plate number in normal form (`粤S12345`), valid for the plate type it was parsed with.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PlateNumber {
    normal: String,
    plate_type: PlateType,
}

/// What is wrong with a typed plate number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PlateNumberError {
    Empty,
    UnknownProvince {
        found: String,
    },
    InvalidAuthority {
        found: String,
    },
    WrongLength {
        plate_type: PlateType,
        expected: usize,
        found: usize,
    },
    InvalidSerialCharacter {
        position: usize,
        found: String,
    },
    InvalidEnergyLetter {
        found: String,
    },
    WrongSuffix {
        plate_type: PlateType,
        expected: char,
    },
    InvalidCharacter {
        found: String,
    },
}

/// Folds what people type into the normal form: full-width to ASCII, upper case, no spaces or dots.
pub fn normalise(input: &str) -> String {
    // Most plates arrive in normal form (from a record, not a keyboard): copied as they are, without
    // building the string a character at a time.
    if input.chars().all(|c| fold(c) == Some(c)) {
        return input.to_owned();
    }
    input.chars().filter_map(fold).collect()
}

/// One character in normal form, or `None` for one that is dropped.
fn fold(c: char) -> Option<char> {
    let c = match c {
        // Full-width ASCII block (Ａ, １ …) to ASCII.
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0)?,
        other => other,
    };
    match c {
        ' ' | '\t' | '\u{3000}' | '\u{00A0}' | '·' | '・' | '•' | '.' | '-' | '\u{2027}' => {
            None
        }
        c => Some(c.to_ascii_uppercase()),
    }
}

/// Whether `c` is one of the characters of `set`. A character loop: `str::contains` with a multi-byte
/// character starts a substring search, which costs more than the few characters of these sets.
fn one_of(set: &str, c: char) -> bool {
    set.chars().any(|s| s == c)
}

fn is_serial_char(c: char) -> bool {
    (c.is_ascii_digit() || c.is_ascii_uppercase()) && c != 'I' && c != 'O'
}

impl PlateNumber {
    pub fn parse(input: &str, plate_type: PlateType) -> Result<Self, PlateNumberError> {
        let normal = normalise(input);
        // A valid plate is at most 10 characters (the lenient types), so a buffer of 11 holds every one
        // that can pass, and `len` counts the rest; no allocation for the characters.
        let mut buf = ['\0'; 11];
        let mut len = 0;
        for c in normal.chars() {
            if let Some(slot) = buf.get_mut(len) {
                *slot = c;
            }
            len += 1;
        }
        let chars = buf.get(..len).unwrap_or(&buf);
        let Some(&first) = chars.first() else {
            return Err(PlateNumberError::Empty);
        };
        let lenient = !matches!(
            plate_type,
            PlateType::SmallCar
                | PlateType::LargeCar
                | PlateType::SmallNewEnergy
                | PlateType::LargeNewEnergy
                | PlateType::Trailer
                | PlateType::CoachCar
        );
        if lenient {
            // Plate types outside the civil formats (embassy, military, temporary …) are kept as typed,
            // within sane bounds: they never reach the online rules.
            if len > 10
                || !chars
                    .iter()
                    .all(|c| c.is_ascii_alphanumeric() || !c.is_ascii())
            {
                return Err(PlateNumberError::InvalidCharacter { found: normal });
            }
            return Ok(Self { normal, plate_type });
        }
        if !PROVINCES.contains(&first) {
            return Err(PlateNumberError::UnknownProvince {
                found: first.to_string(),
            });
        }
        match chars.get(1) {
            // O is issued by at least one province for provincial organs; I never is.
            Some(&a) if a.is_ascii_uppercase() && a != 'I' => {}
            Some(&a) => {
                return Err(PlateNumberError::InvalidAuthority {
                    found: a.to_string(),
                })
            }
            None => {
                return Err(PlateNumberError::WrongLength {
                    plate_type,
                    expected: expected_len(plate_type),
                    found: 1,
                })
            }
        }
        let expected = expected_len(plate_type);
        if len != expected {
            return Err(PlateNumberError::WrongLength {
                plate_type,
                expected,
                found: len,
            });
        }
        let serial = chars.get(2..).unwrap_or_default();
        match plate_type {
            PlateType::SmallNewEnergy => {
                let mut it = serial.iter().enumerate();
                if let Some((_, &e)) = it.next() {
                    if !one_of(NEV_ELECTRIC, e) && !one_of(NEV_HYBRID, e) {
                        return Err(PlateNumberError::InvalidEnergyLetter {
                            found: e.to_string(),
                        });
                    }
                }
                for (i, &c) in it {
                    let ok = if i == 1 {
                        is_serial_char(c)
                    } else {
                        c.is_ascii_digit()
                    };
                    if !ok {
                        return Err(PlateNumberError::InvalidSerialCharacter {
                            position: i + 3,
                            found: c.to_string(),
                        });
                    }
                }
            }
            PlateType::LargeNewEnergy => {
                for (i, &c) in serial.iter().enumerate() {
                    let ok = if i == 5 {
                        one_of(NEV_ELECTRIC, c) || one_of(NEV_HYBRID, c)
                    } else {
                        c.is_ascii_digit()
                    };
                    if !ok {
                        return Err(if i == 5 {
                            PlateNumberError::InvalidEnergyLetter {
                                found: c.to_string(),
                            }
                        } else {
                            PlateNumberError::InvalidSerialCharacter {
                                position: i + 3,
                                found: c.to_string(),
                            }
                        });
                    }
                }
            }
            PlateType::Trailer | PlateType::CoachCar => {
                let suffix = if plate_type == PlateType::Trailer {
                    '挂'
                } else {
                    '学'
                };
                let (last, body) = serial.split_last().unwrap_or((&' ', &[]));
                if *last != suffix {
                    return Err(PlateNumberError::WrongSuffix {
                        plate_type,
                        expected: suffix,
                    });
                }
                check_serial(body)?;
            }
            _ => check_serial(serial)?,
        }
        Ok(Self { normal, plate_type })
    }

    /// A plate read without its type, as an officer types it off a licence: the plate under each civil type
    /// whose format it fits (small car first, the order of [`PlateType::ALL`]). When it fits none, the
    /// small-car reading's error says why, since that is the plate most people carry.
    pub fn parse_untyped(input: &str) -> Result<Vec<Self>, PlateNumberError> {
        let civil = [
            PlateType::SmallCar,
            PlateType::SmallNewEnergy,
            PlateType::LargeCar,
            PlateType::LargeNewEnergy,
            PlateType::Trailer,
            PlateType::CoachCar,
        ];
        let fitting: Vec<Self> = civil
            .iter()
            .filter_map(|&t| Self::parse(input, t).ok())
            .collect();
        if fitting.is_empty() {
            // The lenient types (embassy, police …) take almost anything; only a civil format error helps.
            return Err(Self::parse(input, PlateType::SmallCar)
                .err()
                .unwrap_or(PlateNumberError::Empty));
        }
        Ok(fitting)
    }

    /// Normal form, as stored and compared: `粤S12345`.
    pub fn as_str(&self) -> &str {
        &self.normal
    }
    pub fn plate_type(&self) -> PlateType {
        self.plate_type
    }
    /// Display form with the separating dot: `粤S·12345`.
    pub fn display(&self) -> String {
        let mut it = self.normal.chars();
        match (it.next(), it.next()) {
            (Some(p), Some(a)) if PROVINCES.contains(&p) => format!("{p}{a}·{}", it.as_str()),
            _ => self.normal.clone(),
        }
    }
    /// Masked display form shown to someone who is not the owner: `粤S·1**45`.
    pub fn masked(&self) -> String {
        mask_plate(&self.normal)
    }
}

/// Masks a normal-form plate: province and authority, then the serial's first and last two characters.
pub fn mask_plate(normal: &str) -> String {
    let chars: Vec<char> = normal.chars().collect();
    if chars.len() < 5 {
        return "*".repeat(chars.len());
    }
    let head: String = chars.iter().take(2).collect();
    let serial = chars.get(2..).unwrap_or_default();
    let keep_front = if serial.len() >= 6 { 2 } else { 1 };
    let mut out = head;
    out.push('·');
    for (i, c) in serial.iter().enumerate() {
        if i < keep_front || i + 2 >= serial.len() {
            out.push(*c);
        } else {
            out.push('*');
        }
    }
    out
}

fn expected_len(t: PlateType) -> usize {
    match t {
        PlateType::SmallNewEnergy | PlateType::LargeNewEnergy => 8,
        _ => 7,
    }
}

fn check_serial(serial: &[char]) -> Result<(), PlateNumberError> {
    for (i, &c) in serial.iter().enumerate() {
        if !is_serial_char(c) {
            return Err(PlateNumberError::InvalidSerialCharacter {
                position: i + 3,
                found: c.to_string(),
            });
        }
    }
    Ok(())
}

impl Explain for PlateNumberError {
    fn code(&self) -> &'static str {
        match self {
            Self::Empty => "PLATE_NUMBER_EMPTY",
            Self::UnknownProvince { .. } => "PLATE_UNKNOWN_PROVINCE",
            Self::InvalidAuthority { .. } => "PLATE_INVALID_AUTHORITY",
            Self::WrongLength { .. } => "PLATE_WRONG_LENGTH",
            Self::InvalidSerialCharacter { .. } => "PLATE_INVALID_CHARACTER",
            Self::InvalidEnergyLetter { .. } => "PLATE_INVALID_ENERGY_LETTER",
            Self::WrongSuffix { .. } => "PLATE_WRONG_SUFFIX",
            Self::InvalidCharacter { .. } => "PLATE_INVALID_CHARACTER",
        }
    }
    fn params(&self) -> Params {
        match self {
            Self::Empty => params![],
            Self::UnknownProvince { found }
            | Self::InvalidAuthority { found }
            | Self::InvalidEnergyLetter { found } => {
                params![found = found.as_str()]
            }
            Self::InvalidCharacter { found } => params![found = found.as_str()],
            Self::WrongLength {
                plate_type,
                expected,
                found,
            } => {
                params![
                    plateType = plate_type.code(),
                    expected = *expected as i64,
                    found = *found as i64
                ]
            }
            Self::InvalidSerialCharacter { position, found } => {
                params![position = *position as i64, found = found.as_str()]
            }
            Self::WrongSuffix {
                plate_type,
                expected,
            } => {
                params![
                    plateType = plate_type.code(),
                    expected = expected.to_string()
                ]
            }
        }
    }
    fn message(&self) -> Message {
        match self {
            Self::Empty => Message::new("请输入号牌号码", "Enter the plate number"),
            Self::UnknownProvince { found } => Message::new(
                format!("号牌应以省份简称开头(如 粤、京),“{found}”不是省份简称"),
                format!("A plate starts with a province abbreviation (such as 粤 or 京); “{found}” is not one"),
            ),
            Self::InvalidAuthority { found } => Message::new(
                format!("第2位应为发牌机关字母(A–Z,不含 I),不能是“{found}”"),
                format!("The 2nd character is the issuing-authority letter (A–Z, not I), not “{found}”"),
            ),
            Self::WrongLength { plate_type, expected, found } => Message::new(
                format!("{}号牌应为{expected}位,现为{found}位", plate_type.name_zh()),
                format!("A {} plate has {expected} characters; this one has {found}", plate_type.name_en().to_ascii_lowercase()),
            ),
            Self::InvalidSerialCharacter { position, found } => Message::new(
                format!("第{position}位“{found}”无效:序号只能是数字和字母,且不含 I、O"),
                format!("Character {position} (“{found}”) is not allowed: the serial uses digits and letters other than I and O"),
            ),
            Self::InvalidEnergyLetter { found } => Message::new(
                format!("新能源号牌的能源字母应为 D、A、B、C、E(纯电动)或 F、G、H、J、K(非纯电动),不能是“{found}”"),
                format!("A new-energy plate's energy letter is D, A, B, C, E (pure electric) or F, G, H, J, K (other), not “{found}”"),
            ),
            Self::WrongSuffix { plate_type, expected } => Message::new(
                format!("{}号牌应以“{expected}”结尾", plate_type.name_zh()),
                format!("A {} plate ends in “{expected}”", plate_type.name_en().to_ascii_lowercase()),
            ),
            Self::InvalidCharacter { found } => Message::new(
                format!("号牌号码“{found}”含有无效字符或过长"),
                format!("The plate number “{found}” has characters that are not allowed or is too long"),
            ),
        }
    }
}

impl fmt::Display for PlateNumberError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message().en)
    }
}
impl std::error::Error for PlateNumberError {}

impl fmt::Display for PlateNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.normal)
    }
}

impl Serialize for PlateNumber {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.normal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_what_people_type() {
        let p = PlateNumber::parse(" 粤s·１２3 45 ", PlateType::SmallCar).unwrap();
        assert_eq!(p.as_str(), "粤S12345");
        assert_eq!(p.display(), "粤S·12345");
        assert_eq!(p.masked(), "粤S·1**45");
    }

    #[test]
    fn a_plate_without_its_type_reads_under_each_civil_type_it_fits() {
        let types = |input: &str| -> Vec<PlateType> {
            PlateNumber::parse_untyped(input)
                .unwrap()
                .iter()
                .map(PlateNumber::plate_type)
                .collect()
        };
        // Five serial characters fit a small and a large car; a new-energy plate only the new-energy types.
        assert_eq!(
            types("粤s·12345"),
            vec![PlateType::SmallCar, PlateType::LargeCar]
        );
        assert_eq!(types("粤SD12345"), vec![PlateType::SmallNewEnergy]);
        assert_eq!(types("粤S1234学"), vec![PlateType::CoachCar]);
        let all = PlateNumber::parse_untyped("粤s 12345").unwrap();
        assert!(all.iter().all(|p| p.as_str() == "粤S12345"));
        assert!(matches!(
            PlateNumber::parse_untyped("港S12345"),
            Err(PlateNumberError::UnknownProvince { .. })
        ));
        assert_eq!(PlateNumber::parse_untyped(""), Err(PlateNumberError::Empty));
    }

    #[test]
    fn small_car_rules() {
        assert!(PlateNumber::parse("京A8B2C9", PlateType::SmallCar).is_ok());
        assert!(PlateNumber::parse("鲁O12345", PlateType::SmallCar).is_ok());
        assert!(matches!(
            PlateNumber::parse("粤S1234", PlateType::SmallCar),
            Err(PlateNumberError::WrongLength {
                expected: 7,
                found: 6,
                ..
            })
        ));
        assert!(matches!(
            PlateNumber::parse("粤S12O45", PlateType::SmallCar),
            Err(PlateNumberError::InvalidSerialCharacter { position: 5, .. })
        ));
        assert!(matches!(
            PlateNumber::parse("港S12345", PlateType::SmallCar),
            Err(PlateNumberError::UnknownProvince { .. })
        ));
        assert!(matches!(
            PlateNumber::parse("粤I12345", PlateType::SmallCar),
            Err(PlateNumberError::InvalidAuthority { .. })
        ));
        assert_eq!(
            PlateNumber::parse("  ", PlateType::SmallCar),
            Err(PlateNumberError::Empty)
        );
    }

    #[test]
    fn small_nev_rules() {
        let p = PlateNumber::parse("粤SD12345", PlateType::SmallNewEnergy).unwrap();
        assert_eq!(p.masked(), "粤S·D1**45");
        assert!(PlateNumber::parse("粤SFA1234", PlateType::SmallNewEnergy).is_ok());
        assert!(matches!(
            PlateNumber::parse("沪AF1234", PlateType::SmallNewEnergy),
            Err(PlateNumberError::WrongLength {
                expected: 8,
                found: 7,
                ..
            })
        ));
        assert!(matches!(
            PlateNumber::parse("粤SL12345", PlateType::SmallNewEnergy),
            Err(PlateNumberError::InvalidEnergyLetter { .. })
        ));
        assert!(matches!(
            PlateNumber::parse("粤SD1234A", PlateType::SmallNewEnergy),
            Err(PlateNumberError::InvalidSerialCharacter { position: 8, .. })
        ));
        // A small-car plate is not a small NEV plate.
        assert!(PlateNumber::parse("粤S12345", PlateType::SmallNewEnergy).is_err());
    }

    #[test]
    fn large_nev_and_suffix_plates() {
        assert!(PlateNumber::parse("粤S12345D", PlateType::LargeNewEnergy).is_ok());
        assert!(PlateNumber::parse("粤S1234挂", PlateType::Trailer).is_ok());
        assert!(matches!(
            PlateNumber::parse("粤S12345", PlateType::Trailer),
            Err(PlateNumberError::WrongSuffix { .. })
        ));
    }
}
