//! What an operator relies on: metrics that move, request ids, the security headers, the CSRF and origin
//! checks' edges, no "sent" without a gateway, and the connection deadlines and cap.

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The value of the series `name{labels}` in a scrape, 0 when absent.
fn series(text: &str, name_and_labels: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name_and_labels)?.strip_prefix(' '))
        .map(|v| v.trim().parse().unwrap())
        .unwrap_or(0.0)
}

async fn scrape(url: &str) -> String {
    let resp = reqwest::get(url).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    resp.text().await.unwrap()
}

#[tokio::test]
async fn metrics_move_with_requests_and_are_not_on_the_public_listener() {
    let app = spawn_app_tweaked(|c| c.metrics_listen = Some("127.0.0.1:0".into())).await;
    let url = app.metrics_url.clone().unwrap();
    let session =
        r#"renche_http_requests_total{route="/api/v1/session",method="GET",status="200"}"#;
    let refused = r#"renche_refusals_total{code="UNAUTHENTICATED"}"#;
    let sms = r#"renche_sms_sent_total{purpose="sign_in",outcome="sent"}"#;
    let before = scrape(&url).await;
    let c = app.signed_in(OWNER).await;
    let unauthenticated = app.client().await.get("/api/v1/me").await;
    assert_eq!(unauthenticated.status, StatusCode::UNAUTHORIZED);
    let me = c.get("/api/v1/me").await;
    assert_eq!(me.status, StatusCode::OK);
    let after = scrape(&url).await;
    assert!(series(&after, session) >= series(&before, session) + 2.0);
    assert!(series(&after, refused) >= series(&before, refused) + 1.0);
    assert!(series(&after, sms) >= series(&before, sms) + 1.0, "{after}");
    let commits = r#"renche_commits_total{route="/api/v1/auth/sign-in"}"#;
    assert!(series(&after, commits) >= series(&before, commits) + 1.0);
    let reads = r#"renche_store_transaction_seconds_count{kind="read"}"#;
    assert!(series(&after, reads) > series(&before, reads));
    let waits = r#"renche_store_wait_seconds_count{kind="write"}"#;
    assert!(series(&after, waits) > series(&before, waits));
    let latency = r#"renche_http_request_duration_seconds_count{route="/api/v1/me"}"#;
    assert!(series(&after, latency) >= series(&before, latency) + 2.0);
    let version = app
        .state
        .policies()
        .for_city("441900", app.state.now())
        .version()
        .to_owned();
    assert!(
        after.contains(&format!(
            "renche_policy_version_info{{city=\"441900\",version=\"{version}\"}} 1"
        )),
        "{after}"
    );
    // Not on the public listener: there it is an ordinary unknown path.
    let public = reqwest::get(format!("{}/metrics", app.base)).await.unwrap();
    assert!(!public
        .text()
        .await
        .unwrap()
        .contains("renche_http_requests_total"));
}

#[tokio::test]
async fn every_answer_carries_a_request_id() {
    let app = spawn_app().await;
    let http = reqwest::Client::new();
    let a = http
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .unwrap();
    let b = http
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .unwrap();
    let id_a = a.headers()["x-request-id"].to_str().unwrap().to_owned();
    let id_b = b.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(id_a.len(), 16);
    assert_ne!(id_a, id_b);
    // A proxy's own id is kept, so one id follows the request through both logs; a strange one is not.
    let given = http
        .get(format!("{}/api/v1/policy", app.base))
        .header("X-Request-Id", "edge-42.a_b")
        .send()
        .await
        .unwrap();
    assert_eq!(given.headers()["x-request-id"], "edge-42.a_b");
    let strange = http
        .get(format!("{}/api/v1/policy", app.base))
        .header("X-Request-Id", "a b\"c")
        .send()
        .await
        .unwrap();
    assert_ne!(strange.headers()["x-request-id"], "a b\"c");
}

#[tokio::test]
async fn pages_carry_the_security_headers_and_personal_json_is_not_stored() {
    let app = spawn_app().await;
    std::fs::write(app.www_dir().join("index.html"), "<!doctype html><p>hi").unwrap();
    let page = reqwest::get(format!("{}/", app.base)).await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let csp = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(
        csp.contains("script-src 'self' 'wasm-unsafe-eval'"),
        "{csp}"
    );
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(page.headers()["x-content-type-options"], "nosniff");
    assert!(page.headers().get("cache-control").is_none());
    let c = app.signed_in(OWNER).await;
    let me = c.get("/api/v1/me").await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.headers["cache-control"], "no-store");
    assert_eq!(me.headers["x-content-type-options"], "nosniff");
    let refused = app.client().await.get("/api/v1/vehicles").await;
    assert_eq!(refused.headers["cache-control"], "no-store");
    // The policy documents are the same for everyone and keep their own caching.
    let policy = c.get("/api/v1/policy").await;
    assert_ne!(policy.headers["cache-control"], "no-store");
}

#[tokio::test]
async fn a_second_csrf_token_is_refused_like_a_second_idempotency_key() {
    let app = spawn_app().await;
    let c = app.signed_in(OWNER).await;
    let twice = c
        .http
        .post(format!("{}/api/v1/auth/sign-out", c.base))
        .header("X-CSRF-Token", &c.csrf)
        .header("X-CSRF-Token", "something-else")
        .header("Idempotency-Key", new_key())
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(twice.status(), StatusCode::FORBIDDEN);
    let body: serde_json::Value = twice.json().await.unwrap();
    assert_eq!(body["error"]["code"], "CSRF_CHECK_FAILED");
    assert_eq!(
        body["error"]["message"]["en"],
        "Send exactly one X-CSRF-Token header"
    );
    // Both the same value: still two headers, still refused.
    let same_twice = c
        .http
        .post(format!("{}/api/v1/auth/sign-out", c.base))
        .header("X-CSRF-Token", &c.csrf)
        .header("X-CSRF-Token", &c.csrf)
        .header("Idempotency-Key", new_key())
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(same_twice.status(), StatusCode::FORBIDDEN);
    assert_eq!(c.get("/api/v1/me").await.status, StatusCode::OK);
}

#[tokio::test]
async fn origin_must_match_by_scheme_host_and_port() {
    let app = spawn_app().await;
    let c = app.signed_in(OWNER).await;
    let port = c.base.rsplit(':').next().unwrap().to_owned();
    let with_origin = |origin: String| {
        c.http
            .post(format!("{}/api/v1/notifications/read", c.base))
            .header("X-CSRF-Token", &c.csrf)
            .header("Idempotency-Key", new_key())
            .header("Origin", origin)
            .json(&json!({}))
            .send()
    };
    for foreign in [
        format!("https://127.0.0.1:{port}"),
        "http://127.0.0.1".to_owned(),
        format!("http://127.0.0.2:{port}"),
        format!("http://127.0.0.1:{port}/path"),
        format!("ftp://127.0.0.1:{port}"),
        "null".to_owned(),
    ] {
        let resp = with_origin(foreign.clone()).await.unwrap();
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{foreign}");
        let body: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(body["error"]["code"], "CSRF_CHECK_FAILED", "{foreign}");
    }
    let own = with_origin(format!("HTTP://127.0.0.1:{port}"))
        .await
        .unwrap();
    assert!(own.status().is_success(), "{}", own.status());
}

#[tokio::test]
async fn without_an_sms_gateway_no_code_is_promised() {
    let app = spawn_app_tweaked(|c| c.dev = false).await;
    let c = app.client().await;
    let asked = c
        .post(
            "/api/v1/auth/sms-code",
            json!({ "phone": OWNER, "purpose": "sign_in" }),
        )
        .await;
    assert_eq!(asked.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(asked.code(), "SMS_UNAVAILABLE");
    // The same for a phone with no account: the answer tells nothing about who is registered.
    let unknown = c
        .post(
            "/api/v1/auth/sms-code",
            json!({ "phone": "13999999999", "purpose": "register" }),
        )
        .await;
    assert_eq!(unknown.code(), "SMS_UNAVAILABLE");
    // Nothing was stored or counted for it.
    let challenges: i64 = app
        .db()
        .query_row("SELECT COUNT(*) FROM sms_challenges", [], |r| r.get(0))
        .unwrap();
    assert_eq!(challenges, 0);
}

/// Reads until the server closes the connection; how long that took.
async fn time_to_close(stream: &mut TcpStream, limit: Duration) -> Duration {
    let started = Instant::now();
    let mut buf = [0u8; 512];
    loop {
        match tokio::time::timeout(limit, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return started.elapsed(),
            Ok(Ok(_)) => continue,
            Err(_) => panic!("the connection was still open after {limit:?}"),
        }
    }
}

fn limits(header: u64, body: u64, idle: u64, max: usize) -> renche_server::serve::ConnectionLimits {
    renche_server::serve::ConnectionLimits {
        header_read_timeout: Duration::from_secs(header),
        body_read_timeout: Duration::from_secs(body),
        idle_timeout: Duration::from_secs(idle),
        max_connections: max,
    }
}

#[tokio::test]
async fn unfinished_headers_and_silent_connections_are_closed_in_time() {
    let app = spawn_app_tweaked(|c| c.limits = limits(1, 30, 3, 64)).await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    let mut partial = TcpStream::connect(&addr).await.unwrap();
    partial
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut silent = TcpStream::connect(&addr).await.unwrap();
    let took = time_to_close(&mut partial, Duration::from_secs(5)).await;
    assert!(took < Duration::from_millis(2500), "{took:?}");
    let took = time_to_close(&mut silent, Duration::from_secs(5)).await;
    assert!(took < Duration::from_millis(2500), "{took:?}");
}

#[tokio::test]
async fn a_body_that_does_not_arrive_in_time_is_refused() {
    let app = spawn_app_tweaked(|c| c.limits = limits(5, 1, 30, 64)).await;
    // An anonymous session, by hand: its cookie and CSRF token.
    let session = reqwest::get(format!("{}/api/v1/session", app.base))
        .await
        .unwrap();
    let cookie = session.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let body: serde_json::Value = session.json().await.unwrap();
    let csrf = body["csrfToken"].as_str().unwrap().to_owned();
    let addr = app.base.trim_start_matches("http://").to_owned();
    let mut stream = TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /api/v1/auth/sms-code HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookie}\r\nX-CSRF-Token: {csrf}\r\n\
         Idempotency-Key: {}\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n{{",
        new_key()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    let mut answer = Vec::new();
    let mut buf = [0u8; 1024];
    while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
            .await
            .expect("an answer within the body timeout")
            .unwrap();
        assert!(n > 0, "closed without an answer");
        answer.extend_from_slice(&buf[..n]);
    }
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(3),
        "{took:?}"
    );
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 400"), "{text}");
    let challenges: i64 = app
        .db()
        .query_row("SELECT COUNT(*) FROM sms_challenges", [], |r| r.get(0))
        .unwrap();
    assert_eq!(challenges, 0);
}

#[tokio::test]
async fn beyond_the_connection_cap_new_connections_wait_for_a_free_one() {
    let app = spawn_app_tweaked(|c| c.limits = limits(30, 30, 30, 2)).await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    let held_a = TcpStream::connect(&addr).await.unwrap();
    let _held_b = TcpStream::connect(&addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_millis(700))
        .build()
        .unwrap();
    assert!(
        http.get(format!("{}/healthz", app.base))
            .send()
            .await
            .is_err(),
        "a third connection was served while two were held"
    );
    drop(held_a);
    let resp = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
        .request(Method::GET, format!("{}/healthz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
}

/// (method, path) of every route in `api_router()`, read from its source: the one route table.
fn routes_in_the_route_table() -> std::collections::BTreeSet<(String, String)> {
    let source =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/http/mod.rs")).unwrap();
    let table = source
        .split("pub fn api_router()")
        .nth(1)
        .unwrap()
        .split(".fallback(")
        .next()
        .unwrap();
    let mut routes = std::collections::BTreeSet::new();
    for line in table.lines().map(str::trim) {
        let Some(rest) = line.strip_prefix(".route(\"") else {
            continue;
        };
        let (path, handlers) = rest.split_once('"').unwrap();
        for method in ["get", "post", "put", "patch", "delete"] {
            let called = handlers.contains(&format!(" {method}("))
                || handlers.contains(&format!(".{method}("));
            if called {
                routes.insert((method.to_owned(), format!("/api/v1{path}")));
            }
        }
    }
    assert!(
        routes.len() > 40,
        "the route table was not read: {routes:?}"
    );
    routes
}

#[test]
fn the_openapi_document_lists_exactly_the_routes_of_the_route_table() {
    let documented: std::collections::BTreeSet<(String, String)> =
        renche_server::http::openapi::operations()
            .into_iter()
            .collect();
    let routed = routes_in_the_route_table();
    let undocumented: Vec<_> = routed.difference(&documented).collect();
    let unrouted: Vec<_> = documented.difference(&routed).collect();
    assert!(
        undocumented.is_empty() && unrouted.is_empty(),
        "routes missing from the OpenAPI document: {undocumented:?}; documented but not routed: {unrouted:?}"
    );
}

#[tokio::test]
async fn the_openapi_document_is_served_with_every_error_code_and_security_scheme() {
    let app = spawn_app().await;
    let resp = reqwest::get(format!("{}/api/v1/openapi.json", app.base))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let doc: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let codes: Vec<&str> = doc["components"]["schemas"]["ServerErrorCode"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    for e in renche_server::error::ServerErrorCode::examples() {
        use renche::message::Explain;
        assert!(
            codes.contains(&e.code()),
            "{} is not in the document",
            e.code()
        );
    }
    let rules = doc["components"]["schemas"]["RuleReasonCode"]["enum"]
        .as_array()
        .unwrap();
    assert!(
        rules.iter().any(|c| c == "USER_BINDING_LIMIT_REACHED"),
        "{rules:?}"
    );
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["session"]["in"], "cookie");
    assert_eq!(schemes["csrf"]["name"], "X-CSRF-Token");
    assert_eq!(schemes["idempotencyKey"]["name"], "Idempotency-Key");
    // A state change asks for all three; every path is under /api/v1.
    let commit = &doc["paths"]["/api/v1/binding-applications/{id}/commit"]["post"];
    assert_eq!(
        commit["security"],
        json!([{ "session": [], "csrf": [], "idempotencyKey": [] }])
    );
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.keys().all(|p| p.starts_with("/api/v1/")));
}
