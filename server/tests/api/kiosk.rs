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

#[tokio::test]
async fn only_a_signed_request_from_an_enabled_kiosk_is_decided_as_one() {
    let app = spawn_app().await;
    let officer = app.signed_in(OFFICER).await;
    let driver = app.signed_in(BINDER).await;
    let key = SigningKey::from_bytes(&[7u8; 32]);
    let public_key = B64.encode(key.verifying_key().to_bytes());

    // Enrolling is an officer's; a person cannot, and a key must be a key.
    let r = driver
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
    let r = driver
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

    // Every request the kiosk signed is in the audit log with the device: the read and the refused binding.
    let db = app.db();
    let audited: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'kiosk.request' AND subject = ?1",
            [format!("kiosk:{}", kiosk.id)],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(audited, 2);
}
