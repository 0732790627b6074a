use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn state_changes_need_the_csrf_token_and_our_origin() {
    let app = spawn_app().await;
    let c = app.signed_in(OWNER).await;
    let body = json!({ "phone": OWNER, "purpose": "sign_in" });
    let no_token = c
        .send(
            Method::POST,
            "/api/v1/auth/sms-code",
            Some(body.clone()),
            Some(&new_key()),
            false,
        )
        .await;
    assert_eq!(no_token.status, StatusCode::FORBIDDEN);
    assert_eq!(no_token.code(), "CSRF_CHECK_FAILED");
    let foreign = c
        .http
        .post(format!("{}/api/v1/auth/sms-code", c.base))
        .header("X-CSRF-Token", &c.csrf)
        .header("Idempotency-Key", new_key())
        .header("Origin", "https://evil.example")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), StatusCode::FORBIDDEN);
    let same_origin = c
        .http
        .post(format!("{}/api/v1/auth/sign-out", c.base))
        .header("X-CSRF-Token", &c.csrf)
        .header("Idempotency-Key", new_key())
        .header("Origin", &c.base)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(same_origin.status(), StatusCode::NO_CONTENT);
    // Without any session a state change is unauthenticated.
    let bare = reqwest::Client::new()
        .post(format!("{}/api/v1/auth/sms-code", app.base))
        .header("Idempotency-Key", new_key())
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(bare.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn idempotency_keys_missing_reused_in_flight_and_replayed() {
    let app = spawn_app().await;
    let c = app.signed_in(OWNER).await;
    let path = format!(
        "/api/v1/vehicles/{}/qr-codes",
        app.vehicle_id(renche::domain::PlateType::SmallCar, "粤S12345")
            .await
    );

    let missing = c
        .send(Method::POST, &path, Some(json!({})), None, true)
        .await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert_eq!(missing.code(), "IDEMPOTENCY_KEY_MISSING");

    let key = new_key();
    let first = c
        .send(Method::POST, &path, Some(json!({})), Some(&key), true)
        .await;
    assert_eq!(first.status, StatusCode::CREATED);
    let replay = c
        .send(Method::POST, &path, Some(json!({})), Some(&key), true)
        .await;
    assert_eq!(replay.status, StatusCode::CREATED);
    assert_eq!(
        replay.body, first.body,
        "the stored answer, not a second code"
    );
    assert_eq!(replay.headers["idempotent-replayed"], "true");

    let other = c
        .send(
            Method::POST,
            "/api/v1/auth/sign-out",
            Some(json!({})),
            Some(&key),
            true,
        )
        .await;
    assert_eq!(other.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(other.code(), "IDEMPOTENCY_KEY_REUSED");

    // A request with this key is still running (as if another worker had just started it).
    let me = c.me_id().await;
    let key = new_key();
    let body = serde_json::to_vec(&json!({})).unwrap();
    let fp = renche_server::http::guard::fingerprint("POST", &path, b"application/json", &body);
    let (scope, k) = (format!("p:{me}"), key.clone());
    let now = renche_server::clock::Clock::now(app.clock.as_ref());
    renche_server::store::write::<_, renche_server::error::ServerError>(
        app.state.store.as_ref(),
        move |tx| Ok(tx.idempotency_begin(&scope, &k, &fp, now, now)?),
    )
    .await
    .unwrap();
    let busy = c
        .http
        .post(format!("{}{}", c.base, path))
        .header("X-CSRF-Token", &c.csrf)
        .header("Idempotency-Key", &key)
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(busy.status(), StatusCode::CONFLICT);
    let busy: serde_json::Value = busy.json().await.unwrap();
    assert_eq!(busy["error"]["code"], "IDEMPOTENCY_KEY_IN_USE");

    // Keys belong to the account: another person may use the same key.
    let other_person = app.signed_in(NEWCOMER).await;
    let mine = other_person
        .send(
            Method::POST,
            "/api/v1/auth/sign-out",
            Some(json!({})),
            Some(&key),
            true,
        )
        .await;
    assert_eq!(mine.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn client_mistakes_get_4xx_in_one_shape() {
    let app = spawn_app().await;
    let c = app.signed_in(NEWCOMER).await;
    let raw = |ct: &'static str, body: Vec<u8>| {
        c.http
            .post(format!("{}/api/v1/bindings/sms/challenges", c.base))
            .header("X-CSRF-Token", &c.csrf)
            .header("Idempotency-Key", new_key())
            .header("Content-Type", ct)
            .body(body)
    };
    let check = |status: StatusCode, v: &serde_json::Value| {
        assert!(status.is_client_error(), "{status}");
        assert!(
            v["error"]["code"].is_string()
                && v["error"]["message"]["zh"].is_string()
                && v["error"]["message"]["en"].is_string(),
            "{v}"
        );
    };

    let r = raw("application/json", b"{\"plateType\": ".to_vec())
        .send()
        .await
        .unwrap();
    let s = r.status();
    let v: serde_json::Value = r.json().await.unwrap();
    check(s, &v);
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(v["error"]["code"], "MALFORMED_JSON");

    let r = raw(
        "application/json",
        r#"{"plateType":"02","plateNumber":"粤S12345","engineSuffix":"123456","extra":1}"#
            .as_bytes()
            .to_vec(),
    )
    .send()
    .await
    .unwrap();
    let s = r.status();
    let v: serde_json::Value = r.json().await.unwrap();
    check(s, &v);
    assert_eq!(v["error"]["code"], "UNKNOWN_FIELD");
    assert_eq!(v["error"]["field"], "extra");

    let r = raw(
        "application/json",
        r#"{"plateType":2,"plateNumber":"粤S12345","engineSuffix":"123456"}"#
            .as_bytes()
            .to_vec(),
    )
    .send()
    .await
    .unwrap();
    let s = r.status();
    let v: serde_json::Value = r.json().await.unwrap();
    check(s, &v);
    assert_eq!(v["error"]["code"], "INVALID_FIELD");
    assert_eq!(v["error"]["field"], "plateType");

    let r = raw(
        "application/json",
        br#"{"plateType":"02","engineSuffix":"123456"}"#.to_vec(),
    )
    .send()
    .await
    .unwrap();
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "MISSING_FIELD");
    assert_eq!(v["error"]["field"], "plateNumber");

    let r = raw(
        "application/json",
        r#"{"plateType":"02","plateNumber":"粤I12345","engineSuffix":"123456"}"#
            .as_bytes()
            .to_vec(),
    )
    .send()
    .await
    .unwrap();
    let s = r.status();
    let v: serde_json::Value = r.json().await.unwrap();
    check(s, &v);
    assert_eq!(v["error"]["field"], "plateNumber");

    let r = raw("text/plain", b"hello".to_vec()).send().await.unwrap();
    let s = r.status();
    let v: serde_json::Value = r.json().await.unwrap();
    check(s, &v);
    assert_eq!(s, StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let big = format!("{{\"plateType\":\"{}\"}}", "x".repeat(100_000));
    let r = raw("application/json", big.into_bytes())
        .send()
        .await
        .unwrap();
    let s = r.status();
    let v: serde_json::Value = r.json().await.unwrap();
    check(s, &v);
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);

    let nothing = c.get("/api/v1/no-such-thing").await;
    assert_eq!(nothing.status, StatusCode::NOT_FOUND);
    assert_eq!(nothing.code(), "NOT_FOUND");
    let bad_id = c.get("/api/v1/binding-applications/..%2Fetc").await;
    assert_eq!(bad_id.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_commit_without_a_body_reads_as_empty_json() {
    let app = spawn_app().await;
    let owner = app.signed_in(OWNER).await;
    let id = app
        .vehicle_id(renche::domain::PlateType::SmallCar, "粤S12345")
        .await;
    let r = owner
        .send(
            Method::POST,
            &format!("/api/v1/vehicles/{id}/qr-codes"),
            None,
            Some(&new_key()),
            true,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let needs = owner
        .send(
            Method::POST,
            "/api/v1/bindings/qr/redeem",
            None,
            Some(&new_key()),
            true,
        )
        .await;
    assert_eq!(needs.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(needs.code(), "MISSING_FIELD");
}
