//! Server processes under test: started on a free loopback port with a database URL, health-checked,
//! killed with SIGKILL and restarted on the same port and database.

use crate::{err, Result};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

/// How to start one server process.
#[derive(Clone, Debug)]
pub struct ServerSpec {
    /// The program, e.g. `target/release/reliability-serve` or `renche-server`.
    pub program: PathBuf,
    /// Arguments before the flags (e.g. `serve` for `renche-server serve`).
    pub leading_args: Vec<String>,
    pub database: String,
    pub policy_dir: PathBuf,
    /// Where the server's stdout and stderr go (appended); `None` discards them.
    pub log: Option<PathBuf>,
}

impl ServerSpec {
    /// The launcher built beside the calling binary or test (`reliability-serve`), from `target_dir`.
    pub fn launcher(program: &Path, database: &str, policy_dir: &Path) -> ServerSpec {
        ServerSpec {
            program: program.to_path_buf(),
            leading_args: vec![],
            database: database.to_owned(),
            policy_dir: policy_dir.to_path_buf(),
            log: None,
        }
    }
}

/// A running (or killed) server process on a fixed port.
pub struct ServerProcess {
    spec: ServerSpec,
    port: u16,
    child: Option<Child>,
    pub starts: u32,
}

/// A free port on 127.0.0.1 (bound and released).
pub fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

/// Waits until `GET {url}/healthz` answers 200, for at most `limit`.
pub async fn wait_healthy(url: &str, limit: Duration) -> Result<()> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()?;
    let start = Instant::now();
    while start.elapsed() < limit {
        if let Ok(r) = http.get(format!("{url}/healthz")).send().await {
            if r.status().is_success() {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    Err(err(format!(
        "{url} did not become healthy within {limit:?}"
    )))
}

impl ServerProcess {
    /// Starts a server on a free port and waits for it to be healthy.
    pub async fn start(spec: ServerSpec) -> Result<ServerProcess> {
        let port = free_port()?;
        let mut p = ServerProcess {
            spec,
            port,
            child: None,
            starts: 0,
        };
        p.spawn().await?;
        Ok(p)
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(|c| c.id())
    }

    async fn spawn(&mut self) -> Result<()> {
        let mut cmd = Command::new(&self.spec.program);
        cmd.args(&self.spec.leading_args)
            .arg("--listen")
            .arg(format!("127.0.0.1:{}", self.port))
            .arg("--database")
            .arg(&self.spec.database)
            .arg("--policy-dir")
            .arg(&self.spec.policy_dir)
            .arg("--dev")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .kill_on_drop(true);
        match &self.spec.log {
            Some(path) => {
                let f = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)?;
                cmd.stdout(Stdio::from(f.try_clone()?));
                cmd.stderr(Stdio::from(f));
            }
            None => {
                cmd.stderr(Stdio::null());
            }
        }
        let child = cmd
            .spawn()
            .map_err(|e| err(format!("{}: {e}", self.spec.program.display())))?;
        self.child = Some(child);
        self.starts += 1;
        // The port may still be held for a moment by the process just killed: retry the whole start.
        match wait_healthy(&self.url(), Duration::from_secs(30)).await {
            Ok(()) => Ok(()),
            Err(e) => {
                if let Some(c) = self.child.as_mut() {
                    if let Ok(Some(status)) = c.try_wait() {
                        return Err(err(format!("server exited with {status}: {e}")));
                    }
                }
                Err(e)
            }
        }
    }

    /// SIGKILL: no clean shutdown, no flushing beyond what the database already made durable.
    pub async fn kill(&mut self) -> Result<()> {
        if let Some(mut c) = self.child.take() {
            c.start_kill()?;
            c.wait().await?;
        }
        Ok(())
    }

    /// Starts the process again on the same port and database (after [`kill`](Self::kill)).
    pub async fn restart(&mut self) -> Result<()> {
        self.kill().await?;
        let start = Instant::now();
        loop {
            match self.spawn().await {
                Ok(()) => return Ok(()),
                Err(e) if start.elapsed() > Duration::from_secs(20) => return Err(e),
                Err(_) => {
                    self.kill().await?;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }

    /// Stops the process (SIGKILL; the tests do not need a graceful stop).
    pub async fn stop(mut self) -> Result<()> {
        self.kill().await
    }
}
