//! Throughput of binding commits and latency of the violation list, for a quick look on this machine:
//! `cargo test --release -p renche-server --test api perf -- --ignored --nocapture`.

use crate::helpers::*;
use renche::domain::{
    BindingMethod, EngineSuffix, OwnerKind, PhoneNumber, PlateNumber, PlateType, UseNature,
};
use renche::Timestamp;
use renche_server::gateways::identity::{sign_result, ResultClaims, ResultOutcome};
use renche_server::store::{
    ApplicationRow, ApplicationStatus, LicenceRow, NewPerson, NewVehicle, Role,
};
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

const PROVINCE_SERIAL: &str = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ";

fn plate(n: usize) -> String {
    let chars: Vec<char> = PROVINCE_SERIAL.chars().collect();
    let mut s = String::from("粤B");
    let mut k = n;
    for _ in 0..5 {
        s.push(chars[k % chars.len()]);
        k /= chars.len();
    }
    s
}

fn rid(n: usize) -> renche::domain::ResidentId {
    let (seq, rest) = (n % 1000, n / 1000);
    let (day, month, year) = (1 + rest % 28, 1 + (rest / 28) % 12, 1950 + rest / 336);
    renche_server::demo::resident_id(&format!("441900{year}{month:02}{day:02}{seq:03}")).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn perf_bind_commits() {
    let app = spawn_app().await;
    let binders = 2000usize;
    let vehicles = 2000usize;
    let now = renche_server::clock::Clock::now(app.clock.as_ref());
    // People, vehicles, sessions and applications straight into the store.
    let setup = renche_server::store::write::<_, renche_server::error::ServerError>(
        app.state.store.as_ref(),
        move |tx| {
            let owner = tx.insert_person(&NewPerson {
                name: "车主".into(),
                resident_id: rid(999_999),
                phone: PhoneNumber::parse("13300000000").unwrap(),
                registered_at: Some(now),
                identity_verified: true,
                role: Role::Person,
                licence: None,
                created_at: now,
            })?;
            let mut people = Vec::new();
            for i in 0..binders {
                people.push(tx.insert_person(&NewPerson {
                    name: "绑定人".into(),
                    resident_id: rid(i),
                    phone: PhoneNumber::parse(&format!("131{i:08}")).unwrap(),
                    registered_at: Some(now),
                    identity_verified: true,
                    role: Role::Person,
                    licence: Some(LicenceRow {
                        class: renche::domain::LicenceClass::C1,
                        status: renche::domain::LicenceStatus::Normal,
                        points: 0,
                        cycle_start: None,
                    }),
                    created_at: now,
                })?);
            }
            let mut cars = Vec::new();
            for i in 0..vehicles {
                cars.push(tx.insert_vehicle(&NewVehicle {
                    plate_number: PlateNumber::parse(&plate(i), PlateType::SmallCar).unwrap(),
                    engine_number: "ENG123456".into(),
                    engine_suffix: EngineSuffix::parse("123456").unwrap(),
                    use_nature: UseNature::NonCommercial,
                    owner_kind: OwnerKind::Individual,
                    owner_person_id: Some(owner),
                    owner_name: "车主".into(),
                    owner_phone: PhoneNumber::parse("13300000000").unwrap(),
                    owner_resident_id: None,
                    city: "441900".into(),
                    created_at: now,
                })?);
            }
            // The development provider's key, as the server keeps it: each commit brings a result signed by
            // it, as if the binder had gone through the provider's page (the HTTP path is in binding.rs).
            let seed: [u8; 32] = tx
                .server_key("dev-identity-ed25519")?
                .unwrap()
                .try_into()
                .unwrap();
            let provider = ed25519_dalek::SigningKey::from_bytes(&seed);
            let mut work = Vec::new();
            for (i, p) in people.iter().enumerate() {
                let token = format!("perf-session-{i:06}-0123456789abcdef0123456789abcdef");
                let csrf = format!("csrf-{i}");
                let account = tx.insert_account(&format!("131{i:08}"), now)?;
                tx.link_account(account, *p, now)?;
                tx.insert_session(
                    &renche_server::flows::sessions::token_hash(&token),
                    Some(account),
                    &csrf,
                    now,
                    Timestamp::from_millis(now.millis() + 86_400_000),
                )?;
                for k in 0..3 {
                    let id = format!("perfapp{i:06}{k}");
                    tx.insert_application(&ApplicationRow {
                        id: id.clone(),
                        binder_id: *p,
                        vehicle_id: cars[(i + k * 667) % vehicles],
                        method: BindingMethod::Sms,
                        relationship: None,
                        status: ApplicationStatus::AwaitingVerification,
                        verification: None,
                        note: None,
                        binding_id: None,
                        created_at: now,
                        submitted_at: None,
                        reviewed_by: None,
                        reviewed_at: None,
                        review_reason: None,
                    })?;
                    let verification = format!("perfver{i:06}{k}");
                    let session = format!("perfsess{i:06}{k}");
                    tx.insert_verification(&renche_server::store::VerificationRow {
                        id: verification.clone(),
                        account_id: account,
                        purpose: renche_server::store::VerificationPurpose::Application,
                        resident_id: rid(i).as_str().to_owned(),
                        name: "绑定人".into(),
                        application_id: Some(id.clone()),
                        provider_session: Some(session.clone()),
                        provider_url: None,
                        status: renche_server::store::VerificationStatus::Started,
                        created_at: now,
                        finished_at: None,
                    })?;
                    let result = sign_result(
                        &ResultClaims {
                            result_id: format!("perfresult{i:06}{k}"),
                            session_id: session,
                            verification_id: verification.clone(),
                            resident_id: rid(i).as_str().to_owned(),
                            name: "绑定人".into(),
                            outcome: ResultOutcome::Pass,
                            issued_at: now.millis(),
                            frame_sha256: String::new(),
                        },
                        &provider,
                    );
                    let body = json!({ "verificationId": verification, "result": result });
                    work.push((token.clone(), csrf.clone(), id, body));
                }
            }
            Ok(work)
        },
    )
    .await
    .unwrap();
    let work = Arc::new(setup);
    let next = Arc::new(AtomicUsize::new(0));
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..64 {
        let (work, next, http, base) = (work.clone(), next.clone(), http.clone(), app.base.clone());
        tasks.push(tokio::spawn(async move {
            let mut ok = 0usize;
            let mut refused = 0usize;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((token, csrf, id, body)) = work.get(i) else {
                    break;
                };
                let r = http
                    .post(format!("{base}/api/v1/binding-applications/{id}/commit"))
                    .header("Cookie", format!("renche_session={token}"))
                    .header("X-CSRF-Token", csrf)
                    .header("Idempotency-Key", format!("perf-{i}"))
                    .json(body)
                    .send()
                    .await
                    .unwrap();
                match r.status().as_u16() {
                    201 => ok += 1,
                    409 => refused += 1,
                    s => panic!("status {s}: {}", r.text().await.unwrap()),
                }
            }
            (ok, refused)
        }));
    }
    let mut ok = 0;
    let mut refused = 0;
    for t in tasks {
        let (a, b) = t.await.unwrap();
        ok += a;
        refused += b;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{} commits ({ok} bound, {refused} refused) in {secs:.2} s: {:.0}/s",
        ok + refused,
        (ok + refused) as f64 / secs
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn perf_violation_list() {
    use renche::domain::{Fen, Points, ViolationSource, ViolationState};
    use renche_server::store::NewViolation;
    let app = spawn_app().await;
    let now = renche_server::clock::Clock::now(app.clock.as_ref());
    let owner = app.signed_in(OWNER).await;
    let started = std::time::Instant::now();
    // A million violations over 100,000 vehicles, written in chunks.
    for chunk in 0..10usize {
        renche_server::store::write::<_, renche_server::error::ServerError>(
            app.state.store.as_ref(),
            move |tx| {
                for i in 0..10_000usize {
                    let n = chunk * 10_000 + i + 10;
                    let vehicle = tx.insert_vehicle(&NewVehicle {
                        plate_number: PlateNumber::parse(&plate(n), PlateType::SmallCar).unwrap(),
                        engine_number: "ENG123456".into(),
                        engine_suffix: EngineSuffix::parse("123456").unwrap(),
                        use_nature: UseNature::NonCommercial,
                        owner_kind: OwnerKind::Individual,
                        owner_person_id: None,
                        owner_name: "车主".into(),
                        owner_phone: PhoneNumber::parse("13300000000").unwrap(),
                        owner_resident_id: None,
                        city: "441900".into(),
                        created_at: now,
                    })?;
                    for k in 0..10i64 {
                        tx.insert_violation(&NewViolation {
                            vehicle_id: vehicle,
                            occurred_at: Timestamp::from_millis(now.millis() - k * 86_400_000),
                            code: "1625".into(),
                            description: "驾驶机动车违反道路交通信号灯通行".into(),
                            place: "东莞大道".into(),
                            points: Points::new(6).unwrap(),
                            fine_fen: Fen::from_yuan(200),
                            source: ViolationSource::Device,
                            state: ViolationState::Unhandled,
                            decision_number: None,
                            decided_at: None,
                            created_at: now,
                        })?;
                    }
                }
                Ok(())
            },
        )
        .await
        .unwrap();
    }
    println!(
        "seeded 1,000,000 violations in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let mut times = Vec::new();
    for _ in 0..2000 {
        let t = std::time::Instant::now();
        let r = owner.get("/api/v1/violations").await;
        times.push(t.elapsed());
        assert_eq!(r.status, reqwest::StatusCode::OK);
    }
    times.sort();
    let p = |q: f64| {
        times[((times.len() as f64 * q) as usize).min(times.len() - 1)].as_secs_f64() * 1000.0
    };
    println!(
        "violation list: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        p(0.5),
        p(0.99),
        p(1.0)
    );
}
