//! Properties that hold for any input, not only the cases we thought of.
#![cfg(not(target_arch = "wasm32"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod support;

use proptest::prelude::*;
use renche::domain::plate_number::PROVINCES;
use renche::domain::*;
use renche::*;
use support::*;

const SERIAL: &[u8] = b"0123456789ABCDEFGHJKLMNPQRSTUVWXYZ";

fn province() -> impl Strategy<Value = char> {
    let provinces: Vec<char> = PROVINCES.to_vec();
    proptest::sample::select(provinces)
}

fn small_car_plate() -> impl Strategy<Value = String> {
    (
        province(),
        proptest::sample::select(b"ABCDEFGHJKLMNOPQRSTUVWXYZ".to_vec()),
        proptest::collection::vec(proptest::sample::select(SERIAL.to_vec()), 5),
    )
        .prop_map(|(p, a, s)| format!("{p}{}{}", a as char, String::from_utf8(s).unwrap()))
}

fn nev_plate() -> impl Strategy<Value = String> {
    (
        province(),
        proptest::sample::select(b"ABCDEFGHJKLMNPQRSTUVWXYZ".to_vec()),
        proptest::sample::select(b"DABCEFGHJK".to_vec()),
        proptest::sample::select(SERIAL.to_vec()),
        0u32..10_000,
    )
        .prop_map(|(p, a, e, s2, n)| format!("{p}{}{}{}{n:04}", a as char, e as char, s2 as char))
}

/// Ways people type a plate: lower case, full width, spaces and middle dots.
fn messy(plate: &str, style: u8) -> String {
    plate
        .chars()
        .enumerate()
        .map(|(i, c)| match (style % 4, c.is_ascii_alphanumeric()) {
            (1, true) => c.to_ascii_lowercase().to_string(),
            (2, true) => char::from_u32(c as u32 + 0xFEE0).unwrap().to_string(),
            (3, _) if i == 2 => format!("· {c}"),
            _ => c.to_string(),
        })
        .collect()
}

proptest! {
    #[test]
    fn plate_parse_display_parse_is_identity(plate in small_car_plate(), style in 0u8..4) {
        let p = PlateNumber::parse(&messy(&plate, style), PlateType::SmallCar).unwrap();
        prop_assert_eq!(p.as_str(), plate.as_str());
        let again = PlateNumber::parse(&p.display(), PlateType::SmallCar).unwrap();
        prop_assert_eq!(again, p);
    }

    #[test]
    fn nev_plate_parse_display_parse_is_identity(plate in nev_plate(), style in 0u8..4) {
        let p = PlateNumber::parse(&messy(&plate, style), PlateType::SmallNewEnergy).unwrap();
        prop_assert_eq!(PlateNumber::parse(&p.display(), PlateType::SmallNewEnergy).unwrap(), p.clone());
        // A small-NEV plate is never also a small-car plate (lengths differ).
        prop_assert!(PlateNumber::parse(p.as_str(), PlateType::SmallCar).is_err());
    }

    #[test]
    fn parsers_never_panic(s in "\\PC{0,24}", t in 0usize..35) {
        let _ = PlateNumber::parse(&s, PlateType::ALL[t]);
        let _ = ResidentId::parse(&s);
        let _ = PhoneNumber::parse(&s);
        let _ = EngineSuffix::parse(&s);
        let _ = Timestamp::parse_rfc3339(&s);
        let _ = Policy::parse(&s);
    }

    /// Apply any sequence of bind and remove attempts, committing only what the rules allow: no user and
    /// no vehicle ever goes above its limit, and no pair is bound twice.
    #[test]
    fn allowed_bindings_never_exceed_the_limits(ops in proptest::collection::vec((0u8..6, 0u8..6, any::<bool>()), 1..120)) {
        let rules = rules();
        let mut active: Vec<BindingFacts> = Vec::new();
        for (u, v, remove) in ops {
            let (user, vehicle) = (format!("u{u}"), format!("v{v}"));
            if remove {
                active.retain(|b| !(b.binder_id == user && b.vehicle_id == vehicle));
                continue;
            }
            let mut call = bind_call(person(&user), small_car(&vehicle, "owner"));
            call.binder_bindings = active.iter().filter(|b| b.binder_id == user).cloned().collect();
            call.vehicle_bindings = active.iter().filter(|b| b.vehicle_id == vehicle).cloned().collect();
            if rules.check_binding(&call).allowed {
                active.push(binding(&user, &vehicle, "2026-09-01T00:00:00Z"));
            }
            for id in 0..6 {
                let (u, v) = (format!("u{id}"), format!("v{id}"));
                let per_user = active.iter().filter(|b| b.binder_id == u).count();
                let per_vehicle = active.iter().filter(|b| b.vehicle_id == v).count();
                prop_assert!(per_user <= 3 && per_vehicle <= 3);
            }
            let mut pairs: Vec<_> = active.iter().map(|b| (&b.binder_id, &b.vehicle_id)).collect();
            pairs.sort();
            let n = pairs.len();
            pairs.dedup();
            prop_assert_eq!(pairs.len(), n);
        }
    }

    /// The same instant written in any zone's offset gives the same decision: calendar days are China time.
    #[test]
    fn decisions_do_not_depend_on_the_writers_zone(minutes in 0i64..(3 * 24 * 60), offset_min in -720i64..=840) {
        let base = ts("2026-08-31T00:00:00Z").millis() + minutes * 60_000;
        let utc = Timestamp::from_millis(base);
        let local_ms = base + offset_min * 60_000;
        let local = Timestamp::from_millis(local_ms).to_rfc3339();
        let sign = if offset_min < 0 { '-' } else { '+' };
        let written = format!("{}{sign}{:02}:{:02}", &local[..19], offset_min.abs() / 60, offset_min.abs() % 60);
        let parsed = Timestamp::parse_rfc3339(&written).unwrap();
        prop_assert_eq!(parsed.millis() / 1000, utc.millis() / 1000);
        let rules = rules();
        let b = binding("p1", "v1", "2026-09-01T02:00:00Z");
        let mut x = violation("x", "v1", "2026-09-10T00:00:00Z", 3, 200);
        x.occurred_at = utc;
        let a = rules.route_violation(&person("p1"), &small_car("v1", "o"), Some(&b), &x, Channel::App, ts("2026-10-01T00:00:00Z"));
        x.occurred_at = Timestamp::from_millis(parsed.millis() / 1000 * 1000 + utc.millis() % 1000);
        let c = rules.route_violation(&person("p1"), &small_car("v1", "o"), Some(&b), &x, Channel::App, ts("2026-10-01T00:00:00Z"));
        prop_assert_eq!(a, c);
        // And the boundary is midnight in Beijing: 16:00Z the day before.
        let before = utc < ts("2026-08-31T16:00:00Z");
        let r = rules.route_violation(&person("p1"), &small_car("v1", "o"), Some(&b), &x, Channel::App, ts("2026-10-01T00:00:00Z"));
        prop_assert_eq!(before, r.route == Route::Window);
    }

    #[test]
    fn late_fee_never_exceeds_the_fine(fine in 0u64..1_000_000, days in 0i64..2000) {
        let r = rules();
        let decided = ts("2026-01-01T00:00:00Z");
        let fee = r.late_fee(Fen::new(fine).unwrap(), decided, decided.plus_seconds(days * 86_400));
        prop_assert!(fee.value() <= fine);
        if days <= 15 { prop_assert_eq!(fee.value(), 0); }
    }

    #[test]
    fn resident_id_check_character_is_the_only_valid_one(area in 110_000u32..660_000, day in 0i64..36_000, seq in 0u32..1000) {
        let date = CstDate::from_days(day - 10_000);
        let (y, m, d) = date.ymd();
        let body = format!("{area:06}{y:04}{m:02}{d:02}{seq:03}");
        let valid: Vec<String> = "0123456789X".chars().map(|c| format!("{body}{c}")).filter(|s| ResidentId::parse(s).is_ok()).collect();
        prop_assert_eq!(valid.len(), 1);
    }
}
