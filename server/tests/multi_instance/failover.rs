//! A primary and a synchronous standby (PostgreSQL's own streaming replication, two clusters made with
//! `initdb` in a temporary folder, on their own ports), three `renche-server` instances on a multi-host
//! URL with `target_session_attrs=read-write`, binds and removals from several clients; the primary is
//! killed with SIGKILL a third of the way through and the standby promoted. The servers carry on by
//! themselves: a broken pooled connection fails its job with a retryable 503, the pool opens new
//! connections on the same URL, and the driver skips the dead host and (until it is promoted) the
//! read-only standby. The promoted database is then held to what the clients were told.
//!
//! The clusters run as the current user, or as the `postgres` OS user (with `runuser`) when the tests run
//! as root, which `initdb` refuses. The binaries are found with `pg_config --bindir` or under
//! `/usr/lib/postgresql/<version>/bin`.

use super::*;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Where the PostgreSQL server binaries are (`initdb`, `pg_ctl`, `pg_basebackup`).
fn bin_dir() -> Option<PathBuf> {
    let from_pg_config = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    let installed = std::fs::read_dir("/usr/lib/postgresql").ok().and_then(|d| {
        let mut versions: Vec<PathBuf> = d.flatten().map(|e| e.path().join("bin")).collect();
        versions.sort();
        versions.pop()
    });
    [from_pg_config, installed]
        .into_iter()
        .flatten()
        .find(|d| d.join("initdb").is_file() && d.join("pg_ctl").is_file())
}

/// The server binaries, or `None` (and a line saying so) when PostgreSQL tests are skipped.
pub(super) fn server_binaries() -> Option<PathBuf> {
    if skip_postgres() {
        eprintln!("RENCHE_SKIP_POSTGRES=1: skipped");
        return None;
    }
    Some(bin_dir().expect(
        "PostgreSQL's server binaries (initdb, pg_ctl; bash scripts/setup.sh installs them), \
         or RENCHE_SKIP_POSTGRES=1",
    ))
}

/// The uid and gid the clusters run as: ours, or the `postgres` user's when we are root.
fn cluster_user() -> Option<(u32, u32)> {
    let me = std::fs::metadata("/proc/self").ok()?;
    if me.uid() != 0 {
        return None;
    }
    let id = |flag: &str| -> u32 {
        let out = Command::new("id")
            .args([flag, "postgres"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    };
    Some((id("-u"), id("-g")))
}

pub(super) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Two clusters in one temporary folder, both stopped (immediately) when dropped.
pub(super) struct Pair {
    bin: PathBuf,
    as_postgres: bool,
    root: tempfile::TempDir,
    pub(super) primary_port: u16,
    pub(super) standby_port: u16,
}

impl Pair {
    fn tool(&self, name: &str) -> Command {
        let path = self.bin.join(name);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        }
    }

    fn run(&self, name: &str, args: &[&str]) -> Output {
        let out = self.tool(name).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{name} {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    fn dir(&self, which: &str) -> String {
        self.root.path().join(which).display().to_string()
    }

    /// Appends to `postgresql.auto.conf`, which is read last (and where `pg_basebackup -R` writes).
    fn append_conf(&self, which: &str, lines: &str) {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(self.root.path().join(which).join("postgresql.auto.conf"))
            .unwrap();
        f.write_all(lines.as_bytes()).unwrap();
    }

    fn start(&self, which: &str) {
        let log = self.root.path().join(format!("{which}.log"));
        self.run(
            "pg_ctl",
            &[
                "-D",
                &self.dir(which),
                "-l",
                &log.display().to_string(),
                "-w",
                "-t",
                "60",
                "start",
            ],
        );
    }

    /// Makes and starts both; returns once the standby is the primary's synchronous standby.
    pub(super) fn start_both(bin: PathBuf) -> Pair {
        let root = tempfile::tempdir().unwrap();
        let user = cluster_user();
        if let Some((uid, gid)) = user {
            std::os::unix::fs::chown(root.path(), Some(uid), Some(gid)).unwrap();
        }
        let pair = Pair {
            bin,
            as_postgres: user.is_some(),
            root,
            primary_port: free_port(),
            standby_port: free_port(),
        };
        let primary = pair.dir("primary");
        pair.run(
            "initdb",
            &[
                "-D",
                &primary,
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
        );
        // fsync off: the fault here is a killed process, whose writes the kernel still has; what keeps an
        // acknowledged commit is the synchronous standby having received it.
        pair.append_conf(
            "primary",
            &format!(
                "port = {}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{}'\n\
                 wal_level = replica\nmax_wal_senders = 4\nmax_connections = 60\nshared_buffers = 32MB\n\
                 fsync = off\nsynchronous_commit = on\nsynchronous_standby_names = 'standby'\n",
                pair.primary_port,
                pair.root.path().display()
            ),
        );
        pair.start("primary");
        let standby = pair.dir("standby");
        pair.run(
            "pg_basebackup",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &pair.primary_port.to_string(),
                "-U",
                "postgres",
                "-D",
                &standby,
                "-X",
                "stream",
                "-R",
            ],
        );
        // Later lines win (over the primary's settings and -R's primary_conninfo): its own port, its name for the primary's synchronous_standby_names, and none of
        // its own once promoted (commits would otherwise wait for a standby that does not exist).
        pair.append_conf(
            "standby",
            &format!(
                "port = {}\nsynchronous_standby_names = ''\nprimary_conninfo = 'host=127.0.0.1 port={} \
                 user=postgres application_name=standby'\n",
                pair.standby_port, pair.primary_port
            ),
        );
        pair.start("standby");
        let url = pair.url_of(pair.primary_port, "postgres");
        std::thread::spawn(move || {
            let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
            for _ in 0..600 {
                let sync = c
                    .query_opt(
                        "SELECT 1 FROM pg_stat_replication WHERE application_name = 'standby' \
                         AND sync_state = 'sync' AND state = 'streaming'",
                        &[],
                    )
                    .unwrap();
                if sync.is_some() {
                    c.batch_execute("CREATE DATABASE renche").unwrap();
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            panic!("the standby never became synchronous");
        })
        .join()
        .unwrap();
        pair
    }

    pub(super) fn url_of(&self, port: u16, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{port}/{db}")
    }

    /// Both hosts, writes only where they are accepted.
    fn failover_url(&self) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{},127.0.0.1:{}/renche?target_session_attrs=read-write&pool_size=8",
            self.primary_port, self.standby_port
        )
    }

    /// SIGKILL to the primary's postmaster and every process it started: no shutdown, no checkpoint.
    fn kill_primary(&self) {
        let pid_file = Path::new(&self.dir("primary")).join("postmaster.pid");
        let pid = std::fs::read_to_string(pid_file).unwrap();
        let pid = pid.lines().next().unwrap().trim().to_owned();
        let children =
            std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
        let mut pids = vec![pid];
        pids.extend(children.split_whitespace().map(str::to_owned));
        let out = Command::new("kill")
            .arg("-KILL")
            .args(&pids)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Stops the standby at once, as a crash would.
    pub(super) fn stop_standby(&self) {
        self.run(
            "pg_ctl",
            &["-D", &self.dir("standby"), "-m", "immediate", "stop"],
        );
    }

    fn promote_standby(&self) {
        self.run(
            "pg_ctl",
            &["-D", &self.dir("standby"), "-w", "-t", "60", "promote"],
        );
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        for which in ["standby", "primary"] {
            let _ = self
                .tool("pg_ctl")
                .args(["-D", &self.dir(which), "-m", "immediate", "stop"])
                .output();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_promoted_standby_takes_over_without_losing_an_acknowledged_binding() {
    let Some(bin) = server_binaries() else {
        return;
    };
    let started = Instant::now();
    let pair = tokio::task::spawn_blocking(move || Pair::start_both(bin))
        .await
        .unwrap();
    let url = pair.failover_url();
    let (binders, vehicles) = seed(&url).await;

    let scratch = tempfile::tempdir().unwrap();
    let (instances, browsers) = start_three(&url, scratch.path()).await;
    let ready = started.elapsed();
    // A request in flight may wait for the promotion and then its retries: give it half a minute.
    let workload = Workload::new(&instances, binders, vehicles, Patience { attempts: 300 });
    let tasks = workload.spawn(browsers);
    let total = (WORKERS as usize) * OPS_PER_WORKER;
    while workload.done_ops.load(Ordering::Relaxed) < total / 3 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let killed_at = Instant::now();
    pair.kill_primary();
    let ops_at_kill = workload.done_ops.load(Ordering::Relaxed);
    // As an operator's failover tool would, a moment later.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let pair = tokio::task::spawn_blocking(move || {
        pair.promote_standby();
        pair
    })
    .await
    .unwrap();
    let promoted_after = killed_at.elapsed();
    for t in tasks {
        t.await.unwrap();
    }

    let record = std::mem::take(&mut *workload.record.lock().unwrap());
    check_database(&pair.url_of(pair.standby_port, "renche"), &record).await;
    assert_eq!(
        record.internal_errors, 0,
        "a fault answered 500 instead of 503"
    );
    assert_eq!(record.unresolved_binds, 0, "a key never got an answer");
    // Service came back: acknowledgements after the kill, and the longest time without one.
    let mut times = record.acknowledged_at.clone();
    times.sort_unstable();
    // (An acknowledgement just after the kill is one the old primary confirmed, still on its way.)
    let promoted_at = killed_at + promoted_after;
    let back_after = times
        .iter()
        .find(|t| **t > promoted_at)
        .map(|t| *t - promoted_at)
        .expect("nothing was acknowledged after the promotion");
    let longest_gap = times
        .windows(2)
        .map(|w| w[1] - w[0])
        .max()
        .unwrap_or_default();
    eprintln!(
        "failover: primary killed after {ops_at_kill} of {total} operations, standby promoted {:.2}s later; \
         first acknowledgement {:.2}s after that (seconds without service, the longest gap between two \
         acknowledgements: {:.2}s); {} bindings acknowledged (0 lost), {} removals, \
         {} refused, {} answers 503 with Retry-After, {} replays checked; clusters and instances ready in \
         {:.1}s, whole test {:.1}s",
        promoted_after.as_secs_f64(),
        back_after.as_secs_f64(),
        longest_gap.as_secs_f64(),
        record.created.len(),
        record.removed.len(),
        record.refused,
        record.unavailable,
        record.replays_checked,
        ready.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    drop(instances);
    drop(pair);
}
