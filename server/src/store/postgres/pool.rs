//! The connection pool. Each connection lives on a single-threaded runtime of its own, and the job's thread
//! drives both the connection and the job's statements on it (as the synchronous `postgres` client does):
//! a flight's writes and reads are syscalls on that thread, and no other thread is woken to carry them.
//! With the connection's task on the server's runtime instead, every flight cost four thread wake-ups
//! (job → connection task → socket → connection task → job), which was most of the server's CPU under
//! load (docs/benchmarks.md).
//!
//! A job takes a permit before it is given a thread (`ConnPool::permit`, awaited on the runtime), so jobs
//! waiting for a connection hold no thread; with the permit it takes an idle connection or opens one.
//! A connection found closed is not given back. Prepared statements are cached per connection.

use super::{is_transient, StoreError, StoreResult};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_postgres::{Client, NoTls, Statement};

/// How long a job waits for a connection of the pool to come free.
const WAIT_TIMEOUT: Duration = Duration::from_secs(30);

type Driving = Pin<Box<dyn Future<Output = Result<(), tokio_postgres::Error>> + Send>>;

/// One connection: its client, the future that carries the client's messages over the socket, and the
/// runtime whose I/O driver owns that socket.
pub(super) struct Conn {
    runtime: Option<tokio::runtime::Runtime>,
    client: Client,
    connection: Driving,
    /// The connection's future has ended: the server closed it, or it failed.
    ended: bool,
    statements: HashMap<String, Statement>,
}

impl Conn {
    /// A new connection; the outer error is ours (no runtime could be made), the inner the database's.
    fn open(config: &tokio_postgres::Config) -> StoreResult<Result<Conn, tokio_postgres::Error>> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .map_err(|e| StoreError::Database(format!("a connection's runtime: {e}")))?;
        Ok(runtime
            .block_on(config.connect(NoTls))
            .map(|(client, connection)| Conn {
                runtime: Some(runtime),
                client,
                connection: Box::pin(connection),
                ended: false,
                statements: HashMap::new(),
            }))
    }

    /// The client, to make requests with, and what runs them (`Runner::run`).
    pub(super) fn parts(&mut self) -> (&Client, Runner<'_>) {
        (
            &self.client,
            Runner {
                runtime: &self.runtime,
                connection: &mut self.connection,
                ended: &mut self.ended,
            },
        )
    }

    /// The prepared statements of `sqls`, each prepared once per connection.
    pub(super) fn prepared(
        &mut self,
        sqls: &[&str],
    ) -> Result<Vec<Statement>, tokio_postgres::Error> {
        for sql in sqls {
            if !self.statements.contains_key(*sql) {
                let prepare = self.client.prepare(sql);
                let statement = drive(
                    &self.runtime,
                    &mut self.connection,
                    &mut self.ended,
                    prepare,
                )?;
                self.statements.insert((*sql).to_owned(), statement);
            }
        }
        Ok(sqls
            .iter()
            .filter_map(|sql| self.statements.get(*sql).cloned())
            .collect())
    }

    pub(super) fn is_closed(&self) -> bool {
        self.ended || self.client.is_closed()
    }
}

/// Runs a connection's requests on the job's thread.
pub(super) struct Runner<'c> {
    runtime: &'c Option<tokio::runtime::Runtime>,
    connection: &'c mut Driving,
    ended: &'c mut bool,
}

impl Runner<'_> {
    /// Runs `work` to its end on this thread, carrying the connection's messages meanwhile.
    pub(super) fn run<T>(&mut self, work: impl Future<Output = T>) -> T {
        drive(self.runtime, self.connection, self.ended, work)
    }
}

/// `work` driven to its end on `runtime`, with the connection's future polled beside it.
fn drive<T>(
    runtime: &Option<tokio::runtime::Runtime>,
    connection: &mut Driving,
    ended: &mut bool,
    work: impl Future<Output = T>,
) -> T {
    let Some(runtime) = runtime.as_ref() else {
        unreachable!("a connection keeps its runtime until it is dropped")
    };
    runtime.block_on(async {
        tokio::pin!(work);
        loop {
            tokio::select! {
                biased;
                out = &mut work => return out,
                _ = connection.as_mut(), if !*ended => {
                    // Closed. Dropping the connection's state fails the client's pending requests, and
                    // `work` with them.
                    *connection = Box::pin(std::future::pending());
                    *ended = true;
                }
            }
        }
    })
}

impl Drop for Conn {
    fn drop(&mut self) {
        // Dropped where blocking is not allowed too (a pool dropped on the server's runtime).
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// The pool: at most `max_size` connections, idle ones kept for the next job.
pub(super) struct ConnPool {
    config: tokio_postgres::Config,
    idle: Mutex<Vec<Conn>>,
    permits: Arc<Semaphore>,
    pub(super) max_size: usize,
}

/// A job's right to one connection of the pool, given back when dropped.
pub(super) struct Permit {
    _held: OwnedSemaphorePermit,
}

impl ConnPool {
    pub(super) fn new(config: tokio_postgres::Config, max_size: usize) -> ConnPool {
        ConnPool {
            config,
            idle: Mutex::new(Vec::new()),
            permits: Arc::new(Semaphore::new(max_size)),
            max_size,
        }
    }

    /// Waits (on the runtime, without a thread) until a connection may be used.
    pub(super) async fn permit(&self) -> StoreResult<Permit> {
        match tokio::time::timeout(WAIT_TIMEOUT, Arc::clone(&self.permits).acquire_owned()).await {
            Ok(Ok(permit)) => Ok(Permit { _held: permit }),
            Ok(Err(_)) => Err(StoreError::Closed),
            Err(_) => Err(StoreError::Unavailable(
                "connection pool: no connection came free in 30 s".into(),
            )),
        }
    }

    /// An idle connection, or a new one; while new ones are refused (no primary yet during a failover),
    /// tries again for up to `patience` rather than failing every job of those seconds, so that the jobs
    /// which release idempotency keys after a failure still run. Blocks: call on the job's thread.
    pub(super) fn connection(&self, patience: Duration) -> StoreResult<Conn> {
        loop {
            let idle = self.idle.lock().map(|mut idle| idle.pop());
            match idle {
                Ok(Some(conn)) if conn.is_closed() => drop(conn),
                Ok(Some(conn)) => return Ok(conn),
                Ok(None) => break,
                Err(_) => return Err(StoreError::Database("connection pool poisoned".into())),
            }
        }
        let started = Instant::now();
        let mut pause = Duration::from_millis(50);
        loop {
            match Conn::open(&self.config)? {
                Ok(conn) => return Ok(conn),
                Err(e) if is_transient(&e) && started.elapsed() < patience => {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_secs(1));
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Gives a connection back for the next job, unless it is closed.
    pub(super) fn give_back(&self, conn: Conn) {
        if conn.is_closed() {
            return;
        }
        if let Ok(mut idle) = self.idle.lock() {
            idle.push(conn);
        }
    }
}
