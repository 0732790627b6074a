//! Plate type (号牌种类), GA 24.7: a two-digit code.

use crate::message::{Explain, Message, Params};
use crate::params;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

macro_rules! plate_types {
    ($($variant:ident = $code:literal, $zh:literal, $en:literal;)*) => {
        /// Every plate type of GA 24.7.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum PlateType { $($variant),* }

        impl PlateType {
            pub const ALL: &'static [PlateType] = &[$(PlateType::$variant),*];
            /// The two-digit code, e.g. `"02"`.
            pub const fn code(self) -> &'static str {
                match self { $(PlateType::$variant => $code),* }
            }
            pub const fn name_zh(self) -> &'static str {
                match self { $(PlateType::$variant => $zh),* }
            }
            pub const fn name_en(self) -> &'static str {
                match self { $(PlateType::$variant => $en),* }
            }
            pub fn parse(code: &str) -> Result<Self, PlateTypeError> {
                match crate::domain::trimmed_code(code) {
                    $($code => Ok(PlateType::$variant),)*
                    other => Err(PlateTypeError { found: other.chars().take(16).collect() }),
                }
            }
        }
    };
}

plate_types! {
    LargeCar = "01", "大型汽车", "Large car";
    SmallCar = "02", "小型汽车", "Small car";
    EmbassyCar = "03", "使馆汽车", "Embassy car";
    ConsulateCar = "04", "领馆汽车", "Consulate car";
    OverseasCar = "05", "境外汽车", "Overseas car";
    ForeignCar = "06", "外籍汽车", "Foreign-registered car";
    Motorcycle = "07", "普通摩托车", "Motorcycle";
    Moped = "08", "轻便摩托车", "Moped";
    EmbassyMotorcycle = "09", "使馆摩托车", "Embassy motorcycle";
    ConsulateMotorcycle = "10", "领馆摩托车", "Consulate motorcycle";
    OverseasMotorcycle = "11", "境外摩托车", "Overseas motorcycle";
    ForeignMotorcycle = "12", "外籍摩托车", "Foreign-registered motorcycle";
    LowSpeedVehicle = "13", "低速车", "Low-speed vehicle";
    Tractor = "14", "拖拉机", "Tractor";
    Trailer = "15", "挂车", "Trailer";
    CoachCar = "16", "教练汽车", "Driving-school car";
    CoachMotorcycle = "17", "教练摩托车", "Driving-school motorcycle";
    TestCar = "18", "试验汽车", "Test car";
    TestMotorcycle = "19", "试验摩托车", "Test motorcycle";
    TemporaryEntryCar = "20", "临时入境汽车", "Temporary-entry car";
    TemporaryEntryMotorcycle = "21", "临时入境摩托车", "Temporary-entry motorcycle";
    TemporaryPermit = "22", "临时行驶车", "Temporary-permit vehicle";
    PoliceCar = "23", "警用汽车", "Police car";
    PoliceMotorcycle = "24", "警用摩托", "Police motorcycle";
    FormerFarmMachinery = "25", "原农机号牌", "Former farm-machinery plate";
    HongKongCrossBorder = "26", "香港入出境车", "Hong Kong cross-border vehicle";
    MacaoCrossBorder = "27", "澳门入出境车", "Macao cross-border vehicle";
    ArmedPolice = "31", "武警号牌", "Armed police plate";
    Military = "32", "军队号牌", "Military plate";
    NoPlate = "41", "无号牌", "No plate";
    FakePlate = "42", "假号牌", "Fake plate";
    MisusedPlate = "43", "挪用号牌", "Misused plate";
    LargeNewEnergy = "51", "大型新能源汽车", "Large new-energy vehicle";
    SmallNewEnergy = "52", "小型新能源汽车", "Small new-energy car";
    Other = "99", "其他号牌", "Other plate";
}

/// The text is not a GA 24.7 plate type code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlateTypeError {
    pub found: String,
}

impl Explain for PlateTypeError {
    fn code(&self) -> &'static str {
        "INVALID_PLATE_TYPE"
    }
    fn params(&self) -> Params {
        params![found = self.found.clone()]
    }
    fn message(&self) -> Message {
        Message::new(
            format!("号牌种类“{}”无效,应为两位代码,如 02(小型汽车)", self.found),
            format!(
                "“{}” is not a plate type; expected a two-digit code such as 02 (small car)",
                self.found
            ),
        )
    }
}

impl fmt::Display for PlateTypeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message().en)
    }
}
impl std::error::Error for PlateTypeError {}

impl fmt::Display for PlateType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl Serialize for PlateType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for PlateType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        PlateType::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_round_trips() {
        assert_eq!(PlateType::ALL.len(), 35);
        for t in PlateType::ALL {
            assert_eq!(PlateType::parse(t.code()), Ok(*t));
        }
        assert_eq!(PlateType::SmallNewEnergy.name_zh(), "小型新能源汽车");
        assert!(PlateType::parse("00").is_err());
        assert!(PlateType::parse("2").is_err());
    }
}
