//! The SQLite store: one writer connection on its own thread (every write job is one `BEGIN IMMEDIATE`
//! transaction, so the count limits are checked and acted on atomically), and a few read-only connections
//! on their own threads (WAL lets them read while the writer writes).

use super::rows::Columns;
use super::sql::{Advisory, Arg, Db, EachRow, SqlTx};
use super::{BoxFuture, Job, Outcome, Store, StoreError, StoreResult};
use renche::Timestamp;
use rusqlite::types::{ToSqlOutput, Value, ValueRef};
use rusqlite::{params, params_from_iter, Connection, OpenFlags, OptionalExtension, Row, ToSql};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// The versioned migrations, applied in order once each.
const MIGRATIONS: &[(&str, &str)] = super::migrations!(
    "sqlite": "0001_initial", "0002_accounts", "0004_notices_history_review",
    "0005_vehicles_by_plate_number", "0006_kiosks", "0007_kiosk_sessions"
);

const READERS: usize = 4;

type Envelope = (Job, oneshot::Sender<StoreResult<()>>);

pub struct SqliteStore {
    writer: mpsc::Sender<Envelope>,
    readers: mpsc::Sender<Envelope>,
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        match &e {
            rusqlite::Error::SqliteFailure(f, msg)
                if f.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                StoreError::Unique(msg.clone().unwrap_or_else(|| e.to_string()))
            }
            _ => StoreError::Database(e.to_string()),
        }
    }
}

/// Reads `sqlite://path` (or a bare path).
pub fn path_of_url(url: &str) -> PathBuf {
    PathBuf::from(url.strip_prefix("sqlite://").unwrap_or(url))
}

fn configure(conn: &Connection) -> StoreResult<()> {
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "cache_size", -16_000)?;
    conn.set_prepared_statement_cache_capacity(128);
    Ok(())
}

fn migrate(conn: &mut Connection, now: Timestamp) -> StoreResult<()> {
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)",
    )?;
    // A migration that rebuilds a table (SQLite cannot drop a constraint) runs with foreign keys off, as
    // SQLite's documented procedure asks, and is checked with `foreign_key_check` before it commits.
    conn.pragma_update(None, "foreign_keys", "OFF")?;
    let result = apply_migrations(conn, now);
    conn.pragma_update(None, "foreign_keys", "ON")?;
    result
}

fn apply_migrations(conn: &mut Connection, now: Timestamp) -> StoreResult<()> {
    for (version, sql) in MIGRATIONS {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let done: Option<String> = tx
            .query_row(
                "SELECT version FROM schema_migrations WHERE version = ?1",
                [version],
                |r| r.get(0),
            )
            .optional()?;
        if done.is_none() {
            tracing::info!(version, "applying migration");
            tx.execute_batch(sql)?;
            let broken: Option<String> = tx
                .query_row("PRAGMA foreign_key_check", [], |r| r.get(0))
                .optional()?;
            if let Some(table) = broken {
                return Err(crate::store::StoreError::Database(format!(
                    "migration {version} leaves broken references in {table}"
                )));
            }
            tx.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)",
                params![version, now.millis()],
            )?;
        }
        tx.commit()?;
    }
    Ok(())
}

impl SqliteStore {
    /// Opens (creating and migrating when needed) the database at `path`.
    pub fn open(path: &Path, now: Timestamp) -> StoreResult<SqliteStore> {
        if let Some(dir) = path.parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir)
                    .map_err(|e| StoreError::Database(format!("{}: {e}", dir.display())))?;
            }
        }
        let mut writer = Connection::open(path)?;
        configure(&writer)?;
        migrate(&mut writer, now)?;
        let (wtx, wrx) = mpsc::channel::<Envelope>();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || run_writer(writer, wrx))
            .map_err(|e| StoreError::Database(e.to_string()))?;
        let (rtx, rrx) = mpsc::channel::<Envelope>();
        let shared = Arc::new(Mutex::new(rrx));
        for i in 0..READERS {
            let conn = Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_ONLY
                    | OpenFlags::SQLITE_OPEN_NO_MUTEX
                    | OpenFlags::SQLITE_OPEN_URI,
            )?;
            configure(&conn)?;
            let queue = Arc::clone(&shared);
            std::thread::Builder::new()
                .name(format!("sqlite-reader-{i}"))
                .spawn(move || run_reader(conn, queue))
                .map_err(|e| StoreError::Database(e.to_string()))?;
        }
        Ok(SqliteStore {
            writer: wtx,
            readers: rtx,
        })
    }
}

/// Most write jobs run in one transaction (group commit).
const BATCH: usize = 128;

/// Runs write jobs one after another, each inside its own savepoint, and commits every job that queued up
/// meanwhile in one transaction: under load one WAL commit serves many requests, yet each job still sees
/// the ones before it and rolls back alone. Answers go out only after the commit.
fn run_writer(mut conn: Connection, jobs: mpsc::Receiver<Envelope>) {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match jobs.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        if batch.len() == 1 {
            for (job, reply) in batch {
                let _ = reply.send(run_job(&mut conn, job, "BEGIN IMMEDIATE"));
            }
            continue;
        }
        let mut results: Vec<StoreResult<()>> = Vec::with_capacity(batch.len());
        let mut replies = Vec::with_capacity(batch.len());
        let mut begun = conn.execute_batch("BEGIN IMMEDIATE");
        for (job, reply) in batch {
            replies.push(reply);
            results.push(match &begun {
                Ok(()) => run_in_savepoint(&mut conn, job),
                Err(e) => Err(StoreError::Database(e.to_string())),
            });
            if begun.is_ok() && conn.is_autocommit() {
                // SQLite rolled the whole transaction back (I/O error, full disk …): everything before is lost.
                for r in results.iter_mut() {
                    *r = Err(StoreError::Database(
                        "the transaction was rolled back by the database".into(),
                    ));
                }
                begun = conn.execute_batch("BEGIN IMMEDIATE");
            }
        }
        if begun.is_ok() {
            if let Err(e) = conn.execute_batch("COMMIT") {
                let _ = conn.execute_batch("ROLLBACK");
                let msg = e.to_string();
                results = results
                    .into_iter()
                    .map(|_| Err(StoreError::Database(msg.clone())))
                    .collect();
            }
        }
        for (reply, result) in replies.into_iter().zip(results) {
            let _ = reply.send(result);
        }
    }
}

fn run_in_savepoint(conn: &mut Connection, job: Job) -> StoreResult<()> {
    conn.execute_batch("SAVEPOINT job")?;
    let mut tx = SqlTx::new(Lite(conn));
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(&mut tx)));
    match outcome {
        Ok(Outcome::Commit) => {
            conn.execute_batch("RELEASE job")?;
            Ok(())
        }
        Ok(Outcome::Rollback) => {
            conn.execute_batch("ROLLBACK TO job; RELEASE job")?;
            Ok(())
        }
        Err(_) => {
            conn.execute_batch("ROLLBACK TO job; RELEASE job")?;
            Err(StoreError::Database("a job panicked".into()))
        }
    }
}

fn run_reader(mut conn: Connection, jobs: Arc<Mutex<mpsc::Receiver<Envelope>>>) {
    loop {
        let next = match jobs.lock() {
            Ok(queue) => queue.recv(),
            Err(_) => return,
        };
        let Ok((job, reply)) = next else { return };
        let _ = reply.send(run_job(&mut conn, job, "BEGIN"));
    }
}

fn run_job(conn: &mut Connection, job: Job, begin: &str) -> StoreResult<()> {
    conn.execute_batch(begin)?;
    let mut tx = SqlTx::new(Lite(conn));
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(&mut tx)));
    match outcome {
        Ok(Outcome::Commit) => {
            if let Err(e) = conn.execute_batch("COMMIT") {
                let _ = conn.execute_batch("ROLLBACK");
                return Err(e.into());
            }
            Ok(())
        }
        Ok(Outcome::Rollback) => {
            conn.execute_batch("ROLLBACK")?;
            Ok(())
        }
        Err(_) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(StoreError::Database("a job panicked".into()))
        }
    }
}

/// Hands `job` to the connection threads behind `queue` and waits for its answer.
async fn send(queue: &mpsc::Sender<Envelope>, job: Job) -> StoreResult<()> {
    let (tx, rx) = oneshot::channel();
    queue.send((job, tx)).map_err(|_| StoreError::Closed)?;
    rx.await.map_err(|_| StoreError::Closed)?
}

impl Store for SqliteStore {
    fn write(&self, job: Job) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(send(&self.writer, job))
    }
    fn read(&self, job: Job) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(send(&self.readers, job))
    }
    fn backend(&self) -> &'static str {
        "sqlite"
    }
}

/// A connection inside a job's transaction, for `SqlTx`.
struct Lite<'c>(&'c Connection);

impl Db for Lite<'_> {
    fn row_locks(&self) -> bool {
        // BEGIN IMMEDIATE on the one writer connection already serialises every write job.
        false
    }
    fn advisory_lock(&mut self, _lock: Advisory, _key: &str) -> StoreResult<()> {
        Ok(())
    }
    fn execute(&mut self, sql: &str, args: &[Arg<'_>]) -> StoreResult<u64> {
        let n = self
            .0
            .prepare_cached(sql)?
            .execute(params_from_iter(args))?;
        Ok(n as u64)
    }
    fn execute_unread(&mut self, sql: &str, args: &[Arg<'_>]) -> StoreResult<()> {
        // In process, nothing to gain by waiting: run it now.
        self.execute(sql, args).map(|_| ())
    }
    fn next_id_sql(&self, table: &'static str) -> String {
        // The one writer holds the database: nobody can take the id between this read and the insert.
        format!("(SELECT COALESCE(MAX(id), 0) + 1 FROM {table})")
    }
    fn query(&mut self, sql: &str, args: &[Arg<'_>], each: EachRow<'_>) -> StoreResult<()> {
        let mut stmt = self.0.prepare_cached(sql)?;
        let mut rows = stmt.query(params_from_iter(args))?;
        while let Some(row) = rows.next()? {
            each(row)?;
        }
        Ok(())
    }
}

impl ToSql for Arg<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match *self {
            Arg::Int(v) => ToSqlOutput::Owned(v.map_or(Value::Null, Value::Integer)),
            Arg::Text(v) => {
                ToSqlOutput::Borrowed(v.map_or(ValueRef::Null, |s| ValueRef::Text(s.as_bytes())))
            }
            Arg::Bytes(v) => ToSqlOutput::Borrowed(v.map_or(ValueRef::Null, ValueRef::Blob)),
            Arg::Flag(b) => ToSqlOutput::Owned(Value::Integer(i64::from(b))),
        })
    }
}

impl Columns for Row<'_> {
    fn int(&self, i: usize) -> StoreResult<i64> {
        Ok(self.get(i)?)
    }
    fn opt_int(&self, i: usize) -> StoreResult<Option<i64>> {
        Ok(self.get(i)?)
    }
    fn text(&self, i: usize) -> StoreResult<String> {
        Ok(self.get(i)?)
    }
    fn opt_text(&self, i: usize) -> StoreResult<Option<String>> {
        Ok(self.get(i)?)
    }
    fn flag(&self, i: usize) -> StoreResult<bool> {
        Ok(self.get(i)?)
    }
    fn bytes(&self, i: usize) -> StoreResult<Vec<u8>> {
        Ok(self.get(i)?)
    }
    fn opt_bytes(&self, i: usize) -> StoreResult<Option<Vec<u8>>> {
        Ok(self.get(i)?)
    }
}
