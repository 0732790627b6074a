//! Clients that open connections and never finish their headers: the server closes each within its
//! header read timeout and keeps answering everyone else meanwhile.

use crate::common::{launcher, repo_policies};
use renche_reliability::server::{ServerProcess, ServerSpec};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const SLOW_CONNECTIONS: usize = 1_000;
/// The server's header read timeout in this test (the default is 10 s; a shorter one keeps the test short).
const HEADER_TIMEOUT: Duration = Duration::from_secs(3);

/// The soft limit on open files of this process: it holds every slow connection itself.
fn open_file_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// Opens a connection and sends part of a request head; answers how long the server took to close it.
async fn slow_client(addr: String) -> Result<Duration, String> {
    // From before the connection exists, so that no delay on this side can shorten what is measured.
    let opened = Instant::now();
    let mut stream = TcpStream::connect(&addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Never-Ends: ")
        .await
        .map_err(|e| format!("write: {e}"))?;
    let mut buf = [0u8; 256];
    loop {
        match tokio::time::timeout(HEADER_TIMEOUT * 4, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return Ok(opened.elapsed()),
            // hyper may answer 408 before it closes.
            Ok(Ok(_)) => continue,
            Err(_) => return Err("still open after four times the timeout".into()),
        }
    }
}

/// One `GET /healthz` on a fresh connection; its time, or why it failed.
async fn probe(http: &reqwest::Client, url: &str) -> Result<Duration, String> {
    let started = Instant::now();
    let resp = http
        .get(format!("{url}/healthz"))
        .send()
        .await
        .map_err(|e| {
            // reqwest's own message ("error sending request") hides whether it was the connect or the wait.
            let mut why = format!("after {:?}: {e}", started.elapsed());
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                why.push_str(&format!(": {s}"));
                source = s.source();
            }
            why
        })?;
    if !resp.status().is_success() {
        return Err(format!("status {}", resp.status()));
    }
    Ok(started.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_unfinished_request_heads_neither_stall_health_nor_stay_open() {
    let _machine = crate::common::exclusive_machine().await;
    if let Some(limit) = open_file_limit() {
        assert!(
            limit > SLOW_CONNECTIONS as u64 + 200,
            "this test holds {SLOW_CONNECTIONS} connections; raise the open-file limit (ulimit -n, now {limit})"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("db.sqlite3").display());
    let mut spec = ServerSpec::launcher(&launcher(), &db, &repo_policies());
    spec.leading_args = vec![
        "--header-read-timeout".into(),
        HEADER_TIMEOUT.as_secs().to_string(),
    ];
    spec.log = Some(dir.path().join("server.log"));
    let server = ServerProcess::start(spec).await.unwrap();
    let url = server.url();
    let addr = url.trim_start_matches("http://").to_owned();

    let started = Instant::now();
    let slow: Vec<_> = (0..SLOW_CONNECTIONS)
        .map(|_| tokio::spawn(slow_client(addr.clone())))
        .collect();
    // Health is asked on a fresh connection every 100 ms while the slow ones are open and closing.
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(1))
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let mut probes = Vec::new();
    while started.elapsed() < HEADER_TIMEOUT + Duration::from_secs(2) {
        probes.push(probe(&http, &url).await);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut closed_after = Vec::with_capacity(SLOW_CONNECTIONS);
    for handle in slow {
        closed_after.push(handle.await.unwrap());
    }
    let failed: Vec<_> = probes.iter().filter_map(|p| p.as_ref().err()).collect();
    assert!(failed.is_empty(), "health probes failed: {failed:?}");
    let worst_probe = probes.iter().flatten().max().copied().unwrap();
    assert!(worst_probe < Duration::from_secs(1), "{worst_probe:?}");
    let not_closed: Vec<_> = closed_after
        .iter()
        .filter_map(|c| c.as_ref().err())
        .collect();
    assert!(
        not_closed.is_empty(),
        "{} connections: {:?}",
        not_closed.len(),
        not_closed.first()
    );
    let mut closed: Vec<Duration> = closed_after.into_iter().flatten().collect();
    closed.sort();
    let slowest = *closed.last().unwrap();
    // Measured from before each connect: a thousand connects at once on a busy machine queue for a
    // moment before the server accepts them, and the timeout runs from the accept.
    assert!(
        slowest <= HEADER_TIMEOUT + Duration::from_secs(2),
        "the slowest unfinished connection was closed after {slowest:?}"
    );
    assert!(closed[0] >= HEADER_TIMEOUT, "{:?}", closed[0]);
    // The figures for docs/reliability.md.
    println!(
        "slow clients: {SLOW_CONNECTIONS} unfinished heads, header timeout {HEADER_TIMEOUT:?}: closed after \
         {:?} (first) / {:?} (median) / {slowest:?} (last); {} health probes, slowest {worst_probe:?}",
        closed[0],
        closed[closed.len() / 2],
        probes.len()
    );
    // The server still answers once they are gone.
    assert!(probe(&http, &url).await.is_ok());
    server.stop().await.unwrap();
}
