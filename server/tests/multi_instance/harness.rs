//! Real `renche-server` processes on one database, and HTTP clients that spread over them.

use reqwest::StatusCode;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// One server process; killed when dropped (a failing test leaves nothing running).
pub struct Instance {
    pub base: String,
    child: Child,
}

impl Instance {
    /// Starts `renche-server serve` on a free port and waits for the URL it prints.
    pub fn start(database: &str, scratch: &Path) -> Instance {
        Self::start_with(database, scratch, &[])
    }

    /// As `start`, with more `serve` flags.
    pub fn start_with(database: &str, scratch: &Path, extra: &[&str]) -> Instance {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        Self::start_with_policies(database, scratch, &root.join("policies"), extra)
    }

    /// As `start_with`, deciding with the policy documents in `policy_dir`.
    pub fn start_with_policies(
        database: &str,
        scratch: &Path,
        policy_dir: &Path,
        extra: &[&str],
    ) -> Instance {
        let mut child = Command::new(env!("CARGO_BIN_EXE_renche-server"))
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--dev",
                "--database",
                database,
            ])
            .args(extra)
            // Each `Browser` names its own client address (the SMS caps count per address).
            .args(["--trusted-proxy", "127.0.0.1"])
            .arg("--policy-dir")
            .arg(policy_dir)
            .arg("--www")
            .arg(scratch)
            .arg("--pkg")
            .arg(scratch)
            .env(
                "RUST_LOG",
                std::env::var("RENCHE_TEST_LOG").unwrap_or_else(|_| "error".into()),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("renche-server starts");
        let stdout = child.stdout.take().expect("stdout");
        let (send, recv) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if let Some(i) = line.find("http://") {
                    let _ = send.send(line[i..].trim_end_matches('/').to_owned());
                }
            }
        });
        let base = recv
            .recv_timeout(Duration::from_secs(60))
            .expect("the server printed its URL");
        Instance { base, child }
    }

    /// SIGHUP: the server reads its policy directory again.
    pub fn hang_up(&self) {
        let status = Command::new("kill")
            .args(["-HUP", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
    }

    /// SIGKILL: no shutdown, no finishing of requests in flight.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.kill();
    }
}

static KEYS: AtomicU64 = AtomicU64::new(1);

pub fn new_key() -> String {
    format!(
        "mi-{}-{}",
        std::process::id(),
        KEYS.fetch_add(1, Ordering::Relaxed)
    )
}

/// What one request came back with; `None` status when the instance did not answer at all.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
    pub replayed: bool,
    pub retry_after: Option<String>,
}

impl Answer {
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
}

/// A browser: one cookie jar (cookies do not depend on the port, so its session works on every instance),
/// and a client address of its own, sent as `X-Forwarded-For` (the instances trust loopback as a proxy).
pub struct Browser {
    pub http: reqwest::Client,
    pub csrf: String,
    address: String,
    jar: std::sync::Arc<reqwest::cookie::Jar>,
}

static ADDRESSES: AtomicU64 = AtomicU64::new(1);

impl Browser {
    pub fn new() -> Browser {
        let n = ADDRESSES.fetch_add(1, Ordering::Relaxed);
        let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
        Browser {
            jar: jar.clone(),
            address: format!("10.{}.{}.{}", (n >> 16) & 255, (n >> 8) & 255, n & 255),
            http: reqwest::Client::builder()
                .cookie_provider(jar)
                .timeout(Duration::from_secs(30))
                .pool_max_idle_per_host(4)
                .build()
                .unwrap(),
            csrf: String::new(),
        }
    }

    pub async fn send(
        &self,
        base: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        key: Option<&str>,
    ) -> Result<Answer, reqwest::Error> {
        let mut req = self
            .http
            .request(method, format!("{base}{path}"))
            .header("X-Forwarded-For", &self.address);
        if !self.csrf.is_empty() {
            req = req.header("X-CSRF-Token", &self.csrf);
        }
        if let Some(k) = key {
            req = req.header("Idempotency-Key", k);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await?;
        let status = resp.status();
        let replayed = resp.headers().contains_key("idempotent-replayed");
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let text = resp.text().await?;
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Ok(Answer {
            status,
            body,
            replayed,
            retry_after,
        })
    }

    /// A GET with this browser's session cookie and no other (as the same person on another device,
    /// which has made no change of late): the JSON answer.
    pub async fn get_with_session_only(&self, base: &str, path: &str) -> Answer {
        use reqwest::cookie::CookieStore;
        let all = self
            .jar
            .cookies(&base.parse().unwrap())
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let session: Vec<&str> = all
            .split("; ")
            .filter(|c| c.starts_with("renche_session="))
            .collect();
        assert_eq!(session.len(), 1, "signed in: {all}");
        let resp = reqwest::Client::new()
            .get(format!("{base}{path}"))
            .header("Cookie", session[0])
            .header("X-Forwarded-For", &self.address)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Answer {
            status,
            body: resp.json().await.unwrap_or(Value::Null),
            replayed: false,
            retry_after,
        }
    }

    /// Whether the browser holds the recent-write cookie now.
    pub fn holds_recent_write_mark(&self, base: &str) -> bool {
        use reqwest::cookie::CookieStore;
        self.jar
            .cookies(&base.parse().unwrap())
            .is_some_and(|v| v.to_str().unwrap().contains("renche_wrote=1"))
    }

    /// Signs in by SMS code: the code is asked of `ask`, read from `ask`'s outbox, and typed in at
    /// `confirm` (another instance: the challenge lives in the database).
    pub async fn sign_in(&mut self, ask: &str, confirm: &str, phone: &str) {
        let s = self
            .send(ask, reqwest::Method::GET, "/api/v1/session", None, None)
            .await
            .unwrap();
        self.csrf = s.body["csrfToken"].as_str().unwrap().to_owned();
        let sent = self
            .send(
                ask,
                reqwest::Method::POST,
                "/api/v1/auth/sms-code",
                Some(&json!({ "phone": phone, "purpose": "sign_in" })),
                Some(&new_key()),
            )
            .await
            .unwrap();
        assert_eq!(sent.status, StatusCode::ACCEPTED, "{:?}", sent.body);
        let mut code = None;
        for _ in 0..200 {
            let v: Value = self
                .http
                .get(format!("{ask}/api/v1/dev/sms-outbox?phone={phone}"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            // Binding notices go to owners' phones too; they carry no code.
            code = v["messages"]
                .as_array()
                .and_then(|m| m.iter().find(|m| m["code"] != ""))
                .and_then(|m| m["code"].as_str())
                .map(str::to_owned);
            if code.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let code = code.expect("an SMS code reached the outbox");
        let signed = self
            .send(
                confirm,
                reqwest::Method::POST,
                "/api/v1/auth/sign-in",
                Some(&json!({ "challengeId": sent.body["challengeId"], "code": code, "phone": phone })),
                Some(&new_key()),
            )
            .await
            .unwrap();
        assert_eq!(signed.status, StatusCode::OK, "{:?}", signed.body);
        self.csrf = signed.body["csrfToken"].as_str().unwrap().to_owned();
    }
}
