//! `renche-server serve` runs the backend; `renche-server import` loads people, vehicles or violations;
//! `renche-server policy-preview` shows what a draft policy would change.

use clap::{Parser, Subcommand};
use renche_server::{build, Config};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "renche-server",
    version,
    about = "The renche backend: binding non-owned vehicles and handling their violations"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API, the web app and its WebAssembly package.
    Serve(Box<ServeArgs>),
    /// Load rows from a CSV or JSON file; a file with any bad row loads nothing.
    Import(ImportArgs),
    /// Copy a SQLite database into a new PostgreSQL database (stop the servers first).
    MigrateData(MigrateDataArgs),
    /// Evaluate a draft city policy against today's data: what would change from the version in force.
    PolicyPreview(PolicyPreviewArgs),
}

#[derive(clap::Args)]
struct PolicyPreviewArgs {
    /// Database URL: sqlite://PATH or postgres://…
    #[arg(
        long,
        env = "RENCHE_DATABASE",
        default_value = "sqlite://data/renche.sqlite3"
    )]
    database: String,
    /// Directory with default.json and cities/*.json: the versions in force.
    #[arg(long, env = "RENCHE_POLICY_DIR", default_value = "policies")]
    policy_dir: PathBuf,
    /// The draft policy document (a city file, usually `"extends": "default"`).
    #[arg(long)]
    draft: PathBuf,
    /// The instant to compare at (RFC 3339, e.g. 2026-08-31T12:00:00+08:00); now by default.
    #[arg(long)]
    at: Option<String>,
    /// Print the summary as JSON (the shape of POST /api/v1/window/policy-preview).
    #[arg(long)]
    json: bool,
}

async fn policy_preview(args: PolicyPreviewArgs) -> Result<String, String> {
    use renche_server::flows::preview;
    let at = match &args.at {
        Some(text) => renche::Timestamp::parse_rfc3339(text).map_err(|e| format!("--at: {e}"))?,
        None => renche_server::clock::Clock::now(&renche_server::clock::SystemClock),
    };
    let policies = renche_server::policies::Policies::load(&args.policy_dir)?;
    let text = std::fs::read_to_string(&args.draft)
        .map_err(|e| format!("{}: {e}", args.draft.display()))?;
    let draft = preview::parse_draft(&text, &policies)
        .map_err(|e| format!("{}: the draft is refused: {e}", args.draft.display()))?;
    let store =
        renche_server::startup::open_store(&args.database, at).map_err(|e| e.to_string())?;
    let policies = std::sync::Arc::new(policies);
    let summary = renche_server::store::read(store.as_ref(), move |tx| {
        preview::preview(tx, &policies, draft, at)
    })
    .await
    .map_err(|e| e.to_string())?;
    if args.json {
        serde_json::to_string_pretty(&summary).map_err(|e| e.to_string())
    } else {
        Ok(preview::render(&summary))
    }
}

#[derive(clap::Args)]
struct MigrateDataArgs {
    /// Source: sqlite://PATH, at the schema version of this build.
    #[arg(long)]
    from: String,
    /// Target: postgres://…; migrated here, and it must not hold any rows yet.
    #[arg(long)]
    to: String,
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "RENCHE_LISTEN", default_value = "127.0.0.1:8080")]
    listen: String,
    /// Database URL: sqlite://PATH (created and migrated on first start).
    #[arg(
        long,
        env = "RENCHE_DATABASE",
        default_value = "sqlite://data/renche.sqlite3"
    )]
    database: String,
    /// Directory with default.json and cities/*.json.
    #[arg(long, env = "RENCHE_POLICY_DIR", default_value = "policies")]
    policy_dir: PathBuf,
    /// Development mode: dev endpoints, SMS outbox, dev verifier and dev payment, movable clock.
    #[arg(long, env = "RENCHE_DEV")]
    dev: bool,
    /// Development only: a clock that stands at this instant (RFC 3339, e.g. 2026-08-31T23:59:59+08:00)
    /// until `POST /api/v1/dev/clock` moves it, to try a policy's switch-over at an exact instant.
    #[arg(long, env = "RENCHE_DEV_CLOCK_AT", requires = "dev", value_parser = parse_instant)]
    dev_clock_at: Option<renche::Timestamp>,
    /// Seed demo data (Dongguan) when the database is empty.
    #[arg(long, env = "RENCHE_DEMO")]
    demo: bool,
    /// Static files served at `/`.
    #[arg(long, env = "RENCHE_WWW", default_value = "www")]
    www: PathBuf,
    /// wasm-pack `--target web` output served at `/pkg/`.
    #[arg(long, env = "RENCHE_PKG", default_value = "pkg-web")]
    pkg: PathBuf,
    /// A reverse proxy (address or network, e.g. 10.0.0.5 or 10.0.0.0/8) whose Forwarded /
    /// X-Forwarded-For headers name the client; repeat or separate with commas. Without one, the
    /// socket's peer is the client and forwarding headers are ignored.
    #[arg(long = "trusted-proxy", env = "RENCHE_TRUSTED_PROXIES", value_delimiter = ',',
          value_parser = renche_server::netaddr::TrustedProxy::parse)]
    trusted_proxies: Vec<renche_server::netaddr::TrustedProxy>,
    /// Real-person verification provider (or the adapter in front of it), e.g. https://faceid-adapter.internal;
    /// without it verification is unavailable (manual review), except with --dev (development provider).
    #[arg(
        long,
        env = "RENCHE_IDENTITY_PROVIDER_URL",
        requires = "identity_provider_public_key"
    )]
    identity_provider_url: Option<String>,
    /// The provider's Ed25519 public key (64 hex digits): only results signed with it are taken.
    #[arg(
        long,
        env = "RENCHE_IDENTITY_PROVIDER_PUBLIC_KEY",
        requires = "identity_provider_url"
    )]
    identity_provider_public_key: Option<String>,
    /// Sent to the provider as `Authorization: Bearer …` (keep it in the environment, not on the command line).
    #[arg(
        long,
        env = "RENCHE_IDENTITY_PROVIDER_CREDENTIAL",
        hide_env_values = true
    )]
    identity_provider_credential: Option<String>,
    /// The server's public origin (https://renche.example), for the provider's return URLs.
    #[arg(long, env = "RENCHE_PUBLIC_URL")]
    public_url: Option<String>,
    /// Serve Prometheus metrics at /metrics on this address (e.g. 127.0.0.1:9464), never on the public
    /// listener; without it no metrics are served.
    #[arg(long, env = "RENCHE_METRICS_LISTEN")]
    metrics_listen: Option<String>,
    /// A hot standby of the PostgreSQL database (postgres://…) that serves violation lists while it is
    /// within --replica-max-lag-ms of the primary; a person's own changes are read from the primary.
    #[arg(long, env = "RENCHE_REPLICA_DATABASE")]
    replica_database: Option<String>,
    /// How stale a read from the standby may be, in milliseconds (at most 5000).
    #[arg(long, env = "RENCHE_REPLICA_MAX_LAG_MS", default_value_t = 500,
          value_parser = clap::value_parser!(u64).range(1..=5000))]
    replica_max_lag_ms: u64,
    #[command(flatten)]
    limits: renche_server::serve::LimitArgs,
}

#[derive(clap::Args)]
struct ImportArgs {
    /// Database URL: sqlite://PATH.
    #[arg(
        long,
        env = "RENCHE_DATABASE",
        default_value = "sqlite://data/renche.sqlite3"
    )]
    database: String,
    /// What the file holds; by default guessed from its name (people.csv, vehicles.json …).
    #[arg(long, value_enum)]
    kind: Option<renche_server::import::ImportKind>,
    /// The file: CSV with a header row, or a JSON array of objects.
    file: PathBuf,
}

/// Log lines with fields (`RUST_LOG` filters them); one JSON object per line with `RENCHE_LOG_FORMAT=json`.
/// A command whose output is its report logs to stderr, so that `--json` output stays JSON.
fn init_tracing(to_stderr: bool) {
    use tracing_subscriber::fmt::writer::BoxMakeWriter;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,tower_http=warn"));
    let (writer, terminal) = if to_stderr {
        let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
        (BoxMakeWriter::new(std::io::stderr), terminal)
    } else {
        let terminal = std::io::IsTerminal::is_terminal(&std::io::stdout());
        (BoxMakeWriter::new(std::io::stdout), terminal)
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(true)
        .with_writer(writer);
    if std::env::var("RENCHE_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json")) {
        builder.json().init();
    } else {
        builder.with_ansi(terminal).init();
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for ctrl-c");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

fn parse_instant(s: &str) -> Result<renche::Timestamp, String> {
    renche::Timestamp::parse_rfc3339(s).map_err(|e| e.to_string())
}

async fn serve(args: ServeArgs) -> ExitCode {
    let config = Config {
        listen: args.listen,
        database: args.database,
        policy_dir: args.policy_dir,
        dev: args.dev,
        demo: args.demo,
        www: args.www,
        pkg: args.pkg,
        clock: args.dev_clock_at.map(|at| {
            std::sync::Arc::new(renche_server::clock::ManualClock::starting_at(at))
                as std::sync::Arc<dyn renche_server::clock::Clock>
        }),
        trusted_proxies: args.trusted_proxies,
        identity_provider: args.identity_provider_url.map(|url| {
            renche_server::startup::IdentityProviderConfig {
                url,
                public_key: args.identity_provider_public_key.unwrap_or_default(),
                credential: args.identity_provider_credential,
            }
        }),
        public_url: args.public_url,
        limits: args.limits.limits(),
        metrics_listen: args.metrics_listen,
        replica: args
            .replica_database
            .map(|url| renche_server::startup::ReplicaConfig {
                url,
                max_lag: std::time::Duration::from_millis(args.replica_max_lag_ms),
            }),
    };
    let dev = config.dev;
    let app = match build(config).await {
        Ok(app) => app,
        Err(e) => {
            tracing::error!(error = %e, "cannot start");
            return ExitCode::FAILURE;
        }
    };
    let url = app.url();
    tracing::info!(%url, dev, "renche-server listening");
    println!("renche-server is running: open {url}");
    match app.run_until(shutdown_signal()).await {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!(error = %e, "server stopped with an error");
            ExitCode::FAILURE
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(matches!(cli.command, Command::PolicyPreview(_)));
    match cli.command {
        Command::Serve(args) => serve(*args).await,
        Command::MigrateData(args) => {
            let now = renche_server::clock::Clock::now(&renche_server::clock::SystemClock);
            match renche_server::store::postgres::migrate_data(&args.from, &args.to, now) {
                Ok(report) => {
                    println!("{report}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("migrate-data: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::PolicyPreview(args) => match policy_preview(args).await {
            Ok(report) => {
                println!("{report}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("policy-preview: {e}");
                ExitCode::FAILURE
            }
        },
        Command::Import(args) => {
            match renche_server::import::run(&args.database, args.kind, &args.file).await {
                Ok(report) => {
                    println!("{report}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("{e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}
