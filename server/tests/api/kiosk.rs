//! Kiosks as enrolled devices: an officer enrols one with its public key; requests it signs are decided
//! on the kiosk channel and audited with the device; anything that merely claims to be a kiosk is refused
//! or decided as the app.

use crate::helpers::*;
use base64::Engine as _;
use ed25519_dalek::{Signer, SigningKey};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

struct Kiosk {
    id: String,
}

/// How a request is signed (or how a test spoils it).
#[derive(Clone, Copy)]
struct Signing<'a> {
    nonce: &'a str,
    /// Milliseconds since the epoch, as the kiosk's clock has it.
    at: i64,
    /// The key that signs (the kiosk's own, or another one).
    key: &'a SigningKey,
}

async fn kiosk_send(
    c: &Client,
    kiosk: &Kiosk,
    s: Signing<'_>,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let bytes = body.map(|b| b.to_string()).unwrap_or_default();
    let text = renche_server::flows::kiosks::signed_text(
        method.as_str(),
        path,
        s.at,
        s.nonce,
        bytes.as_bytes(),
    );
    let signature = B64.encode(s.key.sign(text.as_bytes()).to_bytes());
    let mut req = c
        .http
        .request(method.clone(), format!("{}{path}", c.base))
        .header("X-Kiosk-Id", &kiosk.id)
        .header("X-Kiosk-Timestamp", s.at.to_string())
        .header("X-Kiosk-Nonce", s.nonce)
        .header("X-Kiosk-Signature", signature);
    if method != Method::GET {
        req = req
            .header("X-CSRF-Token", &c.csrf)
            .header("Idempotency-Key", new_key())
            .header("Content-Type", "application/json")
            .body(bytes);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn millis(app: &TestApp) -> i64 {
    renche_server::clock::Clock::now(app.clock.as_ref()).millis()
}

/// 张绑定's card, as the kiosk's reader reads it.
fn binder_card() -> Value {
    let id = renche_server::demo::resident_id("44190019900303003").unwrap();
    json!({ "residentId": id.as_str(), "name": "张绑定" })
}

/// Signs a person in at the kiosk with a card and a face score; on success the client takes the new
/// session's CSRF token (its cookie jar takes the cookie).
async fn kiosk_sign_in(
    c: &mut Client,
    kiosk: &Kiosk,
    s: Signing<'_>,
    card: Value,
    score: f64,
) -> (StatusCode, Value) {
    let body = json!({ "card": card, "face": { "score": score, "live": true } });
    let (status, body) = kiosk_send(
        c,
        kiosk,
        s,
        Method::POST,
        "/api/v1/kiosk/sign-in",
        Some(body),
    )
    .await;
    if status == StatusCode::OK {
        c.csrf = body["csrfToken"].as_str().unwrap().to_owned();
    }
    (status, body)
}

/// Enrols a kiosk in Dongguan with this key.
async fn enrol(officer: &Client, key: &SigningKey) -> Kiosk {
    let public_key = B64.encode(key.verifying_key().to_bytes());
    let enrolled = officer
        .post(
            "/api/v1/window/kiosks",
            json!({ "city": "441900", "place": "东莞市车管所自助区 2 号机", "publicKey": public_key }),
        )
        .await;
    assert_eq!(enrolled.status, StatusCode::CREATED, "{:?}", enrolled.body);
    Kiosk {
        id: enrolled.body["id"].as_str().unwrap().to_owned(),
    }
}

#[tokio::test]
async fn only_a_signed_request_from_an_enabled_kiosk_is_decided_as_one() {
    let app = spawn_app().await;
    let officer = app.signed_in(OFFICER).await;
    let app_user = app.signed_in(BINDER).await;
    let mut driver = app.client().await;
    let key = SigningKey::from_bytes(&[7u8; 32]);
    let public_key = B64.encode(key.verifying_key().to_bytes());

    // Enrolling is an officer's; a person cannot, and a key must be a key.
    let r = app_user
        .post(
            "/api/v1/window/kiosks",
            json!({ "city": "441900", "place": "东莞市车管所自助区 1 号机", "publicKey": public_key }),
        )
        .await;
    assert_eq!(r.code(), "NOT_AN_OFFICER");
    let r = officer
        .post(
            "/api/v1/window/kiosks",
            json!({ "city": "441900", "place": "1 号机", "publicKey": "AAAA" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.body["error"]["field"], "publicKey");
    let enrolled = officer
        .post(
            "/api/v1/window/kiosks",
            json!({ "city": "441900", "place": "东莞市车管所自助区 1 号机", "publicKey": public_key }),
        )
        .await;
    assert_eq!(enrolled.status, StatusCode::CREATED, "{:?}", enrolled.body);
    let kiosk = Kiosk {
        id: enrolled.body["id"].as_str().unwrap().to_owned(),
    };
    let now = millis(&app);
    let good = Signing {
        nonce: "nonce-0000000000000001",
        at: now,
        key: &key,
    };
    // The person signs in with the kiosk's card reader and face check.
    let signing_in = Signing {
        nonce: "nonce-000000000000000a",
        ..good
    };
    let (status, body) = kiosk_sign_in(&mut driver, &kiosk, signing_in, binder_card(), 0.93).await;
    assert_eq!(status, StatusCode::OK, "{body:?}");
    assert_eq!(body["person"]["name"], "张绑定", "{body:?}");
    assert!(body["nextStep"].is_null());

    // A signed read is the kiosk's: decided on the kiosk channel and audited with the device.
    let (status, body) = kiosk_send(
        &driver,
        &kiosk,
        good,
        Method::GET,
        "/api/v1/violations",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body:?}");
    // The same signature again is a replay.
    let (status, body) = kiosk_send(
        &driver,
        &kiosk,
        good,
        Method::GET,
        "/api/v1/violations",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "KIOSK_NOT_RECOGNISED");
    assert_eq!(body["error"]["params"]["problem"], "replayed");
    // Signed two minutes ago; signed by another key; signed for another path.
    let stale = Signing {
        nonce: "nonce-0000000000000002",
        at: now - 120_000,
        ..good
    };
    let (_, body) = kiosk_send(
        &driver,
        &kiosk,
        stale,
        Method::GET,
        "/api/v1/violations",
        None,
    )
    .await;
    assert_eq!(body["error"]["params"]["problem"], "stale");
    let other_key = SigningKey::from_bytes(&[9u8; 32]);
    let forged = Signing {
        nonce: "nonce-0000000000000003",
        key: &other_key,
        ..good
    };
    let (_, body) = kiosk_send(
        &driver,
        &kiosk,
        forged,
        Method::GET,
        "/api/v1/violations",
        None,
    )
    .await;
    assert_eq!(body["error"]["params"]["problem"], "bad_signature");
    // A header alone, with no signature: refused, not taken for the app.
    let r = driver
        .http
        .get(format!("{}/api/v1/violations", driver.base))
        .header("X-Kiosk-Id", &kiosk.id)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // A kiosk that was never enrolled.
    let unknown = Kiosk { id: "999".into() };
    let fresh = Signing {
        nonce: "nonce-0000000000000004",
        ..good
    };
    let (_, body) = kiosk_send(
        &driver,
        &unknown,
        fresh,
        Method::GET,
        "/api/v1/violations",
        None,
    )
    .await;
    assert_eq!(body["error"]["params"]["problem"], "unknown_kiosk");

    // No binding at a kiosk: the core's reason, whatever the request asks.
    let bind = Signing {
        nonce: "nonce-0000000000000005",
        ..good
    };
    let (status, body) = kiosk_send(
        &driver,
        &kiosk,
        bind,
        Method::POST,
        "/api/v1/bindings/qr/redeem",
        Some(json!({ "qrText": "whatever", "relationship": "friend" })),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body:?}");
    assert_eq!(
        body["error"]["reasons"][0]["code"],
        "BINDING_CHANNEL_NOT_SUPPORTED"
    );
    // Claims in a query or a field are nothing: without a signature it is the app, which may go on.
    let r = app_user
        .post(
            "/api/v1/bindings/qr/redeem?channel=kiosk",
            json!({ "qrText": "whatever", "relationship": "friend" }),
        )
        .await;
    assert_ne!(
        r.body["error"]["reasons"][0]["code"], "BINDING_CHANNEL_NOT_SUPPORTED",
        "{:?}",
        r.body
    );

    // The officers' list has it, enabled; a person cannot read the list.
    let listed = officer.get("/api/v1/window/kiosks").await;
    assert_eq!(listed.body["kiosks"][0]["id"], kiosk.id.as_str());
    assert!(listed.body["kiosks"][0]["disabledAt"].is_null());
    assert_eq!(
        app_user.get("/api/v1/window/kiosks").await.code(),
        "NOT_AN_OFFICER"
    );
    // Disabled at once: the next request, however well signed, is refused.
    let disabled = officer
        .post(
            &format!("/api/v1/window/kiosks/{}/disable", kiosk.id),
            json!({}),
        )
        .await;
    assert_eq!(disabled.status, StatusCode::OK, "{:?}", disabled.body);
    assert!(disabled.body["disabledAt"].is_string());
    let after = Signing {
        nonce: "nonce-0000000000000006",
        ..good
    };
    let (_, body) = kiosk_send(
        &driver,
        &kiosk,
        after,
        Method::GET,
        "/api/v1/violations",
        None,
    )
    .await;
    assert_eq!(body["error"]["params"]["problem"], "disabled");
    let listed = officer.get("/api/v1/window/kiosks").await;
    assert!(listed.body["kiosks"][0]["disabledAt"].is_string());

    // Every request the kiosk signed is in the audit log with the device: the read and the refused binding.
    let db = app.db();
    let audited: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'kiosk.request' AND subject = ?1",
            [format!("kiosk:{}", kiosk.id)],
            |r| r.get(0),
        )
        .unwrap();
    // The sign-in, the read and the refused binding.
    assert_eq!(audited, 3);
}

#[tokio::test]
async fn a_kiosk_session_is_honoured_only_on_that_kiosks_signed_requests() {
    let app = spawn_app().await;
    let key = SigningKey::from_bytes(&[11u8; 32]);
    let officer = app.signed_in(OFFICER).await;
    let kiosk = enrol(&officer, &key).await;
    let other_key = SigningKey::from_bytes(&[12u8; 32]);
    let other = enrol(&officer, &other_key).await;
    let now = millis(&app);
    let mut driver = app.client().await;
    let s = |nonce| Signing {
        nonce,
        at: now,
        key: &key,
    };

    // Not at a kiosk: the sign-in is refused outright.
    let r = driver
        .post(
            "/api/v1/kiosk/sign-in",
            json!({ "card": binder_card(), "face": { "score": 0.99, "live": true } }),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.body["error"]["params"]["problem"], "unsigned");
    // A card no one on record holds; a face that does not match; a photo held up (not live).
    let stranger = json!({ "residentId": renche_server::demo::resident_id("44190019700707007").unwrap().as_str(), "name": "路人甲" });
    let (status, body) = kiosk_sign_in(
        &mut driver,
        &kiosk,
        s("nonce-sign-in-00000001"),
        stranger,
        0.99,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"]["params"]["problem"], "card_not_on_record");
    let (_, body) = kiosk_sign_in(
        &mut driver,
        &kiosk,
        s("nonce-sign-in-00000002"),
        binder_card(),
        0.42,
    )
    .await;
    assert_eq!(body["error"]["code"], "KIOSK_SIGN_IN_REFUSED");
    assert_eq!(body["error"]["params"]["problem"], "face_not_matched");
    let body = json!({ "card": binder_card(), "face": { "score": 0.99, "live": false } });
    let (_, body) = kiosk_send(
        &driver,
        &kiosk,
        s("nonce-sign-in-00000003"),
        Method::POST,
        "/api/v1/kiosk/sign-in",
        Some(body),
    )
    .await;
    assert_eq!(body["error"]["params"]["problem"], "face_not_matched");
    let body = json!({ "card": binder_card(), "face": { "score": f64::MAX, "live": true } });
    let (status, body) = kiosk_send(
        &driver,
        &kiosk,
        s("nonce-sign-in-00000004"),
        Method::POST,
        "/api/v1/kiosk/sign-in",
        Some(body),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["field"], "face.score");
    let (status, _) = kiosk_sign_in(
        &mut driver,
        &kiosk,
        s("nonce-sign-in-00000005"),
        binder_card(),
        0.9,
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    // Signed by this kiosk: the person's. Unsigned, or signed by another kiosk: nobody's.
    let (status, body) = kiosk_send(
        &driver,
        &kiosk,
        s("nonce-read-0000000001"),
        Method::GET,
        "/api/v1/me",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body:?}");
    assert_eq!(
        driver.get("/api/v1/me").await.status,
        StatusCode::UNAUTHORIZED
    );
    let elsewhere = Signing {
        nonce: "nonce-read-0000000002",
        at: now,
        key: &other_key,
    };
    let (status, _) = kiosk_send(&driver, &other, elsewhere, Method::GET, "/api/v1/me", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // An app session carried to a kiosk is not the kiosk's sign-in either.
    let app_user = app.signed_in(BINDER).await;
    let (status, _) = kiosk_send(
        &app_user,
        &kiosk,
        s("nonce-read-0000000003"),
        Method::GET,
        "/api/v1/me",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // The same signed request sent eight times at once is taken once.
    let same = s("nonce-race-0000000001");
    let sends = (0..8).map(|_| kiosk_send(&driver, &kiosk, same, Method::GET, "/api/v1/me", None));
    let statuses: Vec<StatusCode> = futures::future::join_all(sends)
        .await
        .into_iter()
        .map(|(s, _)| s)
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::OK).count(),
        1,
        "{statuses:?}"
    );
    // Signing out ends the kiosk session.
    let (status, _) = kiosk_send(
        &driver,
        &kiosk,
        s("nonce-signout-0000001"),
        Method::POST,
        "/api/v1/auth/sign-out",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = kiosk_send(
        &driver,
        &kiosk,
        s("nonce-read-0000000004"),
        Method::GET,
        "/api/v1/me",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.audit_entries("kiosk.sign_in_refused").len(), 3);
}

/// A kiosk's session in a test: each request signed now, by the app's clock, with a fresh nonce.
struct AtKiosk<'a> {
    app: &'a TestApp,
    client: Client,
    kiosk: Kiosk,
    key: &'a SigningKey,
    sent: std::cell::Cell<u32>,
}

impl<'a> AtKiosk<'a> {
    /// Enrols a kiosk with `key` and signs 张绑定 in at it.
    async fn signed_in(app: &'a TestApp, key: &'a SigningKey) -> AtKiosk<'a> {
        let officer = app.signed_in(OFFICER).await;
        let kiosk = enrol(&officer, key).await;
        let mut client = app.client().await;
        let at = millis(app);
        let s = Signing {
            nonce: "nonce-session-sign-in",
            at,
            key,
        };
        let (status, body) = kiosk_sign_in(&mut client, &kiosk, s, binder_card(), 0.9).await;
        assert_eq!(status, StatusCode::OK, "{body:?}");
        AtKiosk {
            app,
            client,
            kiosk,
            key,
            sent: std::cell::Cell::new(0),
        }
    }
    async fn send(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        self.sent.set(self.sent.get() + 1);
        let nonce = format!("nonce-request-{:08}", self.sent.get());
        let s = Signing {
            nonce: &nonce,
            at: millis(self.app),
            key: self.key,
        };
        kiosk_send(&self.client, &self.kiosk, s, method, path, body).await
    }
    async fn look_up(&self, suffix: &str) -> (StatusCode, Value) {
        let body = json!({ "plateType": "02", "plateNumber": "粤S88888", "engineSuffix": suffix });
        self.send(Method::POST, "/api/v1/kiosk/vehicle-lookup", Some(body))
            .await
    }
    async fn handle(&self, id: &str, body: Value) -> (StatusCode, Value) {
        self.send(
            Method::POST,
            &format!("/api/v1/violations/{id}/handle"),
            Some(body),
        )
        .await
    }
}

/// Moves the test's clock to `instant` (RFC 3339).
fn move_clock_to(app: &TestApp, instant: &str) {
    let to = renche::Timestamp::parse_rfc3339(instant).unwrap();
    app.advance((to.millis() - millis(app)) / 1000);
    assert_eq!(millis(app), to.millis());
}

/// The article's rule at the kiosk: until 2026-08-31T23:59:59+08:00 a driver may handle an unbound
/// vehicle's camera violation at a Dongguan kiosk; from 2026-09-01T00:00:00+08:00 only with a binding. The
/// development clock moves; the server is not restarted.
#[tokio::test]
async fn dongguan_kiosks_need_a_binding_from_midnight_on_1_september() {
    let app = spawn_app().await;
    let key = SigningKey::from_bytes(&[13u8; 32]);
    // From the tests' start (2026-09-01T02:00:00Z) back to one second before midnight China time.
    move_clock_to(&app, "2026-08-31T23:59:59+08:00");
    let at = AtKiosk::signed_in(&app, &key).await;
    // 粤S88888 is 黄车主's; 张绑定 has not bound it. The engine-number suffix is off its vehicle licence.
    let (status, body) = at.look_up("888888").await;
    assert_eq!(status, StatusCode::OK, "{body:?}");
    assert_eq!(body["relation"], "none");
    let first = &body["violations"][0];
    assert_eq!(first["route"]["route"], "online", "{first:?}");
    assert_eq!(body["policyVersion"], "441900-2025-01-01.1", "{body:?}");

    // One second later: midnight, 1 September, China Standard Time.
    app.advance(1);
    let (status, body) = at.look_up("888888").await;
    assert_eq!(status, StatusCode::OK, "{body:?}");
    let first = &body["violations"][0];
    assert_eq!(first["route"]["route"], "window", "{first:?}");
    let codes: Vec<&str> = first["route"]["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["code"].as_str())
        .collect();
    assert_eq!(codes, vec!["KIOSK_NEEDS_BINDING"], "{first:?}");
    assert_eq!(body["policyVersion"], "441900-2026-09-01.1");
    // Each lookup is audited with the version that routed it.
    let looked_up = app.audit_entries("kiosk.vehicle_looked_up");
    assert!(
        looked_up[0].1.contains("441900-2025-01-01.1"),
        "{looked_up:?}"
    );
    assert!(
        looked_up[1].1.contains("441900-2026-09-01.1"),
        "{looked_up:?}"
    );
    // Handling it now is refused with the same reason, even with the suffix in hand.
    let id = first["id"].as_str().unwrap().to_owned();
    let (status, body) = at.handle(&id, json!({ "engineSuffix": "888888" })).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body:?}");
    assert_eq!(body["error"]["reasons"][0]["code"], "KIOSK_NEEDS_BINDING");
    // A wrong suffix is the same answer as an unknown plate: nothing found.
    assert_eq!(at.look_up("000000").await.0, StatusCode::NOT_FOUND);
    // Guessing the suffix: after five misses in an hour, even the right one is refused for the hour.
    for guess in ["000001", "000002", "000003", "000004"] {
        assert_eq!(at.look_up(guess).await.0, StatusCode::NOT_FOUND);
    }
    let (status, body) = at.look_up("888888").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body:?}");
    assert_eq!(body["error"]["code"], "TOO_MANY_FAILURES");
    // The app, at the same instant, does not reach a vehicle that is not the person's.
    let app_user = app.signed_in(BINDER).await;
    let r = app_user
        .post(
            &format!("/api/v1/violations/{id}/handle"),
            json!({ "engineSuffix": "888888" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

/// Before the rule, the kiosk handles the unbound vehicle's violation: the points go on the driver's
/// licence, and the audit says it was this kiosk.
#[tokio::test]
async fn before_the_rule_a_kiosk_handles_an_unbound_vehicles_violation_with_its_suffix() {
    let app = spawn_app().await;
    let key = SigningKey::from_bytes(&[14u8; 32]);
    move_clock_to(&app, "2026-08-31T20:00:00+08:00");
    let at = AtKiosk::signed_in(&app, &key).await;
    let (_, body) = at.look_up("888888").await;
    let id = body["violations"][0]["id"].as_str().unwrap().to_owned();
    // Without the suffix the violation is not reachable, as in the app.
    assert_eq!(at.handle(&id, json!({})).await.0, StatusCode::NOT_FOUND);
    let (status, body) = at.handle(&id, json!({ "engineSuffix": "888888" })).await;
    assert_eq!(status, StatusCode::OK, "{body:?}");
    assert!(body["decisionNumber"].is_string(), "{body:?}");
    // Guessing the suffix through handling counts as through lookups: five misses, then nothing for the hour.
    for guess in ["000001", "000002", "000003", "000004", "000005"] {
        let (status, _) = at.handle(&id, json!({ "engineSuffix": guess })).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    let (status, body) = at.look_up("888888").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body:?}");
    let (status, _) = at.handle(&id, json!({ "engineSuffix": "888888" })).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let handled = app.audit_entries("violation.handled");
    assert!(
        handled
            .iter()
            .any(|(_, detail)| detail.contains("\"channel\":\"kiosk\"")),
        "{handled:?}"
    );
}
