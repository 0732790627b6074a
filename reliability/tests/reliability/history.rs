//! CI-sized history checks: concurrent clients on two server processes sharing one database, then the
//! same with SIGKILLs and restarts. The full-size runs are `history-check` (docs/reliability.md).

use crate::common;
use renche_reliability::history::{self, CrashPlan, Workload};
use renche_reliability::seed::{self, SeedPlan};
use renche_reliability::server::{ServerProcess, ServerSpec};
use std::time::Duration;

async fn servers(
    n: usize,
) -> (
    tempfile::TempDir,
    String,
    Vec<ServerProcess>,
    seed::Population,
) {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("history.sqlite3").display());
    servers_on(n, dir, db).await
}

async fn servers_on(
    n: usize,
    dir: tempfile::TempDir,
    db: String,
) -> (
    tempfile::TempDir,
    String,
    Vec<ServerProcess>,
    seed::Population,
) {
    let policies = dir.path().join("policies");
    seed::load_policy_dir(&common::repo_policies(), &policies).unwrap();
    let pop = seed::seed(
        &db,
        &SeedPlan {
            people: 24,
            officers: 0,
            vehicles: 16,
            owners: 8,
            first: 0,
        },
    )
    .await
    .unwrap();
    let mut spec = ServerSpec::launcher(&common::launcher(), &db, &policies);
    spec.log = Some(dir.path().join("server.log"));
    let mut procs = Vec::new();
    for _ in 0..n {
        procs.push(ServerProcess::start(spec.clone()).await.unwrap());
    }
    (dir, db, procs, pop)
}

fn ci_workload(seed: u64, operations: u64) -> Workload {
    Workload {
        clients: 32,
        operations,
        seed,
        time_limit: Duration::from_secs(90),
        ..Workload::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_history_keeps_limits_and_acknowledged_commits() {
    let _machine = crate::common::shared_machine().await;
    let (_dir, db, mut procs, pop) = servers(2).await;
    let w = ci_workload(11, 1_500);
    let record = history::run(&pop, &w, &mut procs, &[], None).await.unwrap();
    for p in procs {
        p.stop().await.unwrap();
    }
    let report = history::check(&db, &record, &w, &pop).unwrap();
    println!("{}", history::summary(&report));
    assert!(report.ok(), "{}", history::summary(&report));
    // Without crashes every request ends with a definite answer, dropped ones included.
    assert_eq!(report.unknown_outcomes, 0, "{}", history::summary(&report));
    assert!(report.acknowledged_commits > 100);
    assert!(report.refusals.contains_key("USER_BINDING_LIMIT_REACHED"));
    assert!(report.refusals.contains_key("VEHICLE_BINDER_LIMIT_REACHED"));
    assert_eq!(report.max_active_per_vehicle, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn history_survives_sigkill_restarts() {
    let _machine = crate::common::shared_machine().await;
    let (_dir, db, mut procs, pop) = servers(2).await;
    let w = ci_workload(12, 1_200);
    let crash = CrashPlan {
        kills: 4,
        every: Duration::from_millis(2_500),
    };
    let record = history::run(&pop, &w, &mut procs, &[], Some(crash))
        .await
        .unwrap();
    for p in procs {
        p.stop().await.unwrap();
    }
    let report = history::check(&db, &record, &w, &pop).unwrap();
    println!("{} kills\n{}", record.kills, history::summary(&report));
    assert!(record.kills >= 3, "only {} kills", record.kills);
    assert_eq!(report.integrity_check, "ok");
    assert!(report.ok(), "{}", history::summary(&report));
}

/// A fresh PostgreSQL database on the machine's server, dropped when the guard goes.
struct PostgresDb {
    name: String,
}

impl PostgresDb {
    const ADMIN: &'static str = "host=127.0.0.1 port=5432 user=postgres dbname=postgres";

    fn create() -> PostgresDb {
        let name = format!(
            "renche_history_{}_{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_nanos()
        );
        let sql = format!("CREATE DATABASE {name}");
        std::thread::spawn(move || {
            let mut admin = postgres::Client::connect(Self::ADMIN, postgres::NoTls)
                .expect("PostgreSQL at 127.0.0.1:5432 (the three-instance history check needs it)");
            admin.batch_execute(&sql).unwrap();
        })
        .join()
        .unwrap();
        PostgresDb { name }
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:5432/{}", self.name)
    }
}

impl Drop for PostgresDb {
    fn drop(&mut self) {
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        let _ = std::thread::spawn(move || {
            if let Ok(mut admin) = postgres::Client::connect(Self::ADMIN, postgres::NoTls) {
                let _ = admin.batch_execute(&sql);
            }
        })
        .join();
    }
}

/// The same history check across three server processes on one PostgreSQL database: clients spread over
/// the instances, retries of a key sent to another instance, and instances killed and restarted.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_instances_on_postgres_keep_limits_and_exactly_once() {
    let _machine = crate::common::shared_machine().await;
    let pg = PostgresDb::create();
    let (_dir, db, mut procs, pop) = servers_on(3, tempfile::tempdir().unwrap(), pg.url()).await;
    let w = ci_workload(13, 1_200);
    let crash = CrashPlan {
        kills: 2,
        every: Duration::from_millis(3_000),
    };
    let record = history::run(&pop, &w, &mut procs, &[], Some(crash))
        .await
        .unwrap();
    for p in procs {
        p.stop().await.unwrap();
    }
    let report = history::check(&db, &record, &w, &pop).unwrap();
    println!("{} kills\n{}", record.kills, history::summary(&report));
    assert!(report.ok(), "{}", history::summary(&report));
    assert!(
        report.acknowledged_commits > 50,
        "{}",
        history::summary(&report)
    );
    assert!(report.max_active_per_vehicle <= 3);
}
