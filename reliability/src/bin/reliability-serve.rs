//! Starts the backend from the `renche_server` library with the flags the reliability tools pass
//! (`--listen`, `--database`, `--policy-dir`, `--dev`), so that the tools can kill and restart a real
//! server process. Any other server command that takes these flags can stand in for it.

use clap::Parser;
use renche_server::{build, Config};
use std::path::PathBuf;

#[derive(Parser)]
struct Args {
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: String,
    #[arg(long)]
    database: String,
    #[arg(long, default_value = "policies")]
    policy_dir: PathBuf,
    #[arg(long)]
    dev: bool,
    /// Accepted for command-line compatibility with `renche-server serve`.
    #[arg(long)]
    demo: bool,
    #[command(flatten)]
    limits: renche_server::serve::LimitArgs,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let config = Config {
        listen: args.listen,
        database: args.database,
        policy_dir: args.policy_dir,
        dev: args.dev,
        demo: args.demo,
        limits: args.limits.limits(),
        ..Config::default()
    };
    let app = match build(config).await {
        Ok(app) => app,
        Err(e) => {
            eprintln!("reliability-serve: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    println!("listening on {}", app.url());
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    match app.run_until(shutdown).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("reliability-serve: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
