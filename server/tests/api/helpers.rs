//! Starts the real server on port 0 with a fresh SQLite database, the demo data and a clock that moves only
//! when a test moves it, and a small HTTP client that speaks its conventions.

use renche::Timestamp;
use renche_server::clock::ManualClock;
use renche_server::startup::build_wrapped;
use renche_server::store::{LicenceRow, NewPerson, Role, Store};
use renche_server::{AppState, Config};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// 2026-09-01T10:00:00+08:00: the demo data is seeded relative to this.
pub const START: &str = "2026-09-01T02:00:00Z";

pub struct TestApp {
    pub base: String,
    pub state: Arc<AppState>,
    pub clock: Arc<ManualClock>,
    /// `http://…/metrics` when the configuration gave a metrics address.
    pub metrics_url: Option<String>,
    _dir: Arc<tempfile::TempDir>,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(None).await
}

/// With `dongguan` as the Dongguan policy file instead of the shipped one.
pub async fn spawn_app_with(dongguan: Option<serde_json::Value>) -> TestApp {
    let dir = Arc::new(tempfile::tempdir().expect("temp dir"));
    let clock = Arc::new(ManualClock::starting_at(
        Timestamp::parse_rfc3339(START).unwrap(),
    ));
    spawn_app_on(dir, clock, dongguan, |store| store).await
}

/// A server on the database in `dir` (made there if new), its store passed through `wrap`: a second
/// server on the same directory is the first one restarted.
pub async fn spawn_app_on(
    dir: Arc<tempfile::TempDir>,
    clock: Arc<ManualClock>,
    dongguan: Option<serde_json::Value>,
    wrap: impl FnOnce(Arc<dyn Store>) -> Arc<dyn Store>,
) -> TestApp {
    spawn_app_on_with(dir, clock, dongguan, wrap, None, |_| {}).await
}

/// A server whose configuration `tweak` changed first (another database, another identity provider).
pub async fn spawn_app_tweaked(tweak: impl FnOnce(&mut Config)) -> TestApp {
    let dir = Arc::new(tempfile::tempdir().expect("temp dir"));
    let clock = Arc::new(ManualClock::starting_at(
        Timestamp::parse_rfc3339(START).unwrap(),
    ));
    spawn_app_on_with(dir, clock, None, |store| store, None, tweak).await
}

/// A fresh server that believes the forwarding headers of the proxies in `trusted`, on the shipped
/// policies with `default_patch` merged (object by object) into the default policy.
pub async fn spawn_app_behind(trusted: &[&str], default_patch: Option<Value>) -> TestApp {
    let dir = Arc::new(tempfile::tempdir().expect("temp dir"));
    let clock = Arc::new(ManualClock::starting_at(
        Timestamp::parse_rfc3339(START).unwrap(),
    ));
    let trusted: Vec<_> = trusted
        .iter()
        .map(|t| renche_server::netaddr::TrustedProxy::parse(t).unwrap())
        .collect();
    let tweak = move |c: &mut Config| c.trusted_proxies = trusted;
    spawn_app_on_with(dir, clock, None, |store| store, default_patch, tweak).await
}

fn merge(base: &mut Value, patch: Value) {
    match (base, patch) {
        (Value::Object(b), Value::Object(p)) => {
            for (k, v) in p {
                merge(b.entry(k).or_insert(Value::Null), v);
            }
        }
        (b, p) => *b = p,
    }
}

/// A server on the database in `dir`, with `default_patch` merged into the default policy and its
/// configuration changed by `tweak` before it starts.
pub async fn spawn_app_on_with(
    dir: Arc<tempfile::TempDir>,
    clock: Arc<ManualClock>,
    dongguan: Option<serde_json::Value>,
    wrap: impl FnOnce(Arc<dyn Store>) -> Arc<dyn Store>,
    default_patch: Option<Value>,
    tweak: impl FnOnce(&mut Config),
) -> TestApp {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let policy_dir = match (dongguan, default_patch) {
        (None, Some(patch)) => {
            let p = dir.path().join("policies");
            std::fs::create_dir_all(p.join("cities")).unwrap();
            let mut default: Value = serde_json::from_str(
                &std::fs::read_to_string(root.join("policies/default.json")).unwrap(),
            )
            .unwrap();
            merge(&mut default, patch);
            std::fs::write(p.join("default.json"), default.to_string()).unwrap();
            for f in ["441900.json", "533300.json"] {
                std::fs::copy(
                    root.join("policies/cities").join(f),
                    p.join("cities").join(f),
                )
                .unwrap();
            }
            p
        }
        (None, None) => root.join("policies"),
        (Some(city), _) => {
            let p = dir.path().join("policies");
            std::fs::create_dir_all(p.join("cities")).unwrap();
            std::fs::copy(root.join("policies/default.json"), p.join("default.json")).unwrap();
            std::fs::write(p.join("cities/441900.json"), city.to_string()).unwrap();
            p
        }
    };
    let config = Config {
        listen: "127.0.0.1:0".into(),
        database: format!("sqlite://{}", dir.path().join("test.sqlite3").display()),
        policy_dir,
        dev: true,
        demo: true,
        www: dir.path().to_path_buf(),
        pkg: dir.path().to_path_buf(),
        clock: Some(clock.clone()),
        trusted_proxies: Vec::new(),
        identity_provider: None,
        public_url: None,
        ..Config::default()
    };
    let mut config = config;
    tweak(&mut config);
    let app = build_wrapped(config, wrap).await.expect("server builds");
    let base = format!("http://{}", app.addr);
    let metrics_url = app.metrics_addr.map(|a| format!("http://{a}/metrics"));
    let state = app.state.clone();
    tokio::spawn(app.run_until(std::future::pending()));
    TestApp {
        base,
        state,
        clock,
        metrics_url,
        _dir: dir,
    }
}

static KEYS: AtomicU64 = AtomicU64::new(1);

pub fn new_key() -> String {
    format!(
        "test-key-{}-{}",
        std::process::id(),
        KEYS.fetch_add(1, Ordering::Relaxed)
    )
}

/// A browser: a cookie jar, the CSRF token, and fresh idempotency keys.
pub struct Client {
    pub http: reqwest::Client,
    pub base: String,
    pub csrf: String,
}

pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

impl Answer {
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
    pub fn reason_codes(&self) -> Vec<String> {
        self.body["error"]["reasons"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|r| r["code"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl TestApp {
    /// A direct connection to the test database (to look at the audit log).
    pub fn db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self._dir.path().join("test.sqlite3")).unwrap()
    }

    /// Where `--www` and `--pkg` point in tests.
    pub fn www_dir(&self) -> std::path::PathBuf {
        self._dir.path().to_path_buf()
    }

    pub async fn client(&self) -> Client {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .unwrap();
        let mut c = Client {
            http,
            base: self.base.clone(),
            csrf: String::new(),
        };
        let s = c.get("/api/v1/session").await;
        assert_eq!(s.status, StatusCode::OK);
        c.csrf = s.body["csrfToken"].as_str().unwrap().to_owned();
        c
    }

    /// A client signed in as the person of this phone: by SMS code from the development outbox when the
    /// phone has an account (the demo people have verified ones); otherwise, for a person record with this
    /// phone on file (imported, or `add_person`), as a browser would: register the phone, then pass
    /// real-person verification for the record's resident ID and name through the development provider.
    pub async fn signed_in(&self, phone: &str) -> Client {
        let p = phone.to_owned();
        let (account, person) = renche_server::store::read::<_, renche_server::error::ServerError>(
            self.state.store.as_ref(),
            move |tx| Ok((tx.account_by_phone(&p)?, tx.person_by_phone(&p)?)),
        )
        .await
        .unwrap();
        if account.is_none() {
            let person = person.unwrap_or_else(|| panic!("no account and no record for {phone}"));
            let mut c = self.register(phone).await;
            let done = c
                .verify_account(&person.name, person.resident_id.as_str(), "pass")
                .await;
            assert_eq!(done.status, StatusCode::OK, "{:?}", done.body);
            c.csrf = done.body["csrfToken"].as_str().unwrap().to_owned();
            return c;
        }
        self.prove_phone(phone, "sign_in", "/api/v1/auth/sign-in", StatusCode::OK)
            .await
            .0
    }

    /// Asks for a code of `purpose` for the phone, reads it from the outbox and hands it in at `path`:
    /// the client now holds the new session.
    async fn prove_phone(
        &self,
        phone: &str,
        purpose: &str,
        path: &str,
        expected: StatusCode,
    ) -> (Client, Answer) {
        let mut c = self.client().await;
        let sent = c
            .post(
                "/api/v1/auth/sms-code",
                json!({ "phone": phone, "purpose": purpose }),
            )
            .await;
        assert_eq!(sent.status, StatusCode::ACCEPTED, "{:?}", sent.body);
        let code = self.sms_code(phone).await;
        let answer = c
            .post(
                path,
                json!({ "challengeId": sent.body["challengeId"], "code": code, "phone": phone }),
            )
            .await;
        assert_eq!(answer.status, expected, "{:?}", answer.body);
        c.csrf = answer.body["csrfToken"].as_str().unwrap().to_owned();
        (c, answer)
    }

    /// The development outbox's messages to a phone, newest first.
    pub async fn outbox_messages(&self, phone: &str) -> Value {
        reqwest::get(format!("{}/api/v1/dev/sms-outbox?phone={phone}", self.base))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// The code sent to a phone at the current (test) instant; delivery runs just after the answer, so wait.
    pub async fn sms_code(&self, phone: &str) -> String {
        let now = renche_server::clock::Clock::now(self.clock.as_ref());
        for _ in 0..200 {
            let v = self.outbox_messages(phone).await;
            // Notices (binding made or removed) go to the same phones and carry no code.
            let fresh = v["messages"].as_array().unwrap().iter().find(|m| {
                m["code"] != ""
                    && Timestamp::parse_rfc3339(m["sentAt"].as_str().unwrap()).unwrap() >= now
            });
            if let Some(m) = fresh {
                return m["code"].as_str().unwrap().to_owned();
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        panic!("no SMS reached {phone}");
    }

    pub async fn outbox(&self, phone: &str) -> Vec<String> {
        let v = self.outbox_messages(phone).await;
        v["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["code"].as_str().unwrap().to_owned())
            .collect()
    }

    /// A new account for the phone (registration code from the outbox), not verified: linked to nobody.
    pub async fn register(&self, phone: &str) -> Client {
        let (c, reg) = self
            .prove_phone(
                phone,
                "register",
                "/api/v1/auth/register",
                StatusCode::CREATED,
            )
            .await;
        assert_eq!(reg.body["nextStep"], "verify_identity");
        c
    }

    /// The audit entries with this action, as (subject, detail).
    pub fn audit_entries(&self, action: &str) -> Vec<(String, String)> {
        let db = self.db();
        let mut st = db
            .prepare("SELECT subject, detail FROM audit_log WHERE action = ?1 ORDER BY id")
            .unwrap();
        st.query_map([action], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    /// The texts of the notices (messages without a code) sent to the phone, newest first, waiting up to
    /// five seconds for at least `at_least` of them: they are sent after the work commits.
    pub async fn sms_notices(&self, phone: &str, at_least: usize) -> Vec<String> {
        let mut texts = Vec::new();
        for _ in 0..100 {
            let v = self.outbox_messages(phone).await;
            texts = v["messages"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|m| m["code"] == "")
                .map(|m| m["text"].as_str().unwrap().to_owned())
                .collect();
            if texts.len() >= at_least {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        texts
    }

    pub async fn set_payment(&self, outcome: &str) {
        let r = reqwest::Client::new()
            .post(format!("{}/api/v1/dev/payment", self.base))
            .json(&json!({ "outcome": outcome }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
    }

    pub fn advance(&self, seconds: i64) {
        renche_server::clock::Clock::advance(self.clock.as_ref(), seconds * 1000);
    }

    /// A person record added straight to the store (for crowds of binders), as an import would; the first
    /// `signed_in` with this phone registers it and passes verification over HTTP.
    pub async fn add_person(&self, name: &str, resident_id17: &'static str, phone: &str) -> i64 {
        let now = renche_server::clock::Clock::now(self.clock.as_ref());
        let person = NewPerson {
            name: name.to_owned(),
            resident_id: renche_server::demo::resident_id(resident_id17).unwrap(),
            phone: renche::domain::PhoneNumber::parse(phone).unwrap(),
            registered_at: None,
            identity_verified: false,
            role: Role::Person,
            licence: Some(LicenceRow {
                class: renche::domain::LicenceClass::C1,
                status: renche::domain::LicenceStatus::Normal,
                points: 0,
                cycle_start: None,
            }),
            created_at: now,
        };
        renche_server::store::write::<_, renche_server::error::ServerError>(
            self.state.store.as_ref(),
            move |tx| Ok(tx.insert_person(&person)?),
        )
        .await
        .unwrap()
    }

    /// A bindable small car of a person who is not registered, added straight to the store.
    pub async fn add_vehicle(&self, plate: &str) -> i64 {
        let now = renche_server::clock::Clock::now(self.clock.as_ref());
        let vehicle = renche_server::store::NewVehicle {
            plate_number: renche::domain::PlateNumber::parse(
                plate,
                renche::domain::PlateType::SmallCar,
            )
            .unwrap(),
            engine_number: "ENG000123456".into(),
            engine_suffix: renche::domain::EngineSuffix::parse("123456").unwrap(),
            use_nature: renche::domain::UseNature::NonCommercial,
            owner_kind: renche::domain::OwnerKind::Individual,
            owner_person_id: None,
            owner_name: "某车主".into(),
            owner_phone: renche::domain::PhoneNumber::parse("13500000000").unwrap(),
            owner_resident_id: None,
            city: "441900".into(),
            created_at: now,
        };
        renche_server::store::write::<_, renche_server::error::ServerError>(
            self.state.store.as_ref(),
            move |tx| Ok(tx.insert_vehicle(&vehicle)?),
        )
        .await
        .unwrap()
    }

    pub async fn vehicle_id(&self, plate_type: renche::domain::PlateType, plate: &str) -> i64 {
        let plate = plate.to_owned();
        renche_server::store::read::<_, renche_server::error::ServerError>(
            self.state.store.as_ref(),
            move |tx| Ok(tx.vehicle_by_plate(plate_type, &plate)?),
        )
        .await
        .unwrap()
        .unwrap()
        .id
    }
}

impl Client {
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        key: Option<&str>,
        csrf: bool,
    ) -> Answer {
        let mut req = self.http.request(method, format!("{}{}", self.base, path));
        if csrf {
            req = req.header("X-CSRF-Token", &self.csrf);
        }
        if let Some(k) = key {
            req = req.header("Idempotency-Key", k);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Answer {
            status,
            body,
            headers,
        }
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.send(Method::GET, path, None, None, false).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Answer {
        self.send(Method::POST, path, Some(body), Some(&new_key()), true)
            .await
    }

    /// A raw body (an uploaded image) with its content type, by PUT.
    pub async fn put_raw(&self, path: &str, content_type: &str, bytes: Vec<u8>) -> Answer {
        let resp = self
            .http
            .put(format!("{}{}", self.base, path))
            .header("X-CSRF-Token", &self.csrf)
            .header("Idempotency-Key", new_key())
            .header("Content-Type", content_type)
            .body(bytes)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        Answer {
            status,
            body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
            headers,
        }
    }

    /// Bytes by GET (an image), with the status and headers.
    pub async fn get_bytes(&self, path: &str) -> (StatusCode, reqwest::header::HeaderMap, Vec<u8>) {
        let resp = self
            .http
            .get(format!("{}{}", self.base, path))
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        (status, headers, resp.bytes().await.unwrap().to_vec())
    }

    pub async fn delete(&self, path: &str) -> Answer {
        self.send(Method::DELETE, path, None, Some(&new_key()), true)
            .await
    }

    /// Another handle on the same session (the cookie jar is shared).
    pub fn clone_session(&self) -> Client {
        Client {
            http: self.http.clone(),
            base: self.base.clone(),
            csrf: self.csrf.clone(),
        }
    }

    /// Starts a real-person verification (`POST /api/v1/identity/verifications`).
    pub async fn start_verification(&self, body: Value) -> Answer {
        self.post("/api/v1/identity/verifications", body).await
    }

    /// Goes through the development provider's page as a browser does: posts its form with the captured
    /// frame (a small PNG unless `frame` is given) and the tester's choice; the provider's answer, not
    /// followed (a 303 to the return URL on success).
    pub async fn provider_form(
        &self,
        provider_url: &str,
        outcome: &str,
        frame: Option<&str>,
    ) -> reqwest::Response {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let page = http
            .get(format!("{}{provider_url}", self.base))
            .send()
            .await
            .unwrap();
        if page.status() == StatusCode::OK {
            let html = page.text().await.unwrap();
            assert!(
                html.contains("getUserMedia"),
                "the provider page opens the camera"
            );
        }
        let frame = frame.map(str::to_owned).unwrap_or_else(frame_data_url);
        let mut form = vec![("frame", frame)];
        if !outcome.is_empty() {
            form.push(("outcome", outcome.to_owned()));
        }
        http.post(format!("{}{provider_url}", self.base))
            .form(&form)
            .send()
            .await
            .unwrap()
    }

    /// The provider's signed result for a started verification, after the tester chose `outcome`: read from
    /// the return URL the provider sends the browser to.
    pub async fn provider_result(&self, verification: &Answer, outcome: &str) -> String {
        assert_eq!(
            verification.status,
            StatusCode::CREATED,
            "{:?}",
            verification.body
        );
        let url = verification.body["providerUrl"].as_str().unwrap();
        let resp = self.provider_form(url, outcome, None).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        let location = resp.headers()["location"].to_str().unwrap().to_owned();
        let id = verification.body["id"].as_str().unwrap();
        assert!(
            location.contains(&format!("verificationId={id}")),
            "{location}"
        );
        location
            .split(['?', '&'])
            .find_map(|p| p.strip_prefix("result="))
            .unwrap()
            .to_owned()
    }

    /// Passes (or not) verification of this account for a resident ID and name: start, the provider's page,
    /// finish. The finish's answer.
    pub async fn verify_account(&self, name: &str, resident_id: &str, outcome: &str) -> Answer {
        let started = self
            .start_verification(json!({ "purpose": "account", "name": name,
                "residentId": resident_id, "returnPath": "/#/verify" }))
            .await;
        let result = self.provider_result(&started, outcome).await;
        let id = started.body["id"].as_str().unwrap();
        self.post(
            &format!("/api/v1/identity/verifications/{id}/finish"),
            json!({ "result": result }),
        )
        .await
    }

    /// A verification for a binding application, through the provider with `outcome`: (its id, the result).
    pub async fn verify_application(
        &self,
        application_id: &str,
        outcome: &str,
    ) -> (String, String) {
        let started = self
            .start_verification(
                json!({ "purpose": "application", "applicationId": application_id }),
            )
            .await;
        let result = self.provider_result(&started, outcome).await;
        (started.body["id"].as_str().unwrap().to_owned(), result)
    }

    /// Commits a binding application after a verification through the provider with `outcome`.
    pub async fn commit_verified(
        &self,
        application_id: &str,
        body: Value,
        outcome: &str,
    ) -> Answer {
        let (verification_id, result) = self.verify_application(application_id, outcome).await;
        let mut body = body;
        body["verificationId"] = json!(verification_id);
        body["result"] = json!(result);
        self.post(
            &format!("/api/v1/binding-applications/{application_id}/commit"),
            body,
        )
        .await
    }

    /// The person's id, from `/me`.
    pub async fn me_id(&self) -> String {
        self.get("/api/v1/me").await.body["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }
}

/// Demo accounts (docs/demo.md).
pub const OWNER: &str = "13900000001";
pub const FULL_BINDER: &str = "13900000002";
pub const BINDER: &str = "13900000003";
pub const NEWCOMER: &str = "13900000004";
pub const OFFICER: &str = "13900000010";
pub const SPARE_OWNER: &str = "13900000007";

/// A whole PNG (1×1, as a camera would not make it, but with every chunk in place).
pub fn small_png() -> Vec<u8> {
    let mut b = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    for (kind, data) in [
        (b"IHDR", &[0u8, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0][..]),
        (
            b"IDAT",
            &[
                0x78, 0x9C, 0x63, 0xF8, 0xCF, 0xC0, 0x00, 0x00, 0x03, 0x01, 0x01, 0x00,
            ][..],
        ),
        (b"IEND", &[][..]),
    ] {
        b.extend_from_slice(&(data.len() as u32).to_be_bytes());
        b.extend_from_slice(kind);
        b.extend_from_slice(data);
        b.extend_from_slice(&[0, 0, 0, 0]);
    }
    b
}

/// A whole JPEG as far as its markers go: SOI, an APP0 segment, EOI.
pub fn small_jpeg() -> Vec<u8> {
    let mut b = vec![
        0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0,
    ];
    b.extend_from_slice(&[1, 1, 0, 0, 1, 0, 1, 0, 0]);
    b.extend_from_slice(&[0xFF, 0xD9]);
    b
}

#[path = "../shared/frame.rs"]
mod frame;
pub use frame::frame_data_url;
