//! Starting a server process on a fresh database with a seeded population, and calling it.

use renche_reliability::client::{self, Call, Reply, Session};
use renche_reliability::seed::{self, Population, SeedPlan};
use renche_reliability::server::{ServerProcess, ServerSpec};
use reqwest::Method;
use serde_json::{json, Value};
use std::path::PathBuf;

pub struct TestServer {
    #[allow(dead_code)] // kept so that the process lives as long as the test
    pub proc: ServerProcess,
    pub url: String,
    pub db: String,
    pub pop: Population,
    pub http: reqwest::Client,
    #[allow(dead_code)] // the database directory, removed when the test ends
    pub dir: tempfile::TempDir,
}

/// The tests in this binary run in parallel, each with its own server processes. A test that measures
/// response times takes the machine alone (`exclusive`); the others share it (`shared`), so its figures
/// are the server's and not the neighbours'.
static MACHINE: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

pub async fn shared_machine() -> tokio::sync::RwLockReadGuard<'static, ()> {
    MACHINE.read().await
}

pub async fn exclusive_machine() -> tokio::sync::RwLockWriteGuard<'static, ()> {
    MACHINE.write().await
}

pub fn repo_policies() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../policies")
}

pub fn launcher() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_reliability-serve"))
}

/// A server on a fresh database. `open_throttles`: SMS cool-down 0 and huge daily caps (load runs).
pub async fn start(plan: SeedPlan, open_throttles: bool) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("db.sqlite3").display());
    let policies = if open_throttles {
        let p = dir.path().join("policies");
        seed::load_policy_dir(&repo_policies(), &p).unwrap();
        p
    } else {
        repo_policies()
    };
    let pop = seed::seed(&db, &plan).await.unwrap();
    let mut spec = ServerSpec::launcher(&launcher(), &db, &policies);
    spec.log = Some(dir.path().join("server.log"));
    let proc = ServerProcess::start(spec).await.unwrap();
    let url = proc.url();
    TestServer {
        proc,
        url,
        db,
        pop,
        http: client::http_client(),
        dir,
    }
}

pub fn plan(people: usize, officers: usize, vehicles: usize, owners: usize) -> SeedPlan {
    SeedPlan {
        people,
        officers,
        vehicles,
        owners,
        first: 0,
    }
}

impl TestServer {
    pub async fn send(&self, call: &Call<'_>) -> Reply {
        client::send(&self.http, &self.url, call).await.unwrap()
    }
    pub async fn get(&self, s: Option<&Session>, path: &str) -> Reply {
        self.send(&Call::get(path, s)).await
    }
    pub async fn post(&self, s: Option<&Session>, path: &str, body: Value) -> Reply {
        self.send(&Call::post(path, s, body)).await
    }
    #[allow(dead_code)]
    pub async fn delete(&self, s: Option<&Session>, path: &str) -> Reply {
        self.send(&Call::delete(path, s)).await
    }
    /// A development endpoint (no CSRF, no key).
    pub async fn dev(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        self.send(&Call {
            method,
            path: path.into(),
            body,
            session: None,
            key: None,
            timeout: None,
        })
        .await
    }
    pub async fn advance(&self, seconds: f64) {
        let r = self
            .dev(
                Method::POST,
                "/api/v1/dev/clock",
                Some(json!({ "advanceSeconds": seconds })),
            )
            .await;
        assert_eq!(r.status, 200, "{:?}", r.body);
    }
    /// The binder's face check for `application` on the development identity provider, as a browser
    /// goes through it (start, the provider page's form with a frame and `outcome`, its redirect).
    pub async fn verify_application(
        &self,
        binder: &Session,
        application: &str,
        outcome: &str,
    ) -> client::Verified {
        let start = json!({ "purpose": "application", "applicationId": application, "returnPath": "/#/bind/verified" });
        client::verify(&self.http, &self.url, binder, start, outcome)
            .await
            .unwrap_or_else(|e| panic!("verification of application {application}: {e}"))
    }
    /// Commits `application` with `body` after a face check answered with `outcome`.
    pub async fn commit_verified(
        &self,
        binder: &Session,
        application: &str,
        mut body: Value,
        outcome: &str,
    ) -> Reply {
        let v = self.verify_application(binder, application, outcome).await;
        if let Some(fields) = body.as_object_mut() {
            fields.insert("verificationId".into(), json!(v.verification_id));
            fields.insert("result".into(), json!(v.result));
        }
        self.post(
            Some(binder),
            &format!("/api/v1/binding-applications/{application}/commit"),
            body,
        )
        .await
    }
    pub async fn outbox_codes(&self, phone: &str) -> Vec<String> {
        let r = self
            .dev(
                Method::GET,
                &format!("/api/v1/dev/sms-outbox?phone={phone}"),
                None,
            )
            .await;
        r.body["messages"]
            .as_array()
            .map(|m| {
                m.iter()
                    .map(|x| x["code"].as_str().unwrap_or("").to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }
    /// Waits for a new newest code for `phone` (delivery runs after the answer).
    pub async fn next_code(&self, phone: &str, before: usize) -> String {
        for _ in 0..200 {
            let codes = self.outbox_codes(phone).await;
            if codes.len() > before {
                return codes[0].clone();
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        panic!("no SMS reached {phone}");
    }
    /// An anonymous session: its cookie token and CSRF token.
    pub async fn anonymous(&self) -> Session {
        let resp = self
            .http
            .get(format!("{}/api/v1/session", self.url))
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
        let token = cookie
            .split(';')
            .next()
            .unwrap()
            .trim_start_matches("renche_session=")
            .to_owned();
        let body: Value = resp.json().await.unwrap();
        Session {
            person_id: 0,
            token,
            csrf: body["csrfToken"].as_str().unwrap().to_owned(),
        }
    }
    /// A QR code of `vehicle` made by its owner.
    pub async fn qr(&self, owner: &Session, vehicle: i64) -> String {
        let r = self
            .post(
                Some(owner),
                &format!("/api/v1/vehicles/{vehicle}/qr-codes"),
                json!({}),
            )
            .await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        r.str_at("/qrText").unwrap()
    }
    /// Binds `vehicle` for `binder` by QR code from `owner`; returns the binding id (the face check passes).
    pub async fn bind(&self, owner: &Session, binder: &Session, vehicle: i64) -> String {
        let text = self.qr(owner, vehicle).await;
        let opened = self
            .post(
                Some(binder),
                "/api/v1/bindings/qr/redeem",
                json!({ "qrText": text }),
            )
            .await;
        assert_eq!(opened.status, 201, "{:?}", opened.body);
        let app = opened.str_at("/applicationId").unwrap();
        let c = self
            .commit_verified(binder, &app, json!({ "relationship": "friend" }), "pass")
            .await;
        assert_eq!(c.status, 201, "{:?}", c.body);
        c.str_at("/binding/id").unwrap()
    }
    pub fn sqlite(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.db.trim_start_matches("sqlite://")).unwrap()
    }
}
