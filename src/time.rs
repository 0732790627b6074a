//! Instants and China Standard Time calendar days.
//!
//! Instants cross every boundary as UTC (RFC 3339 strings or epoch milliseconds). Calendar-day rules are
//! computed here in UTC+8, never from the machine's or browser's local zone.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

const MS_PER_DAY: i64 = 86_400_000;
/// China Standard Time is UTC+8 all year (no daylight saving since 1991).
const CST_OFFSET_MS: i64 = 8 * 3_600_000;

/// A UTC instant with millisecond precision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

/// A calendar day in China Standard Time, as days since 1970-01-01.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CstDate(i64);

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TimestampError {
    /// Not of the form `YYYY-MM-DDTHH:MM:SS[.fff](Z|±HH:MM)`.
    Malformed,
    /// A field out of range (month 13, 31 April, hour 24 …).
    OutOfRange,
}

impl fmt::Display for TimestampError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed => {
                f.write_str("expected an RFC 3339 instant such as 2026-09-01T07:00:00Z")
            }
            Self::OutOfRange => f.write_str("a date or time field is out of range"),
        }
    }
}

impl std::error::Error for TimestampError {}

impl Timestamp {
    pub const fn from_millis(ms: i64) -> Self {
        Self(ms)
    }
    pub const fn millis(self) -> i64 {
        self.0
    }
    pub fn plus_seconds(self, s: i64) -> Self {
        Self(self.0.saturating_add(s.saturating_mul(1000)))
    }
    /// The calendar day of this instant in China Standard Time.
    pub fn cst_date(self) -> CstDate {
        CstDate((self.0 + CST_OFFSET_MS).div_euclid(MS_PER_DAY))
    }

    /// Parses RFC 3339 (`2026-09-01T07:00:00Z`, `2026-09-01T15:00:00.250+08:00`).
    pub fn parse_rfc3339(s: &str) -> Result<Self, TimestampError> {
        let b = s.as_bytes();
        if b.len() < 20 || !s.is_ascii() {
            return Err(TimestampError::Malformed);
        }
        // Two or four digits: read here rather than by `str::parse`, which binding checks felt.
        let num = |from: usize, to: usize| -> Result<i64, TimestampError> {
            let part = b.get(from..to).ok_or(TimestampError::Malformed)?;
            part.iter().try_fold(0i64, |n, &c| {
                if c.is_ascii_digit() {
                    Ok(n * 10 + i64::from(c - b'0'))
                } else {
                    Err(TimestampError::Malformed)
                }
            })
        };
        let sep = |i: usize, expect: u8| -> Result<(), TimestampError> {
            match b.get(i) {
                Some(&c) if c == expect => Ok(()),
                _ => Err(TimestampError::Malformed),
            }
        };
        let year = num(0, 4)?;
        sep(4, b'-')?;
        let month = num(5, 7)?;
        sep(7, b'-')?;
        let day = num(8, 10)?;
        if !matches!(b.get(10), Some(b'T' | b't' | b' ')) {
            return Err(TimestampError::Malformed);
        }
        let hour = num(11, 13)?;
        sep(13, b':')?;
        let minute = num(14, 16)?;
        sep(16, b':')?;
        let second = num(17, 19)?;
        let mut i = 19;
        let mut millis = 0i64;
        if b.get(i) == Some(&b'.') {
            let start = i + 1;
            let mut end = start;
            while b.get(end).is_some_and(|c| c.is_ascii_digit()) {
                end += 1;
            }
            if end == start {
                return Err(TimestampError::Malformed);
            }
            // Keep milliseconds; finer digits are truncated.
            let digits = s
                .get(start..end.min(start + 3))
                .ok_or(TimestampError::Malformed)?;
            millis = digits
                .parse::<i64>()
                .map_err(|_| TimestampError::Malformed)?
                * 10i64.pow(3 - digits.len() as u32);
            i = end;
        }
        let offset_min = match b.get(i) {
            Some(b'Z') | Some(b'z') if i + 1 == b.len() => 0,
            Some(c @ (b'+' | b'-')) if i + 6 == b.len() => {
                let sign = if *c == b'+' { 1 } else { -1 };
                let oh = num(i + 1, i + 3)?;
                sep(i + 3, b':')?;
                let om = num(i + 4, i + 6)?;
                if oh > 23 || om > 59 {
                    return Err(TimestampError::OutOfRange);
                }
                sign * (oh * 60 + om)
            }
            _ => return Err(TimestampError::Malformed),
        };
        if !(1..=12).contains(&month)
            || day < 1
            || day > days_in_month(year, month)
            || hour > 23
            || minute > 59
            || second > 60
        {
            return Err(TimestampError::OutOfRange);
        }
        // A leap second is folded onto the next second.
        let days = days_from_civil(year, month, day);
        let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_min * 60;
        Ok(Self(secs * 1000 + millis))
    }

    /// RFC 3339 in UTC with milliseconds: `2026-09-01T07:00:00.000Z`.
    pub fn to_rfc3339(self) -> String {
        let days = self.0.div_euclid(MS_PER_DAY);
        let ms_of_day = self.0.rem_euclid(MS_PER_DAY);
        let (y, m, d) = civil_from_days(days);
        let secs = ms_of_day / 1000;
        format!(
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
            secs / 3600,
            (secs / 60) % 60,
            secs % 60,
            ms_of_day % 1000
        )
    }
}

impl CstDate {
    pub const EPOCH: CstDate = CstDate(0);
    pub const fn from_days(days: i64) -> Self {
        Self(days)
    }
    pub const fn days_since_epoch(self) -> i64 {
        self.0
    }
    pub fn from_ymd(year: i64, month: i64, day: i64) -> Option<Self> {
        if (1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month) {
            Some(Self(days_from_civil(year, month, day)))
        } else {
            None
        }
    }
    pub fn ymd(self) -> (i64, i64, i64) {
        civil_from_days(self.0)
    }
    /// The first instant of this day in China Standard Time.
    pub fn start(self) -> Timestamp {
        Timestamp(self.0 * MS_PER_DAY - CST_OFFSET_MS)
    }
    pub fn days_until(self, later: CstDate) -> i64 {
        later.0 - self.0
    }
    pub fn year(self) -> i64 {
        self.ymd().0
    }
    /// The day as Chinese text reads it, e.g. `2026年9月1日` (the web app writes dates the same way).
    pub fn text_zh(self) -> String {
        let (y, m, d) = self.ymd();
        format!("{y}年{m}月{d}日")
    }
    /// The day as English text reads it, e.g. `1 Sep 2026`: never the ambiguous 01/09/2026.
    pub fn text_en(self) -> String {
        const MONTHS: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        let (y, m, d) = self.ymd();
        let month = usize::try_from(m - 1)
            .ok()
            .and_then(|i| MONTHS.get(i))
            .unwrap_or(&"");
        format!("{d} {month} {y}")
    }
}

impl fmt::Display for CstDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = self.ymd();
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

impl Serialize for CstDate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

pub(crate) fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

pub(crate) fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(y) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Timestamp;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an RFC 3339 instant string or epoch milliseconds")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Timestamp, E> {
                Timestamp::parse_rfc3339(v).map_err(E::custom)
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Timestamp, E> {
                Ok(Timestamp(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Timestamp, E> {
                i64::try_from(v)
                    .map(Timestamp)
                    .map_err(|_| E::custom("epoch milliseconds out of range"))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Timestamp, E> {
                // JavaScript numbers arrive as f64; only whole, safe integers are instants.
                if v.fract() == 0.0 && v.abs() <= 9_007_199_254_740_991.0 {
                    Ok(Timestamp(v as i64))
                } else {
                    Err(E::custom("epoch milliseconds must be a whole number"))
                }
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_reads_the_same_way_as_the_web_app_writes_it() {
        let day = CstDate::from_ymd(2026, 9, 1).unwrap();
        assert_eq!(day.text_zh(), "2026年9月1日");
        assert_eq!(day.text_en(), "1 Sep 2026");
        assert_eq!(
            CstDate::from_ymd(2026, 12, 31).unwrap().text_en(),
            "31 Dec 2026"
        );
    }

    #[test]
    fn parses_and_formats_utc() {
        let t = Timestamp::parse_rfc3339("2026-09-01T07:00:00Z").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-09-01T07:00:00.000Z");
        let t2 = Timestamp::parse_rfc3339("2026-09-01T15:00:00.250+08:00").unwrap();
        assert_eq!(t2.millis() - t.millis(), 250);
    }

    #[test]
    fn cst_day_boundary() {
        // 15:59:59Z is 23:59:59 in Beijing; 16:00Z is the next day there.
        let a = Timestamp::parse_rfc3339("2026-08-31T15:59:59Z").unwrap();
        let b = Timestamp::parse_rfc3339("2026-08-31T16:00:00Z").unwrap();
        assert_eq!(a.cst_date().to_string(), "2026-08-31");
        assert_eq!(b.cst_date().to_string(), "2026-09-01");
        assert_eq!(b.cst_date().start(), b);
    }

    #[test]
    fn rejects_bad_instants() {
        for s in [
            "2026-02-30T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-09-01 07:00",
            "",
            "2026-09-01T07:00:00",
            "2026-09-01T24:00:00Z",
        ] {
            assert!(Timestamp::parse_rfc3339(s).is_err(), "{s}");
        }
    }

    #[test]
    fn civil_round_trip() {
        for z in (-800_000..800_000).step_by(997) {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
    }
}
