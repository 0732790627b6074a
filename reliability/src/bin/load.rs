//! load: binding-commit throughput and latency through HTTP at several concurrency levels, beside the
//! raw ceiling of the same write transactions run directly on the server's store (no HTTP, no session,
//! no idempotency bookkeeping), and the violation-list latency with a million violations in the database.
//!
//! ```text
//! cargo build --release -p renche-server -p renche-reliability
//! target/server/release/load --levels 1,8,64 --commits 600,3000,9000 --violations 1000000
//! ```
#![allow(clippy::print_stdout)]

use clap::Parser;
use rand::RngCore;
use renche::domain::{BindingMethod, Channel, Relationship};
use renche_reliability::client::{self, Call, Session};
use renche_reliability::seed::{self, Population, SeedPlan};
use renche_reliability::server::{ServerProcess, ServerSpec};
use renche_reliability::stats::Latencies;
use renche_reliability::{err, Result};
use renche_server::error::Verdict;
use renche_server::flows::binding::{commit as commit_binding, BindingCommit};
use renche_server::flows::decision::ClientExpectation;
use renche_server::policies::Policies;
use renche_server::store::{ApplicationRow, ApplicationStatus, Store, Verification};
use serde_json::json;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Parser)]
#[command(
    about = "Backend load figures: commit throughput vs the raw SQLite ceiling, list latency at 1M violations"
)]
struct Args {
    /// Concurrent clients per level.
    #[arg(long, value_delimiter = ',', default_value = "1,8,64")]
    levels: Vec<usize>,
    /// Commits per level (same count of entries as --levels).
    #[arg(long, value_delimiter = ',', default_value = "600,3000,9000")]
    commits: Vec<usize>,
    /// Violations in the database for the list measurement (0 skips it).
    #[arg(long, default_value_t = 1_000_000)]
    violations: usize,
    /// List requests per concurrency level of the list measurement.
    #[arg(long, default_value_t = 2_000)]
    list_requests: usize,
    /// The server program (flags `--listen --database --policy-dir --dev`); default: reliability-serve
    /// beside this program.
    #[arg(long)]
    server_bin: Option<PathBuf>,
    /// Arguments before the flags, e.g. `serve` for `renche-server serve`.
    #[arg(long)]
    server_arg: Vec<String>,
    #[arg(long, default_value = "policies")]
    policy_dir: PathBuf,
    /// Directory for the databases (default: a temporary one).
    #[arg(long)]
    dir: Option<PathBuf>,
}

/// One prepared application: who commits it.
#[derive(Clone)]
struct Prepared {
    application: String,
    binder: i64,
    vehicle: i64,
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buf);
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

const OWNERS: usize = 50;

/// People, vehicles and open QR applications: binder i applies for vehicles 3i, 3i+1, 3i+2 (mod V), so
/// that every commit is allowed (3 per person, 3 per vehicle).
async fn prepare(database: &str, commits: usize) -> Result<(Population, Vec<Prepared>)> {
    let binders = commits.div_ceil(3);
    let pop = seed::seed(
        database,
        &SeedPlan {
            people: OWNERS + binders,
            officers: 0,
            vehicles: binders,
            owners: OWNERS,
            first: 0,
        },
    )
    .await?;
    let vehicles: Vec<i64> = pop.vehicles.iter().map(|v| v.id).collect();
    let mut apps = Vec::new();
    for (i, p) in pop.people.iter().skip(OWNERS).enumerate() {
        for k in 0..3 {
            let Some(&v) = vehicles.get((3 * i + k) % vehicles.len().max(1)) else {
                continue;
            };
            apps.push(Prepared {
                application: random_hex(16),
                binder: p.id,
                vehicle: v,
            });
        }
    }
    apps.truncate(commits);
    let store = renche_server::startup::open_store(database, seed::wall_clock())
        .map_err(|e| err(e.to_string()))?;
    let rows = apps.clone();
    let now = seed::wall_clock();
    seed::write(&store, move |tx| {
        for a in &rows {
            tx.insert_application(&ApplicationRow {
                id: a.application.clone(),
                binder_id: a.binder,
                vehicle_id: a.vehicle,
                method: BindingMethod::Qr,
                relationship: None,
                status: ApplicationStatus::AwaitingVerification,
                verification: None,
                note: None,
                binding_id: None,
                created_at: now,
                submitted_at: None,
                reviewed_by: None,
                reviewed_at: None,
                review_reason: None,
            })
            .map_err(|e| err(e.to_string()))?;
        }
        Ok(())
    })
    .await?;
    Ok((pop, apps))
}

struct Figures {
    clients: usize,
    commits: usize,
    ok: usize,
    elapsed: Duration,
    lat: Latencies,
}

impl Figures {
    fn per_second(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// The commit transaction of `POST /binding-applications/{id}/commit` after verification passed, run
/// directly on the store: load and update the application, mark the person verified, and
/// `commit_binding` (counts, the core's decision, insert, audit, notification).
async fn raw_commit(
    store: &Arc<dyn Store>,
    policies: &Arc<Policies>,
    a: &Prepared,
) -> Result<bool> {
    let policies = Arc::clone(policies);
    let a = a.clone();
    seed::write(store, move |tx| {
        let now = seed::wall_clock();
        let mut app = tx
            .application(&a.application)
            .map_err(|e| err(e.to_string()))?
            .ok_or_else(|| err("no application"))?;
        app.verification = Some(Verification::Passed);
        app.relationship = Some(Relationship::Spouse);
        tx.update_application(&app)
            .map_err(|e| err(e.to_string()))?;
        tx.set_identity_verified(a.binder)
            .map_err(|e| err(e.to_string()))?;
        let r = commit_binding(
            tx,
            &policies,
            now,
            BindingCommit {
                binder_id: a.binder,
                vehicle_id: a.vehicle,
                method: BindingMethod::Qr,
                relationship: Relationship::Spouse,
                channel: Channel::App,
                identity_verified: true,
                documents_checked: vec![],
                application_id: Some(a.application.clone()),
                actor_id: a.binder,
                actor_must_be_officer: false,
                expectation: ClientExpectation::default(),
            },
        )
        .map_err(|e| err(format!("{:?}", e.code)))?;
        Ok(matches!(r, Verdict::Done(_)))
    })
    .await
}

/// The face check of every application in `work`, 64 at a time, as browsers go through the provider.
async fn verify_all(
    http: &reqwest::Client,
    url: &str,
    sessions: &std::collections::HashMap<i64, Session>,
    work: &[Prepared],
) -> Result<std::collections::HashMap<String, client::Verified>> {
    let mut out = std::collections::HashMap::new();
    for chunk in work.chunks(64) {
        let mut calls = Vec::new();
        for a in chunk {
            let session = sessions
                .get(&a.binder)
                .ok_or_else(|| err("no session for a binder"))?;
            let start = json!({ "purpose": "application", "applicationId": a.application, "returnPath": "/#/bind/verified" });
            calls.push(async move {
                client::verify(http, url, session, start, "pass")
                    .await
                    .map(|v| (a.application.clone(), v))
            });
        }
        for r in futures::future::join_all(calls).await {
            let (application, v) = r.map_err(|e| err(format!("verification: {e}")))?;
            out.insert(application, v);
        }
    }
    Ok(out)
}

async fn run_level<F, Fut>(clients: usize, work: Vec<Prepared>, f: F) -> Figures
where
    F: Fn(Prepared) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let commits = work.len();
    let queue = Arc::new(Mutex::new(work));
    let f = Arc::new(f);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let queue = Arc::clone(&queue);
        let f = Arc::clone(&f);
        tasks.push(tokio::spawn(async move {
            let mut lat = Latencies::default();
            let mut ok = 0usize;
            loop {
                let next = queue.lock().ok().and_then(|mut q| q.pop());
                let Some(a) = next else { break };
                let t = Instant::now();
                if f(a).await {
                    ok += 1;
                }
                lat.push(t.elapsed());
            }
            (ok, lat)
        }));
    }
    let mut lat = Latencies::default();
    let mut ok = 0;
    for t in tasks {
        if let Ok((n, l)) = t.await {
            ok += n;
            lat.extend(l);
        }
    }
    Figures {
        clients,
        commits,
        ok,
        elapsed: start.elapsed(),
        lat,
    }
}

/// Splits the prepared applications into one slice per level, each person's applications together.
fn slices(mut apps: Vec<Prepared>, counts: &[usize]) -> Vec<Vec<Prepared>> {
    let mut out = Vec::new();
    for &n in counts {
        let rest = apps.split_off(n.min(apps.len()));
        let mut slice = std::mem::replace(&mut apps, rest);
        slice.reverse();
        out.push(slice);
    }
    out
}

/// CPU seconds (user + system) a process has used so far, from /proc (Linux).
fn cpu_seconds(pid: Option<u32>) -> f64 {
    let path = match pid {
        Some(p) => format!("/proc/{p}/stat"),
        None => "/proc/self/stat".to_owned(),
    };
    let Ok(text) = std::fs::read_to_string(path) else {
        return 0.0;
    };
    // Fields after the command name (which may hold spaces) start at ") ".
    let rest = text.rsplit_once(") ").map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    (ticks(11) + ticks(12)) / 100.0
}

fn launcher() -> PathBuf {
    std::env::current_exe()
        .unwrap_or_default()
        .with_file_name("reliability-serve")
}

/// A million violations (and the vehicles they belong to) by direct SQL in one transaction.
fn fill_violations(database: &str, count: usize, keep_vehicles: &[i64]) -> Result<Duration> {
    let path = renche_reliability::history::sqlite_path(database)?;
    let mut conn = rusqlite::Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(30))?;
    let start = Instant::now();
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let now = seed::wall_clock().millis();
    let extra = count / 10;
    let mut ids: Vec<i64> = keep_vehicles.to_vec();
    {
        let mut st = tx.prepare(
            "INSERT INTO vehicles (plate_type, plate_number, engine_number, engine_suffix, use_nature, owner_kind,
                                   owner_person_id, owner_name, owner_phone, owner_resident_id, city, created_at)
             VALUES ('02', ?1, ?2, ?3, 'A', 'individual', NULL, '车主', '13900000000', NULL, '441900', ?4)",
        )?;
        for i in 0..extra {
            let n = 1_000_000 + i;
            let suffix = seed::engine_suffix(n);
            st.execute(rusqlite::params![
                seed::plate(n),
                format!("E{suffix}"),
                suffix,
                now
            ])?;
            ids.push(tx.last_insert_rowid());
        }
    }
    {
        let mut st = tx.prepare(
            "INSERT INTO violations (vehicle_id, occurred_at, code, description, place, points, fine_fen, source, state, created_at)
             VALUES (?1, ?2, '1625', '驾驶机动车违反道路交通信号灯通行', '东莞大道与鸿福路交叉口', ?3, ?4, ?5, 'unhandled', ?2)",
        )?;
        let points = [0, 1, 3, 6, 9, 12];
        for i in 0..count {
            let v = ids.get(i % ids.len().max(1)).copied().unwrap_or(1);
            let p = points.get(i % points.len()).copied().unwrap_or(3);
            let source = if i % 7 == 0 { "on_site" } else { "device" };
            st.execute(rusqlite::params![
                v,
                now - (i as i64 % 86_400) * 1000 + 60_000,
                p,
                (i % 5 + 1) as i64 * 5_000,
                source
            ])?;
        }
    }
    tx.commit()?;
    conn.execute_batch("ANALYZE")?;
    Ok(start.elapsed())
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run(Args::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("load: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<()> {
    if args.levels.len() != args.commits.len() {
        return Err(err("--levels and --commits need as many entries"));
    }
    let tmp = tempfile::tempdir()?;
    let dir = args.dir.clone().unwrap_or_else(|| tmp.path().to_path_buf());
    std::fs::create_dir_all(&dir)?;
    let total: usize = args.commits.iter().sum();
    let policies = Arc::new(Policies::load(&args.policy_dir).map_err(err)?);

    // 1. The raw ceiling: the commit transaction on the store, without HTTP.
    let raw_db = format!("sqlite://{}", dir.join("raw.sqlite3").display());
    let (_, raw_apps) = prepare(&raw_db, total).await?;
    let store = renche_server::startup::open_store(&raw_db, seed::wall_clock())
        .map_err(|e| err(e.to_string()))?;
    let mut raw = Vec::new();
    for (clients, work) in args.levels.iter().zip(slices(raw_apps, &args.commits)) {
        let own_cpu = cpu_seconds(None);
        let (s, p) = (Arc::clone(&store), Arc::clone(&policies));
        let f = run_level(*clients, work, move |a| {
            let (s, p) = (Arc::clone(&s), Arc::clone(&p));
            async move { raw_commit(&s, &p, &a).await.unwrap_or(false) }
        })
        .await;
        let own_cpu = cpu_seconds(None) - own_cpu;
        println!(
            "raw   {:>3} clients: {:>6} commits ({} allowed) in {:.2} s = {:.0}/s, p50 {:.2} ms, p99 {:.2} ms; \
             CPU per commit {:.0} µs",
            f.clients,
            f.commits,
            f.ok,
            f.elapsed.as_secs_f64(),
            f.per_second(),
            f.lat.p50(),
            f.lat.p99(),
            own_cpu * 1e6 / f.ok.max(1) as f64
        );
        raw.push(f);
    }
    drop(store);

    // 2. Through HTTP, against a server process.
    let http_db = format!("sqlite://{}", dir.join("http.sqlite3").display());
    let (pop, apps) = prepare(&http_db, total).await?;
    let mut spec = ServerSpec::launcher(
        &args.server_bin.clone().unwrap_or_else(launcher),
        &http_db,
        &args.policy_dir,
    );
    spec.leading_args = args.server_arg.clone();
    spec.log = Some(dir.join("server.log"));
    let server = ServerProcess::start(spec).await?;
    let url = server.url();
    let http = client::http_client();
    let sessions: Arc<std::collections::HashMap<i64, Session>> = Arc::new(
        pop.people
            .iter()
            .map(|p| (p.id, p.session.clone()))
            .collect(),
    );
    let mut over_http = Vec::new();
    for (clients, work) in args.levels.iter().zip(slices(apps, &args.commits)) {
        // Each binder's face check on the development provider, before the clock starts: the figures
        // are of the commit (results stay valid for ten minutes, so each level verifies its own).
        let verified = Arc::new(verify_all(&http, &url, &sessions, &work).await?);
        let (server_cpu, own_cpu) = (cpu_seconds(server.pid()), cpu_seconds(None));
        let (h, u, s, v) = (
            http.clone(),
            url.clone(),
            Arc::clone(&sessions),
            Arc::clone(&verified),
        );
        let f = run_level(*clients, work, move |a| {
            let (h, u, s, v) = (h.clone(), u.clone(), Arc::clone(&s), Arc::clone(&v));
            async move {
                let (Some(session), Some(check)) = (s.get(&a.binder), v.get(&a.application)) else {
                    return false;
                };
                let call = Call::post(
                    format!("/api/v1/binding-applications/{}/commit", a.application),
                    Some(session),
                    json!({
                        "relationship": "spouse", "policyVersion": "441900-2026-09-01.1", "expectedAllowed": true,
                        "verificationId": check.verification_id, "result": check.result,
                    }),
                );
                matches!(client::send(&h, &u, &call).await, Ok(r) if r.status == 201)
            }
        })
        .await;
        let server_cpu = cpu_seconds(server.pid()) - server_cpu;
        let own_cpu = cpu_seconds(None) - own_cpu;
        println!(
            "http  {:>3} clients: {:>6} commits ({} created) in {:.2} s = {:.0}/s, p50 {:.2} ms, p99 {:.2} ms; \
             CPU per commit: server {:.0} µs, load generator {:.0} µs",
            f.clients,
            f.commits,
            f.ok,
            f.elapsed.as_secs_f64(),
            f.per_second(),
            f.lat.p50(),
            f.lat.p99(),
            server_cpu * 1e6 / f.ok.max(1) as f64,
            own_cpu * 1e6 / f.ok.max(1) as f64
        );
        over_http.push(f);
    }

    println!();
    println!("| clients | HTTP commits/s | HTTP p50 ms | HTTP p99 ms | raw commits/s | raw p50 ms | raw p99 ms | HTTP / raw |");
    println!("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (h, r) in over_http.iter().zip(raw.iter()) {
        println!(
            "| {} | {:.0} | {:.2} | {:.2} | {:.0} | {:.2} | {:.2} | {:.2} |",
            h.clients,
            h.per_second(),
            h.lat.p50(),
            h.lat.p99(),
            r.per_second(),
            r.lat.p50(),
            r.lat.p99(),
            h.per_second() / r.per_second().max(1e-9)
        );
    }

    // 3. The violation list of a person with a million violations in the database.
    if args.violations > 0 {
        let keep: Vec<i64> = pop.vehicles.iter().map(|v| v.id).collect();
        let took = fill_violations(&http_db, args.violations, &keep)?;
        println!(
            "\ninserted {} violations in {:.1} s",
            args.violations,
            took.as_secs_f64()
        );
        // An owner (with their vehicles) who also binds three vehicles: the heaviest list there is.
        let person = pop
            .people
            .get(OWNERS)
            .ok_or_else(|| err("no binder"))?
            .session
            .clone();
        let probe = client::send(&http, &url, &Call::get("/api/v1/violations", Some(&person)))
            .await
            .map_err(|e| err(e.0))?;
        let listed: usize = probe
            .body
            .get("vehicles")
            .and_then(|v| v.as_array())
            .map(|vs| {
                vs.iter()
                    .map(|v| {
                        v.get("violations")
                            .and_then(|x| x.as_array())
                            .map_or(0, Vec::len)
                    })
                    .sum()
            })
            .unwrap_or(0);
        println!(
            "GET /api/v1/violations: status {}, {} vehicles, {} violations listed, {} bytes",
            probe.status,
            probe
                .body
                .get("vehicles")
                .and_then(|v| v.as_array())
                .map_or(0, Vec::len),
            listed,
            probe.body.to_string().len()
        );
        for clients in [1usize, 8] {
            let work: Vec<Prepared> = (0..args.list_requests)
                .map(|_| Prepared {
                    application: String::new(),
                    binder: person.person_id,
                    vehicle: 0,
                })
                .collect();
            let (h, u, s) = (http.clone(), url.clone(), person.clone());
            let f = run_level(clients, work, move |_| {
                let (h, u, s) = (h.clone(), u.clone(), s.clone());
                async move {
                    matches!(client::send(&h, &u, &Call::get("/api/v1/violations", Some(&s))).await,
                             Ok(r) if r.status == 200)
                }
            })
            .await;
            println!(
                "violation list, {} violations in the database, {clients} client(s): {} requests, {:.0}/s, p50 {:.2} ms, p99 {:.2} ms",
                args.violations,
                f.ok,
                f.per_second(),
                f.lat.p50(),
                f.lat.p99()
            );
        }
    }
    server.stop().await?;
    Ok(())
}
