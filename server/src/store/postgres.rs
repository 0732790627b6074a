//! The PostgreSQL store, for running several server instances against one database.
//!
//! Jobs run on tokio's blocking threads with the synchronous `postgres` client, taken from a small r2d2
//! pool: `Tx` is synchronous and a job is one closure, so a blocking connection per job is the plainest fit
//! (an async client would have to be driven from inside the same blocking call anyway).
//!
//! Unlike the SQLite store, write jobs run concurrently. Each is one READ COMMITTED transaction; what the
//! single SQLite writer gave for free is rebuilt with row locks (taken by the shared statements in `sql`
//! where `Db::row_locks` says so):
//! - `lock_for_binding` locks the person's row, then the vehicle's row (`FOR NO KEY UPDATE`, always in
//!   that order), so two commits touching the same person or vehicle queue up and the second counts the
//!   first's binding. READ COMMITTED matters: each statement after the lock sees what the others committed.
//! - Inside a write job, reading a row that the flow may then change (a person's points, a violation, an
//!   application, a QR code, an SMS challenge, a binding, an idempotency key) locks it too, so
//!   read-check-write is never interleaved. People are always locked before vehicles: once
//!   `lock_for_binding` has run, further person reads in that job are plain reads.
//! - Counting SMS challenges before sending one, and making a server key, take a transaction-scoped
//!   advisory lock on the key counted or made.
//!
//! SERIALIZABLE with retry on 40001 was the other choice; it is not used because a job is a `FnOnce` that
//! may have talked to the outside world, so the store cannot run it again.

mod copy;
mod values;

pub use copy::{copy_from_sqlite, migrate_data, CopyReport};

use super::sql::{Advisory, Arg, Db, EachRow, SqlTx};
use super::{BoxFuture, Job, Outcome, Store, StoreError, StoreResult};
use ::postgres::fallible_iterator::FallibleIterator;
use ::postgres::types::ToSql;
use ::postgres::{Client, NoTls, Statement};
use renche::Timestamp;
use std::collections::HashMap;
use std::time::Duration;

/// The versioned migrations, applied in order once each (same numbering as the SQLite ones).
const MIGRATIONS: &[(&str, &str)] = super::migrations!(
    "postgres": "0001_initial", "0002_accounts", "0004_notices_history_review",
    "0005_vehicles_by_plate_number", "0006_kiosks", "0007_kiosk_sessions"
);

/// Connections per instance unless the URL says `pool_size=N`.
pub const DEFAULT_POOL_SIZE: u32 = 16;

/// First key of the two-key advisory locks, so that ours cannot collide with another application's.
const LOCK_NAMESPACE: i32 = 0x7263_0000;
const LOCK_MIGRATIONS: i32 = LOCK_NAMESPACE + 1;
const LOCK_SERVER_KEY: i32 = LOCK_NAMESPACE + 2;
const LOCK_SMS_COUNT: i32 = LOCK_NAMESPACE + 3;

type Param<'a> = &'a (dyn ToSql + Sync);

impl From<::postgres::Error> for StoreError {
    fn from(e: ::postgres::Error) -> Self {
        match e.code() {
            // Integrity constraints (class 23), as the SQLite store reports its constraint failures.
            Some(code) if code.code().starts_with("23") => StoreError::Unique(
                e.as_db_error()
                    .map(|d| d.message().to_owned())
                    .unwrap_or_else(|| e.to_string()),
            ),
            _ if is_transient(&e) => StoreError::Unavailable(e.to_string()),
            _ => StoreError::Database(e.to_string()),
        }
    }
}

/// Whether the same job could succeed if sent again: the connection failed or was refused (a standby
/// not yet promoted is refused by `target_session_attrs=read-write`), the server is shutting down or
/// cancelled the statement (a statement timeout), a lock timeout, a deadlock or serialization failure,
/// or a transaction that reached a read-only standby. The client gets 503 with `Retry-After`; the idempotency guard
/// releases the key, and a retry either replays the stored answer (the commit went through) or runs anew.
fn is_transient(e: &::postgres::Error) -> bool {
    use std::error::Error as _;
    match e.code().map(|c| c.code()) {
        Some(c) => {
            ["08", "40", "53", "57"]
                .iter()
                .any(|class| c.starts_with(class))
                || c == "25006"
                || c == "55P03"
        }
        None => e.is_closed() || e.source().is_some_and(|s| s.is::<std::io::Error>()),
    }
}

impl From<r2d2::Error> for StoreError {
    fn from(e: r2d2::Error) -> Self {
        StoreError::Unavailable(format!("connection pool: {e}"))
    }
}

/// One pooled connection with its prepared statements (prepared once per connection, not per query).
pub struct Conn {
    /// Always `Some` until dropped (an `Option` so that `Drop` can move it to another thread).
    client: Option<Client>,
    statements: HashMap<String, Statement>,
}

impl Conn {
    /// The driver's client, for bulk work outside the `Tx` methods.
    pub fn client(&mut self) -> StoreResult<&mut Client> {
        self.client.as_mut().ok_or(StoreError::Closed)
    }
}

impl Conn {
    /// Closes the client now; the pool then sees the connection as broken and drops it.
    fn close(&mut self) {
        // Closing a sync client blocks on its own runtime, which panics inside another runtime (a store
        // dropped in async code): close it on a thread of its own there.
        if let Some(client) = self.client.take() {
            if tokio::runtime::Handle::try_current().is_ok() {
                let _ = std::thread::Builder::new()
                    .name("pg-close".into())
                    .spawn(move || drop(client));
            }
        }
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.close();
    }
}

pub struct Manager {
    config: ::postgres::Config,
}

impl r2d2::ManageConnection for Manager {
    type Connection = Conn;
    type Error = ::postgres::Error;

    fn connect(&self) -> Result<Conn, ::postgres::Error> {
        Ok(Conn {
            client: Some(self.config.connect(NoTls)?),
            statements: HashMap::new(),
        })
    }
    fn is_valid(&self, conn: &mut Conn) -> Result<(), ::postgres::Error> {
        match conn.client.as_mut() {
            Some(c) => c.simple_query("").map(|_| ()),
            None => Ok(()),
        }
    }
    fn has_broken(&self, conn: &mut Conn) -> bool {
        match conn.client.as_ref() {
            Some(c) => c.is_closed(),
            None => true,
        }
    }
}

pub type Pool = r2d2::Pool<Manager>;

/// A database URL split into the driver's part and ours (`pool_size`).
#[derive(Clone, Debug)]
pub struct PgUrl {
    pub config: ::postgres::Config,
    pub pool_size: u32,
}

/// Reads `postgres://user@host:port/db?pool_size=16&…`; the other query options go to the driver.
pub fn parse_url(url: &str) -> StoreResult<PgUrl> {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, q),
        None => (url, ""),
    };
    let mut pool_size = DEFAULT_POOL_SIZE;
    let mut rest = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("pool_size", n)) => {
                pool_size = n
                    .parse::<u32>()
                    .ok()
                    .filter(|n| (1..=1000).contains(n))
                    .ok_or_else(|| StoreError::Database(format!("pool_size={n} is not 1..1000")))?;
            }
            _ => rest.push(pair),
        }
    }
    let driver_url = if rest.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", rest.join("&"))
    };
    let mut config: ::postgres::Config = driver_url
        .parse()
        .map_err(|e| StoreError::Database(format!("database URL: {e}")))?;
    if config.get_application_name().is_none() {
        config.application_name("renche-server");
    }
    config.connect_timeout(Duration::from_secs(10));
    Ok(PgUrl { config, pool_size })
}

pub struct PgStore {
    pool: Pool,
}

impl PgStore {
    /// Connects, creates the pool and applies the migrations not yet applied. Blocks; safe to call from
    /// async code (the work runs on its own thread, as the sync driver may not run inside a runtime).
    pub fn open(url: &str, now: Timestamp) -> StoreResult<PgStore> {
        let url = parse_url(url)?;
        std::thread::scope(|s| {
            s.spawn(|| Self::open_blocking(url, now))
                .join()
                .unwrap_or_else(|_| Err(StoreError::Database("opening the store panicked".into())))
        })
    }

    fn open_blocking(url: PgUrl, now: Timestamp) -> StoreResult<PgStore> {
        let pool = r2d2::Pool::builder()
            .max_size(url.pool_size)
            // Open connections as load needs them: several instances share max_connections.
            .min_idle(Some(1))
            // A broken connection is noticed by `has_broken`; a ping per job would cost a round trip.
            .test_on_check_out(false)
            .connection_timeout(Duration::from_secs(30))
            .idle_timeout(Some(Duration::from_secs(300)))
            .build(Manager { config: url.config })
            .map_err(|e| StoreError::Database(format!("cannot connect to PostgreSQL: {e}")))?;
        let mut conn = pool.get()?;
        migrate(conn.client()?, now)?;
        Ok(PgStore { pool })
    }

    /// The pool, for tools that copy data in bulk.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    fn run(&self, job: Job, write: bool) -> BoxFuture<'_, StoreResult<()>> {
        let pool = self.pool.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || run_job(&pool, job, write))
                .await
                .map_err(|e| StoreError::Database(format!("job thread: {e}")))?
        })
    }
}

/// Applies the migrations in one transaction under an advisory lock, so that instances starting together
/// on an empty database do not race.
pub fn migrate(client: &mut Client, now: Timestamp) -> StoreResult<()> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1, 0)", &[&LOCK_MIGRATIONS])?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)",
    )?;
    for (version, sql) in MIGRATIONS {
        let done = tx
            .query_opt(
                "SELECT version FROM schema_migrations WHERE version = $1",
                &[version],
            )?
            .is_some();
        if !done {
            tracing::info!(version, "applying migration");
            tx.batch_execute(sql)?;
            tx.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)",
                &[version, &now.millis()],
            )?;
        }
    }
    tx.commit()?;
    Ok(())
}

fn run_job(pool: &Pool, job: Job, write: bool) -> StoreResult<()> {
    let begin = if write {
        "BEGIN ISOLATION LEVEL READ COMMITTED"
    } else {
        "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
    };
    // An idle pooled connection whose server went away (a failover) is found out by its first round trip,
    // before the job has done anything: drop it and take another, so that a whole pool of stale
    // connections costs the requests nothing (a ping per job would cost a round trip instead).
    let mut stale = 0;
    let mut conn = loop {
        let mut conn = pool.get()?;
        match conn.client()?.batch_execute(begin) {
            Ok(()) => break conn,
            Err(e) if is_transient(&e) && stale <= pool.max_size() => {
                conn.close();
                stale += 1;
            }
            Err(e) => return Err(e.into()),
        }
    };
    let mut tx = SqlTx::new(PgDb {
        conn: &mut conn,
        write,
        failed: false,
    });
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(&mut tx)));
    let failed = tx.db.failed;
    match outcome {
        // PostgreSQL turns COMMIT of a transaction that saw an error into a silent ROLLBACK: refuse to
        // report such a job as committed.
        Ok(Outcome::Commit) if failed => {
            if let Ok(c) = conn.client() {
                let _ = c.batch_execute("ROLLBACK");
            }
            Err(StoreError::Database(
                "a statement failed inside the transaction; nothing was kept".into(),
            ))
        }
        Ok(Outcome::Commit) => {
            if let Err(e) = conn.client()?.batch_execute("COMMIT") {
                if let Ok(c) = conn.client() {
                    let _ = c.batch_execute("ROLLBACK");
                }
                return Err(e.into());
            }
            Ok(())
        }
        Ok(Outcome::Rollback) => {
            conn.client()?.batch_execute("ROLLBACK")?;
            Ok(())
        }
        Err(_) => {
            if let Ok(c) = conn.client() {
                let _ = c.batch_execute("ROLLBACK");
            }
            Err(StoreError::Database("a job panicked".into()))
        }
    }
}

impl Store for PgStore {
    fn write(&self, job: Job) -> BoxFuture<'_, StoreResult<()>> {
        self.run(job, true)
    }
    fn read(&self, job: Job) -> BoxFuture<'_, StoreResult<()>> {
        self.run(job, false)
    }
    fn backend(&self) -> &'static str {
        "postgres"
    }
}

/// A pooled connection inside a job's transaction, for `SqlTx`.
struct PgDb<'c> {
    conn: &'c mut Conn,
    /// A write job: reads lock the rows the flow may change.
    write: bool,
    /// A statement failed, so PostgreSQL has aborted the transaction.
    failed: bool,
}

impl PgDb<'_> {
    /// The prepared statement of `sql`, cached by its text as `sql` writes it.
    fn statement(&mut self, sql: &str) -> StoreResult<Statement> {
        if let Some(s) = self.conn.statements.get(sql) {
            return Ok(s.clone());
        }
        let prepared = self.conn.client()?.prepare(&dollar_placeholders(sql));
        let s = self.check(prepared)?;
        self.conn.statements.insert(sql.to_owned(), s.clone());
        Ok(s)
    }
    fn check<T>(&mut self, r: Result<T, ::postgres::Error>) -> StoreResult<T> {
        if r.is_err() {
            self.failed = true;
        }
        Ok(r?)
    }
}

/// `?1` → `$1`: the shared statements are written with SQLite's placeholders (none holds a `?` otherwise).
fn dollar_placeholders(sql: &str) -> String {
    sql.replace('?', "$")
}

impl Db for PgDb<'_> {
    fn row_locks(&self) -> bool {
        self.write
    }
    fn advisory_lock(&mut self, lock: Advisory, key: &str) -> StoreResult<()> {
        if self.write {
            let class = match lock {
                Advisory::ServerKey => LOCK_SERVER_KEY,
                Advisory::SmsCount => LOCK_SMS_COUNT,
            };
            let s = self.statement("SELECT pg_advisory_xact_lock($1, hashtext($2))")?;
            let r = self.conn.client()?.execute(&s, &[&class, &key]);
            self.check(r)?;
        }
        Ok(())
    }
    fn execute(&mut self, sql: &str, args: &[Arg<'_>]) -> StoreResult<u64> {
        let s = self.statement(sql)?;
        let params: Vec<Param<'_>> = args.iter().map(|a| a as Param<'_>).collect();
        let r = self.conn.client()?.execute(&s, &params);
        self.check(r)
    }
    fn query(&mut self, sql: &str, args: &[Arg<'_>], each: EachRow<'_>) -> StoreResult<()> {
        let s = self.statement(sql)?;
        let params: Vec<Param<'_>> = args.iter().map(|a| a as Param<'_>).collect();
        // Rows are handed on as they arrive rather than collected first: a scan of a million violations
        // (the policy preview) holds one row at a time.
        let client = self.conn.client()?;
        let mut rows = match client.query_raw(&s, params.iter().copied()) {
            Ok(rows) => rows,
            Err(e) => {
                self.failed = true;
                return Err(e.into());
            }
        };
        loop {
            match rows.next() {
                Ok(Some(row)) => each(&row)?,
                Ok(None) => return Ok(()),
                Err(e) => {
                    self.failed = true;
                    return Err(e.into());
                }
            }
        }
    }
}
