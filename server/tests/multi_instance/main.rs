//! Three `renche-server` processes on one PostgreSQL database under a concurrent binding workload: clients
//! spread over the instances, retries of an Idempotency-Key go to another instance, and one instance is
//! killed (SIGKILL) mid-run. At the end the database is checked directly: the limits held, every key took
//! effect at most once, and every acknowledged commit is there.
//!
//! Needs PostgreSQL like the conformance suite (`RENCHE_TEST_POSTGRES_URL`; `RENCHE_SKIP_POSTGRES=1` skips).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod bench;
mod ceiling;
mod failover;
mod harness;
mod policy_publish;
mod replica;
#[path = "../conformance/support.rs"]
#[allow(dead_code)]
mod support;

use harness::{new_key, Answer, Browser, Instance};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use renche_server::store::postgres::PgStore;
use renche_server::store::{Role, Store, StoreResult};
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::*;

const BINDERS: u32 = 12;
const VEHICLES: u32 = 12;
const WORKERS: u32 = 16;
const OPS_PER_WORKER: usize = 40;
const OFFICER_BASE: u32 = 100;

/// What the clients were told, to hold the database to.
#[derive(Default)]
struct Record {
    /// Key → (binding id, binder, vehicle) of every binding acknowledged with 201.
    created: HashMap<String, (i64, i64, i64)>,
    /// Binding ids whose removal was acknowledged.
    removed: HashSet<i64>,
    /// Bind keys whose outcome no instance could tell (in flight on the killed one).
    unresolved_binds: usize,
    refused: usize,
    replays_checked: usize,
    cross_instance_retries: usize,
    /// 503 answers, each with a `Retry-After`; and answers 500, which a fault must never give.
    unavailable: usize,
    internal_errors: usize,
    /// When each acknowledgement (2xx) came, to find the longest time without one.
    acknowledged_at: Vec<Instant>,
}

/// How long a client keeps trying one key: `attempts` sends, each after the previous failed.
#[derive(Clone, Copy)]
struct Patience {
    attempts: usize,
}

/// Sends one state change, retrying the same key on the next instance while an instance does not answer,
/// answers 503, or says the key is still in use (by a killed instance or a request being answered).
/// `None`: never resolved.
#[allow(clippy::too_many_arguments)]
async fn send_once(
    b: &Browser,
    bases: &[String],
    first: usize,
    method: Method,
    path: &str,
    body: Option<&serde_json::Value>,
    key: &str,
    record: &Mutex<Record>,
    patience: Patience,
) -> Option<(Answer, usize)> {
    let mut at = first;
    let mut last = String::new();
    for attempt in 0..patience.attempts {
        if attempt > 0 {
            // A different instance from the one that just failed.
            at = (at + 1) % bases.len();
            record.lock().unwrap().cross_instance_retries += 1;
        }
        match b
            .send(&bases[at], method.clone(), path, body, Some(key))
            .await
        {
            Ok(a) if a.status == StatusCode::CONFLICT && a.code() == "IDEMPOTENCY_KEY_IN_USE" => {
                last = format!("{} {}", a.status, a.code());
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Ok(a) if a.status == StatusCode::SERVICE_UNAVAILABLE => {
                assert!(
                    a.retry_after.is_some(),
                    "a 503 without Retry-After: {:?}",
                    a.body
                );
                record.lock().unwrap().unavailable += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Ok(a) if a.status.is_server_error() => {
                record.lock().unwrap().internal_errors += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Ok(a) => {
                if a.status.is_success() {
                    record.lock().unwrap().acknowledged_at.push(Instant::now());
                }
                return Some((a, at));
            }
            Err(e) => last = e.to_string(),
        }
    }
    eprintln!(
        "{method} {path} with key {key}: no answer after {} tries, the last: {last}",
        patience.attempts
    );
    None
}

/// People, officers and vehicles straight into the database (this also migrates it): (binders, vehicles).
async fn seed(url: &str) -> (Vec<i64>, Vec<i64>) {
    let store: Arc<dyn Store> = Arc::new(PgStore::open(url, T0).unwrap());
    write(&store, |tx| {
        let b = (0..BINDERS)
            .map(|n| tx.insert_person(&new_person(n)))
            .collect::<StoreResult<Vec<_>>>()?;
        for n in OFFICER_BASE..OFFICER_BASE + WORKERS {
            let mut o = new_person(n);
            o.role = Role::Officer;
            let id = tx.insert_person(&o)?;
            // Officers sign in with verified accounts (as the demo seeds them).
            let account = tx.insert_account(o.phone.as_str(), T0)?;
            tx.link_account(account, id, T0)?;
        }
        let v = (0..VEHICLES)
            .map(|n| tx.insert_vehicle(&new_vehicle(n, None)))
            .collect::<StoreResult<Vec<_>>>()?;
        Ok((b, v))
    })
    .await
    .unwrap()
}

/// Each officer signs in: code asked of one instance, typed in at the next.
async fn sign_in_officers(bases: &[String]) -> Vec<Browser> {
    let mut browsers = Vec::new();
    for w in 0..WORKERS {
        let mut b = Browser::new();
        let (ask, confirm) = (w as usize % bases.len(), (w as usize + 1) % bases.len());
        b.sign_in(
            &bases[ask],
            &bases[confirm],
            phone(OFFICER_BASE + w).as_str(),
        )
        .await;
        browsers.push(b);
    }
    browsers
}

/// What every client does: `OPS_PER_WORKER` window bindings of random binders to random vehicles, and
/// removals of its own bindings now and then, spread over the instances.
struct Workload {
    bases: Arc<Vec<String>>,
    binders: Vec<i64>,
    vehicles: Vec<i64>,
    record: Arc<Mutex<Record>>,
    done_ops: Arc<AtomicUsize>,
    patience: Patience,
}

/// Three instances on `url`, and the officers signed in across them.
async fn start_three(url: &str, scratch: &std::path::Path) -> (Vec<Instance>, Vec<Browser>) {
    let instances: Vec<Instance> = (0..3).map(|_| Instance::start(url, scratch)).collect();
    let bases: Vec<String> = instances.iter().map(|i| i.base.clone()).collect();
    let browsers = sign_in_officers(&bases).await;
    (instances, browsers)
}

impl Workload {
    fn new(
        instances: &[Instance],
        binders: Vec<i64>,
        vehicles: Vec<i64>,
        patience: Patience,
    ) -> Self {
        Workload {
            bases: Arc::new(instances.iter().map(|i| i.base.clone()).collect()),
            binders,
            vehicles,
            record: Arc::default(),
            done_ops: Arc::default(),
            patience,
        }
    }

    fn spawn(&self, browsers: Vec<Browser>) -> Vec<tokio::task::JoinHandle<()>> {
        browsers
            .into_iter()
            .enumerate()
            .map(|(w, b)| {
                let (bases, record, done_ops) =
                    (self.bases.clone(), self.record.clone(), self.done_ops.clone());
                let (binders, vehicles, patience) =
                    (self.binders.clone(), self.vehicles.clone(), self.patience);
                tokio::spawn(async move {
                    let mut rng = StdRng::seed_from_u64(w as u64);
                    let mut mine: Vec<i64> = Vec::new();
                    let docs = json!(["driving_licence", "id_card", "vehicle_licence"]);
                    for _ in 0..OPS_PER_WORKER {
                        let first = rng.gen_range(0..bases.len());
                        let key = new_key();
                        if !mine.is_empty() && rng.gen_bool(0.3) {
                            let id = mine.swap_remove(rng.gen_range(0..mine.len()));
                            let path = format!("/api/v1/bindings/{id}");
                            let got = send_once(
                                &b, &bases, first, Method::DELETE, &path, None, &key, &record, patience,
                            )
                            .await;
                            if let Some((a, _)) = got {
                                if a.status.is_success() {
                                    record.lock().unwrap().removed.insert(id);
                                }
                            }
                        } else {
                            let person = binders[rng.gen_range(0..binders.len())];
                            let vehicle = vehicles[rng.gen_range(0..vehicles.len())];
                            let body = json!({ "personId": person.to_string(), "vehicleId": vehicle.to_string(),
                                               "relationship": "friend", "documentsChecked": docs });
                            let path = "/api/v1/window/bindings";
                            let send = |at: usize| {
                                send_once(&b, &bases, at, Method::POST, path, Some(&body), &key, &record, patience)
                            };
                            match send(first).await {
                                Some((a, at)) if a.status == StatusCode::CREATED => {
                                    let id: i64 = a.body["binding"]["id"].as_str().unwrap().parse().unwrap();
                                    mine.push(id);
                                    record.lock().unwrap().created.insert(key.clone(), (id, person, vehicle));
                                    // Now and then the client "did not hear" and sends the same request again
                                    // to another instance: it must get the same binding back, not a second one.
                                    if rng.gen_bool(0.25) {
                                        if let Some((again, _)) = send((at + 1) % bases.len()).await {
                                            assert_eq!(again.status, StatusCode::CREATED, "{:?}", again.body);
                                            assert!(again.replayed, "a retry was run again: {:?}", again.body);
                                            assert_eq!(again.body["binding"]["id"], a.body["binding"]["id"]);
                                            record.lock().unwrap().replays_checked += 1;
                                        }
                                    }
                                }
                                Some((a, _)) => {
                                    assert!(
                                        a.status == StatusCode::UNPROCESSABLE_ENTITY
                                            || a.status == StatusCode::CONFLICT,
                                        "unexpected answer {}: {:?}",
                                        a.status,
                                        a.body
                                    );
                                    record.lock().unwrap().refused += 1;
                                }
                                None => record.lock().unwrap().unresolved_binds += 1,
                            }
                        }
                        done_ops.fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect()
    }
}

/// Holds the database at `url` to what the clients saw: no limit exceeded, every acknowledged binding and
/// removal there, and every key took effect at most once.
async fn check_database(url: &str, record: &Record) {
    let admin_db = url.to_owned();
    let (over_binder, over_vehicle, rows, keys_done) = tokio::task::spawn_blocking(move || {
        let mut c = postgres::Client::connect(&admin_db, postgres::NoTls).unwrap();
        let over_binder: i64 = c
            .query_one(
                "SELECT COUNT(*) FROM (SELECT binder_id FROM bindings WHERE removed_at IS NULL \
                 GROUP BY binder_id HAVING COUNT(*) > 3) x",
                &[],
            )
            .unwrap()
            .get(0);
        let over_vehicle: i64 = c
            .query_one(
                "SELECT COUNT(*) FROM (SELECT vehicle_id FROM bindings WHERE removed_at IS NULL \
                 GROUP BY vehicle_id HAVING COUNT(*) > 3) x",
                &[],
            )
            .unwrap()
            .get(0);
        let rows: HashMap<i64, (i64, i64, bool)> = c
            .query("SELECT id, binder_id, vehicle_id, removed_at IS NOT NULL FROM bindings", &[])
            .unwrap()
            .iter()
            .map(|r| (r.get(0), (r.get(1), r.get(2), r.get(3))))
            .collect();
        let keys_done: HashMap<String, i32> = c
            .query(
                "SELECT key, status FROM idempotency_keys WHERE state = 'done' AND status IS NOT NULL",
                &[],
            )
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        (over_binder, over_vehicle, rows, keys_done)
    })
    .await
    .unwrap();

    assert_eq!(over_binder, 0, "a person has more than 3 active bindings");
    assert_eq!(over_vehicle, 0, "a vehicle has more than 3 active binders");
    let mut ids = HashSet::new();
    for (key, (id, person, vehicle)) in &record.created {
        assert!(
            ids.insert(*id),
            "two keys were answered with one binding {id}"
        );
        let row = rows
            .get(id)
            .unwrap_or_else(|| panic!("acknowledged binding {id} is missing"));
        assert_eq!((row.0, row.1), (*person, *vehicle), "binding {id} changed");
        assert_eq!(
            keys_done.get(key),
            Some(&201),
            "key {key} is not recorded as done"
        );
    }
    for id in &record.removed {
        assert!(
            rows.get(id).is_some_and(|r| r.2),
            "acknowledged removal of {id} is missing"
        );
    }
    // Exactly once: every row is an acknowledged key's, except at most one per key nobody could resolve.
    let created = record.created.len();
    assert!(
        rows.len() >= created && rows.len() <= created + record.unresolved_binds,
        "{} binding rows for {created} acknowledged and {} unresolved keys",
        rows.len(),
        record.unresolved_binds
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_instances_keep_limits_and_exactly_once_through_a_kill() {
    if skip_postgres() {
        eprintln!("RENCHE_SKIP_POSTGRES=1: skipped");
        return;
    }
    let started = Instant::now();
    let db = TestDb::create();
    let url = format!("{}?pool_size=8", db.url);
    let (binders, vehicles) = seed(&url).await;

    let scratch = tempfile::tempdir().unwrap();
    let (mut instances, browsers) = start_three(&url, scratch.path()).await;
    let workload = Workload::new(&instances, binders, vehicles, Patience { attempts: 12 });
    let bases = workload.bases.clone();
    let killed = Arc::new(AtomicBool::new(false));
    let tasks = workload.spawn(browsers);

    // Kill the third instance a third of the way through.
    let total = (WORKERS as usize) * OPS_PER_WORKER;
    while workload.done_ops.load(Ordering::Relaxed) < total / 3 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    instances[2].kill();
    killed.store(true, Ordering::Relaxed);
    let killed_at = workload.done_ops.load(Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }
    let elapsed = started.elapsed();

    // The survivors still answer.
    for base in &bases[..2] {
        let h = reqwest::get(format!("{base}/healthz")).await.unwrap();
        assert_eq!(h.status(), StatusCode::OK);
    }

    let record = std::mem::take(&mut *workload.record.lock().unwrap());
    check_database(&db.url, &record).await;
    assert!(record.replays_checked > 0 && record.cross_instance_retries > 0);
    eprintln!(
        "3 instances, {WORKERS} clients, {total} operations in {:.1}s (instance 3 killed after {killed_at}): \
         {} bindings acknowledged, {} removals, {} refused, {} unresolved, {} replays on another \
         instance, {} cross-instance retries",
        elapsed.as_secs_f64(),
        record.created.len(),
        record.removed.len(),
        record.refused,
        record.unresolved_binds,
        record.replays_checked,
        record.cross_instance_retries
    );
    assert!(killed.load(Ordering::Relaxed));
    drop(instances);
}

/// A window commit over HTTP is three round trips to PostgreSQL: the guard's session read with the key, the
/// locks with every read the rules decide on, the writes with the key and `COMMIT`. Counted by the store and
/// on the wire over 100 commits (bound or refused by the limits) of one officer, one after another; the
/// little above 3 is the instance's own background work (the notice sender) in that time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_window_commit_is_three_round_trips() {
    if skip_postgres() {
        return;
    }
    let (db, _, _, _instance, officer, scratch) = instance_on_fresh_db("").await;
    let trips = bench::count_round_trips(&db.url, scratch.path(), &officer, VEHICLES, 7).await;
    eprintln!(
        "round trips per window commit: {:.2} (store), {:.2} (wire), {:.2} statements",
        trips.store, trips.wire, trips.statements
    );
    assert!(
        (3.0..3.25).contains(&trips.store),
        "{:.2} round trips per commit by the store's count",
        trips.store
    );
    assert!(
        trips.wire < 3.5,
        "{:.2} round trips per commit on the wire",
        trips.wire
    );
}

/// One instance on a fresh database whose statements time out after 300 ms, its officer signed in.
async fn impatient_instance() -> (
    TestDb,
    Vec<i64>,
    Vec<i64>,
    Instance,
    Browser,
    tempfile::TempDir,
) {
    instance_on_fresh_db("&options=-c%20statement_timeout%3D300").await
}

/// One instance on a fresh database (`url_options` added to its URL), its officer signed in.
async fn instance_on_fresh_db(
    url_options: &str,
) -> (
    TestDb,
    Vec<i64>,
    Vec<i64>,
    Instance,
    Browser,
    tempfile::TempDir,
) {
    let db = TestDb::create();
    let url = format!("{}?pool_size=4{url_options}", db.url);
    let (binders, vehicles) = seed(&url).await;
    let scratch = tempfile::tempdir().unwrap();
    let instance = Instance::start(&url, scratch.path());
    let mut officer = Browser::new();
    let base = instance.base.clone();
    officer
        .sign_in(&base, &base, phone(OFFICER_BASE).as_str())
        .await;
    (db, binders, vehicles, instance, officer, scratch)
}

/// A window binding's body for `person` and `vehicle`, every document checked.
fn window_binding(person: i64, vehicle: i64) -> serde_json::Value {
    json!({ "personId": person.to_string(), "vehicleId": vehicle.to_string(),
            "relationship": "friend", "documentsChecked": ["driving_licence", "id_card", "vehicle_licence"] })
}

/// Locks `person`'s row in a session of its own and returns once it holds it. The holding thread waits
/// until `waiters` lock waits are seen, reads what `observe` reads on a second connection meanwhile, and
/// lets go of the row (and answers `observe`'s value) once told to.
fn hold_person_row<T: Send + 'static>(
    url: &str,
    person: i64,
    waiters: i64,
    observe: impl FnOnce(&mut postgres::Client) -> T + Send + 'static,
) -> (std::sync::mpsc::Sender<()>, std::thread::JoinHandle<T>) {
    let (locked, release) = (std::sync::mpsc::channel(), std::sync::mpsc::channel::<()>());
    let url = url.to_owned();
    let holder = std::thread::spawn(move || {
        let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        let mut tx = c.transaction().unwrap();
        tx.execute("SELECT 1 FROM people WHERE id = $1 FOR UPDATE", &[&person])
            .unwrap();
        locked.0.send(()).unwrap();
        let mut watcher = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        let started = Instant::now();
        while watcher
            .query_one("SELECT COUNT(*) FROM pg_locks WHERE NOT granted", &[])
            .unwrap()
            .get::<_, i64>(0)
            < waiters
        {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "fewer than {waiters} waited on the row"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        let seen = observe(&mut watcher);
        release.1.recv().unwrap();
        tx.rollback().unwrap();
        seen
    });
    locked.1.recv().unwrap();
    (release.0, holder)
}

fn count_rows(url: &str, sql: &'static str) -> i64 {
    let mut c = postgres::Client::connect(url, postgres::NoTls).unwrap();
    c.query_one(sql, &[]).unwrap().get(0)
}

/// A statement timeout in the middle of a window commit (a row lock held elsewhere) answers 503 with
/// `Retry-After`, not 500, and keeps nothing: its key is stored only with its work, so while the commit
/// waits no claim of it is there, and the client's retry with the same key runs at once and gets the one
/// answer, which a further retry replays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timed_out_commit_keeps_no_key_and_the_retry_gets_one_answer() {
    if skip_postgres() {
        return;
    }
    let (db, binders, vehicles, instance, officer, _scratch) = impatient_instance().await;
    let base = instance.base.clone();
    // Another session holds the binder's row while the commit wants it, and looks for the key while the
    // commit waits on that row.
    let key = new_key();
    let (binder, held_key) = (binders[0], key.clone());
    let (release, holder) = hold_person_row(&db.url, binder, 1, move |watcher| {
        watcher
            .query_one(
                "SELECT COUNT(*) FROM idempotency_keys WHERE key = $1",
                &[&held_key],
            )
            .unwrap()
            .get::<_, i64>(0)
    });
    let body = window_binding(binder, vehicles[0]);
    let bind = || {
        officer.send(
            &base,
            Method::POST,
            "/api/v1/window/bindings",
            Some(&body),
            Some(&key),
        )
    };
    let timed_out = bind().await.unwrap();
    assert_eq!(
        timed_out.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{:?}",
        timed_out.body
    );
    assert_eq!(timed_out.code(), "TEMPORARILY_UNAVAILABLE");
    assert_eq!(timed_out.retry_after.as_deref(), Some("1"));
    release.send(()).unwrap();
    let keys_while_waiting = holder.join().unwrap();
    assert_eq!(
        keys_while_waiting, 0,
        "no claim of the key is committed ahead of the work"
    );

    let first = bind().await.unwrap();
    assert_eq!(first.status, StatusCode::CREATED, "{:?}", first.body);
    assert!(!first.replayed, "nothing was kept, so the retry runs");
    let again = bind().await.unwrap();
    assert_eq!(again.status, StatusCode::CREATED);
    assert!(again.replayed);
    assert_eq!(again.body["binding"]["id"], first.body["binding"]["id"]);
    let admin = db.url.clone();
    let rows =
        tokio::task::spawn_blocking(move || count_rows(&admin, "SELECT COUNT(*) FROM bindings"))
            .await
            .unwrap();
    assert_eq!(rows, 1, "one binding for one key");
}

/// Two copies of one window binding (same key, same body) sent before either is answered, both waiting
/// on a row another session holds: the first to commit stores the key with its work; the second, whose
/// work then meets the key, keeps nothing and answers with the first's answer, marked replayed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_copies_of_one_request_in_flight_get_one_answer() {
    if skip_postgres() {
        return;
    }
    let (db, binders, vehicles, instance, officer, _scratch) = instance_on_fresh_db("").await;
    let base = instance.base.clone();
    let binder = binders[0];
    // Both copies are past the guard and waiting on the row before it is let go.
    let (release, holder) = hold_person_row(&db.url, binder, 2, |_| ());
    let key = new_key();
    let body = window_binding(binder, vehicles[0]);
    let bind = || {
        officer.send(
            &base,
            Method::POST,
            "/api/v1/window/bindings",
            Some(&body),
            Some(&key),
        )
    };
    let both = futures_util::future::join(bind(), async {
        // Let the holder see both waiting before it lets go.
        tokio::time::sleep(Duration::from_millis(20)).await;
        let _ = release.send(());
        bind().await
    });
    let (a, b) = both.await;
    holder.join().unwrap();
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(
        (a.status, b.status),
        (StatusCode::CREATED, StatusCode::CREATED),
        "{:?} {:?}",
        a.body,
        b.body
    );
    assert_eq!(a.body["binding"]["id"], b.body["binding"]["id"]);
    assert_eq!(
        usize::from(a.replayed) + usize::from(b.replayed),
        1,
        "one answer made, one replayed"
    );
    let admin = db.url.clone();
    let (rows, refusals) = tokio::task::spawn_blocking(move || {
        (
            count_rows(&admin, "SELECT COUNT(*) FROM bindings"),
            count_rows(
                &admin,
                "SELECT COUNT(*) FROM audit_log WHERE action = 'binding.refused'",
            ),
        )
    })
    .await
    .unwrap();
    assert_eq!(
        (rows, refusals),
        (1, 0),
        "one binding, and the second copy's refusal was not kept"
    );
}

/// On a route whose key is claimed ahead of its work (a policy preview: a scan, then its audit entry), a
/// statement timeout in the commit answers 503, and when the key's release times out as well it is asked
/// again once the database answers: the client's retry then runs within seconds (not after the minute a
/// claim takes to go stale) and gets the one answer, which a further retry replays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timed_out_commit_and_release_answer_503_and_the_retry_gets_one_answer() {
    if skip_postgres() {
        return;
    }
    let (db, _, _, instance, officer, _scratch) = impatient_instance().await;
    let base = instance.base.clone();
    // Another session keeps audit entries from being written, and then holds the key's row as soon as
    // the claim is committed, so that the release after the 503 times out too.
    let key = new_key();
    let (locked, release) = (std::sync::mpsc::channel(), std::sync::mpsc::channel::<()>());
    let (key_held, key_held_rx) = std::sync::mpsc::channel();
    let (admin, held_key) = (db.url.clone(), key.clone());
    let holder = std::thread::spawn(move || {
        let mut c = postgres::Client::connect(&admin, postgres::NoTls).unwrap();
        let mut tx = c.transaction().unwrap();
        tx.batch_execute("LOCK TABLE audit_log IN EXCLUSIVE MODE")
            .unwrap();
        locked.0.send(()).unwrap();
        let claim =
            "SELECT 1 FROM idempotency_keys WHERE key = $1 AND state = 'running' FOR UPDATE";
        let started = Instant::now();
        while tx.query(claim, &[&held_key]).unwrap().is_empty() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "the key was never claimed"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
        key_held.send(()).unwrap();
        release.1.recv().unwrap();
        tx.rollback().unwrap();
    });
    locked.1.recv().unwrap();
    let draft: serde_json::Value = serde_json::from_str(include_str!(
        "../../../policies/cities/441900-2026-09-01.json"
    ))
    .unwrap();
    let body = json!({ "draft": draft });
    let preview = || {
        officer.send(
            &base,
            Method::POST,
            "/api/v1/window/policy-preview",
            Some(&body),
            Some(&key),
        )
    };
    let timed_out = preview().await.unwrap();
    assert_eq!(
        timed_out.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{:?}",
        timed_out.body
    );
    assert_eq!(timed_out.code(), "TEMPORARILY_UNAVAILABLE");
    assert_eq!(timed_out.retry_after.as_deref(), Some("1"));
    key_held_rx.recv().unwrap();
    release.0.send(()).unwrap();
    holder.join().unwrap();

    // Released in the background once the database answers: within seconds, far less than the minute
    // after which a claim is stale.
    let started = Instant::now();
    let first = loop {
        let answer = preview().await.unwrap();
        if answer.code() != "IDEMPOTENCY_KEY_IN_USE" || started.elapsed() > Duration::from_secs(10)
        {
            break answer;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(first.status, StatusCode::OK, "{:?}", first.body);
    assert!(!first.replayed, "nothing was kept, so the retry runs");
    let again = preview().await.unwrap();
    assert_eq!(again.status, StatusCode::OK);
    assert!(again.replayed);
    assert_eq!(again.body, first.body);
    let admin = db.url.clone();
    let audited = tokio::task::spawn_blocking(move || {
        count_rows(
            &admin,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'window.policy_previewed'",
        )
    })
    .await
    .unwrap();
    assert_eq!(audited, 1, "one audited preview for one key");
}

/// The documented move from SQLite to PostgreSQL, end to end with the real binary: a SQLite deployment with
/// data and a signed-in user is stopped, `migrate-data` copies it, and the same browser carries on against
/// the PostgreSQL deployment with the same session and sees the same bindings.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_data_moves_a_deployment_to_postgres() {
    if skip_postgres() {
        return;
    }
    let db = TestDb::create();
    let scratch = tempfile::tempdir().unwrap();
    let sqlite_url = format!(
        "sqlite://{}",
        scratch.path().join("before.sqlite3").display()
    );
    let mut before = Instance::start_with(&sqlite_url, scratch.path(), &["--demo"]);
    let mut b = Browser::new();
    b.sign_in(&before.base, &before.base, "13900000003").await;
    let seen = b
        .send(&before.base, Method::GET, "/api/v1/bindings", None, None)
        .await
        .unwrap();
    assert_eq!(seen.status, StatusCode::OK);
    assert!(!seen.body["bindings"].as_array().unwrap().is_empty());
    before.kill();

    let migrate = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_renche-server"))
            .args(["migrate-data", "--from", &sqlite_url, "--to", &db.url])
            .env("RUST_LOG", "error")
            .output()
            .unwrap()
    };
    let out = migrate();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{report}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(report.contains("copied"), "{report}");
    // Running it again refuses: the target is no longer empty.
    assert!(!migrate().status.success());

    let after = Instance::start(&db.url, scratch.path());
    let now = b
        .send(&after.base, Method::GET, "/api/v1/bindings", None, None)
        .await
        .unwrap();
    assert_eq!(
        now.status,
        StatusCode::OK,
        "the session came along: {:?}",
        now.body
    );
    assert_eq!(now.body, seen.body);
    let health: serde_json::Value = reqwest::get(format!("{}/healthz", after.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["store"], "postgres");
}
