//! Scale measurements against a database filled by `gen-data`; ignored unless asked for (the commands are in
//! docs/benchmarks.md, section Scale). Starts `RENCHE_BENCH_INSTANCES` servers on `RENCHE_BENCH_DATABASE`,
//! then for `RENCHE_BENCH_SECONDS` each:
//! - bind: `RENCHE_BENCH_CLIENTS` window officers commit bindings of random people to random vehicles;
//! - list: as many owners list their violations (`GET /api/v1/violations`).
//!
//! Prints one Markdown table row, then the raw ceilings of the same transaction on the same database
//! (`ceiling.rs`) with the ratio, and on PostgreSQL the round trips per commit counted on the wire.

use crate::ceiling::{self, RoundTripCounter};
use crate::harness::{new_key, Browser, Instance};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

pub fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

struct Phase {
    ok: usize,
    other: usize,
    latencies: Vec<Duration>,
    seconds: f64,
}

impl Phase {
    fn rate(&self) -> f64 {
        self.ok as f64 / self.seconds
    }
}

async fn run_phase<F, Fut>(clients: Vec<Browser>, seconds: u64, op: F) -> Phase
where
    F: Fn(Arc<Browser>, usize, u64) -> Fut + Send + Sync + 'static + Clone,
    Fut: std::future::Future<Output = (bool, Duration)> + Send,
{
    let start = Instant::now();
    let deadline = start + Duration::from_secs(seconds);
    let tasks: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(i, b)| {
            let op = op.clone();
            let b = Arc::new(b);
            tokio::spawn(async move {
                let (mut ok, mut other, mut lat) = (0, 0, Vec::new());
                let mut n = 0u64;
                while Instant::now() < deadline {
                    let (good, took) = op(b.clone(), i, n).await;
                    n += 1;
                    lat.push(took);
                    if good {
                        ok += 1;
                    } else {
                        other += 1;
                    }
                }
                (ok, other, lat)
            })
        })
        .collect();
    let mut phase = Phase {
        ok: 0,
        other: 0,
        latencies: Vec::new(),
        seconds: 0.0,
    };
    for t in tasks {
        let (ok, other, lat) = t.await.unwrap();
        phase.ok += ok;
        phase.other += other;
        phase.latencies.extend(lat);
    }
    phase.seconds = start.elapsed().as_secs_f64();
    phase.latencies.sort_unstable();
    phase
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: run with --ignored and RENCHE_BENCH_* set"]
async fn scale() {
    let database = std::env::var("RENCHE_BENCH_DATABASE").expect("RENCHE_BENCH_DATABASE");
    let vehicles: u32 = env_or("RENCHE_BENCH_VEHICLES", 10_000);
    let n_instances: usize = env_or("RENCHE_BENCH_INSTANCES", 1);
    let clients: u32 = env_or("RENCHE_BENCH_CLIENTS", 64);
    let seconds: u64 = env_or("RENCHE_BENCH_SECONDS", 10);
    let scratch = tempfile::tempdir().unwrap();
    let instances: Vec<Instance> = (0..n_instances)
        .map(|_| Instance::start(&database, scratch.path()))
        .collect();
    let bases: Arc<Vec<String>> = Arc::new(instances.iter().map(|i| i.base.clone()).collect());
    let salt: u64 = rand::random();
    let mut rng = StdRng::seed_from_u64(salt);

    // Officers 1..=clients (gen-data made 64), each talking to one instance.
    let mut officers = Vec::new();
    for k in 1..=clients {
        let base = &bases[k as usize % bases.len()];
        let mut b = Browser::new();
        b.sign_in(base, base, &format!("139{k:08}")).await;
        officers.push(b);
    }
    let docs = json!(["driving_licence", "id_card", "vehicle_licence"]);
    let is_postgres = database.starts_with("postgres");
    let round_trips = if is_postgres {
        Some(count_round_trips(&database, scratch.path(), &officers[0], vehicles, salt).await)
    } else {
        None
    };
    let b2 = bases.clone();
    // What the refused or failed commits answered, to print.
    let others_all: Arc<std::sync::Mutex<std::collections::BTreeMap<String, usize>>> =
        Arc::default();
    let others_bind = others_all.clone();
    let bind = run_phase(officers, seconds, move |b, i, n| {
        let bases = b2.clone();
        let docs = docs.clone();
        let others = others_bind.clone();
        async move {
            // Fresh pairs on every run: a repeated run on the same database must not meet its own bindings.
            let mut r = StdRng::seed_from_u64(salt ^ ((i as u64) << 32 | n));
            let person = r.gen_range(1..=vehicles);
            let vehicle = loop {
                let v = r.gen_range(1..=vehicles);
                if v != person {
                    break v;
                }
            };
            let body = json!({ "personId": person.to_string(), "vehicleId": vehicle.to_string(),
                               "relationship": "friend", "documentsChecked": docs });
            let t = Instant::now();
            let a = b
                .send(
                    &bases[i % bases.len()],
                    Method::POST,
                    "/api/v1/window/bindings",
                    Some(&body),
                    Some(&new_key()),
                )
                .await;
            let took = t.elapsed();
            let outcome = match &a {
                Ok(a) if a.status == StatusCode::CREATED => None,
                Ok(a) => Some(format!("{} {}", a.status.as_u16(), a.code())),
                Err(e) => Some(format!("no answer: {e}")),
            };
            let good = outcome.is_none();
            if let Some(o) = outcome {
                *others.lock().unwrap().entry(o).or_insert(0usize) += 1;
            }
            (good, took)
        }
    })
    .await;

    // Owners picked at random, each listing their own vehicle's violations. Distinct ones: a second
    // sign-in by the same phone within a minute is refused (SMS_RESEND_TOO_SOON), and 64 draws with
    // repeats from 10,000 owners repeat one about one run in five.
    assert!(
        vehicles >= clients,
        "one owner per client: RENCHE_BENCH_VEHICLES must be at least RENCHE_BENCH_CLIENTS"
    );
    let picked = rand::seq::index::sample(&mut rng, vehicles as usize, clients as usize);
    let mut owners = Vec::new();
    for (k, index) in picked.iter().enumerate() {
        let base = &bases[k % bases.len()];
        let mut b = Browser::new();
        let person = index + 1;
        b.sign_in(base, base, &format!("137{person:08}")).await;
        owners.push(b);
    }
    let b3 = bases.clone();
    let list = run_phase(owners, seconds, move |b, i, _| {
        let bases = b3.clone();
        async move {
            let t = Instant::now();
            let a = b
                .send(
                    &bases[i % bases.len()],
                    Method::GET,
                    "/api/v1/violations",
                    None,
                    None,
                )
                .await;
            (a.is_ok_and(|a| a.status == StatusCode::OK), t.elapsed())
        }
    })
    .await;

    let store = if is_postgres { "PostgreSQL" } else { "SQLite" };
    eprintln!(
        "bind: {} ok, {} other {:?} in {:.1}s; list: {} ok, {} other in {:.1}s",
        bind.ok,
        bind.other,
        others_all.lock().unwrap(),
        bind.seconds,
        list.ok,
        list.other,
        list.seconds
    );
    println!(
        "| {store} | {vehicles} | {n_instances} | {clients} | {:.0} | {:.1} | {:.1} | {:.0} | {:.1} | {:.1} |",
        bind.rate(),
        percentile(&bind.latencies, 0.5),
        percentile(&bind.latencies, 0.99),
        list.rate(),
        percentile(&list.latencies, 0.5),
        percentile(&list.latencies, 0.99),
    );
    assert!(bind.ok > 0 && list.ok > 0);
    drop(instances);

    // The ceilings, on the same database once the servers are gone.
    let rows = i64::from(vehicles);
    let renche = bind.rate();
    // Refusals by the rules (409) are commits too (audit entry, stored answer), as every ceiling call is.
    let refused: usize = others_all
        .lock()
        .unwrap()
        .iter()
        .filter(|(k, _)| k.starts_with("409 "))
        .map(|(_, n)| n)
        .sum();
    let decided = (bind.ok + refused) as f64 / bind.seconds;
    let p99 = percentile(&bind.latencies, 0.99);
    let line = if is_postgres {
        let url = database.clone();
        let (one_call, statements, whole_commit) = std::thread::spawn(move || {
            let (one_call, statements) = ceiling::postgres(&url, rows, clients as usize, seconds);
            let whole_commit = ceiling::postgres_commit(&url, rows, clients as usize, seconds);
            (one_call, statements, whole_commit)
        })
        .join()
        .unwrap();
        let trips = round_trips.expect("counted on PostgreSQL");
        format!(
            "| PostgreSQL | {clients} | {renche:.0} | {decided:.0} | {p99:.1} | {:.0} | {:.1} | {:.0} | {:.1} | {:.2} / {:.2} | {:.2} / {:.2} | {:.2} ({:.1} on the wire) | {:.1} | {:.0} | {:.1} | {:.2} / {:.2} |",
            one_call.per_second,
            one_call.p99,
            statements.per_second,
            statements.p99,
            renche / one_call.per_second,
            decided / one_call.per_second,
            renche / statements.per_second,
            decided / statements.per_second,
            trips.store,
            trips.wire,
            trips.statements,
            whole_commit.per_second,
            whole_commit.p99,
            renche / whole_commit.per_second,
            decided / whole_commit.per_second,
        )
    } else {
        let path = renche_server::store::sqlite::path_of_url(&database);
        let statements = std::thread::spawn(move || ceiling::sqlite(&path, rows, seconds))
            .join()
            .unwrap();
        format!(
            "| SQLite | {clients} | {renche:.0} | {decided:.0} | {p99:.1} | | | {:.0} | {:.1} | | {:.2} / {:.2} | in process | in process | | | |",
            statements.per_second,
            statements.p99,
            renche / statements.per_second,
            decided / statements.per_second,
        )
    };
    println!("| store | clients | renche bindings/s | renche decisions/s (bound + refused) | p99 ms | 1-call ceiling/s | p99 ms | 6-statement ceiling/s | p99 ms | ratio to 1-call (bindings / decisions) | ratio to 6 statements (bindings / decisions) | round trips per commit | statements per commit | renche's commit as 1 call/s | p99 ms | ratio to it (bindings / decisions) |");
    println!("{line}");
}

/// Round trips per window commit, counted by the store and on the wire: one more instance whose database
/// connections go through a `RoundTripCounter`, one officer committing one binding after another (after a
/// few to prepare the statements on its connections).
pub(super) async fn count_round_trips(
    database: &str,
    scratch: &std::path::Path,
    officer: &Browser,
    vehicles: u32,
    salt: u64,
) -> RoundTrips {
    let config: postgres::Config = database.split('?').next().unwrap().parse().unwrap();
    let host = match config.get_hosts().first() {
        Some(postgres::config::Host::Tcp(h)) => h.clone(),
        _ => "127.0.0.1".to_owned(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let counter = RoundTripCounter::start(format!("{host}:{port}"));
    let url = format!(
        "postgres://{}@127.0.0.1:{}/{}",
        config.get_user().unwrap_or("postgres"),
        counter.port,
        config.get_dbname().unwrap_or("postgres")
    );
    let metrics_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let metrics_at = format!("127.0.0.1:{metrics_port}");
    let instance = Instance::start_with(&url, scratch, &["--metrics-listen", &metrics_at]);
    let store_counts = || async {
        let text = reqwest::get(format!("http://{metrics_at}/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let total = |name: &str| {
            text.lines()
                .filter(|l| l.starts_with(name))
                .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
                .sum::<u64>()
        };
        (
            total("renche_store_round_trips_total"),
            total("renche_store_statements_total"),
        )
    };
    let docs = json!(["driving_licence", "id_card", "vehicle_licence"]);
    let mut rng = StdRng::seed_from_u64(salt ^ 0x5eed);
    let (warm_up, measured) = (20, 100);
    let (mut before, mut store_before) = (0, (0, 0));
    let mut commits = 0u64;
    for n in 0..warm_up + measured {
        if n == warm_up {
            before = counter.trips();
            store_before = store_counts().await;
        }
        let body = json!({ "personId": rng.gen_range(1..=vehicles).to_string(),
                           "vehicleId": rng.gen_range(1..=vehicles).to_string(),
                           "relationship": "friend", "documentsChecked": docs });
        let a = officer
            .send(
                &instance.base,
                Method::POST,
                "/api/v1/window/bindings",
                Some(&body),
                Some(&new_key()),
            )
            .await
            .unwrap();
        assert!(
            a.status.is_client_error() || a.status.is_success(),
            "{:?}",
            a.body
        );
        if n >= warm_up {
            commits += 1;
        }
    }
    let trips = counter.trips() - before;
    let (flights, statements) = store_counts().await;
    drop(instance);
    RoundTrips {
        store: (flights - store_before.0) as f64 / commits as f64,
        wire: trips as f64 / commits as f64,
        statements: (statements - store_before.1) as f64 / commits as f64,
    }
}

/// Round trips per commit as the store counts them (its flights, `renche_store_round_trips_total`) and as
/// the wire shows them (bursts after an answer: a flight whose statements leave the driver in more than one
/// write, with the database answering in between, counts more than once).
pub(super) struct RoundTrips {
    pub(super) store: f64,
    pub(super) wire: f64,
    /// Statements sent per commit, `BEGIN` and `COMMIT` included (`renche_store_statements_total`).
    pub(super) statements: f64,
}
