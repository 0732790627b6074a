//! Builders for the facts the rules read, so each scenario states only what matters to it.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use renche::domain::*;
use renche::*;

pub fn ts(s: &str) -> Timestamp {
    Timestamp::parse_rfc3339(s).unwrap()
}

pub fn rules() -> Rules {
    Rules::new(Policy::default_policy())
}

pub fn rules_with(overrides: &str) -> Rules {
    Rules::new(Policy::parse_with_base(overrides, &Policy::default_policy()).unwrap())
}

pub fn person(id: &str) -> PersonFacts {
    PersonFacts {
        id: id.into(),
        identity_verified: true,
        licence: Some(LicenceFacts {
            class: LicenceClass::C1,
            status: LicenceStatus::Normal,
            points: 0,
        }),
    }
}

pub fn small_car(id: &str, owner: &str) -> VehicleFacts {
    VehicleFacts {
        id: id.into(),
        plate_type: PlateType::SmallCar,
        plate_number: PlateNumber::parse("粤S12345", PlateType::SmallCar).unwrap(),
        owner_kind: OwnerKind::Individual,
        use_nature: UseNature::NonCommercial,
        owner_id: Some(owner.into()),
        city: Some("441900".into()),
    }
}

pub fn small_nev(id: &str, owner: &str) -> VehicleFacts {
    VehicleFacts {
        plate_type: PlateType::SmallNewEnergy,
        plate_number: PlateNumber::parse("粤SD12345", PlateType::SmallNewEnergy).unwrap(),
        ..small_car(id, owner)
    }
}

pub fn binding(binder: &str, vehicle: &str, at: &str) -> BindingFacts {
    BindingFacts {
        binder_id: binder.into(),
        vehicle_id: vehicle.into(),
        created_at: ts(at),
        removed_at: None,
    }
}

pub fn bind_call(binder: PersonFacts, vehicle: VehicleFacts) -> BindingCall {
    BindingCall {
        binder,
        vehicle,
        binder_bindings: vec![],
        vehicle_bindings: vec![],
        applications: vec![],
        method: BindingMethod::Sms,
        channel: Channel::App,
        stage: Stage::Commit,
        documents_checked: vec![],
        now: ts("2026-09-01T02:00:00Z"),
    }
}

pub fn violation(id: &str, vehicle: &str, at: &str, points: i64, fine_yuan: u32) -> ViolationFacts {
    ViolationFacts {
        id: id.into(),
        vehicle_id: vehicle.into(),
        occurred_at: ts(at),
        points: Points::new(points).unwrap(),
        fine_fen: Fen::from_yuan(fine_yuan),
        source: ViolationSource::Device,
        state: ViolationState::Unhandled,
        decided_at: None,
    }
}

pub fn codes(reasons: &[Reason]) -> Vec<&'static str> {
    reasons.iter().map(|r| r.code).collect()
}

pub fn route_one(
    rules: &Rules,
    person: &PersonFacts,
    vehicle: &VehicleFacts,
    binding: Option<&BindingFacts>,
    v: &ViolationFacts,
    channel: Channel,
) -> ViolationRoute {
    rules.route_violation(
        person,
        vehicle,
        binding,
        v,
        channel,
        ts("2026-10-01T02:00:00Z"),
    )
}
