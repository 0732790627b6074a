//! The PostgreSQL store, for running several server instances against one database.
//!
//! Jobs run on tokio's blocking threads (`Tx` is synchronous and a job is one closure) over the async
//! `tokio-postgres` client, each connection driven by the job's thread itself on a runtime of its own
//! (`pool`). The async client is there for what the synchronous `postgres` crate cannot do, pipelining:
//! statements whose answers the flow does not read wait and travel with the next statement it does read,
//! or with `COMMIT`; reads a flow needs together go together (`Db::query_batch`), and a last statement can
//! carry its `COMMIT` (`Db::execute_and_commit`). See `PgDb`. A binding commit over HTTP is three round
//! trips and one transaction: the guard's session read with the key as it stands (one statement, sent
//! without `BEGIN`), the commit's locks and reads, its writes with `COMMIT`; the key is stored with the
//! writes (`Tx::idempotency_store_answer`). It is also nine statements: the session read; `BEGIN` and
//! five reads; the unread writes as one statement (`merge`) and `COMMIT`.
//! Bulk tools (`COPY`) use the synchronous client on a connection of their own (`PgStore::bulk_client`).
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
mod merge;
mod pool;
mod values;

pub use copy::{copy_from_sqlite, migrate_data, CopyReport};

use super::sql::{Advisory, Arg, Db, EachBatchRow, EachRow, OwnedArg, SqlTx};
use super::{BoxFuture, Job, Outcome, Store, StoreError, StoreResult};
use futures_util::StreamExt;
use pool::{Conn, ConnPool};
use renche::Timestamp;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;
use tokio_postgres::types::ToSql;
use tokio_postgres::{NoTls, Row, RowStream, Statement};

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

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> Self {
        match e.code() {
            // `Tx::idempotency_store_answer` met a key stored by a request that committed first.
            Some(code)
                if *code == tokio_postgres::error::SqlState::UNIQUE_VIOLATION
                    && e.as_db_error().and_then(|d| d.constraint())
                        == Some("idempotency_keys_pkey") =>
            {
                StoreError::KeyTaken
            }
            // Integrity constraints (class 23), as the SQLite store reports its constraint failures.
            Some(code) if code.code().starts_with("23") => StoreError::Unique(
                e.as_db_error()
                    .map(|d| d.message().to_owned())
                    .unwrap_or_else(|| e.to_string()),
            ),
            _ if is_transient(&e) => StoreError::Unavailable(described(&e)),
            _ => StoreError::Database(described(&e)),
        }
    }
}

/// The database's own message and SQLSTATE where it sent one (the driver's `Display` says only "db error").
fn described(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(d) => format!("{} ({})", d.message(), d.code().code()),
        None => e.to_string(),
    }
}

/// Whether the same job could succeed if sent again: the connection failed or was refused (a standby
/// not yet promoted is refused by `target_session_attrs=read-write`), the server is shutting down or
/// cancelled the statement (a statement timeout), a lock timeout, a deadlock or serialization failure,
/// or a transaction that reached a read-only standby. The client gets 503 with `Retry-After`; the idempotency guard
/// releases the key, and a retry either replays the stored answer (the commit went through) or runs anew.
fn is_transient(e: &tokio_postgres::Error) -> bool {
    match e.code().map(|c| c.code()) {
        Some(c) => {
            ["08", "40", "53", "57"]
                .iter()
                .any(|class| c.starts_with(class))
                || c == "25006"
                || c == "55P03"
        }
        None => connection_lost(e),
    }
}

/// The connection itself failed (closed, reset, refused), as opposed to a statement on it.
fn connection_lost(e: &tokio_postgres::Error) -> bool {
    use std::error::Error as _;
    e.code().is_none() && (e.is_closed() || e.source().is_some_and(|s| s.is::<std::io::Error>()))
}

/// A database URL split into the driver's part and ours (`pool_size`).
#[derive(Clone, Debug)]
pub struct PgUrl {
    pub config: tokio_postgres::Config,
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
    let mut config: tokio_postgres::Config = driver_url
        .parse()
        .map_err(|e| StoreError::Database(format!("database URL: {e}")))?;
    if config.get_application_name().is_none() {
        config.application_name("renche-server");
    }
    config.connect_timeout(Duration::from_secs(10));
    Ok(PgUrl { config, pool_size })
}

pub struct PgStore {
    pool: Arc<ConnPool>,
    config: tokio_postgres::Config,
    connect_patience: Duration,
}

impl PgStore {
    /// Connects, creates the pool and applies the migrations not yet applied. Blocks; safe to call from
    /// async code (the migration runs on its own thread, as the synchronous client may not run inside a
    /// runtime). The pool opens its connections as jobs need them.
    pub fn open(url: &str, now: Timestamp) -> StoreResult<PgStore> {
        let store = PgStore::pooled(url, CONNECT_PATIENCE)?;
        // The synchronous client is made, used and dropped on a thread of its own.
        std::thread::scope(|s| {
            s.spawn(|| migrate(&mut store.connect_bulk()?, now))
                .join()
                .unwrap_or_else(|_| Err(StoreError::Database("migrating panicked".into())))
        })?;
        Ok(store)
    }

    /// A hot standby to read from: the pool only, no migrations (the standby has the primary's schema, and
    /// refuses writes). Connects when the first job needs it.
    pub fn open_replica(url: &str) -> StoreResult<PgStore> {
        PgStore::pooled(url, REPLICA_CONNECT_PATIENCE)
    }

    fn pooled(url: &str, connect_patience: Duration) -> StoreResult<PgStore> {
        let url = parse_url(url)?;
        Ok(PgStore {
            // A closed connection (its server went away) is dropped when it comes back to the pool; a
            // ping per job would cost a round trip.
            pool: Arc::new(ConnPool::new(url.config.clone(), url.pool_size as usize)),
            config: url.config,
            connect_patience,
        })
    }

    /// A connection of its own (not pooled), on the synchronous client, for bulk work (`COPY`) in tools.
    /// It must be used and dropped off the async runtime's worker threads (on `spawn_blocking`, or in a
    /// program without a runtime).
    pub fn bulk_client(&self) -> StoreResult<::postgres::Client> {
        std::thread::scope(|s| {
            s.spawn(|| self.connect_bulk())
                .join()
                .unwrap_or_else(|_| Err(StoreError::Database("connecting panicked".into())))
        })
    }

    fn connect_bulk(&self) -> StoreResult<::postgres::Client> {
        ::postgres::Config::from(self.config.clone())
            .connect(NoTls)
            .map_err(|e| StoreError::Database(format!("cannot connect to PostgreSQL: {e}")))
    }

    fn run(&self, job: Job, write: bool) -> BoxFuture<'_, StoreResult<()>> {
        let (pool, patience) = (Arc::clone(&self.pool), self.connect_patience);
        Box::pin(async move {
            // A job waiting for a connection waits here, without a thread.
            let permit = pool.permit().await?;
            tokio::task::spawn_blocking(move || {
                let _permit = permit;
                run_job(&pool, patience, job, write)
            })
            .await
            .map_err(|e| StoreError::Database(format!("job thread: {e}")))?
        })
    }
}

/// Applies the migrations in one transaction under an advisory lock, so that instances starting together
/// on an empty database do not race.
pub fn migrate(client: &mut ::postgres::Client, now: Timestamp) -> StoreResult<()> {
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

/// How long a job waits for a connection while the database refuses them (a standby being promoted).
const CONNECT_PATIENCE: Duration = Duration::from_secs(30);
/// The same for a standby that serves reads which could go to the primary instead: a list should not
/// hang on a standby that went away while the tracker still trusted it.
const REPLICA_CONNECT_PATIENCE: Duration = Duration::from_secs(2);

fn begin_sql(write: bool) -> &'static str {
    if write {
        "BEGIN ISOLATION LEVEL READ COMMITTED"
    } else {
        "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
    }
}

/// Runs one job on a pooled connection, in one transaction whose `BEGIN` travels with its first statement
/// and whose `COMMIT` carries the statements nobody reads (see `PgDb`).
fn run_job(pool: &ConnPool, patience: Duration, job: Job, write: bool) -> StoreResult<()> {
    let begin = begin_sql(write);
    let conn = pool.connection(patience)?;
    let mut tx = SqlTx::new(PgDb {
        pool,
        patience,
        conn: Some(conn),
        write,
        failed: false,
        sent_begin: false,
        queued: vec![Queued::simple(begin)],
    });
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(&mut tx)));
    let db = &mut tx.db;
    match outcome {
        // PostgreSQL turns COMMIT of a transaction that saw an error into a silent ROLLBACK: refuse to
        // report such a job as committed.
        Ok(Outcome::Commit) if db.failed => {
            db.roll_back();
            Err(StoreError::Database(
                "a statement failed inside the transaction; nothing was kept".into(),
            ))
        }
        Ok(Outcome::Commit) => db.commit(),
        Ok(Outcome::Rollback) => {
            db.roll_back();
            Ok(())
        }
        Err(_) => {
            db.roll_back();
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
    fn wal_position(&self) -> BoxFuture<'_, StoreResult<Option<u64>>> {
        let (pool, patience) = (Arc::clone(&self.pool), self.connect_patience);
        Box::pin(async move {
            let permit = pool.permit().await?;
            tokio::task::spawn_blocking(move || {
                let _permit = permit;
                let mut conn = pool.connection(patience)?;
                let (client, mut runner) = conn.parts();
                // On a standby, what it has replayed (and so shows); on a primary, the end of what it
                // has written, at or past every commit it has acknowledged.
                let row = runner.run(client.query_one(
                    "SELECT (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() \
                     ELSE pg_current_wal_insert_lsn() END - '0/0'::pg_lsn)::bigint",
                    &[],
                ))?;
                pool.give_back(conn);
                let position: Option<i64> = row.try_get(0)?;
                Ok(position.and_then(|p| u64::try_from(p).ok()))
            })
            .await
            .map_err(|e| StoreError::Database(format!("job thread: {e}")))?
        })
    }
}

/// A statement waiting to be sent with the next one whose answer the flow reads.
struct Queued {
    /// `BEGIN …`, sent as a simple query; otherwise a shared statement, already in `$1` form.
    simple: bool,
    sql: String,
    args: Vec<OwnedArg>,
}

impl Queued {
    fn simple(sql: &str) -> Queued {
        Queued {
            simple: true,
            sql: sql.to_owned(),
            args: Vec::new(),
        }
    }
}

/// What ends a flight: the statement whose answer the flow is waiting for.
enum Last<'a> {
    Query(&'a str, &'a [Arg<'a>]),
    /// Several queries, each answer kept whole, ending the transaction as `.1` says.
    Batch(&'a [(&'a str, &'a [Arg<'a>])], BatchEnd),
    Execute(&'a str, &'a [Arg<'a>]),
    /// A statement, then `COMMIT`.
    ExecuteCommit(&'a str, &'a [Arg<'a>]),
    /// `COMMIT` or `ROLLBACK`.
    Simple(&'static str),
}

/// How a batch ends its transaction.
#[derive(Clone, Copy, PartialEq, Eq)]
enum BatchEnd {
    /// It does not: the job goes on in the same transaction.
    Open,
    /// With `COMMIT` after the queries.
    Commit,
    /// A job of one statement and nothing before it, sent without `BEGIN` or `COMMIT`: the database
    /// commits the statement on its own (autocommit).
    Alone,
}

impl Last<'_> {
    /// How many statements it sends, `COMMIT` included.
    fn statements(&self) -> usize {
        match self {
            Last::Query(..) | Last::Execute(..) | Last::Simple(_) => 1,
            Last::ExecuteCommit(..) => 2,
            Last::Batch(queries, end) => queries.len() + usize::from(*end == BatchEnd::Commit),
        }
    }
    fn ends_transaction(&self) -> bool {
        matches!(
            self,
            Last::ExecuteCommit(..)
                | Last::Batch(_, BatchEnd::Commit | BatchEnd::Alone)
                | Last::Simple(_)
        )
    }
}

enum Landed {
    Rows(RowStream),
    Batch(Vec<Vec<Row>>),
    Count(u64),
    Done,
}

/// A pooled connection inside a job's transaction, for `SqlTx`.
///
/// Statements travel in flights: one write to the socket and one wait for the answers. A statement whose
/// answer nobody reads (`BEGIN`, a row or advisory lock, an audit entry, a notification, the stored
/// answer) waits in `queued` and is pipelined ahead of the next statement the flow does read, or ahead of
/// `COMMIT`. The database runs them in order as always; the flow just stops waiting for each. A
/// failure among them is the flight's failure, so the job sees it at its next read or its commit, and
/// nothing of it is kept.
struct PgDb<'p> {
    pool: &'p ConnPool,
    /// How long a new connection is waited for (`ConnPool::connection`).
    patience: Duration,
    /// Always `Some`, except while a lost connection is being replaced.
    conn: Option<Conn>,
    /// A write job: reads lock the rows the flow may change.
    write: bool,
    /// A statement failed, so PostgreSQL has aborted the transaction.
    failed: bool,
    /// `BEGIN` has reached the database (the first flight was sent), so the job has a transaction to end.
    sent_begin: bool,
    queued: Vec<Queued>,
}

impl Drop for PgDb<'_> {
    fn drop(&mut self) {
        // The job has ended its transaction (committed or rolled back), or dropped a connection that could
        // not: what is left is fit for the next job.
        if let Some(conn) = self.conn.take() {
            self.pool.give_back(conn);
        }
    }
}

impl PgDb<'_> {
    /// Sends the queued statements and `last` in one flight. A connection found lost on the job's first
    /// flight (an idle pooled connection whose server went away: a failover) is replaced and the flight
    /// sent again: nothing of the job has reached the database, so the job never knows.
    fn fly(&mut self, last: Last<'_>) -> StoreResult<Landed> {
        let mut replaced = 0;
        self.merge_queued();
        loop {
            let kind = if self.write { "write" } else { "read" };
            crate::metrics::count("renche_store_round_trips_total", &[("kind", kind)]);
            crate::metrics::add(
                "renche_store_statements_total",
                &[("kind", kind)],
                (self.queued.len() + last.statements()) as u64,
            );
            let conn = self.conn.as_mut().ok_or(StoreError::Closed)?;
            let result = if conn.is_closed() {
                Err(Failed::Unsent(None))
            } else {
                flight(conn, &self.queued, &last)
            };
            match result {
                Ok(landed) => {
                    self.queued.clear();
                    self.sent_begin = true;
                    return Ok(landed);
                }
                // Nothing of the job has reached the database, or (a flight that does not commit) what
                // did is not kept.
                Err(failed)
                    if !self.sent_begin
                        && failed.connection_lost()
                        && (!failed.was_sent() || !last.ends_transaction())
                        && replaced <= self.pool.max_size =>
                {
                    replaced += 1;
                    // Not back into the pool: it is closed.
                    drop(self.conn.take());
                    self.conn = Some(self.pool.connection(self.patience)?);
                }
                Err(failed) => {
                    self.queued.clear();
                    self.sent_begin = true;
                    self.failed = true;
                    return Err(failed.into());
                }
            }
        }
    }

    fn commit(&mut self) -> StoreResult<()> {
        if !self.sent_begin && self.queued.len() == 1 {
            // The job touched nothing: there is no transaction to end.
            return Ok(());
        }
        match self.fly(Last::Simple("COMMIT")) {
            Ok(_) => Ok(()),
            Err(e) => {
                self.roll_back();
                Err(e)
            }
        }
    }

    /// Ends the transaction without keeping anything; a connection that cannot say ROLLBACK leaves the pool.
    fn roll_back(&mut self) {
        self.queued.clear();
        if !self.sent_begin {
            return;
        }
        let Some(conn) = self.conn.as_mut() else {
            return;
        };
        let (client, mut runner) = conn.parts();
        if runner.run(client.batch_execute("ROLLBACK")).is_err() {
            drop(self.conn.take());
        }
    }

    /// After a flight that ended the transaction (committed, or rolled back by a failure): the job's next
    /// statement begins a new one.
    fn restart(&mut self) {
        self.failed = false;
        self.sent_begin = false;
        self.queued = vec![Queued::simple(begin_sql(self.write))];
    }

    /// `queries` in one flight, with `COMMIT` after them when `commit` says so; each row handed to `each`.
    fn batch(
        &mut self,
        queries: &[(&str, &[Arg<'_>])],
        commit: bool,
        each: EachBatchRow<'_>,
    ) -> StoreResult<()> {
        let end = if !commit {
            BatchEnd::Open
        } else if queries.len() == 1 && !self.sent_begin && self.queued.len() == 1 {
            // Only `BEGIN` is queued: the job is this one statement.
            self.queued.clear();
            BatchEnd::Alone
        } else {
            BatchEnd::Commit
        };
        let landed = self.fly(Last::Batch(queries, end));
        if commit {
            self.restart();
        }
        let Landed::Batch(answers) = landed? else {
            unreachable!("a batch lands its answers")
        };
        for (i, rows) in answers.iter().enumerate() {
            for row in rows {
                each(i, row)?;
            }
        }
        Ok(())
    }

    /// The queued writes as few statements as `merge` allows (a commit's unread writes: one).
    fn merge_queued(&mut self) {
        if self.queued.iter().filter(|q| !q.simple).count() < 2 {
            return;
        }
        let statements = std::mem::take(&mut self.queued)
            .into_iter()
            .map(|q| {
                if q.simple {
                    Err(q.sql)
                } else {
                    Ok(merge::Statement {
                        sql: q.sql,
                        args: q.args,
                    })
                }
            })
            .collect();
        self.queued = merge::merged(statements)
            .into_iter()
            .map(|(statement, _)| match statement {
                Ok(s) => Queued {
                    simple: false,
                    sql: s.sql,
                    args: s.args,
                },
                Err(sql) => Queued {
                    simple: true,
                    sql,
                    args: Vec::new(),
                },
            })
            .collect();
    }

    fn queue(&mut self, sql: &str, args: &[Arg<'_>]) {
        self.queued.push(Queued {
            simple: false,
            sql: dollar_placeholders(sql),
            args: args.iter().map(OwnedArg::from).collect(),
        });
    }
}

/// How a flight failed: before anything was sent (preparing, or a connection found closed), or after.
enum Failed {
    Unsent(Option<tokio_postgres::Error>),
    Sent(tokio_postgres::Error),
}

impl Failed {
    fn was_sent(&self) -> bool {
        matches!(self, Failed::Sent(_))
    }
    fn connection_lost(&self) -> bool {
        match self {
            Failed::Unsent(None) => true,
            Failed::Unsent(Some(e)) | Failed::Sent(e) => connection_lost(e),
        }
    }
}

impl From<Failed> for StoreError {
    fn from(f: Failed) -> Self {
        match f {
            Failed::Unsent(Some(e)) | Failed::Sent(e) => e.into(),
            Failed::Unsent(None) => StoreError::Unavailable("the connection was closed".into()),
        }
    }
}

/// A statement issued and not yet answered.
type Pending<'a, T> = Pin<Box<dyn Future<Output = Result<T, tokio_postgres::Error>> + 'a>>;

/// One flight on `conn`: the statements are prepared where not yet (once per connection), then every
/// queued one and `last` are issued before any answer is awaited, so the driver pipelines them.
fn flight(conn: &mut Conn, queued: &[Queued], last: &Last<'_>) -> Result<Landed, Failed> {
    let last_sql = match last {
        Last::Query(sql, _) | Last::Execute(sql, _) | Last::ExecuteCommit(sql, _) => {
            Some(dollar_placeholders(sql))
        }
        Last::Batch(..) | Last::Simple(_) => None,
    };
    let batch_sql: Vec<String> = match last {
        Last::Batch(queries, _) => queries
            .iter()
            .map(|(sql, _)| dollar_placeholders(sql))
            .collect(),
        _ => Vec::new(),
    };
    let wanted: Vec<&str> = queued
        .iter()
        .filter(|q| !q.simple)
        .map(|q| q.sql.as_str())
        .chain(last_sql.as_deref())
        .chain(batch_sql.iter().map(String::as_str))
        .collect();
    let mut statements = conn
        .prepared(&wanted)
        .map_err(|e| Failed::Unsent(Some(e)))?
        .into_iter();
    let prepared: Vec<Option<Statement>> = queued
        .iter()
        .map(|q| if q.simple { None } else { statements.next() })
        .collect();
    let last_statement = last_sql.and_then(|_| statements.next());
    let batch_statements: Vec<Statement> = statements.collect();
    let (client, mut runner) = conn.parts();
    runner
        .run(issue(
            client,
            queued,
            prepared,
            last,
            last_statement,
            batch_statements,
        ))
        .map_err(Failed::Sent)
}

/// Issues a flight's statements, all before awaiting any answer, so that the driver pipelines them.
async fn issue(
    client: &tokio_postgres::Client,
    queued: &[Queued],
    prepared: Vec<Option<Statement>>,
    last: &Last<'_>,
    last_statement: Option<Statement>,
    batch_statements: Vec<Statement>,
) -> Result<Landed, tokio_postgres::Error> {
    let mut batch: Vec<(Statement, Vec<Param<'_>>)> = Vec::new();
    if let Last::Batch(queries, _) = last {
        for ((_, args), statement) in queries.iter().zip(batch_statements) {
            batch.push((statement, args.iter().map(|a| a as Param<'_>).collect()));
        }
    }
    let queued_args: Vec<Vec<Arg<'_>>> = queued
        .iter()
        .map(|q| q.args.iter().map(OwnedArg::as_arg).collect())
        .collect();
    let mut ahead: Vec<Pending<'_, ()>> = Vec::with_capacity(queued.len());
    for ((q, statement), args) in queued.iter().zip(&prepared).zip(&queued_args) {
        ahead.push(match statement {
            None => Box::pin(client.batch_execute(&q.sql)),
            Some(s) => Box::pin(async move {
                let params: Vec<Param<'_>> = args.iter().map(|a| a as Param<'_>).collect();
                client.execute(s, &params).await.map(|_| ())
            }),
        });
    }
    let last_future: Pending<'_, Landed> = match (last, &last_statement) {
        (Last::Query(_, args), Some(s)) => Box::pin(async move {
            let params = args.iter().map(|a| a as Param<'_>);
            client.query_raw(s, params).await.map(Landed::Rows)
        }),
        (Last::Execute(_, args), Some(s)) => Box::pin(async move {
            let params: Vec<Param<'_>> = args.iter().map(|a| a as Param<'_>).collect();
            client.execute(s, &params).await.map(Landed::Count)
        }),
        (Last::ExecuteCommit(_, args), Some(s)) => Box::pin(async move {
            let params: Vec<Param<'_>> = args.iter().map(|a| a as Param<'_>).collect();
            // `join` polls the statement first, so it is on the wire before COMMIT.
            let (count, committed) = futures_util::future::join(
                client.execute(s, &params),
                client.batch_execute("COMMIT"),
            )
            .await;
            let count = count?;
            committed.map(|()| Landed::Count(count))
        }),
        (Last::Batch(_, end), None) => Box::pin(async move {
            // `join_all` polls its futures in order, so the queries go on the wire in order, and
            // `join` puts COMMIT after them.
            let commit = async move {
                if *end == BatchEnd::Commit {
                    client.batch_execute("COMMIT").await
                } else {
                    Ok(())
                }
            };
            let (answers, committed) = futures_util::future::join(
                futures_util::future::join_all(
                    batch.iter().map(|(s, params)| client.query(s, params)),
                ),
                commit,
            )
            .await;
            let answers = answers.into_iter().collect::<Result<Vec<_>, _>>()?;
            committed.map(|()| Landed::Batch(answers))
        }),
        (Last::Simple(sql), _) => {
            Box::pin(async move { client.batch_execute(sql).await.map(|()| Landed::Done) })
        }
        _ => unreachable!("a prepared statement for every statement with text"),
    };
    in_order(ahead, last_future).await
}

/// Awaits `ahead` and then `last`, having started each in that order before waiting on any: the driver
/// sends a request when its future is first polled, so this puts them on the wire in order, together.
/// The first failure is the answer, once all have answered.
async fn in_order<'a, T>(
    mut ahead: Vec<Pending<'a, ()>>,
    mut last: Pending<'a, T>,
) -> Result<T, tokio_postgres::Error> {
    let mut ahead_done: Vec<Option<Result<(), tokio_postgres::Error>>> =
        ahead.iter().map(|_| None).collect();
    let mut last_done: Option<Result<T, tokio_postgres::Error>> = None;
    std::future::poll_fn(|cx| {
        for (f, done) in ahead.iter_mut().zip(ahead_done.iter_mut()) {
            if done.is_none() {
                if let Poll::Ready(r) = f.as_mut().poll(cx) {
                    *done = Some(r);
                }
            }
        }
        if last_done.is_none() {
            if let Poll::Ready(r) = last.as_mut().poll(cx) {
                last_done = Some(r);
            }
        }
        if last_done.is_some() && ahead_done.iter().all(Option::is_some) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await;
    for r in ahead_done.into_iter().flatten() {
        r?;
    }
    last_done.unwrap_or_else(|| unreachable!("polled to completion"))
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
            // Taken in order before whatever the job sends next.
            self.queue(
                "SELECT pg_advisory_xact_lock(?1, hashtext(?2))",
                &[Arg::Int(Some(i64::from(class))), Arg::Text(Some(key))],
            );
        }
        Ok(())
    }
    fn execute(&mut self, sql: &str, args: &[Arg<'_>]) -> StoreResult<u64> {
        match self.fly(Last::Execute(sql, args))? {
            Landed::Count(n) => Ok(n),
            _ => unreachable!("an execute lands a count"),
        }
    }
    fn execute_unread(&mut self, sql: &str, args: &[Arg<'_>]) -> StoreResult<()> {
        self.queue(sql, args);
        Ok(())
    }
    fn execute_and_commit(&mut self, sql: &str, args: &[Arg<'_>]) -> StoreResult<u64> {
        let landed = self.fly(Last::ExecuteCommit(sql, args));
        self.restart();
        match landed? {
            Landed::Count(n) => Ok(n),
            _ => unreachable!("an execute lands a count"),
        }
    }
    fn query_batch(
        &mut self,
        queries: &[(&str, &[Arg<'_>])],
        each: EachBatchRow<'_>,
    ) -> StoreResult<()> {
        self.batch(queries, false, each)
    }
    fn query_batch_and_commit(
        &mut self,
        queries: &[(&str, &[Arg<'_>])],
        each: EachBatchRow<'_>,
    ) -> StoreResult<()> {
        self.batch(queries, true, each)
    }
    fn pipelines(&self) -> bool {
        true
    }
    fn writes_in_with(&self) -> bool {
        true
    }
    fn next_id_sql(&self, table: &'static str) -> String {
        format!("nextval(pg_get_serial_sequence('{table}', 'id'))")
    }
    fn query(&mut self, sql: &str, args: &[Arg<'_>], each: EachRow<'_>) -> StoreResult<()> {
        let Landed::Rows(rows) = self.fly(Last::Query(sql, args))? else {
            unreachable!("a query lands rows")
        };
        // Rows are handed on as they arrive rather than collected first: a scan of a million violations
        // (the policy preview) holds one row at a time.
        let mut rows = Box::pin(rows);
        let conn = self.conn.as_mut().ok_or(StoreError::Closed)?;
        loop {
            match conn.parts().1.run(rows.next()) {
                Some(Ok(row)) => each(&row)?,
                None => return Ok(()),
                Some(Err(e)) => {
                    self.failed = true;
                    return Err(e.into());
                }
            }
        }
    }
}
