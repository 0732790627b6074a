//! Vehicle facts: engine-number suffix, use nature (使用性质) and owner kind (所有人类型).

use crate::message::{Explain, Message};

use std::fmt;

/// The last six characters of the engine number, letters and digits, compared case-insensitively.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct EngineSuffix(String);

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EngineSuffixError {
    WrongLength { found: usize },
    InvalidCharacter,
}

impl EngineSuffix {
    pub fn parse(input: &str) -> Result<Self, EngineSuffixError> {
        let s = crate::domain::plate_number::normalise(input);
        if !s.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(EngineSuffixError::InvalidCharacter);
        }
        if s.len() != 6 {
            return Err(EngineSuffixError::WrongLength {
                found: s.chars().count(),
            });
        }
        Ok(Self(s))
    }
    /// The suffix of a full engine number (as stored on the vehicle record).
    pub fn of_engine_number(engine_number: &str) -> Result<Self, EngineSuffixError> {
        let s = crate::domain::plate_number::normalise(engine_number);
        let n = s.chars().count();
        Self::parse(&s.chars().skip(n.saturating_sub(6)).collect::<String>())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Explain for EngineSuffixError {
    fn code(&self) -> &'static str {
        match self {
            Self::WrongLength { .. } => "ENGINE_SUFFIX_WRONG_LENGTH",
            Self::InvalidCharacter => "ENGINE_SUFFIX_INVALID_CHARACTER",
        }
    }
    fn params(&self) -> crate::message::Params {
        match self {
            Self::WrongLength { found } => crate::params![expected = 6i64, found = *found as i64],
            Self::InvalidCharacter => crate::params![],
        }
    }
    fn message(&self) -> Message {
        match self {
            Self::WrongLength { found } => Message::new(
                format!("请输入发动机号后6位,现为{found}位"),
                format!("Enter the last 6 characters of the engine number; this has {found}"),
            ),
            Self::InvalidCharacter => Message::new(
                "发动机号只包含字母和数字",
                "An engine number has letters and digits only",
            ),
        }
    }
}
impl fmt::Display for EngineSuffixError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message().en)
    }
}
impl std::error::Error for EngineSuffixError {}

/// An enum of fixed codes, with each code's Chinese and English name, `parse`, `Display` and serde as the
/// code. Exported so that the server's stored codes are declared the same way.
#[macro_export]
macro_rules! code_enum {
    ($(#[$m:meta])* $name:ident, $err:literal { $($variant:ident = $code:literal, $zh:literal, $en:literal;)* }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($variant),* }
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];
            pub const fn code(self) -> &'static str { match self { $($name::$variant => $code),* } }
            pub const fn name_zh(self) -> &'static str { match self { $($name::$variant => $zh),* } }
            pub const fn name_en(self) -> &'static str { match self { $($name::$variant => $en),* } }
            pub fn parse(code: &str) -> Result<Self, String> {
                match $crate::domain::trimmed_code(code) {
                    $($code => Ok($name::$variant),)*
                    other => Err(format!(concat!("“{}” is not a valid ", $err), other.chars().take(16).collect::<String>())),
                }
            }
        }
        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result { f.write_str(self.code()) }
        }
        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> { s.serialize_str(self.code()) }
        }
        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <String as ::serde::Deserialize>::deserialize(d)?;
                $name::parse(&s).map_err(::serde::de::Error::custom)
            }
        }
    };
}
pub(crate) use crate::code_enum;

code_enum! {
    /// 使用性质: what the vehicle is registered to be used for.
    UseNature, "use nature (A–S or Z)" {
        NonCommercial = "A", "非营运", "Non-commercial";
        HighwayPassenger = "B", "公路客运", "Highway passenger transport";
        BusPassenger = "C", "公交客运", "Public bus";
        Taxi = "D", "出租客运", "Taxi";
        Tourism = "E", "旅游客运", "Tourist transport";
        Freight = "F", "货运", "Freight";
        Rental = "G", "租赁", "Rental";
        Police = "H", "警用", "Police";
        FireService = "I", "消防", "Fire service";
        Ambulance = "J", "救护", "Ambulance";
        EngineeringRescue = "K", "工程救险", "Engineering rescue";
        CommercialToPrivate = "L", "营转非", "Formerly commercial";
        TaxiToPrivate = "M", "出租转非", "Former taxi";
        DrivingSchool = "N", "教练", "Driving school";
        KindergartenBus = "O", "幼儿校车", "Kindergarten school bus";
        PrimarySchoolBus = "P", "小学生校车", "Primary school bus";
        OtherSchoolBus = "Q", "其他校车", "Other school bus";
        HazardousGoods = "R", "危化品运输", "Hazardous goods transport";
        StudentBus = "S", "中小学生校车", "School bus";
        Other = "Z", "其他", "Other";
    }
}

code_enum! {
    /// 所有人类型: a person or a unit (company, organ).
    OwnerKind, "owner kind (individual or unit)" {
        Individual = "individual", "个人", "Individual";
        Unit = "unit", "单位", "Unit (company or organisation)";
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_suffix() {
        assert_eq!(EngineSuffix::parse("a1b2c3").unwrap().as_str(), "A1B2C3");
        assert_eq!(
            EngineSuffix::of_engine_number("LJ4G18X123456")
                .unwrap()
                .as_str(),
            "123456"
        );
        assert!(matches!(
            EngineSuffix::parse("12345"),
            Err(EngineSuffixError::WrongLength { found: 5 })
        ));
        assert!(matches!(
            EngineSuffix::parse("12345!"),
            Err(EngineSuffixError::InvalidCharacter)
        ));
    }

    #[test]
    fn codes_round_trip() {
        for u in UseNature::ALL {
            assert_eq!(UseNature::parse(u.code()), Ok(*u));
        }
        assert_eq!(UseNature::parse("D"), Ok(UseNature::Taxi));
        assert!(OwnerKind::parse("company").is_err());
    }
}
