//! An idempotency key's answer is stored in the transaction that does the work: a crash right after that
//! transaction keeps both, a failure to store the answer keeps neither.

use crate::helpers::*;
use renche::domain::PlateType;
use renche::Timestamp;
use renche_server::clock::ManualClock;
use renche_server::store::{BoxFuture, Job, Store, StoreError, StoreResult};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Counts write transactions and, once armed, lets only so many more through, as if the process died
/// right after the last one: later writes never reach the database.
struct Cutoff {
    writes: AtomicUsize,
    allowed: AtomicUsize,
}

impl Cutoff {
    fn new() -> Arc<Cutoff> {
        Arc::new(Cutoff {
            writes: AtomicUsize::new(0),
            allowed: AtomicUsize::new(usize::MAX),
        })
    }
    /// Starts counting again; the process "dies" after `allowed` more write transactions.
    fn arm(&self, allowed: usize) {
        self.allowed.store(allowed, Ordering::SeqCst);
        self.writes.store(0, Ordering::SeqCst);
    }
    fn writes(&self) -> usize {
        self.writes.load(Ordering::SeqCst)
    }
}

struct CutoffStore {
    inner: Arc<dyn Store>,
    cutoff: Arc<Cutoff>,
}

impl Store for CutoffStore {
    fn write(&self, job: Job) -> BoxFuture<'_, StoreResult<()>> {
        let n = self.cutoff.writes.fetch_add(1, Ordering::SeqCst) + 1;
        if n > self.cutoff.allowed.load(Ordering::SeqCst) {
            return Box::pin(async { Err(StoreError::Closed) });
        }
        self.inner.write(job)
    }
    fn read(&self, job: Job) -> BoxFuture<'_, StoreResult<()>> {
        self.inner.read(job)
    }
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }
}

fn start_clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::starting_at(
        Timestamp::parse_rfc3339(START).unwrap(),
    ))
}

async fn spawn_counted(
    dir: &Arc<tempfile::TempDir>,
    clock: &Arc<ManualClock>,
) -> (TestApp, Arc<Cutoff>) {
    let cutoff = Cutoff::new();
    let c = Arc::clone(&cutoff);
    let app = spawn_app_on(Arc::clone(dir), Arc::clone(clock), None, move |inner| {
        Arc::new(CutoffStore { inner, cutoff: c })
    })
    .await;
    (app, cutoff)
}

/// NEWCOMER's open QR application on the owner's 粤S12345, verification set to pass.
async fn open_application(app: &TestApp) -> (Client, String, Value) {
    let owner = app.signed_in(OWNER).await;
    let binder = app.signed_in(NEWCOMER).await;
    let id = app.vehicle_id(PlateType::SmallCar, "粤S12345").await;
    let qr = owner
        .post(&format!("/api/v1/vehicles/{id}/qr-codes"), json!({}))
        .await;
    assert_eq!(qr.status, StatusCode::CREATED, "{:?}", qr.body);
    let opened = binder
        .post(
            "/api/v1/bindings/qr/redeem",
            json!({ "qrText": qr.body["qrText"] }),
        )
        .await;
    assert_eq!(opened.status, StatusCode::CREATED, "{:?}", opened.body);
    let app_id = opened.body["applicationId"].as_str().unwrap().to_owned();
    let (verification_id, result) = binder.verify_application(&app_id, "pass").await;
    let body = json!({ "relationship": "spouse", "policyVersion": "441900-2026-09-01.1",
        "expectedAllowed": true, "verificationId": verification_id, "result": result });
    (binder, app_id, body)
}

fn bindings_of(app: &TestApp, application: &str) -> i64 {
    app.db()
        .query_row(
            "SELECT COUNT(*) FROM bindings WHERE application_id = ?1",
            [application],
            |r| r.get(0),
        )
        .unwrap()
}

fn key_state(app: &TestApp, key: &str) -> Option<String> {
    app.db()
        .query_row(
            "SELECT state FROM idempotency_keys WHERE key = ?1",
            [key],
            |r| r.get(0),
        )
        .ok()
}

#[tokio::test]
async fn a_crash_right_after_the_commit_keeps_its_answer() {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let clock = start_clock();
    let (app, cutoff) = spawn_counted(&dir, &clock).await;
    let (binder, app_id, body) = open_application(&app).await;
    let path = format!("/api/v1/binding-applications/{app_id}/commit");
    let key = new_key();

    // The process "dies" after two write transactions: the key's start and the commit.
    cutoff.arm(2);
    let first = binder
        .send(Method::POST, &path, Some(body.clone()), Some(&key), true)
        .await;
    assert_eq!(first.status, StatusCode::CREATED, "{:?}", first.body);
    assert_eq!(
        cutoff.writes(),
        2,
        "a commit takes two write transactions: the key's start, then the work with its answer"
    );
    assert_eq!(bindings_of(&app, &app_id), 1);
    assert_eq!(key_state(&app, &key).as_deref(), Some("done"));

    // Restarted on the same database, past the time after which a running key counts as dead.
    let restarted = spawn_app_on(Arc::clone(&dir), Arc::clone(&clock), None, |s| s).await;
    restarted.advance(61);
    let again = Client {
        http: binder.http.clone(),
        base: restarted.base.clone(),
        csrf: binder.csrf.clone(),
    };
    let retry = again
        .send(Method::POST, &path, Some(body.clone()), Some(&key), true)
        .await;
    assert_eq!(
        retry.status,
        StatusCode::CREATED,
        "the retry must get the original answer: {:?}",
        retry.body
    );
    assert_eq!(retry.headers["idempotent-replayed"], "true");
    assert_eq!(retry.body, first.body);
    assert_eq!(bindings_of(&restarted, &app_id), 1);
}

#[tokio::test]
async fn an_answer_that_cannot_be_stored_takes_its_work_back() {
    let app = spawn_app().await;
    let (binder, app_id, body) = open_application(&app).await;
    let path = format!("/api/v1/binding-applications/{app_id}/commit");
    let key = new_key();
    // Storing an answer now fails as a database fault (a missing table, not a constraint).
    app.db()
        .execute_batch(
            "CREATE TRIGGER refuse_answers BEFORE UPDATE OF state ON idempotency_keys \
             WHEN NEW.state = 'done' BEGIN INSERT INTO no_such_table VALUES (1); END;",
        )
        .unwrap();
    let failed = binder
        .send(Method::POST, &path, Some(body.clone()), Some(&key), true)
        .await;
    assert_eq!(
        failed.status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "{:?}",
        failed.body
    );
    assert_eq!(
        bindings_of(&app, &app_id),
        0,
        "no binding without its answer"
    );
    let a = binder
        .get(&format!("/api/v1/binding-applications/{app_id}"))
        .await;
    assert_eq!(a.body["status"], "awaiting_verification");
    assert_eq!(key_state(&app, &key), None, "the key is free again");

    app.db()
        .execute_batch("DROP TRIGGER refuse_answers;")
        .unwrap();
    let retry = binder
        .send(Method::POST, &path, Some(body.clone()), Some(&key), true)
        .await;
    assert_eq!(retry.status, StatusCode::CREATED, "{:?}", retry.body);
    assert!(!retry.headers.contains_key("idempotent-replayed"));
    let replay = binder
        .send(Method::POST, &path, Some(body.clone()), Some(&key), true)
        .await;
    assert_eq!(replay.headers["idempotent-replayed"], "true");
    assert_eq!(replay.body, retry.body);
    assert_eq!(bindings_of(&app, &app_id), 1);
}

#[tokio::test]
async fn a_refusal_is_stored_with_its_audit_entry() {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let clock = start_clock();
    let (app, cutoff) = spawn_counted(&dir, &clock).await;
    let person = app.signed_in(NEWCOMER).await;
    let person_id = person.me_id().await;
    let vehicle_id = app.vehicle_id(PlateType::SmallCar, "粤S88888").await;
    let officer = app.signed_in(OFFICER).await;
    let body = json!({ "personId": person_id, "vehicleId": vehicle_id.to_string(), "documentsChecked": ["id_card"] });
    let key = new_key();

    cutoff.arm(usize::MAX);
    let refused = officer
        .send(
            Method::POST,
            "/api/v1/window/bindings",
            Some(body.clone()),
            Some(&key),
            true,
        )
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert_eq!(refused.code(), "WINDOW_DOCUMENTS_NOT_CHECKED");
    assert_eq!(
        cutoff.writes(),
        1,
        "the audited refusal, its answer and its key in one write: no claim of the key ahead of it"
    );
    let replay = officer
        .send(
            Method::POST,
            "/api/v1/window/bindings",
            Some(body),
            Some(&key),
            true,
        )
        .await;
    assert_eq!(replay.status, StatusCode::CONFLICT);
    assert_eq!(replay.headers["idempotent-replayed"], "true");
    assert_eq!(replay.body, refused.body);
    let audited: i64 = app
        .db()
        .query_row(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'binding.refused'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(audited, 1, "the replay did not run the refusal again");
}
