//! Native cost of the decisions: `cargo bench --bench decisions`. Numbers are recorded in docs/benchmarks.md.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    native::main();
}

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use criterion::{black_box, Criterion, Throughput};
    use renche::domain::*;
    use renche::*;
    use std::time::Duration;

    fn ts(s: &str) -> Timestamp {
        Timestamp::parse_rfc3339(s).unwrap()
    }

    fn vehicle() -> VehicleFacts {
        VehicleFacts {
            id: "v1".into(),
            plate_type: PlateType::SmallCar,
            plate_number: PlateNumber::parse("粤S12345", PlateType::SmallCar).unwrap(),
            owner_kind: OwnerKind::Individual,
            use_nature: UseNature::NonCommercial,
            owner_id: Some("owner".into()),
            city: Some("441900".into()),
        }
    }

    fn person() -> PersonFacts {
        PersonFacts {
            id: "p1".into(),
            identity_verified: true,
            licence: Some(LicenceFacts {
                class: LicenceClass::C1,
                status: LicenceStatus::Normal,
                points: 3,
            }),
        }
    }

    fn binding(b: &str, v: &str) -> BindingFacts {
        BindingFacts {
            binder_id: b.into(),
            vehicle_id: v.into(),
            created_at: ts("2026-09-01T02:00:00Z"),
            removed_at: None,
        }
    }

    pub fn main() {
        let mut c = Criterion::default()
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(2))
            .configure_from_args();
        let rules = Rules::new(Policy::default_policy());

        let call = BindingCall {
            binder: person(),
            vehicle: vehicle(),
            binder_bindings: vec![binding("p1", "v2"), binding("p1", "v3")],
            vehicle_bindings: vec![binding("p2", "v1"), binding("p3", "v1")],
            applications: vec![ts("2026-08-01T00:00:00Z")],
            method: BindingMethod::Qr,
            channel: Channel::App,
            stage: Stage::Commit,
            documents_checked: vec![],
            now: ts("2026-09-02T00:00:00Z"),
        };
        c.bench_function("check_binding (allowed)", |b| {
            b.iter(|| rules.check_binding(black_box(&call)))
        });
        let mut refused = call.clone();
        refused.binder_bindings.push(binding("p1", "v4"));
        refused.vehicle.use_nature = UseNature::Taxi;
        c.bench_function("check_binding (two refusals)", |b| {
            b.iter(|| rules.check_binding(black_box(&refused)))
        });

        let violations: Vec<ViolationFacts> = (0..10_000)
            .map(|i| ViolationFacts {
                id: format!("x{i}"),
                vehicle_id: "v1".into(),
                occurred_at: Timestamp::from_millis(
                    ts("2026-08-25T00:00:00Z").millis() + i64::from(i) * 60_000,
                ),
                points: Points::new([0, 1, 3, 6][i as usize % 4]).unwrap(),
                fine_fen: Fen::from_yuan([50, 100, 200, 500][i as usize % 4]),
                source: ViolationSource::Device,
                state: ViolationState::Unhandled,
                decided_at: None,
            })
            .collect();
        let route_call = RouteCall {
            person: person(),
            vehicle: vehicle(),
            binding: Some(binding("p1", "v1")),
            violations,
            channel: Channel::App,
            now: ts("2026-10-01T00:00:00Z"),
        };
        let mut group = c.benchmark_group("route_violations");
        group.throughput(Throughput::Elements(10_000));
        group.bench_function("batch of 10,000", |b| {
            b.iter(|| rules.route_violations(black_box(&route_call)))
        });
        group.finish();

        c.bench_function("PlateNumber::parse (typed form)", |b| {
            b.iter(|| PlateNumber::parse(black_box(" 粤s·１２3 45 "), PlateType::SmallCar))
        });
        c.final_summary();
    }
}
