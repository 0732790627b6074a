//! Security properties that the backend's own API tests leave open: the authorisation matrix of every
//! endpoint, SMS codes (hashed at rest, lifetime, single use, bound to the requester, cool-down and
//! daily cap of binding challenges), QR codes (altered, forged, reused, at the vehicle's limit),
//! sessions (cookie flags, token renewal, sign-out, cross-session CSRF) and enumeration timing.

use crate::common::{self, plan, TestServer};
use renche_reliability::client::{Call, Session};
use renche_reliability::stats::Latencies;
use reqwest::Method;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const POLICY: &str = "441900-2026-09-01.1";
const DOCS: [&str; 3] = ["driving_licence", "id_card", "vehicle_licence"];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Anonymous,
    /// The binder: owns the bindings, applications and challenges in the fixture.
    Person,
    Other,
    Owner,
    Officer,
}

const ROLES: [Role; 5] = [
    Role::Anonymous,
    Role::Other,
    Role::Owner,
    Role::Officer,
    Role::Person,
];

/// Everything the matrix points at.
struct Fixture {
    anon: Session,
    person: Session,
    other: Session,
    owner: Session,
    officer: Session,
    person_id: i64,
    other_id: i64,
    person_resident_id: String,
    /// Vehicles of the owner: 0..3 bound by the person, 3.. free.
    vehicles: Vec<(i64, String, String)>,
    bindings: Vec<String>,
    application: String,
    challenge: String,
    violations: Vec<i64>,
    reviews: Vec<String>,
}

impl Fixture {
    fn session(&self, role: Role) -> &Session {
        match role {
            Role::Anonymous => &self.anon,
            Role::Person => &self.person,
            Role::Other => &self.other,
            Role::Owner => &self.owner,
            Role::Officer => &self.officer,
        }
    }
}

async fn fixture(s: &TestServer) -> Fixture {
    let p = &s.pop.people;
    let owner = p[0].session.clone();
    let person = p[1].session.clone();
    let other = p[2].session.clone();
    let reviewer = p[3].session.clone();
    let officer = s.pop.officers[0].session.clone();
    let vehicles: Vec<(i64, String, String)> = s
        .pop
        .vehicles
        .iter()
        .filter(|v| v.owner_id == owner.person_id)
        .map(|v| (v.id, v.plate_number.clone(), v.engine_suffix.clone()))
        .collect();
    assert!(vehicles.len() >= 8);
    // An SMS challenge of the person, started before they reach their limit (at the limit a start is
    // refused before anything is sent).
    let ch = s
        .post(
            Some(&person),
            "/api/v1/bindings/sms/challenges",
            json!({ "plateType": "02", "plateNumber": vehicles[4].1, "engineSuffix": vehicles[4].2 }),
        )
        .await;
    assert_eq!(ch.status, 202, "{:?}", ch.body);
    let challenge = ch.str_at("/challengeId").unwrap();
    let mut bindings = Vec::new();
    for v in &vehicles[0..3] {
        bindings.push(s.bind(&owner, &person, v.0).await);
    }
    // An open application of the person (at their limit now).
    let text = s.qr(&owner, vehicles[3].0).await;
    let opened = s
        .post(
            Some(&person),
            "/api/v1/bindings/qr/redeem",
            json!({ "qrText": text }),
        )
        .await;
    let application = opened.str_at("/applicationId").unwrap();
    // Violations of a vehicle the person has bound (after the binding), one for each handler.
    let now = renche_reliability::seed::wall_clock();
    let later = renche::Timestamp::from_millis(now.millis() + 1000);
    let mut violations = Vec::new();
    for _ in 0..3 {
        violations.push(
            renche_reliability::seed::add_violation(&s.db, vehicles[0].0, later)
                .await
                .unwrap(),
        );
    }
    // Two applications waiting for manual review (the face check failed).
    let mut reviews = Vec::new();
    for v in &vehicles[5..7] {
        let text = s.qr(&owner, v.0).await;
        let opened = s
            .post(
                Some(&reviewer),
                "/api/v1/bindings/qr/redeem",
                json!({ "qrText": text }),
            )
            .await;
        let app = opened.str_at("/applicationId").unwrap();
        let c = s
            .commit_verified(&reviewer, &app, json!({ "relationship": "friend" }), "fail")
            .await;
        assert_eq!(c.status, 422, "{:?}", c.body);
        // Manual review needs the applicant's ID photo first (a raw image body).
        let photo = s
            .http
            .put(format!(
                "{}/api/v1/binding-applications/{app}/review-photo",
                s.url
            ))
            .header("cookie", format!("renche_session={}", reviewer.token))
            .header("x-csrf-token", &reviewer.csrf)
            .header("idempotency-key", renche_reliability::client::new_key())
            .header("content-type", "image/jpeg")
            .body(vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x02, 0xFF, 0xD9])
            .send()
            .await
            .unwrap();
        assert_eq!(photo.status(), 201);
        let r = s
            .post(
                Some(&reviewer),
                &format!("/api/v1/binding-applications/{app}/manual-review"),
                json!({ "relationship": "friend", "note": "ID card photo" }),
            )
            .await;
        assert_eq!(r.status, 202, "{:?}", r.body);
        reviews.push(app);
    }
    s.dev(
        Method::POST,
        "/api/v1/dev/payment",
        Some(json!({ "outcome": "succeed" })),
    )
    .await;
    Fixture {
        anon: s.anonymous().await,
        person_id: person.person_id,
        other_id: other.person_id,
        person_resident_id: p[1].resident_id.clone(),
        person,
        other,
        owner,
        officer,
        vehicles,
        bindings,
        application,
        challenge,
        violations,
        reviews,
    }
}

/// One row: a request built for a role, and the expected status for
/// (anonymous, person, other, owner, officer).
struct Row {
    name: &'static str,
    expect: [u16; 5],
    build: fn(&Fixture, Role) -> (Method, String, Option<Value>),
}

fn idx(role: Role) -> usize {
    match role {
        Role::Anonymous => 0,
        Role::Person => 1,
        Role::Other => 2,
        Role::Owner => 3,
        Role::Officer => 4,
    }
}

fn get(path: String) -> (Method, String, Option<Value>) {
    (Method::GET, path, None)
}
fn post(path: String, body: Value) -> (Method, String, Option<Value>) {
    (Method::POST, path, Some(body))
}

fn rows() -> Vec<Row> {
    vec![
        Row {
            name: "GET /healthz",
            expect: [200, 200, 200, 200, 200],
            build: |_, _| get("/healthz".into()),
        },
        Row {
            name: "GET /policy",
            expect: [200, 200, 200, 200, 200],
            build: |_, _| get("/api/v1/policy?city=441900".into()),
        },
        Row {
            name: "GET /policy/cities",
            expect: [200, 200, 200, 200, 200],
            build: |_, _| get("/api/v1/policy/cities".into()),
        },
        Row {
            name: "GET /session",
            expect: [200, 200, 200, 200, 200],
            build: |_, _| get("/api/v1/session".into()),
        },
        Row {
            name: "GET /me",
            expect: [401, 200, 200, 200, 200],
            build: |_, _| get("/api/v1/me".into()),
        },
        Row {
            name: "GET /notifications",
            expect: [401, 200, 200, 200, 200],
            build: |_, _| get("/api/v1/notifications".into()),
        },
        Row {
            name: "GET /vehicles",
            expect: [401, 200, 200, 200, 200],
            build: |_, _| get("/api/v1/vehicles".into()),
        },
        Row {
            name: "GET /bindings",
            expect: [401, 200, 200, 200, 200],
            build: |_, _| get("/api/v1/bindings".into()),
        },
        Row {
            name: "GET /violations",
            expect: [401, 200, 200, 200, 200],
            build: |_, _| get("/api/v1/violations".into()),
        },
        Row {
            name: "GET /binding-applications/{id}",
            expect: [401, 200, 404, 404, 404],
            build: |f, _| get(format!("/api/v1/binding-applications/{}", f.application)),
        },
        Row {
            name: "GET /window/people",
            expect: [401, 403, 403, 403, 200],
            build: |f, _| {
                get(format!(
                    "/api/v1/window/people?residentId={}",
                    f.person_resident_id
                ))
            },
        },
        Row {
            name: "GET /window/vehicles",
            expect: [401, 403, 403, 403, 200],
            build: |f, _| {
                get(format!(
                    "/api/v1/window/vehicles?plateType=02&plateNumber={}",
                    f.vehicles[0].1
                ))
            },
        },
        Row {
            name: "GET /window/violations",
            expect: [401, 403, 403, 403, 200],
            build: |f, _| {
                get(format!(
                    "/api/v1/window/violations?personId={}&vehicleId={}",
                    f.person_id, f.vehicles[0].0
                ))
            },
        },
        Row {
            name: "GET /window/reviews",
            expect: [401, 403, 403, 403, 200],
            build: |_, _| get("/api/v1/window/reviews".into()),
        },
        Row {
            name: "GET /api/v1/unknown",
            expect: [404, 404, 404, 404, 404],
            build: |_, _| get("/api/v1/no-such-endpoint".into()),
        },
        Row {
            name: "POST /auth/sms-code",
            expect: [202, 202, 202, 202, 202],
            build: |_, r| {
                post(
                    "/api/v1/auth/sms-code".into(),
                    json!({ "phone": format!("1370000000{}", idx(r)), "purpose": "register" }),
                )
            },
        },
        Row {
            name: "POST /auth/register (unknown challenge)",
            expect: [404, 404, 404, 404, 404],
            build: |_, r| {
                post(
                    "/api/v1/auth/register".into(),
                    json!({ "challengeId": "0123456789abcdef0123456789abcdef", "code": "123456",
                            "phone": format!("1370000000{}", idx(r)) }),
                )
            },
        },
        Row {
            name: "POST /auth/sign-in (unknown challenge)",
            expect: [404, 404, 404, 404, 404],
            build: |_, r| {
                post(
                    "/api/v1/auth/sign-in".into(),
                    json!({ "challengeId": "0123456789abcdef0123456789abcdef", "code": "123456", "phone": format!("1370000000{}", idx(r)) }),
                )
            },
        },
        Row {
            name: "POST /vehicles/{id}/qr-codes",
            expect: [401, 404, 404, 201, 404],
            build: |f, _| {
                post(
                    format!("/api/v1/vehicles/{}/qr-codes", f.vehicles[7].0),
                    json!({}),
                )
            },
        },
        Row {
            name: "POST /bindings/sms/challenges",
            // Refused before anything is texted: the person is at their limit, the owner owns the car.
            expect: [401, 409, 202, 409, 202],
            build: |f, _| {
                post(
                    "/api/v1/bindings/sms/challenges".into(),
                    json!({ "plateType": "02", "plateNumber": f.vehicles[8].1, "engineSuffix": f.vehicles[8].2 }),
                )
            },
        },
        Row {
            name: "POST /bindings/sms/challenges/{id}/confirm",
            expect: [401, 422, 404, 404, 404],
            build: |f, _| {
                post(
                    format!("/api/v1/bindings/sms/challenges/{}/confirm", f.challenge),
                    json!({ "code": "000000" }),
                )
            },
        },
        Row {
            name: "POST /binding-applications/{id}/commit",
            // The binder's own: without a verification the application waits for one (202).
            expect: [401, 202, 404, 404, 404],
            build: |f, _| {
                post(
                    format!("/api/v1/binding-applications/{}/commit", f.application),
                    json!({ "relationship": "friend" }),
                )
            },
        },
        Row {
            name: "POST /binding-applications/{id}/manual-review",
            expect: [401, 409, 404, 404, 404],
            build: |f, _| {
                post(
                    format!(
                        "/api/v1/binding-applications/{}/manual-review",
                        f.application
                    ),
                    json!({ "note": "x" }),
                )
            },
        },
        Row {
            name: "POST /violations/{id}/handle",
            expect: [401, 200, 404, 200, 404],
            build: |f, r| {
                let v = if r == Role::Owner {
                    f.violations[1]
                } else {
                    f.violations[0]
                };
                post(
                    format!("/api/v1/violations/{v}/handle"),
                    json!({ "policyVersion": POLICY }),
                )
            },
        },
        Row {
            name: "POST /window/bindings",
            expect: [401, 403, 403, 403, 201],
            build: |f, _| {
                post(
                    "/api/v1/window/bindings".into(),
                    json!({ "personId": f.other_id.to_string(), "vehicleId": f.vehicles[9].0.to_string(), "relationship": "other",
                            "documentsChecked": DOCS, "policyVersion": POLICY }),
                )
            },
        },
        Row {
            name: "POST /window/violations/{id}/handle",
            expect: [401, 403, 403, 403, 200],
            build: |f, _| {
                post(
                    format!("/api/v1/window/violations/{}/handle", f.violations[2]),
                    json!({ "personId": f.other_id.to_string(), "documentsChecked": DOCS, "policyVersion": POLICY }),
                )
            },
        },
        Row {
            name: "GET /history",
            expect: [401, 200, 200, 200, 200],
            build: |_, _| get("/api/v1/history".into()),
        },
        Row {
            name: "GET /owner/applications",
            expect: [401, 200, 200, 200, 200],
            build: |_, _| get("/api/v1/owner/applications".into()),
        },
        Row {
            name: "GET /binding-applications",
            expect: [401, 200, 200, 200, 200],
            build: |_, _| get("/api/v1/binding-applications".into()),
        },
        Row {
            name: "POST /notifications/read",
            expect: [401, 200, 200, 200, 200],
            build: |_, _| post("/api/v1/notifications/read".into(), json!({})),
        },
        Row {
            name: "GET /window/reviews/{id}",
            expect: [401, 403, 403, 403, 200],
            build: |f, _| get(format!("/api/v1/window/reviews/{}", f.reviews[0])),
        },
        Row {
            name: "GET /window/reviews/{id}/photo",
            expect: [401, 403, 403, 403, 200],
            build: |f, _| get(format!("/api/v1/window/reviews/{}/photo", f.reviews[0])),
        },
        Row {
            name: "POST /window/reviews/{id}/approve",
            expect: [401, 403, 403, 403, 201],
            build: |f, _| {
                post(
                    format!("/api/v1/window/reviews/{}/approve", f.reviews[0]),
                    json!({ "policyVersion": POLICY }),
                )
            },
        },
        Row {
            name: "POST /window/reviews/{id}/reject",
            expect: [401, 403, 403, 403, 200],
            build: |f, _| {
                post(
                    format!("/api/v1/window/reviews/{}/reject", f.reviews[1]),
                    json!({ "reasonCode": "photo_unclear", "reason": "photo unreadable" }),
                )
            },
        },
        Row {
            name: "POST /window/kiosks",
            expect: [401, 403, 403, 403, 201],
            build: |_, _| {
                post(
                    "/api/v1/window/kiosks".into(),
                    json!({ "city": "441900", "place": "自助区 1 号机", "publicKey": "gI5ZiRZwP5jfIHuZTDJ3vqglbsAtq+N/r0mvxav42q0=" }),
                )
            },
        },
        Row {
            name: "GET /window/kiosks",
            expect: [401, 403, 403, 403, 200],
            build: |_, _| get("/api/v1/window/kiosks".into()),
        },
        Row {
            name: "POST /window/kiosks/{id}/disable",
            expect: [401, 403, 403, 403, 200],
            build: |_, _| post("/api/v1/window/kiosks/1/disable".into(), json!({})),
        },
        // Kiosk endpoints answer only a kiosk's signed request; a session, however privileged, is not one.
        Row {
            name: "POST /kiosk/sign-in (unsigned)",
            expect: [401, 401, 401, 401, 401],
            build: |_, _| {
                post(
                    "/api/v1/kiosk/sign-in".into(),
                    json!({ "card": { "residentId": "441900199003030030", "name": "张绑定" }, "face": { "score": 0.99, "live": true } }),
                )
            },
        },
        Row {
            name: "POST /kiosk/vehicle-lookup (unsigned)",
            expect: [401, 401, 401, 401, 401],
            build: |_, _| {
                post(
                    "/api/v1/kiosk/vehicle-lookup".into(),
                    json!({ "plateType": "02", "plateNumber": "粤S88888", "engineSuffix": "888888" }),
                )
            },
        },
        Row {
            name: "DELETE /bindings/{id}",
            expect: [401, 200, 404, 200, 200],
            build: |f, r| {
                let b = match r {
                    Role::Owner => &f.bindings[1],
                    Role::Officer => &f.bindings[2],
                    _ => &f.bindings[0],
                };
                (Method::DELETE, format!("/api/v1/bindings/{b}"), None)
            },
        },
        Row {
            name: "POST /auth/sign-out",
            expect: [401, 204, 204, 204, 204],
            build: |_, _| post("/api/v1/auth/sign-out".into(), json!({})),
        },
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorisation_matrix() {
    let _machine = crate::common::shared_machine().await;
    let s = common::start(plan(6, 1, 10, 1), false).await;
    let f = fixture(&s).await;
    let mut failures = Vec::new();
    let mut table = String::new();
    for row in rows() {
        table.push_str(&format!("{:48}", row.name));
        for role in ROLES {
            let (method, path, body) = (row.build)(&f, role);
            let session = f.session(role);
            let call = Call {
                key: (method != Method::GET).then(renche_reliability::client::new_key),
                method,
                path,
                body,
                session: Some(session),
                timeout: None,
            };
            let r = s.send(&call).await;
            let want = row.expect[idx(role)];
            table.push_str(&format!(" {:?}={}", role, r.status));
            if r.status != want {
                failures.push(format!(
                    "{} as {role:?}: {} (expected {want}) {}",
                    row.name, r.status, r.body
                ));
            }
            if r.status >= 400 {
                assert!(
                    r.code().is_some() || r.status == 404 && call.path == "/healthz",
                    "{} as {role:?}: error without the error shape: {}",
                    row.name,
                    r.body
                );
            }
        }
        table.push('\n');
    }
    println!("{table}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Signed out means signed out, with the old cookie too.
    let me = s.get(Some(&f.person), "/api/v1/me").await;
    assert_eq!(me.status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sms_codes_are_hashed_short_lived_single_use_and_bound_to_the_requester() {
    let _machine = crate::common::shared_machine().await;
    let s = common::start(plan(14, 0, 3, 1), false).await;
    let owner = &s.pop.people[0];
    let binder = &s.pop.people[1].session;
    let intruder = &s.pop.people[2].session;
    let v = &s.pop.vehicles[0];
    let start = json!({ "plateType": "02", "plateNumber": v.plate_number, "engineSuffix": v.engine_suffix });

    // Cool-down per requester and plate: a second code within 60 s is refused with the wait.
    let before = s.outbox_codes(&owner.phone).await.len();
    let ch = s
        .post(
            Some(binder),
            "/api/v1/bindings/sms/challenges",
            start.clone(),
        )
        .await;
    assert_eq!(ch.status, 202);
    let id = ch.str_at("/challengeId").unwrap();
    let code = s.next_code(&owner.phone, before).await;
    let again = s
        .post(
            Some(binder),
            "/api/v1/bindings/sms/challenges",
            start.clone(),
        )
        .await;
    assert_eq!(again.status, 429, "{:?}", again.body);
    assert_eq!(again.code(), Some("SMS_RESEND_TOO_SOON"));
    let wait = again.body["error"]["params"]["retryAfterSeconds"]
        .as_i64()
        .unwrap();
    assert!((55..=60).contains(&wait), "retryAfterSeconds {wait}");

    // Stored hashed: no column of the challenge holds the code.
    {
        let db = s.sqlite();
        let mut st = db
            .prepare("SELECT * FROM sms_challenges WHERE id = ?1")
            .unwrap();
        let n = st.column_count();
        let values: Vec<String> = st
            .query_row([&id], |r| {
                Ok((0..n)
                    .map(|i| match r.get_ref(i).unwrap() {
                        rusqlite::types::ValueRef::Text(t) => {
                            String::from_utf8_lossy(t).into_owned()
                        }
                        rusqlite::types::ValueRef::Blob(b) => {
                            String::from_utf8_lossy(b).into_owned()
                        }
                        rusqlite::types::ValueRef::Integer(i) => i.to_string(),
                        _ => String::new(),
                    })
                    .collect())
            })
            .unwrap();
        assert!(
            values.iter().all(|v| !v.contains(&code)),
            "plaintext code in {values:?}"
        );
        let hash: Vec<u8> = db
            .query_row(
                "SELECT code_hash FROM sms_challenges WHERE id = ?1",
                [&id],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(hash.len(), 32, "a SHA-256 digest");
        let audit: i64 = db
            .query_row(
                "SELECT count(*) FROM audit_log WHERE instr(detail, ?1) > 0",
                [format!("\"{code}\"")],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(audit, 0, "the code is not in the audit log");
    }

    // Bound to the request that sent it: the right code from someone else is "not found", and does
    // not use the code up.
    let confirm = format!("/api/v1/bindings/sms/challenges/{id}/confirm");
    let stolen = s
        .post(Some(intruder), &confirm, json!({ "code": code }))
        .await;
    assert_eq!(stolen.status, 404, "{:?}", stolen.body);

    // Valid at 299 s.
    s.advance(299.0).await;
    let ok = s
        .post(Some(binder), &confirm, json!({ "code": code }))
        .await;
    assert_eq!(ok.status, 201, "{:?}", ok.body);
    // Single use.
    let reused = s
        .post(Some(binder), &confirm, json!({ "code": code }))
        .await;
    assert_eq!(reused.status, 410, "{:?}", reused.body);
    assert_eq!(reused.code(), Some("SMS_CODE_USED"));

    // Expired at 300 s.
    s.advance(61.0).await;
    let before = s.outbox_codes(&owner.phone).await.len();
    let ch = s
        .post(
            Some(binder),
            "/api/v1/bindings/sms/challenges",
            start.clone(),
        )
        .await;
    assert_eq!(ch.status, 202, "{:?}", ch.body);
    let id = ch.str_at("/challengeId").unwrap();
    let code = s.next_code(&owner.phone, before).await;
    s.advance(300.0).await;
    let late = s
        .post(
            Some(binder),
            &format!("/api/v1/bindings/sms/challenges/{id}/confirm"),
            json!({ "code": code }),
        )
        .await;
    assert_eq!(late.status, 410, "{:?}", late.body);
    assert_eq!(late.code(), Some("SMS_CODE_EXPIRED"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binding_challenges_have_a_daily_cap_per_plate() {
    let _machine = crate::common::shared_machine().await;
    let s = common::start(plan(14, 0, 1, 1), false).await;
    let v = &s.pop.vehicles[0];
    let body = json!({ "plateType": "02", "plateNumber": v.plate_number, "engineSuffix": v.engine_suffix });
    // Ten different people (the cool-down is per person and plate): ten codes, then the plate's cap.
    for p in &s.pop.people[1..11] {
        let r = s
            .post(
                Some(&p.session),
                "/api/v1/bindings/sms/challenges",
                body.clone(),
            )
            .await;
        assert_eq!(r.status, 202, "{:?}", r.body);
    }
    let capped = s
        .post(
            Some(&s.pop.people[11].session),
            "/api/v1/bindings/sms/challenges",
            body.clone(),
        )
        .await;
    assert_eq!(capped.status, 429, "{:?}", capped.body);
    assert_eq!(capped.code(), Some("SMS_DAILY_CAP_REACHED"));
    // A wrong engine suffix is capped the same way (the cap cannot tell whether the plate exists).
    let wrong =
        json!({ "plateType": "02", "plateNumber": v.plate_number, "engineSuffix": "ZZZZZZ" });
    let r = s
        .post(
            Some(&s.pop.people[12].session),
            "/api/v1/bindings/sms/challenges",
            wrong,
        )
        .await;
    assert_eq!(r.status, 429);
    assert_eq!(r.code(), Some("SMS_DAILY_CAP_REACHED"));
}

fn alter(text: &str, at: usize) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    let i = at % chars.len();
    chars[i] = match chars[i] {
        'A' => 'B',
        '0' => '1',
        c if c.is_ascii_digit() => '0',
        c if c.is_ascii_uppercase() => 'A',
        c if c.is_ascii_lowercase() => 'a',
        _ => 'A',
    };
    chars.into_iter().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qr_codes_altered_forged_reused_and_at_the_limit() {
    let _machine = crate::common::shared_machine().await;
    let s = common::start(plan(8, 0, 3, 1), false).await;
    let owner = &s.pop.people[0].session;
    let p: Vec<Session> = s.pop.people[1..]
        .iter()
        .map(|x| x.session.clone())
        .collect();
    let vehicle = s.pop.vehicles[0].id;
    let redeem = |who: &Session, text: String| {
        let who = who.clone();
        let s = &s;
        async move {
            s.post(
                Some(&who),
                "/api/v1/bindings/qr/redeem",
                json!({ "qrText": text }),
            )
            .await
        }
    };

    // Altered anywhere: never accepted, never a server error, and the genuine code still works.
    let text = s.qr(owner, vehicle).await;
    let len = text.chars().count();
    for at in (0..len).step_by((len / 24).max(1)) {
        let bad = alter(&text, at);
        if bad == text {
            continue;
        }
        let r = redeem(&p[0], bad.clone()).await;
        assert!(
            (400..500).contains(&r.status) && r.code().is_some(),
            "altered at {at}: {} {:?}",
            r.status,
            r.body
        );
    }
    // Forged: a well-formed payload signed with another key.
    let expires =
        renche::Timestamp::from_millis(renche_reliability::seed::wall_clock().millis() + 120_000);
    let forged =
        renche::qr::QrPayload::new([7u8; renche::qr::payload::TOKEN_LEN], expires, "粤S·0**00")
            .unwrap()
            .encode(b"not the server's key, not the server's key");
    let r = redeem(&p[0], forged).await;
    assert!((400..500).contains(&r.status), "forged: {:?}", r.body);
    assert_eq!(r.code(), Some("QR_BAD_SIGNATURE"), "{:?}", r.body);

    let ok = redeem(&p[0], text.clone()).await;
    assert_eq!(ok.status, 201, "{:?}", ok.body);
    // Reused: by the same person or anyone else.
    for who in [&p[0], &p[1]] {
        let r = redeem(who, text.clone()).await;
        assert_eq!(r.status, 410, "{:?}", r.body);
        assert!(
            matches!(r.code(), Some("QR_ALREADY_USED" | "QR_CODE_ALREADY_USED")),
            "{:?}",
            r.body
        );
    }

    // A vehicle at its limit of three binders: the code redeems with a failing precheck, and the
    // commit is refused.
    for b in &p[1..4] {
        s.bind(owner, b, vehicle).await;
    }
    let text = s.qr(owner, vehicle).await;
    let opened = redeem(&p[4], text).await;
    assert_eq!(opened.status, 201, "{:?}", opened.body);
    assert_eq!(opened.body["precheck"]["allowed"], false);
    assert!(opened.body["precheck"]["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["code"] == "VEHICLE_BINDER_LIMIT_REACHED"));
    let app = opened.str_at("/applicationId").unwrap();
    let c = s
        .commit_verified(&p[4], &app, json!({ "relationship": "friend" }), "pass")
        .await;
    assert_eq!(c.status, 409, "{:?}", c.body);
    assert_eq!(c.code(), Some("VEHICLE_BINDER_LIMIT_REACHED"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_cookie_flags_renewal_sign_out_and_csrf() {
    let _machine = crate::common::shared_machine().await;
    let s = common::start(plan(3, 0, 1, 1), false).await;
    let person = &s.pop.people[1];
    // The anonymous session's cookie.
    let resp = s
        .http
        .get(format!("{}/api/v1/session", s.url))
        .send()
        .await
        .unwrap();
    let cookie = resp
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let attrs: Vec<String> = cookie
        .split(';')
        .map(|a| a.trim().to_ascii_lowercase())
        .collect();
    assert!(attrs.contains(&"httponly".to_owned()), "{cookie}");
    assert!(attrs.contains(&"samesite=strict".to_owned()), "{cookie}");
    assert!(attrs.contains(&"path=/".to_owned()), "{cookie}");
    let token = cookie
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("renche_session=")
        .to_owned();
    assert!(
        token.len() >= 32 && token.bytes().all(|b| b.is_ascii_hexdigit()),
        "≥128-bit token: {token}"
    );
    let csrf = resp.json::<Value>().await.unwrap()["csrfToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let anon = Session {
        person_id: 0,
        token: token.clone(),
        csrf,
    };
    // The token is not stored as such.
    let stored: i64 = s
        .sqlite()
        .query_row("SELECT count(*) FROM sessions WHERE instr(lower(hex(token_hash)), ?1) > 0 OR token_hash = ?2", rusqlite::params![token, token.as_bytes()], |r| r.get(0))
        .unwrap();
    assert_eq!(stored, 0);

    // Sign in by SMS: a new token replaces the anonymous one.
    let r = s
        .post(
            Some(&anon),
            "/api/v1/auth/sms-code",
            json!({ "phone": person.phone, "purpose": "sign_in" }),
        )
        .await;
    assert_eq!(r.status, 202, "{:?}", r.body);
    let challenge = r.str_at("/challengeId").unwrap();
    let code = s.next_code(&person.phone, 0).await;
    let call = Call::post(
        "/api/v1/auth/sign-in",
        Some(&anon),
        json!({ "challengeId": challenge, "code": code, "phone": person.phone }),
    );
    let resp = s
        .http
        .post(format!("{}{}", s.url, call.path))
        .header("cookie", format!("renche_session={}", anon.token))
        .header("x-csrf-token", &anon.csrf)
        .header("idempotency-key", call.key.unwrap())
        .header("content-type", "application/json")
        .body(call.body.unwrap().to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let cookie = resp
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let new_token = cookie
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("renche_session=")
        .to_owned();
    assert_ne!(new_token, anon.token, "a new token at sign-in");
    let body: Value = resp.json().await.unwrap();
    let signed = Session {
        person_id: person.id,
        token: new_token,
        csrf: body["csrfToken"].as_str().unwrap().to_owned(),
    };
    assert_ne!(signed.csrf, anon.csrf, "a new CSRF token at sign-in");
    assert_eq!(s.get(Some(&signed), "/api/v1/me").await.status, 200);
    // The old anonymous token no longer names a session (fixation): GET /session makes a new one.
    let old = s.get(Some(&anon), "/api/v1/session").await;
    assert_eq!(old.body["person"], Value::Null);
    assert_ne!(old.str_at("/csrfToken"), Some(anon.csrf.clone()));

    // CSRF: another session's valid token, the anonymous token, or none are all refused.
    let other = &s.pop.people[2].session;
    let mut truncated = signed.csrf.clone();
    truncated.pop();
    for csrf in [
        other.csrf.clone(),
        anon.csrf.clone(),
        String::new(),
        truncated,
        signed.csrf.to_uppercase(),
    ] {
        let forged = Session {
            csrf,
            ..signed.clone()
        };
        let r = s
            .post(Some(&forged), "/api/v1/vehicles/1/qr-codes", json!({}))
            .await;
        assert_eq!(r.status, 403, "{:?}", r.body);
        assert_eq!(r.code(), Some("CSRF_CHECK_FAILED"));
    }

    // Sign-out ends the session on the server, not only in the browser.
    let out = s
        .post(Some(&signed), "/api/v1/auth/sign-out", json!({}))
        .await;
    assert_eq!(out.status, 204);
    assert_eq!(s.get(Some(&signed), "/api/v1/me").await.status, 401);
    let replay = s
        .post(Some(&signed), "/api/v1/vehicles/1/qr-codes", json!({}))
        .await;
    assert_eq!(replay.status, 401, "{:?}", replay.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sms_binding_start_does_not_enumerate_plates() {
    let _machine = crate::common::shared_machine().await;
    // The throttles are opened up so that 2 × 200 challenges can be sent; they have their own test.
    let s = common::start(plan(3, 0, 1, 1), true).await;
    let binder = &s.pop.people[1].session;
    let v = &s.pop.vehicles[0];
    let unknown =
        json!({ "plateType": "02", "plateNumber": "粤B99999", "engineSuffix": v.engine_suffix });
    let wrong =
        json!({ "plateType": "02", "plateNumber": v.plate_number, "engineSuffix": "ZZZZZZ" });
    let shape = |b: &Value| -> Vec<(String, usize)> {
        let mut k: Vec<(String, usize)> = b
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().map(str::len).unwrap_or(0)))
            .collect();
        k.sort();
        k
    };
    // Warm up, then alternate so that drift hits both alike.
    for _ in 0..20 {
        s.post(
            Some(binder),
            "/api/v1/bindings/sms/challenges",
            unknown.clone(),
        )
        .await;
        s.post(
            Some(binder),
            "/api/v1/bindings/sms/challenges",
            wrong.clone(),
        )
        .await;
    }
    let (mut a, mut b) = (Latencies::default(), Latencies::default());
    let mut first_shape = None;
    for i in 0..400 {
        let body = if i % 2 == 0 { &unknown } else { &wrong };
        let call = Call::post(
            "/api/v1/bindings/sms/challenges",
            Some(binder),
            body.clone(),
        );
        let t = Instant::now();
        let r = s.send(&call).await;
        let d = t.elapsed();
        assert_eq!(r.status, 202, "{:?}", r.body);
        let sh = shape(&r.body);
        match &first_shape {
            None => first_shape = Some(sh),
            Some(f) => assert_eq!(f, &sh),
        }
        if i % 2 == 0 {
            a.push(d);
        } else {
            b.push(d);
        }
    }
    let (ma, mb) = (a.p50(), b.p50());
    println!(
        "SMS binding start, 200 each: unknown plate median {ma:.3} ms (p99 {:.3}), wrong engine suffix median {mb:.3} ms (p99 {:.3})",
        a.p99(),
        b.p99()
    );
    // Generous: the medians within 1 ms or 50 % of each other.
    let diff = (ma - mb).abs();
    assert!(
        diff <= 1.0_f64.max(0.5 * ma.max(mb)),
        "medians {ma:.3} vs {mb:.3} ms"
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        s.outbox_codes(&s.pop.people[0].phone).await.is_empty(),
        "no code went out"
    );
}
