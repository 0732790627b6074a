//! Driving licence (驾驶证): class, status and points; money in fen.

use super::vehicle::code_enum;
use crate::message::{Explain, Message};
use crate::time::{CstDate, Timestamp};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

code_enum! {
    /// 准驾车型.
    LicenceClass, "licence class" {
        A1 = "A1", "大型客车", "A1 large bus";
        A2 = "A2", "牵引车", "A2 tractor-trailer";
        A3 = "A3", "城市公交车", "A3 city bus";
        B1 = "B1", "中型客车", "B1 medium bus";
        B2 = "B2", "大型货车", "B2 large truck";
        C1 = "C1", "小型汽车", "C1 small car";
        C2 = "C2", "小型自动挡汽车", "C2 small automatic car";
        C3 = "C3", "低速载货汽车", "C3 low-speed truck";
        C4 = "C4", "三轮汽车", "C4 three-wheeled vehicle";
        C5 = "C5", "残疾人专用小型自动挡载客汽车", "C5 adapted small automatic car";
        C6 = "C6", "轻型牵引挂车", "C6 light trailer combination";
        D = "D", "普通三轮摩托车", "D three-wheeled motorcycle";
        E = "E", "普通二轮摩托车", "E motorcycle";
        F = "F", "轻便摩托车", "F moped";
        M = "M", "轮式自行机械车", "M wheeled machinery";
        N = "N", "无轨电车", "N trolleybus";
        P = "P", "有轨电车", "P tram";
    }
}

impl LicenceClass {
    /// Whether this class may drive a small car (plate 02 / 52). C2 and C5 cover small automatic cars,
    /// which we cannot tell apart from the plate, so they count.
    pub fn covers_small_car(self) -> bool {
        matches!(
            self,
            Self::A1
                | Self::A2
                | Self::A3
                | Self::B1
                | Self::B2
                | Self::C1
                | Self::C2
                | Self::C5
                | Self::C6
        )
    }
}

code_enum! {
    /// 驾驶证状态.
    LicenceStatus, "licence status" {
        Normal = "normal", "正常", "Valid";
        Suspended = "suspended", "暂扣", "Suspended";
        Revoked = "revoked", "吊销", "Revoked";
        Cancelled = "cancelled", "注销", "Cancelled";
        Expired = "expired", "超过有效期", "Expired";
        Detained = "detained", "扣押", "Detained";
        Locked = "locked", "锁定", "Locked";
        FullPoints = "full_points", "累积记分满12分", "12 points reached";
    }
}

/// Points of one violation: since 2022-04-01 only 12, 9, 6, 3, 1 or 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Points(u8);

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PointsError {
    pub found: i64,
}

impl Points {
    pub const ZERO: Points = Points(0);
    pub fn new(value: i64) -> Result<Self, PointsError> {
        match value {
            0 | 1 | 3 | 6 | 9 | 12 => Ok(Self(value as u8)),
            other => Err(PointsError { found: other }),
        }
    }
    pub fn value(self) -> u8 {
        self.0
    }
}

impl Explain for PointsError {
    fn code(&self) -> &'static str {
        "INVALID_POINTS"
    }
    fn params(&self) -> crate::message::Params {
        crate::params![found = self.found]
    }
    fn message(&self) -> Message {
        Message::new(
            format!("记分值{}无效,只能是 0、1、3、6、9、12", self.found),
            format!(
                "{} is not a points value; only 0, 1, 3, 6, 9 or 12",
                self.found
            ),
        )
    }
}
impl fmt::Display for PointsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message().en)
    }
}

impl Serialize for Points {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(self.0)
    }
}
impl<'de> Deserialize<'de> for Points {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = f64::deserialize(d)?;
        if v.fract() != 0.0 {
            return Err(serde::de::Error::custom("points must be a whole number"));
        }
        Points::new(v as i64).map_err(serde::de::Error::custom)
    }
}

/// An amount of money in fen (1 yuan = 100 fen). Never negative, never floating point.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Fen(u64);

impl Fen {
    /// The largest amount we accept: 10 million yuan, far above any traffic fine, and exact in JavaScript.
    pub const MAX: u64 = 1_000_000_000;
    pub fn new(fen: u64) -> Option<Self> {
        (fen <= Self::MAX).then_some(Self(fen))
    }
    pub const fn from_yuan(yuan: u32) -> Self {
        Self(yuan as u64 * 100)
    }
    pub const fn value(self) -> u64 {
        self.0
    }
    pub fn saturating_add(self, other: Fen) -> Fen {
        Fen(self.0.saturating_add(other.0))
    }
    /// `¥200.00`
    pub fn to_yuan_string(self) -> String {
        format!("{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

impl Serialize for Fen {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(self.0)
    }
}
impl<'de> Deserialize<'de> for Fen {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = f64::deserialize(d)?;
        if v.fract() != 0.0 || v < 0.0 || v > Fen::MAX as f64 {
            return Err(serde::de::Error::custom(format!(
                "an amount is a whole number of fen from 0 to {}",
                Fen::MAX
            )));
        }
        Ok(Fen(v as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_tiers() {
        for ok in [0, 1, 3, 6, 9, 12] {
            assert!(Points::new(ok).is_ok());
        }
        for bad in [2, 4, 5, 13, -1] {
            assert!(Points::new(bad).is_err());
        }
    }

    #[test]
    fn money() {
        assert_eq!(Fen::from_yuan(200).value(), 20_000);
        assert_eq!(Fen::from_yuan(200).to_yuan_string(), "200.00");
        assert!(serde_json::from_str::<Fen>("1.5").is_err());
        assert!(serde_json::from_str::<Fen>("-100").is_err());
        assert_eq!(
            serde_json::from_str::<Fen>("20000").unwrap().value(),
            20_000
        );
    }

    #[test]
    fn classes() {
        assert!(LicenceClass::C1.covers_small_car());
        assert!(!LicenceClass::E.covers_small_car());
    }

    #[test]
    fn a_valid_licence_at_twelve_points_is_stopped() {
        assert_eq!(LicenceStatus::Normal.with_points(11), LicenceStatus::Normal);
        assert_eq!(
            LicenceStatus::Normal.with_points(12),
            LicenceStatus::FullPoints
        );
        assert_eq!(
            LicenceStatus::Normal.with_points(15),
            LicenceStatus::FullPoints
        );
        // A licence already stopped for another cause keeps that cause.
        assert_eq!(
            LicenceStatus::Revoked.with_points(15),
            LicenceStatus::Revoked
        );
    }
}

/// Points in one scoring cycle at which the licence stops: it is suspended (暂扣) until the driver passes
/// the full-points study and test, so no violation can be handled on it meanwhile.
pub const FULL_POINTS: u32 = 12;

impl LicenceStatus {
    /// The status as it stands with `points` in the running cycle: a valid licence that has reached
    /// [`FULL_POINTS`] is [`LicenceStatus::FullPoints`] whether or not the record says so yet (the record is
    /// updated by the licensing office, the points by every handled violation).
    pub fn with_points(self, points: u32) -> LicenceStatus {
        if self == LicenceStatus::Normal && points >= FULL_POINTS {
            LicenceStatus::FullPoints
        } else {
            self
        }
    }
}

/// A licence's points as of an instant, in its 12-month scoring cycle (记分周期): the cycle runs from its
/// start to the same calendar day a year later (China Standard Time), and a cycle that has ended starts
/// again at zero points. The page and the server both count points this way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScoringCycle {
    /// Points in the cycle running at that instant.
    pub points: u32,
    /// The start of that cycle, when the licence has one on record.
    pub start: Option<Timestamp>,
}

impl ScoringCycle {
    /// The cycle running at `now` for a licence that had `points` in the cycle that began at `start`.
    pub fn at(points: u32, start: Option<Timestamp>, now: Timestamp) -> ScoringCycle {
        let Some(mut start) = start else {
            return ScoringCycle {
                points,
                start: None,
            };
        };
        let mut points = points;
        // Bounded: a record two centuries old is damaged, not a reason to loop.
        let mut years = 0;
        while plus_one_year(start) <= now && years < 200 {
            start = plus_one_year(start);
            points = 0;
            years += 1;
        }
        ScoringCycle {
            points,
            start: Some(start),
        }
    }
}

/// The same time of day one calendar year later in China Standard Time (29 February falls back to the 28th).
fn plus_one_year(t: Timestamp) -> Timestamp {
    let date = t.cst_date();
    let (y, m, d) = date.ymd();
    let day = CstDate::from_ymd(y + 1, m, d).or_else(|| CstDate::from_ymd(y + 1, m, d - 1));
    match day {
        Some(day) => {
            Timestamp::from_millis(day.start().millis() + (t.millis() - date.start().millis()))
        }
        None => Timestamp::from_millis(t.millis() + 365 * 86_400_000),
    }
}

#[cfg(test)]
mod scoring_cycle_tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        Timestamp::parse_rfc3339(s).unwrap_or(Timestamp::from_millis(0))
    }

    #[test]
    fn a_cycle_rolls_over_after_twelve_months() {
        let start = Some(at("2025-03-01T00:00:00+08:00"));
        assert_eq!(
            ScoringCycle::at(9, start, at("2026-02-28T23:59:59+08:00")).points,
            9
        );
        let next = ScoringCycle::at(9, start, at("2026-03-01T00:00:00+08:00"));
        assert_eq!(next.points, 0);
        assert_eq!(
            next.start.map(|s| s.cst_date().to_string()).as_deref(),
            Some("2026-03-01")
        );
        let leap = Some(at("2024-02-29T00:00:00+08:00"));
        assert_eq!(
            ScoringCycle::at(9, leap, at("2025-02-28T12:00:00+08:00")).points,
            0
        );
        assert_eq!(
            ScoringCycle::at(9, leap, at("2025-02-27T12:00:00+08:00")).points,
            9
        );
    }

    #[test]
    fn a_licence_without_a_cycle_start_keeps_its_points() {
        let c = ScoringCycle::at(6, None, at("2030-01-01T00:00:00+08:00"));
        assert_eq!((c.points, c.start), (6, None));
    }
}
