//! history-check: concurrent clients against real server processes, then a check of what they saw
//! against the database and its audit log. Optionally kills the servers with SIGKILL during the run.
//!
//! ```text
//! history-check --clients 32 --operations 10000 --seed 7 --servers 2 --database sqlite:///tmp/h.sqlite3
//! history-check --crash-kills 5 --crash-every-ms 4000 ...
//! history-check --url http://127.0.0.1:8080 --database sqlite://data/renche.sqlite3   # servers run elsewhere
//! ```
#![allow(clippy::print_stdout)]

use clap::Parser;
use renche_reliability::history::{self, CrashPlan, Workload};
use renche_reliability::seed::{self, SeedPlan};
use renche_reliability::server::{ServerProcess, ServerSpec};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser)]
#[command(
    about = "Concurrent binding history against the renche server, checked against its database"
)]
struct Args {
    #[arg(long, default_value_t = 32)]
    clients: usize,
    /// Flows in all (binding attempts and removals).
    #[arg(long, default_value_t = 10_000)]
    operations: u64,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Database URL shared by every server (`sqlite://PATH`). A fresh file is made when none is given.
    #[arg(long)]
    database: Option<String>,
    /// Servers already running on `--database` (repeatable). Without it, the tool starts `--servers`.
    #[arg(long = "url")]
    urls: Vec<String>,
    /// How many server processes to start on the database.
    #[arg(long, default_value_t = 2)]
    servers: usize,
    /// The server program (flags `--listen --database --policy-dir --dev`); default: reliability-serve
    /// beside this program.
    #[arg(long)]
    server_bin: Option<PathBuf>,
    /// Arguments before the flags, e.g. `serve` for `renche-server serve`.
    #[arg(long)]
    server_arg: Vec<String>,
    /// The policy directory to copy (with the SMS throttles opened up) for the servers.
    #[arg(long, default_value = "policies")]
    policy_dir: PathBuf,
    #[arg(long, default_value_t = 24)]
    people: usize,
    #[arg(long, default_value_t = 16)]
    vehicles: usize,
    #[arg(long, default_value_t = 8)]
    owners: usize,
    #[arg(long, default_value_t = 0.05)]
    duplicate_rate: f64,
    #[arg(long, default_value_t = 0.05)]
    drop_rate: f64,
    /// Kill a server this many times during the run (needs servers started by this tool).
    #[arg(long, default_value_t = 0)]
    crash_kills: u32,
    #[arg(long, default_value_t = 3000)]
    crash_every_ms: u64,
    /// Write every attempt as JSON lines here.
    #[arg(long)]
    record: Option<PathBuf>,
    /// Append the servers' stderr here (default: a temporary file, removed at the end).
    #[arg(long)]
    server_log: Option<PathBuf>,
    /// Seconds after which no new flow starts.
    #[arg(long, default_value_t = 900)]
    time_limit: u64,
}

fn launcher() -> PathBuf {
    let me = std::env::current_exe().unwrap_or_default();
    me.with_file_name("reliability-serve")
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run(Args::parse()).await {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => std::process::ExitCode::from(1),
        Err(e) => {
            eprintln!("history-check: {e}");
            std::process::ExitCode::from(2)
        }
    }
}

async fn run(args: Args) -> renche_reliability::Result<bool> {
    let tmp = tempfile::tempdir()?;
    let database = args
        .database
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", tmp.path().join("history.sqlite3").display()));
    let policy_dir = tmp.path().join("policies");
    seed::load_policy_dir(&args.policy_dir, &policy_dir)?;
    let first = (args.seed as usize % 1000) * 10_000;
    let pop = seed::seed(
        &database,
        &SeedPlan {
            people: args.people,
            officers: 0,
            vehicles: args.vehicles,
            owners: args.owners,
            first,
        },
    )
    .await?;
    let mut servers = Vec::new();
    if args.urls.is_empty() {
        let mut spec = ServerSpec::launcher(
            &args.server_bin.clone().unwrap_or_else(launcher),
            &database,
            &policy_dir,
        );
        spec.leading_args = args.server_arg.clone();
        spec.log = Some(
            args.server_log
                .clone()
                .unwrap_or_else(|| tmp.path().join("server.log")),
        );
        for _ in 0..args.servers.max(1) {
            servers.push(ServerProcess::start(spec.clone()).await?);
        }
    }
    let w = Workload {
        clients: args.clients,
        operations: args.operations,
        seed: args.seed,
        duplicate_rate: args.duplicate_rate,
        drop_rate: args.drop_rate,
        time_limit: Duration::from_secs(args.time_limit),
        ..Workload::default()
    };
    let crash = (args.crash_kills > 0).then(|| CrashPlan {
        kills: args.crash_kills,
        every: Duration::from_millis(args.crash_every_ms),
    });
    println!(
        "history-check: {} clients, {} flows, seed {}, {} server(s), database {database}{}",
        w.clients,
        w.operations,
        w.seed,
        servers.len() + args.urls.len(),
        crash
            .as_ref()
            .map(|c| format!(", {} SIGKILLs every ~{:?}", c.kills, c.every))
            .unwrap_or_default()
    );
    let record = history::run(&pop, &w, &mut servers, &args.urls, crash).await?;
    for s in servers {
        s.stop().await?;
    }
    if let Some(path) = &args.record {
        let mut out = String::new();
        for a in &record.attempts {
            out.push_str(&serde_json::to_string(a)?);
            out.push('\n');
        }
        std::fs::write(path, out)?;
    }
    let report = history::check(&database, &record, &w, &pop)?;
    println!(
        "ran {:.1} s, {} kills, {:.0} requests/s",
        record.elapsed.as_secs_f64(),
        record.kills,
        record.attempts.len() as f64 / record.elapsed.as_secs_f64().max(0.001)
    );
    print!("{}", history::summary(&report));
    println!(
        "{}",
        if report.ok() {
            "RESULT: OK"
        } else {
            "RESULT: FAILED"
        }
    );
    Ok(report.ok())
}
