//! Resident ID number (GB 11643-1999) and mainland mobile number.

use crate::message::{Explain, Message, Params};
use crate::params;
use crate::time::CstDate;
use serde::{Serialize, Serializer};
use std::fmt;

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK_CHARS: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];

/// An 18-character resident ID number with a valid check character and birth date.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ResidentId(String);

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResidentIdError {
    WrongLength { found: usize },
    NotDigits,
    ImpossibleBirthDate,
    WrongCheckCharacter { expected: char, found: char },
}

impl ResidentId {
    pub fn parse(input: &str) -> Result<Self, ResidentIdError> {
        let s: String = crate::domain::plate_number::normalise(input);
        let chars: Vec<char> = s.chars().collect();
        if chars.len() != 18 {
            return Err(ResidentIdError::WrongLength { found: chars.len() });
        }
        let (body, last) = chars.split_at(17);
        let digits: Option<Vec<u32>> = body.iter().map(|c| c.to_digit(10)).collect();
        let digits = digits.ok_or(ResidentIdError::NotDigits)?;
        let found = last.first().copied().unwrap_or(' ');
        if !(found.is_ascii_digit() || found == 'X') {
            return Err(ResidentIdError::NotDigits);
        }
        let num = |from: usize, to: usize| -> i64 {
            digits
                .get(from..to)
                .unwrap_or_default()
                .iter()
                .fold(0i64, |acc, d| acc * 10 + i64::from(*d))
        };
        let (y, m, d) = (num(6, 10), num(10, 12), num(12, 14));
        if !(1900..=2100).contains(&y) || CstDate::from_ymd(y, m, d).is_none() {
            return Err(ResidentIdError::ImpossibleBirthDate);
        }
        let sum: u32 = digits.iter().zip(WEIGHTS.iter()).map(|(d, w)| d * w).sum();
        let expected = CHECK_CHARS.get((sum % 11) as usize).copied().unwrap_or('?');
        if expected != found {
            return Err(ResidentIdError::WrongCheckCharacter { expected, found });
        }
        Ok(Self(s))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn birth_date(&self) -> Option<CstDate> {
        let n = |a: usize, b: usize| self.0.get(a..b).and_then(|x| x.parse::<i64>().ok());
        CstDate::from_ymd(n(6, 10)?, n(10, 12)?, n(12, 14)?)
    }
    /// `4419**********123X`: area prefix and last four kept.
    pub fn masked(&self) -> String {
        self.0
            .chars()
            .enumerate()
            .map(|(i, c)| if (4..14).contains(&i) { '*' } else { c })
            .collect()
    }
}

impl Explain for ResidentIdError {
    fn code(&self) -> &'static str {
        match self {
            Self::WrongLength { .. } => "RESIDENT_ID_WRONG_LENGTH",
            Self::NotDigits => "RESIDENT_ID_INVALID_CHARACTER",
            Self::ImpossibleBirthDate => "RESIDENT_ID_INVALID_BIRTH_DATE",
            Self::WrongCheckCharacter { .. } => "RESIDENT_ID_WRONG_CHECK_CHARACTER",
        }
    }
    fn params(&self) -> Params {
        match self {
            Self::WrongLength { found } => params![expected = 18i64, found = *found as i64],
            _ => params![],
        }
    }
    fn message(&self) -> Message {
        match self {
            Self::WrongLength { found } => Message::new(
                format!("身份证号码应为18位,现为{found}位"),
                format!("A resident ID number has 18 characters; this one has {found}"),
            ),
            Self::NotDigits => Message::new(
                "身份证号码前17位应为数字,最后一位为数字或 X",
                "The first 17 characters are digits and the last is a digit or X",
            ),
            Self::ImpossibleBirthDate => Message::new(
                "身份证号码中的出生日期无效",
                "The birth date inside the ID number is not a real date",
            ),
            Self::WrongCheckCharacter { .. } => Message::new(
                "身份证号码校验位不正确,请核对",
                "The check character does not match; please check the number",
            ),
        }
    }
}

/// A mainland mobile number: 11 digits, `1[3-9]…`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PhoneNumber(String);

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PhoneNumberError {
    WrongLength { found: usize },
    NotDigits,
    NotMobile,
}

impl PhoneNumber {
    pub fn parse(input: &str) -> Result<Self, PhoneNumberError> {
        let mut s: String = crate::domain::plate_number::normalise(input);
        if let Some(rest) = s.strip_prefix("+86") {
            s = rest.to_owned();
        }
        if !s.chars().all(|c| c.is_ascii_digit()) {
            return Err(PhoneNumberError::NotDigits);
        }
        if s.len() != 11 {
            return Err(PhoneNumberError::WrongLength {
                found: s.chars().count(),
            });
        }
        let b = s.as_bytes();
        if b.first() != Some(&b'1') || !matches!(b.get(1), Some(b'3'..=b'9')) {
            return Err(PhoneNumberError::NotMobile);
        }
        Ok(Self(s))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// `138****1234`
    pub fn masked(&self) -> String {
        format!(
            "{}****{}",
            self.0.get(..3).unwrap_or(""),
            self.0.get(7..).unwrap_or("")
        )
    }
}

impl Explain for PhoneNumberError {
    fn code(&self) -> &'static str {
        match self {
            Self::WrongLength { .. } => "PHONE_WRONG_LENGTH",
            Self::NotDigits => "PHONE_INVALID_CHARACTER",
            Self::NotMobile => "PHONE_NOT_MOBILE",
        }
    }
    fn params(&self) -> Params {
        match self {
            Self::WrongLength { found } => params![expected = 11i64, found = *found as i64],
            _ => params![],
        }
    }
    fn message(&self) -> Message {
        match self {
            Self::WrongLength { found } => Message::new(
                format!("手机号码应为11位,现为{found}位"),
                format!("A mobile number has 11 digits; this one has {found}"),
            ),
            Self::NotDigits => {
                Message::new("手机号码只能包含数字", "A mobile number has digits only")
            }
            Self::NotMobile => Message::new(
                "不是有效的手机号码(应以13–19开头)",
                "Not a mainland mobile number (it starts with 13–19)",
            ),
        }
    }
}

macro_rules! display_via_message {
    ($($t:ty),*) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(&self.message().en) }
        }
        impl std::error::Error for $t {}
    )*};
}
display_via_message!(ResidentIdError, PhoneNumberError);

impl Serialize for ResidentId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}
impl Serialize for PhoneNumber {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resident_id_check_character() {
        // The standard's worked example.
        let id = ResidentId::parse("11010519491231002X").unwrap();
        assert_eq!(id.birth_date().unwrap().to_string(), "1949-12-31");
        assert_eq!(id.masked(), "1101**********002X");
        assert!(ResidentId::parse("11010519491231002x").is_ok());
        assert!(matches!(
            ResidentId::parse("110105194912310021"),
            Err(ResidentIdError::WrongCheckCharacter { expected: 'X', .. })
        ));
        assert!(matches!(
            ResidentId::parse("110105194902300020"),
            Err(ResidentIdError::ImpossibleBirthDate)
        ));
        assert!(matches!(
            ResidentId::parse("1101051949"),
            Err(ResidentIdError::WrongLength { found: 10 })
        ));
    }

    #[test]
    fn phone_numbers() {
        let p = PhoneNumber::parse("138 0013 8000").unwrap();
        assert_eq!(p.masked(), "138****8000");
        assert!(PhoneNumber::parse("+8613800138000").is_ok());
        assert_eq!(
            PhoneNumber::parse("12800138000"),
            Err(PhoneNumberError::NotMobile)
        );
        assert_eq!(
            PhoneNumber::parse("1380013800"),
            Err(PhoneNumberError::WrongLength { found: 10 })
        );
        assert_eq!(
            PhoneNumber::parse("1380013800a"),
            Err(PhoneNumberError::NotDigits)
        );
    }
}

/// A name as shown to someone else: the family name and stars.
pub fn mask_name(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => {
            let rest = chars.count().max(1);
            format!("{first}{}", "*".repeat(rest))
        }
        None => String::new(),
    }
}

#[cfg(test)]
mod mask_name_tests {
    use super::mask_name;

    #[test]
    fn names_are_masked_after_the_first_character() {
        assert_eq!(mask_name("王车主"), "王**");
        assert_eq!(mask_name("李"), "李*");
        assert_eq!(mask_name(""), "");
    }
}
