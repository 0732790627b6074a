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

/// A 1×1 PNG as a data URL: the one frame the development provider's page sends from the camera.
pub const FRAME: &str = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";

/// What the provider sent the browser back with: the verification and its signed result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    pub verification_id: String,
    pub result: String,
}

/// One client that does not follow redirects: the provider's 303 is read, not followed.
fn provider_client() -> &'static reqwest::Client {
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(256)
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap_or_default()
    })
}

/// `verificationId` and `result` from a return address: its query, or the query after its fragment's
/// path (`/#/bind/verified?verificationId=…&result=…`).
pub fn verification_return(location: &str) -> Option<Verified> {
    let base = reqwest::Url::parse("http://return.invalid/").ok()?;
    let url = base.join(location).ok()?;
    let mut pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    if let Some(query) = url
        .fragment()
        .and_then(|f| f.split_once('?'))
        .map(|(_, q)| q)
    {
        let inner = reqwest::Url::parse(&format!("http://return.invalid/?{query}")).ok()?;
        pairs.extend(inner.query_pairs().into_owned());
    }
    let find = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    Some(Verified {
        verification_id: find("verificationId")?,
        result: find("result")?,
    })
}

/// Real-person verification as a browser goes through the development identity provider: start it
/// (`POST /api/v1/identity/verifications` with `start`, e.g. `{"purpose":"application","applicationId":…}`),
/// post the provider page's form with a frame and `outcome` (`pass`, `fail`, `no_face`), and read the
/// signed result from the provider's redirect. The provider is asked at the server that started it.
pub async fn verify(
    http: &reqwest::Client,
    base: &str,
    session: &Session,
    start: Value,
    outcome: &str,
) -> Result<Verified, String> {
    let started = send(
        http,
        base,
        &Call::post("/api/v1/identity/verifications", Some(session), start),
    )
    .await
    .map_err(|e| format!("start: {}", e.0))?;
    if started.status != 201 {
        return Err(format!(
            "start answered {}: {}",
            started.status, started.body
        ));
    }
    let provider_url = started
        .str_at("/providerUrl")
        .ok_or_else(|| format!("start: no providerUrl in {}", started.body))?;
    let page = if provider_url.starts_with("http://") || provider_url.starts_with("https://") {
        provider_url
    } else {
        format!("{base}{provider_url}")
    };
    let answered = provider_client()
        .post(&page)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("outcome={outcome}&frame={}", form_escape(FRAME)))
        .send()
        .await
        .map_err(|e| format!("provider: {e}"))?;
    if answered.status().as_u16() != 303 {
        let status = answered.status().as_u16();
        let text = answered.text().await.unwrap_or_default();
        return Err(format!("provider answered {status}: {text}"));
    }
    let location = answered
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .ok_or("provider: no Location")?;
    verification_return(location).ok_or_else(|| format!("provider: no result in {location}"))
}

/// `application/x-www-form-urlencoded` escaping of one value.
fn form_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 3 / 2);
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_addresses_in_both_forms() {
        let hash = verification_return("/#/bind/verified?verificationId=v1&result=a.b%2Bc");
        assert_eq!(
            hash,
            Some(Verified {
                verification_id: "v1".into(),
                result: "a.b+c".into()
            })
        );
        let query = verification_return("http://h/?verificationId=v2&result=r#/verify");
        assert_eq!(query.map(|v| v.verification_id), Some("v2".into()));
        assert_eq!(verification_return("/#/verify"), None);
    }

    #[test]
    fn form_values_are_escaped() {
        assert_eq!(
            form_escape("data:image/png;base64,a+b/="),
            "data%3Aimage%2Fpng%3Bbase64%2Ca%2Bb%2F%3D"
        );
    }
}
