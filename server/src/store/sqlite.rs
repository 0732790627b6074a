//! The SQLite store: one writer connection on its own thread (every write job is one `BEGIN IMMEDIATE`
//! transaction, so the count limits are checked and acted on atomically), and a few read-only connections
//! on their own threads (WAL lets them read while the writer writes).

use super::rows::{
    self, ts_opt, Columns, APPLICATION_COLUMNS, BINDING_COLUMNS, NOTIFICATION_COLUMNS,
    PERSON_COLUMNS, QR_CODE_COLUMNS, SESSION_COLUMNS, SMS_COLUMNS, VEHICLE_COLUMNS,
    VIOLATION_COLUMNS,
};
use super::*;
use rusqlite::{named_params, params, Connection, OpenFlags, OptionalExtension, Row};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// The versioned migrations, applied in order once each.
const MIGRATIONS: &[(&str, &str)] = &[(
    "0001_initial",
    include_str!("../../migrations/sqlite/0001_initial.sql"),
)];

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
    let mut tx = SqliteTx { conn };
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
    let mut tx = SqliteTx { conn };
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

impl Store for SqliteStore {
    fn write(&self, job: Job) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(async move {
            let (tx, rx) = oneshot::channel();
            self.writer
                .send((job, tx))
                .map_err(|_| StoreError::Closed)?;
            rx.await.map_err(|_| StoreError::Closed)?
        })
    }
    fn read(&self, job: Job) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(async move {
            let (tx, rx) = oneshot::channel();
            self.readers
                .send((job, tx))
                .map_err(|_| StoreError::Closed)?;
            rx.await.map_err(|_| StoreError::Closed)?
        })
    }
    fn backend(&self) -> &'static str {
        "sqlite"
    }
}

struct SqliteTx<'c> {
    conn: &'c Connection,
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
}

impl SqliteTx<'_> {
    /// Every row of `sql`, each parsed by `parse`.
    fn all<T>(
        &self,
        sql: &str,
        args: impl rusqlite::Params,
        parse: impl FnMut(&Row<'_>) -> StoreResult<T>,
    ) -> StoreResult<Vec<T>> {
        self.conn
            .prepare_cached(sql)?
            .query_and_then(args, parse)?
            .collect()
    }
    /// The first row of a lookup by `arg`, if any, parsed by `parse`.
    fn first<T>(
        &self,
        sql: &str,
        arg: &dyn rusqlite::ToSql,
        parse: impl FnMut(&Row<'_>) -> StoreResult<T>,
    ) -> StoreResult<Option<T>> {
        self.conn
            .prepare_cached(sql)?
            .query_and_then([arg], parse)?
            .next()
            .transpose()
    }
    fn one_person(
        &mut self,
        clause: &str,
        arg: &dyn rusqlite::ToSql,
    ) -> StoreResult<Option<PersonRow>> {
        let sql = format!("SELECT {PERSON_COLUMNS} FROM people WHERE {clause}");
        self.first(&sql, arg, |r| rows::person(r))
    }
    fn vehicles_where(
        &mut self,
        clause: &str,
        args: &[&dyn rusqlite::ToSql],
    ) -> StoreResult<Vec<VehicleRow>> {
        let sql = format!("SELECT {VEHICLE_COLUMNS} FROM vehicles WHERE {clause}");
        self.all(&sql, args, |r| rows::vehicle(r))
    }
    fn bindings_where(&mut self, clause: &str, arg: i64) -> StoreResult<Vec<BindingRow>> {
        let sql = format!("SELECT {BINDING_COLUMNS} FROM bindings WHERE {clause}");
        self.all(&sql, [arg], |r| rows::binding(r))
    }
    fn count_key_clause(key: &SmsCountKey) -> (&'static str, String, Option<String>) {
        match key {
            SmsCountKey::Phone(p) => ("phone = ?1 AND delivered = 1", p.clone(), None),
            SmsCountKey::Plate(k) => ("plate_key = ?1", k.clone(), None),
            SmsCountKey::RequesterPlate {
                requester,
                plate_key,
            } => (
                "requester = ?1 AND plate_key = ?3",
                requester.clone(),
                Some(plate_key.clone()),
            ),
        }
    }
}

impl Tx for SqliteTx<'_> {
    fn person(&mut self, id: i64) -> StoreResult<Option<PersonRow>> {
        self.one_person("id = ?1", &id)
    }
    fn person_by_phone(&mut self, phone: &str) -> StoreResult<Option<PersonRow>> {
        self.one_person("phone = ?1", &phone)
    }
    fn person_by_resident_id(&mut self, resident_id: &str) -> StoreResult<Option<PersonRow>> {
        self.one_person("resident_id = ?1", &resident_id)
    }
    fn insert_person(&mut self, p: &NewPerson) -> StoreResult<i64> {
        let (class, status, points, cycle) = match &p.licence {
            Some(l) => (
                Some(l.class.code()),
                Some(l.status.code()),
                i64::from(l.points),
                l.cycle_start.map(|t| t.millis()),
            ),
            None => (None, None, 0, None),
        };
        self.conn
            .prepare_cached(
                "INSERT INTO people (name, resident_id, phone, registered_at, identity_verified, role, licence_class, \
                 licence_status, licence_points, licence_cycle_start, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?
            .execute(params![
                p.name,
                p.resident_id.as_str(),
                p.phone.as_str(),
                p.registered_at.map(|t| t.millis()),
                p.identity_verified,
                p.role.code(),
                class,
                status,
                points,
                cycle,
                p.created_at.millis()
            ])?;
        Ok(self.conn.last_insert_rowid())
    }
    fn register_person(
        &mut self,
        id: i64,
        name: &str,
        phone: &str,
        at: Timestamp,
    ) -> StoreResult<()> {
        self.conn
            .prepare_cached(
                "UPDATE people SET registered_at = ?2, name = ?3, phone = ?4 WHERE id = ?1",
            )?
            .execute(params![id, at.millis(), name, phone])?;
        Ok(())
    }
    fn set_identity_verified(&mut self, id: i64) -> StoreResult<()> {
        self.conn
            .prepare_cached("UPDATE people SET identity_verified = 1 WHERE id = ?1")?
            .execute([id])?;
        Ok(())
    }
    fn set_licence_points(
        &mut self,
        id: i64,
        points: u32,
        cycle_start: Option<Timestamp>,
    ) -> StoreResult<()> {
        self.conn
            .prepare_cached(
                "UPDATE people SET licence_points = ?2, licence_cycle_start = ?3 WHERE id = ?1",
            )?
            .execute(params![id, points, cycle_start.map(|t| t.millis())])?;
        Ok(())
    }
    fn count_people(&mut self) -> StoreResult<i64> {
        Ok(self
            .conn
            .prepare_cached("SELECT COUNT(*) FROM people")?
            .query_row([], |r| r.get(0))?)
    }

    fn vehicle(&mut self, id: i64) -> StoreResult<Option<VehicleRow>> {
        Ok(self.vehicles_where("id = ?1", &[&id])?.into_iter().next())
    }
    fn vehicle_by_plate(
        &mut self,
        plate_type: PlateType,
        plate_number: &str,
    ) -> StoreResult<Option<VehicleRow>> {
        Ok(self
            .vehicles_where(
                "plate_type = ?1 AND plate_number = ?2",
                &[&plate_type.code(), &plate_number],
            )?
            .into_iter()
            .next())
    }
    fn vehicles_owned_by(&mut self, person_id: i64) -> StoreResult<Vec<VehicleRow>> {
        self.vehicles_where("owner_person_id = ?1 ORDER BY id", &[&person_id])
    }
    fn insert_vehicle(&mut self, v: &NewVehicle) -> StoreResult<i64> {
        self.conn
            .prepare_cached(
                "INSERT INTO vehicles (plate_type, plate_number, engine_number, engine_suffix, use_nature, owner_kind, \
                 owner_person_id, owner_name, owner_phone, owner_resident_id, city, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            )?
            .execute(params![
                v.plate_number.plate_type().code(),
                v.plate_number.as_str(),
                v.engine_number,
                v.engine_suffix.as_str(),
                v.use_nature.code(),
                v.owner_kind.code(),
                v.owner_person_id,
                v.owner_name,
                v.owner_phone.as_str(),
                v.owner_resident_id.as_ref().map(|r| r.as_str()),
                v.city,
                v.created_at.millis()
            ])?;
        Ok(self.conn.last_insert_rowid())
    }
    fn link_vehicles_to_owner(&mut self, resident_id: &str, person_id: i64) -> StoreResult<()> {
        self.conn
            .prepare_cached(
                "UPDATE vehicles SET owner_person_id = ?2 WHERE owner_resident_id = ?1 AND owner_person_id IS NULL \
                 AND owner_kind = 'individual'",
            )?
            .execute(params![resident_id, person_id])?;
        Ok(())
    }

    fn lock_for_binding(&mut self, _binder_id: i64, _vehicle_id: i64) -> StoreResult<()> {
        // BEGIN IMMEDIATE on the one writer connection already serialises every write job.
        Ok(())
    }
    fn binding(&mut self, id: i64) -> StoreResult<Option<BindingRow>> {
        Ok(self.bindings_where("id = ?1", id)?.into_iter().next())
    }
    fn active_bindings_of_binder(&mut self, binder_id: i64) -> StoreResult<Vec<BindingRow>> {
        self.bindings_where(
            "binder_id = ?1 AND removed_at IS NULL ORDER BY id",
            binder_id,
        )
    }
    fn active_bindings_of_vehicle(&mut self, vehicle_id: i64) -> StoreResult<Vec<BindingRow>> {
        self.bindings_where(
            "vehicle_id = ?1 AND removed_at IS NULL ORDER BY id",
            vehicle_id,
        )
    }
    fn insert_binding(&mut self, b: &NewBinding) -> StoreResult<i64> {
        self.conn
            .prepare_cached(
                "INSERT INTO bindings (binder_id, vehicle_id, relationship, method, application_id, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                b.binder_id,
                b.vehicle_id,
                b.relationship.code(),
                b.method.code(),
                b.application_id,
                b.created_at.millis()
            ])?;
        Ok(self.conn.last_insert_rowid())
    }
    fn remove_binding(
        &mut self,
        id: i64,
        at: Timestamp,
        by: i64,
        role: ActorRole,
    ) -> StoreResult<()> {
        self.conn
            .prepare_cached(
                "UPDATE bindings SET removed_at = ?2, removed_by = ?3, removed_role = ?4 WHERE id = ?1 AND removed_at IS NULL",
            )?
            .execute(params![id, at.millis(), by, role.code()])?;
        Ok(())
    }

    fn insert_application(&mut self, a: &ApplicationRow) -> StoreResult<()> {
        self.conn
            .prepare_cached(&format!(
                "INSERT INTO binding_applications ({APPLICATION_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
            ))?
            .execute(params![
                a.id,
                a.binder_id,
                a.vehicle_id,
                a.method.code(),
                a.relationship.map(|r| r.code()),
                a.status.code(),
                a.verification.map(|v| v.code()),
                a.note,
                a.binding_id,
                a.created_at.millis(),
                a.submitted_at.map(|t| t.millis()),
                a.reviewed_by,
                a.reviewed_at.map(|t| t.millis()),
                a.review_reason
            ])?;
        Ok(())
    }
    fn application(&mut self, id: &str) -> StoreResult<Option<ApplicationRow>> {
        let sql = format!("SELECT {APPLICATION_COLUMNS} FROM binding_applications WHERE id = ?1");
        self.first(&sql, &id, |r| rows::application(r))
    }
    fn update_application(&mut self, a: &ApplicationRow) -> StoreResult<()> {
        self.conn
            .prepare_cached(
                "UPDATE binding_applications SET relationship = ?2, status = ?3, verification = ?4, note = ?5, \
                 binding_id = ?6, submitted_at = ?7, reviewed_by = ?8, reviewed_at = ?9, review_reason = ?10 WHERE id = ?1",
            )?
            .execute(params![
                a.id,
                a.relationship.map(|r| r.code()),
                a.status.code(),
                a.verification.map(|v| v.code()),
                a.note,
                a.binding_id,
                a.submitted_at.map(|t| t.millis()),
                a.reviewed_by,
                a.reviewed_at.map(|t| t.millis()),
                a.review_reason
            ])?;
        Ok(())
    }
    fn applications_in_review(&mut self) -> StoreResult<Vec<ApplicationRow>> {
        let sql = format!(
            "SELECT {APPLICATION_COLUMNS} FROM binding_applications WHERE status = 'in_review' ORDER BY created_at LIMIT 500"
        );
        self.all(&sql, [], |r| rows::application(r))
    }
    fn submitted_applications(&mut self, binder_id: i64) -> StoreResult<Vec<(String, Timestamp)>> {
        self.all(
            "SELECT id, submitted_at FROM binding_applications WHERE binder_id = ?1 AND submitted_at IS NOT NULL \
             ORDER BY submitted_at DESC LIMIT 400",
            [binder_id],
            |r| rows::submitted_application(r),
        )
    }

    fn replace_active_qr_codes(&mut self, vehicle_id: i64) -> StoreResult<()> {
        self.conn
            .prepare_cached(
                "UPDATE qr_codes SET state = 'replaced' WHERE vehicle_id = ?1 AND state = 'active'",
            )?
            .execute([vehicle_id])?;
        Ok(())
    }
    fn insert_qr_code(
        &mut self,
        vehicle_id: i64,
        issued_by: i64,
        token_hash: &[u8],
        issued_at: Timestamp,
        expires_at: Timestamp,
    ) -> StoreResult<i64> {
        self.conn
            .prepare_cached(
                "INSERT INTO qr_codes (vehicle_id, issued_by, token_hash, issued_at, expires_at, state) \
                 VALUES (?1, ?2, ?3, ?4, ?5, 'active')",
            )?
            .execute(params![vehicle_id, issued_by, token_hash, issued_at.millis(), expires_at.millis()])?;
        Ok(self.conn.last_insert_rowid())
    }
    fn qr_code_by_token_hash(&mut self, token_hash: &[u8]) -> StoreResult<Option<QrCodeRow>> {
        let sql = format!("SELECT {QR_CODE_COLUMNS} FROM qr_codes WHERE token_hash = ?1");
        self.first(&sql, &token_hash, |r| rows::qr_code(r))
    }
    fn mark_qr_code_used(&mut self, id: i64, by: i64, at: Timestamp) -> StoreResult<()> {
        self.conn
            .prepare_cached(
                "UPDATE qr_codes SET state = 'used', used_by = ?2, used_at = ?3 WHERE id = ?1",
            )?
            .execute(params![id, by, at.millis()])?;
        Ok(())
    }

    fn insert_sms_challenge(&mut self, c: &SmsChallengeRow) -> StoreResult<()> {
        self.conn
            .prepare_cached(&format!(
                "INSERT INTO sms_challenges ({SMS_COLUMNS}) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
            ))?
            .execute(params![
                c.id,
                c.purpose.code(),
                c.requester,
                c.phone,
                c.plate_key,
                c.vehicle_id,
                c.salt,
                c.code_hash,
                c.delivered,
                c.created_at.millis(),
                c.expires_at.millis(),
                c.wrong_tries,
                c.consumed_at.map(|t| t.millis())
            ])?;
        Ok(())
    }
    fn sms_challenge(&mut self, id: &str) -> StoreResult<Option<SmsChallengeRow>> {
        let sql = format!("SELECT {SMS_COLUMNS} FROM sms_challenges WHERE id = ?1");
        self.first(&sql, &id, |r| rows::sms_challenge(r))
    }
    fn record_sms_wrong_try(&mut self, id: &str) -> StoreResult<()> {
        self.conn
            .prepare_cached(
                "UPDATE sms_challenges SET wrong_tries = wrong_tries + 1 WHERE id = ?1",
            )?
            .execute([id])?;
        Ok(())
    }
    fn consume_sms_challenge(&mut self, id: &str, at: Timestamp) -> StoreResult<()> {
        self.conn
            .prepare_cached(
                "UPDATE sms_challenges SET consumed_at = ?2 WHERE id = ?1 AND consumed_at IS NULL",
            )?
            .execute(params![id, at.millis()])?;
        Ok(())
    }
    fn count_sms_challenges(&mut self, key: &SmsCountKey, since: Timestamp) -> StoreResult<u32> {
        let (clause, a, b) = Self::count_key_clause(key);
        let sql =
            format!("SELECT COUNT(*) FROM sms_challenges WHERE {clause} AND created_at >= ?2");
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let n: i64 = match b {
            Some(b) => stmt.query_row(params![a, since.millis(), b], |r| r.get(0))?,
            None => stmt.query_row(params![a, since.millis()], |r| r.get(0))?,
        };
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }
    fn last_sms_challenge_at(&mut self, key: &SmsCountKey) -> StoreResult<Option<Timestamp>> {
        let (clause, a, b) = Self::count_key_clause(key);
        let sql = format!("SELECT MAX(created_at) FROM sms_challenges WHERE {clause} AND ?2 = ?2");
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let n: Option<i64> = match b {
            Some(b) => stmt.query_row(params![a, 0, b], |r| r.get(0))?,
            None => stmt.query_row(params![a, 0], |r| r.get(0))?,
        };
        Ok(ts_opt(n))
    }

    fn violation(&mut self, id: i64) -> StoreResult<Option<ViolationRow>> {
        let sql = format!("SELECT {VIOLATION_COLUMNS} FROM violations WHERE id = ?1");
        self.first(&sql, &id, |r| rows::violation(r))
    }
    fn violations_of_vehicle(
        &mut self,
        vehicle_id: i64,
        limit: u32,
    ) -> StoreResult<Vec<ViolationRow>> {
        let sql = format!(
            "SELECT {VIOLATION_COLUMNS} FROM violations WHERE vehicle_id = ?1 ORDER BY occurred_at DESC LIMIT ?2"
        );
        self.all(&sql, params![vehicle_id, limit], |r| rows::violation(r))
    }
    fn insert_violation(&mut self, v: &NewViolation) -> StoreResult<i64> {
        self.conn
            .prepare_cached(
                "INSERT INTO violations (vehicle_id, occurred_at, code, description, place, points, fine_fen, source, \
                 state, decision_number, decided_at, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            )?
            .execute(params![
                v.vehicle_id,
                v.occurred_at.millis(),
                v.code,
                v.description,
                v.place,
                v.points.value(),
                v.fine_fen.value(),
                v.source.code(),
                v.state.code(),
                v.decision_number,
                v.decided_at.map(|t| t.millis()),
                v.created_at.millis()
            ])?;
        Ok(self.conn.last_insert_rowid())
    }
    fn update_violation(&mut self, v: &ViolationRow) -> StoreResult<()> {
        self.conn
            .prepare_cached(
                "UPDATE violations SET state = ?2, handled_by = ?3, decision_number = ?4, decided_at = ?5, paid_at = ?6, \
                 paid_fen = ?7, payment_ref = ?8 WHERE id = ?1",
            )?
            .execute(params![
                v.id,
                v.state.code(),
                v.handled_by,
                v.decision_number,
                v.decided_at.map(|t| t.millis()),
                v.paid_at.map(|t| t.millis()),
                v.paid_fen.map(|f| f.value()),
                v.payment_ref
            ])?;
        Ok(())
    }

    fn insert_session(
        &mut self,
        token_hash: &[u8],
        person_id: Option<i64>,
        csrf_token: &str,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> StoreResult<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO sessions (token_hash, person_id, csrf_token, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![token_hash, person_id, csrf_token, now.millis(), expires_at.millis()])?;
        Ok(())
    }
    fn session(&mut self, token_hash: &[u8]) -> StoreResult<Option<SessionRow>> {
        let sql = format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE token_hash = ?1");
        self.first(&sql, &token_hash, |r| rows::session(r))
    }
    fn delete_session(&mut self, token_hash: &[u8]) -> StoreResult<()> {
        self.conn
            .prepare_cached("DELETE FROM sessions WHERE token_hash = ?1")?
            .execute([token_hash])?;
        Ok(())
    }

    fn idempotency_begin(
        &mut self,
        scope: &str,
        key: &str,
        fingerprint: &[u8],
        now: Timestamp,
        stale_before: Timestamp,
    ) -> StoreResult<IdempotencyBegin> {
        let existing = self
            .conn
            .prepare_cached(
                "SELECT fingerprint, state, status, body, created_at FROM idempotency_keys WHERE scope = ?1 AND key = ?2",
            )?
            .query_row(params![scope, key], |r| {
                Ok((
                    r.get::<_, Vec<u8>>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<i64>>(2)?,
                    r.get::<_, Option<Vec<u8>>>(3)?,
                    r.get::<_, i64>(4)?,
                ))
            })
            .optional()?;
        match existing {
            None => {
                self.conn
                    .prepare_cached(
                        "INSERT INTO idempotency_keys (scope, key, fingerprint, state, created_at) VALUES (?1, ?2, ?3, 'running', ?4)",
                    )?
                    .execute(params![scope, key, fingerprint, now.millis()])?;
                Ok(IdempotencyBegin::Started)
            }
            Some((fp, _, _, _, _)) if fp != fingerprint => Ok(IdempotencyBegin::Mismatch),
            Some((_, state, _, _, created)) if state == "running" => {
                if created < stale_before.millis() {
                    // The first attempt died without finishing (a crash): let this one run.
                    self.conn
                        .prepare_cached("UPDATE idempotency_keys SET created_at = ?3 WHERE scope = ?1 AND key = ?2")?
                        .execute(params![scope, key, now.millis()])?;
                    Ok(IdempotencyBegin::Started)
                } else {
                    Ok(IdempotencyBegin::InFlight)
                }
            }
            Some((_, _, status, body, _)) => Ok(IdempotencyBegin::Replay {
                status: status.and_then(|s| u16::try_from(s).ok()).unwrap_or(200),
                body: body.unwrap_or_default(),
            }),
        }
    }
    fn idempotency_finish(
        &mut self,
        scope: &str,
        key: &str,
        status: u16,
        body: &[u8],
        now: Timestamp,
    ) -> StoreResult<()> {
        self.conn
            .prepare_cached(
                "UPDATE idempotency_keys SET state = 'done', status = ?3, body = ?4, finished_at = ?5 WHERE scope = ?1 AND key = ?2",
            )?
            .execute(params![scope, key, status, body, now.millis()])?;
        Ok(())
    }
    fn idempotency_forget(&mut self, scope: &str, key: &str) -> StoreResult<()> {
        self.conn
            .prepare_cached(
                "DELETE FROM idempotency_keys WHERE scope = ?1 AND key = ?2 AND state = 'running'",
            )?
            .execute(params![scope, key])?;
        Ok(())
    }
    fn purge_expired(&mut self, keys_before: Timestamp, now: Timestamp) -> StoreResult<u64> {
        let a = self
            .conn
            .prepare_cached(
                "DELETE FROM idempotency_keys WHERE created_at < ?1 AND state = 'done'",
            )?
            .execute([keys_before.millis()])?;
        let b = self
            .conn
            .prepare_cached("DELETE FROM sessions WHERE expires_at < ?1")?
            .execute([now.millis()])?;
        let c = self
            .conn
            .prepare_cached("DELETE FROM rate_counters WHERE window_start < ?1")?
            .execute([now.millis() - 2 * 86_400_000])?;
        // One-time codes matter for their lifetime and the day's caps; QR codes for their three minutes.
        let d = self
            .conn
            .prepare_cached("DELETE FROM sms_challenges WHERE created_at < ?1")?
            .execute([now.millis() - 2 * 86_400_000])?;
        let e = self
            .conn
            .prepare_cached("DELETE FROM qr_codes WHERE expires_at < ?1")?
            .execute([now.millis() - 86_400_000])?;
        Ok((a + b + c + d + e) as u64)
    }

    fn bump_counter(&mut self, key: &str, window_start: Timestamp) -> StoreResult<u32> {
        let n: i64 = self
            .conn
            .prepare_cached(
                "INSERT INTO rate_counters (key, window_start, count) VALUES (?1, ?2, 1) \
                 ON CONFLICT (key, window_start) DO UPDATE SET count = count + 1 RETURNING count",
            )?
            .query_row(params![key, window_start.millis()], |r| r.get(0))?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }
    fn counter(&mut self, key: &str, window_start: Timestamp) -> StoreResult<u32> {
        let n: Option<i64> = self
            .conn
            .prepare_cached("SELECT count FROM rate_counters WHERE key = ?1 AND window_start = ?2")?
            .query_row(params![key, window_start.millis()], |r| r.get(0))
            .optional()?;
        Ok(n.and_then(|n| u32::try_from(n).ok()).unwrap_or(0))
    }

    fn insert_notification(
        &mut self,
        person_id: i64,
        kind: &str,
        zh: &str,
        en: &str,
        at: Timestamp,
    ) -> StoreResult<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO notifications (person_id, kind, message_zh, message_en, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![person_id, kind, zh, en, at.millis()])?;
        Ok(())
    }
    fn notifications_of(
        &mut self,
        person_id: i64,
        limit: u32,
    ) -> StoreResult<Vec<NotificationRow>> {
        let sql = format!(
            "SELECT {NOTIFICATION_COLUMNS} FROM notifications WHERE person_id = ?1 ORDER BY id DESC LIMIT ?2"
        );
        self.all(&sql, params![person_id, limit], |r| rows::notification(r))
    }
    fn append_audit(&mut self, e: &AuditEntry) -> StoreResult<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO audit_log (at, actor_id, action, subject, detail) VALUES (:at, :actor, :action, :subject, :detail)",
            )?
            .execute(named_params! {
                ":at": e.at.millis(),
                ":actor": e.actor_id,
                ":action": e.action,
                ":subject": e.subject,
                ":detail": e.detail.to_string(),
            })?;
        Ok(())
    }

    fn server_key(&mut self, name: &str) -> StoreResult<Option<Vec<u8>>> {
        Ok(self
            .conn
            .prepare_cached("SELECT key FROM server_keys WHERE name = ?1")?
            .query_row([name], |r| r.get(0))
            .optional()?)
    }
    fn insert_server_key(&mut self, name: &str, key: &[u8], at: Timestamp) -> StoreResult<()> {
        self.conn
            .prepare_cached("INSERT INTO server_keys (name, key, created_at) VALUES (?1, ?2, ?3)")?
            .execute(params![name, key, at.millis()])?;
        Ok(())
    }
}
