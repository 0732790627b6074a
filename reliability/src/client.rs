//! A thin HTTP client for the API: a session cookie and CSRF token per person, `Idempotency-Key` on
//! every state change, and answers kept as status + JSON body (never failing on a 4xx or 5xx).

use rand::Rng;
use reqwest::Method;
use serde_json::Value;
use std::time::Duration;

/// What came back for one request.
#[derive(Clone, Debug, PartialEq)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
    /// `Idempotent-Replayed: true` was set.
    pub replayed: bool,
}

impl Reply {
    /// `error.code` of an error body.
    pub fn code(&self) -> Option<&str> {
        self.body
            .get("error")
            .and_then(|e| e.get("code"))
            .and_then(Value::as_str)
    }
    /// A string field at a JSON pointer.
    pub fn str_at(&self, pointer: &str) -> Option<String> {
        self.body
            .pointer(pointer)
            .and_then(Value::as_str)
            .map(str::to_owned)
    }
}

/// Transport failure (connection refused or reset, timeout): the answer is unknown. The flag says
/// whether it was the client's own timeout.
#[derive(Clone, Debug)]
pub struct Transport(pub String, pub bool);

/// A person's session: the cookie token and the CSRF token that goes with it.
#[derive(Clone, Debug)]
pub struct Session {
    pub person_id: i64,
    pub token: String,
    pub csrf: String,
}

/// A random idempotency key (128 bits, hex).
pub fn new_key() -> String {
    let mut rng = rand::thread_rng();
    format!("{:032x}", rng.gen::<u128>())
}

/// A shared HTTP connection pool.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap_or_default()
}

/// One request as the tools send it.
#[derive(Clone, Debug)]
pub struct Call<'a> {
    pub method: Method,
    pub path: String,
    pub body: Option<Value>,
    pub session: Option<&'a Session>,
    pub key: Option<String>,
    /// Give up waiting after this long (a dropped response).
    pub timeout: Option<Duration>,
}

impl<'a> Call<'a> {
    pub fn get(path: impl Into<String>, session: Option<&'a Session>) -> Call<'a> {
        Call {
            method: Method::GET,
            path: path.into(),
            body: None,
            session,
            key: None,
            timeout: None,
        }
    }
    pub fn post(path: impl Into<String>, session: Option<&'a Session>, body: Value) -> Call<'a> {
        Call {
            method: Method::POST,
            path: path.into(),
            body: Some(body),
            session,
            key: Some(new_key()),
            timeout: None,
        }
    }
    pub fn delete(path: impl Into<String>, session: Option<&'a Session>) -> Call<'a> {
        Call {
            method: Method::DELETE,
            path: path.into(),
            body: None,
            session,
            key: Some(new_key()),
            timeout: None,
        }
    }
}

/// Sends `call` to `base` (e.g. `http://127.0.0.1:8080`).
pub async fn send(http: &reqwest::Client, base: &str, call: &Call<'_>) -> Result<Reply, Transport> {
    let mut req = http.request(call.method.clone(), format!("{base}{}", call.path));
    if let Some(s) = call.session {
        req = req
            .header("cookie", format!("renche_session={}", s.token))
            .header("x-csrf-token", &s.csrf);
    }
    if let Some(k) = &call.key {
        req = req.header("idempotency-key", k);
    }
    if let Some(b) = &call.body {
        req = req
            .header("content-type", "application/json")
            .body(b.to_string());
    }
    if let Some(t) = call.timeout {
        req = req.timeout(t);
    }
    let resp = req
        .send()
        .await
        .map_err(|e| Transport(e.to_string(), e.is_timeout()))?;
    let status = resp.status().as_u16();
    let replayed = resp
        .headers()
        .get("idempotent-replayed")
        .is_some_and(|v| v.as_bytes() == b"true");
    let bytes = resp
        .bytes()
        .await
        .map_err(|e| Transport(e.to_string(), e.is_timeout()))?;
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
    };
    Ok(Reply {
        status,
        body,
        replayed,
    })
}
