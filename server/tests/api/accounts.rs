use crate::helpers::*;
use renche::Timestamp;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn health_and_policy_with_etag() {
    let app = spawn_app().await;
    let c = app.client().await;
    let h = c.get("/healthz").await;
    assert_eq!(h.status, StatusCode::OK);
    assert_eq!(h.body["status"], "ok");

    let p = c.get("/api/v1/policy?city=441900").await;
    assert_eq!(p.status, StatusCode::OK);
    assert_eq!(p.body["version"], "441900-2026-09-01.1");
    assert_eq!(p.body["kioskRequiresBinding"], true);
    let etag = p.headers["etag"].to_str().unwrap().to_owned();
    let again = c
        .http
        .get(format!("{}/api/v1/policy?city=441900", c.base))
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(
        c.get("/api/v1/policy?city=999999").await.status,
        StatusCode::NOT_FOUND
    );
    let cities = c.get("/api/v1/policy/cities").await;
    assert!(cities
        .body
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["code"] == "441900"));

    // The web app at `/` and the WebAssembly package at `/pkg/` (both the temp dir in tests).
    std::fs::write(
        app.www_dir().join("index.html"),
        "<!doctype html><title>renche</title>",
    )
    .unwrap();
    std::fs::write(app.www_dir().join("renche.js"), "export {};").unwrap();
    let page = reqwest::get(format!("{}/", app.base)).await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("renche"));
    let pkg = reqwest::get(format!("{}/pkg/renche.js", app.base))
        .await
        .unwrap();
    assert_eq!(pkg.status(), StatusCode::OK);
}

/// A city switched on at a future instant: the server decides with the version in force at its clock's
/// now, says which version comes next and when, and switches at that instant without a restart.
#[tokio::test]
async fn a_scheduled_policy_version_takes_over_at_its_instant() {
    let app = spawn_app().await;
    let c = app.client().await;
    let policy = c.get("/api/v1/policy?city=533300").await;
    assert_eq!(policy.body["version"], "533300-2026-09-01.1");
    assert_eq!(policy.body["featureEnabled"], false);
    assert_eq!(
        policy.headers["x-policy-next-version"],
        "533300-2027-01-01.1"
    );
    assert_eq!(
        policy.headers["x-policy-next-effective-from"], "2026-12-31T16:00:00.000Z",
        "midnight on 1 January, China time"
    );
    let city = |body: &serde_json::Value| {
        body.as_array()
            .unwrap()
            .iter()
            .find(|c| c["code"] == "533300")
            .cloned()
            .unwrap()
    };
    let listed = city(&c.get("/api/v1/policy/cities").await.body);
    assert_eq!(listed["next"]["version"], "533300-2027-01-01.1");
    assert_eq!(listed["next"]["featureEnabled"], true);

    // From START (2026-09-01T02:00:00Z) to one second before the instant, then to it.
    let to_eve = Timestamp::parse_rfc3339("2026-12-31T15:59:59Z")
        .unwrap()
        .millis()
        - Timestamp::parse_rfc3339(START).unwrap().millis();
    app.advance(to_eve / 1000);
    let eve = c.get("/api/v1/policy?city=533300").await;
    assert_eq!(eve.body["version"], "533300-2026-09-01.1");
    app.advance(1);
    let on = c.get("/api/v1/policy?city=533300").await;
    assert_eq!(on.body["version"], "533300-2027-01-01.1");
    assert_eq!(on.body["featureEnabled"], true);
    assert_eq!(on.body["effectiveFrom"], "2026-12-31T16:00:00.000Z");
    assert!(on.headers.get("x-policy-next-version").is_none());
    assert_ne!(on.headers["etag"], eve.headers["etag"]);
    let listed = city(&c.get("/api/v1/policy/cities").await.body);
    assert_eq!(listed["featureEnabled"], true);
    assert!(listed["next"].is_null());
}

#[tokio::test]
async fn register_sign_in_and_sign_out() {
    let app = spawn_app().await;
    let c = app.client().await;
    // Nobody is signed in yet.
    let anon = c.get("/api/v1/violations").await;
    assert_eq!(anon.status, StatusCode::UNAUTHORIZED);
    assert_eq!(anon.code(), "UNAUTHENTICATED");

    let phone = "13712345678";
    let sent = c
        .post(
            "/api/v1/auth/sms-code",
            json!({ "phone": phone, "purpose": "register" }),
        )
        .await;
    assert_eq!(sent.status, StatusCode::ACCEPTED);
    let code = app.sms_code(phone).await;
    // Registration is a phone and its code; a name or resident ID is not taken here.
    let with_name = c
        .post(
            "/api/v1/auth/register",
            json!({ "challengeId": sent.body["challengeId"], "code": code, "name": "孙注册", "phone": phone }),
        )
        .await;
    assert_eq!(with_name.code(), "UNKNOWN_FIELD");
    let reg = c
        .post(
            "/api/v1/auth/register",
            json!({ "challengeId": sent.body["challengeId"], "code": code, "phone": phone }),
        )
        .await;
    assert_eq!(reg.status, StatusCode::CREATED, "{:?}", reg.body);
    assert_eq!(reg.body["account"]["phoneMasked"], "137****5678");
    assert_eq!(reg.body["account"]["verified"], false);
    assert_eq!(reg.body["person"], serde_json::Value::Null);
    assert_eq!(reg.body["nextStep"], "verify_identity");
    assert!(reg.headers["set-cookie"]
        .to_str()
        .unwrap()
        .contains("HttpOnly; SameSite=Strict; Path=/"));
    let mut c = c;
    c.csrf = reg.body["csrfToken"].as_str().unwrap().to_owned();
    // Until verified, person endpoints say what to do next.
    let me = c.get("/api/v1/me").await;
    assert_eq!(me.status, StatusCode::FORBIDDEN);
    assert_eq!(me.code(), "IDENTITY_NOT_VERIFIED");
    assert_eq!(me.body["error"]["params"]["nextStep"], "verify_identity");
    assert_eq!(
        c.get("/api/v1/me/next-step").await.body["nextStep"],
        "verify_identity"
    );
    let rid = renche_server::demo::resident_id("44190020000101123").unwrap();
    if rid.as_str() != "441900200001011230" {
        let bad_id = c
            .start_verification(json!({ "purpose": "account", "name": "孙注册",
                "residentId": "441900200001011230" }))
            .await;
        assert_eq!(bad_id.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(bad_id.code(), "RESIDENT_ID_WRONG_CHECK_CHARACTER");
        assert_eq!(bad_id.body["error"]["field"], "residentId");
    }
    let verified = c.verify_account("孙注册", rid.as_str(), "pass").await;
    assert_eq!(verified.status, StatusCode::OK, "{:?}", verified.body);
    assert_eq!(verified.body["nextStep"], serde_json::Value::Null);
    assert_eq!(verified.body["account"]["verified"], true);
    let me = c.get("/api/v1/me").await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["name"], "孙注册");
    assert_eq!(me.body["phoneMasked"], "137****5678");
    let session = c.get("/api/v1/session").await;
    assert_eq!(session.body["person"]["name"], "孙注册");

    let out = c.post("/api/v1/auth/sign-out", json!({})).await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    assert_eq!(c.get("/api/v1/me").await.status, StatusCode::UNAUTHORIZED);

    // Signing in again gives a new session.
    app.advance(61);
    let again = app.signed_in(phone).await;
    assert_eq!(again.get("/api/v1/me").await.status, StatusCode::OK);
}

#[tokio::test]
async fn sign_in_code_is_single_use_and_cools_down() {
    let app = spawn_app().await;
    let c = app.client().await;
    let sent = c
        .post(
            "/api/v1/auth/sms-code",
            json!({ "phone": OWNER, "purpose": "sign_in" }),
        )
        .await;
    assert_eq!(sent.status, StatusCode::ACCEPTED);
    let soon = c
        .post(
            "/api/v1/auth/sms-code",
            json!({ "phone": OWNER, "purpose": "sign_in" }),
        )
        .await;
    assert_eq!(soon.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(soon.code(), "SMS_RESEND_TOO_SOON");
    // An unregistered phone gets the same answer, and no message.
    let stranger = c
        .post(
            "/api/v1/auth/sms-code",
            json!({ "phone": "13600000000", "purpose": "sign_in" }),
        )
        .await;
    assert_eq!(stranger.status, StatusCode::ACCEPTED);
    assert_eq!(
        sent.body.as_object().unwrap().keys().collect::<Vec<_>>(),
        stranger
            .body
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>()
    );
    let code = app.sms_code(OWNER).await;
    let body = json!({ "challengeId": sent.body["challengeId"], "code": code, "phone": OWNER });
    assert_eq!(
        c.post("/api/v1/auth/sign-in", body.clone()).await.status,
        StatusCode::OK
    );
    let reused = c.post("/api/v1/auth/sign-in", body).await;
    // The anonymous session that asked for the code is gone: the code cannot be used from it again.
    assert!(
        reused.status == StatusCode::GONE
            || reused.status == StatusCode::FORBIDDEN
            || reused.status == StatusCode::UNAUTHORIZED
            || reused.status == StatusCode::NOT_FOUND,
        "{:?}",
        reused.body
    );
    assert!(app.outbox("13600000000").await.is_empty());
}

#[tokio::test]
async fn owner_is_notified_and_lists_notifications() {
    let app = spawn_app().await;
    let owner = app.signed_in(OWNER).await;
    let n = owner.get("/api/v1/notifications").await;
    assert_eq!(n.status, StatusCode::OK);
    assert!(n.body["notifications"].as_array().unwrap().is_empty());
}
