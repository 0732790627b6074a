//! The PostgreSQL store, for running several server instances against one database.
//!
//! Jobs run on tokio's blocking threads with the synchronous `postgres` client, taken from a small r2d2
//! pool: `Tx` is synchronous and a job is one closure, so a blocking connection per job is the plainest fit
//! (an async client would have to be driven from inside the same blocking call anyway).
//!
//! Unlike the SQLite store, write jobs run concurrently. Each is one READ COMMITTED transaction; what the
//! single SQLite writer gave for free is rebuilt with row locks:
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

pub use copy::{copy_from_sqlite, CopyReport};

use super::rows::{
    self, ts_opt, Columns, APPLICATION_COLUMNS, BINDING_COLUMNS, NOTIFICATION_COLUMNS,
    PERSON_COLUMNS, QR_CODE_COLUMNS, SESSION_COLUMNS, SMS_COLUMNS, VEHICLE_COLUMNS,
    VIOLATION_COLUMNS,
};
use super::{
    ApplicationRow, AuditEntry, BindingRow, BoxFuture, IdempotencyBegin, Job, NewBinding,
    NewPerson, NewVehicle, NewViolation, NotificationRow, Outcome, PersonRow, QrCodeRow,
    SessionRow, SmsChallengeRow, SmsCountKey, Store, StoreError, StoreResult, Tx, VehicleRow,
    ViolationRow,
};
use ::postgres::types::{ToSql, Type};
use ::postgres::{Client, NoTls, Row, Statement};
use renche::domain::{ActorRole, Fen, PlateType};
use renche::Timestamp;
use std::collections::HashMap;
use std::time::Duration;

/// The versioned migrations, applied in order once each (same numbering as the SQLite ones).
const MIGRATIONS: &[(&str, &str)] = &[(
    "0001_initial",
    include_str!("../../migrations/postgres/0001_initial.sql"),
)];

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
            // Deadlocks and serialization failures stay internal errors (500): the idempotency guard then
            // releases the key and the client's retry runs again.
            _ => StoreError::Database(e.to_string()),
        }
    }
}

impl From<r2d2::Error> for StoreError {
    fn from(e: r2d2::Error) -> Self {
        StoreError::Database(format!("connection pool: {e}"))
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

impl Drop for Conn {
    fn drop(&mut self) {
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

/// `renche-server migrate-data --from sqlite://… --to postgres://…`: migrates the target, then copies every
/// row of the source into it in one transaction (see `copy`).
pub fn migrate_data(from: &str, to: &str, now: Timestamp) -> StoreResult<CopyReport> {
    let source = super::sqlite::path_of_url(from);
    if !source.is_file() {
        return Err(StoreError::Database(format!(
            "{} is not a SQLite database file",
            source.display()
        )));
    }
    let target = PgStore::open(to, now)?;
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut conn = target.pool.get()?;
            copy_from_sqlite(&source, conn.client()?)
        })
        .join()
        .unwrap_or_else(|_| Err(StoreError::Database("the copy panicked".into())))
    })
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
    let mut conn = pool.get()?;
    conn.client()?.batch_execute(if write {
        "BEGIN ISOLATION LEVEL READ COMMITTED"
    } else {
        "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
    })?;
    let mut tx = PgTx {
        conn: &mut conn,
        write,
        failed: false,
        binding_locked: false,
    };
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(&mut tx)));
    let failed = tx.failed;
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

struct PgTx<'c> {
    conn: &'c mut Conn,
    /// A write job: reads lock the rows the flow may change.
    write: bool,
    /// A statement failed, so PostgreSQL has aborted the transaction.
    failed: bool,
    /// `lock_for_binding` ran: person rows read from now on are not locked (see `person_lock_clause`).
    binding_locked: bool,
}

fn millis(t: Option<Timestamp>) -> Option<i64> {
    t.map(|t| t.millis())
}
fn fen_i64(f: Fen) -> i64 {
    i64::try_from(f.value()).unwrap_or(i64::MAX)
}
fn small(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}
fn count_u32(n: i64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl Columns for Row {
    fn int(&self, i: usize) -> StoreResult<i64> {
        if is_int4(self, i) {
            Ok(i64::from(self.try_get::<_, i32>(i)?))
        } else {
            Ok(self.try_get(i)?)
        }
    }
    fn text(&self, i: usize) -> StoreResult<String> {
        Ok(self.try_get(i)?)
    }
    fn flag(&self, i: usize) -> StoreResult<bool> {
        Ok(self.try_get(i)?)
    }
    fn opt_int(&self, i: usize) -> StoreResult<Option<i64>> {
        if is_int4(self, i) {
            Ok(self.try_get::<_, Option<i32>>(i)?.map(i64::from))
        } else {
            Ok(self.try_get(i)?)
        }
    }
    fn opt_text(&self, i: usize) -> StoreResult<Option<String>> {
        Ok(self.try_get(i)?)
    }
    fn bytes(&self, i: usize) -> StoreResult<Vec<u8>> {
        Ok(self.try_get(i)?)
    }
}

/// Whether column `i` is an INTEGER (points, counts), which the driver reads only as i32.
fn is_int4(r: &Row, i: usize) -> bool {
    r.columns().get(i).is_some_and(|c| *c.type_() == Type::INT4)
}

impl PgTx<'_> {
    fn statement(&mut self, sql: &str) -> StoreResult<Statement> {
        if let Some(s) = self.conn.statements.get(sql) {
            return Ok(s.clone());
        }
        let prepared = self.conn.client()?.prepare(sql);
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
    fn query(&mut self, sql: &str, params: &[Param<'_>]) -> StoreResult<Vec<Row>> {
        let s = self.statement(sql)?;
        let r = self.conn.client()?.query(&s, params);
        self.check(r)
    }
    fn query_opt(&mut self, sql: &str, params: &[Param<'_>]) -> StoreResult<Option<Row>> {
        let s = self.statement(sql)?;
        let r = self.conn.client()?.query_opt(&s, params);
        self.check(r)
    }
    fn query_one(&mut self, sql: &str, params: &[Param<'_>]) -> StoreResult<Row> {
        let s = self.statement(sql)?;
        let r = self.conn.client()?.query_one(&s, params);
        self.check(r)
    }
    fn execute(&mut self, sql: &str, params: &[Param<'_>]) -> StoreResult<u64> {
        let s = self.statement(sql)?;
        let r = self.conn.client()?.execute(&s, params);
        self.check(r)
    }
    /// ` FOR NO KEY UPDATE` inside a write job, nothing in a read snapshot.
    fn lock_clause(&self) -> &'static str {
        if self.write {
            " FOR NO KEY UPDATE"
        } else {
            ""
        }
    }
    /// People are locked before vehicles, always: after `lock_for_binding` has locked a vehicle, reading
    /// another person (an officer, an owner) must not wait for that person's row, or a commit holding it and
    /// waiting for this vehicle would close a circle. Such a job only reads them; the person whose count
    /// matters is already locked.
    fn person_lock_clause(&self) -> &'static str {
        if self.binding_locked {
            ""
        } else {
            self.lock_clause()
        }
    }
    fn advisory_lock(&mut self, class: i32, key: &str) -> StoreResult<()> {
        if self.write {
            self.execute(
                "SELECT pg_advisory_xact_lock($1, hashtext($2))",
                &[&class, &key],
            )?;
        }
        Ok(())
    }

    fn one_person(&mut self, clause: &str, arg: Param<'_>) -> StoreResult<Option<PersonRow>> {
        let sql = format!(
            "SELECT {PERSON_COLUMNS} FROM people WHERE {clause}{}",
            self.person_lock_clause()
        );
        self.query_opt(&sql, &[arg])?
            .map(|r| rows::person(&r))
            .transpose()
    }
    fn vehicles_where(&mut self, clause: &str, args: &[Param<'_>]) -> StoreResult<Vec<VehicleRow>> {
        let sql = format!("SELECT {VEHICLE_COLUMNS} FROM vehicles WHERE {clause}");
        self.query(&sql, args)?.iter().map(rows::vehicle).collect()
    }
    fn bindings_where(&mut self, clause: &str, arg: i64) -> StoreResult<Vec<BindingRow>> {
        let sql = format!("SELECT {BINDING_COLUMNS} FROM bindings WHERE {clause}");
        self.query(&sql, &[&arg])?
            .iter()
            .map(rows::binding)
            .collect()
    }
    /// The WHERE clause and arguments of an SMS count key, with the advisory-lock name.
    fn sms_key(key: &SmsCountKey) -> (&'static str, Vec<String>, String) {
        match key {
            SmsCountKey::Phone(p) => (
                "phone = $1 AND delivered",
                vec![p.clone()],
                format!("phone:{p}"),
            ),
            SmsCountKey::Plate(k) => ("plate_key = $1", vec![k.clone()], format!("plate:{k}")),
            SmsCountKey::RequesterPlate {
                requester,
                plate_key,
            } => (
                "requester = $1 AND plate_key = $2",
                vec![requester.clone(), plate_key.clone()],
                format!("requester-plate:{requester}:{plate_key}"),
            ),
        }
    }
}

impl Tx for PgTx<'_> {
    fn person(&mut self, id: i64) -> StoreResult<Option<PersonRow>> {
        self.one_person("id = $1", &id)
    }
    fn person_by_phone(&mut self, phone: &str) -> StoreResult<Option<PersonRow>> {
        self.one_person("phone = $1", &phone)
    }
    fn person_by_resident_id(&mut self, resident_id: &str) -> StoreResult<Option<PersonRow>> {
        self.one_person("resident_id = $1", &resident_id)
    }
    fn insert_person(&mut self, p: &NewPerson) -> StoreResult<i64> {
        let (class, status, points, cycle) = match &p.licence {
            Some(l) => (
                Some(l.class.code()),
                Some(l.status.code()),
                small(l.points),
                millis(l.cycle_start),
            ),
            None => (None, None, 0, None),
        };
        let row = self.query_one(
            "INSERT INTO people (name, resident_id, phone, registered_at, identity_verified, role, licence_class, \
             licence_status, licence_points, licence_cycle_start, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
            &[
                &p.name,
                &p.resident_id.as_str(),
                &p.phone.as_str(),
                &millis(p.registered_at),
                &p.identity_verified,
                &p.role.code(),
                &class,
                &status,
                &points,
                &cycle,
                &p.created_at.millis(),
            ],
        )?;
        Ok(row.try_get(0)?)
    }
    fn register_person(
        &mut self,
        id: i64,
        name: &str,
        phone: &str,
        at: Timestamp,
    ) -> StoreResult<()> {
        self.execute(
            "UPDATE people SET registered_at = $2, name = $3, phone = $4 WHERE id = $1",
            &[&id, &at.millis(), &name, &phone],
        )?;
        Ok(())
    }
    fn set_identity_verified(&mut self, id: i64) -> StoreResult<()> {
        self.execute(
            "UPDATE people SET identity_verified = TRUE WHERE id = $1",
            &[&id],
        )?;
        Ok(())
    }
    fn set_licence_points(
        &mut self,
        id: i64,
        points: u32,
        cycle_start: Option<Timestamp>,
    ) -> StoreResult<()> {
        self.execute(
            "UPDATE people SET licence_points = $2, licence_cycle_start = $3 WHERE id = $1",
            &[&id, &small(points), &millis(cycle_start)],
        )?;
        Ok(())
    }
    fn count_people(&mut self) -> StoreResult<i64> {
        Ok(self
            .query_one("SELECT COUNT(*) FROM people", &[])?
            .try_get(0)?)
    }

    fn vehicle(&mut self, id: i64) -> StoreResult<Option<VehicleRow>> {
        Ok(self.vehicles_where("id = $1", &[&id])?.into_iter().next())
    }
    fn vehicle_by_plate(
        &mut self,
        plate_type: PlateType,
        plate_number: &str,
    ) -> StoreResult<Option<VehicleRow>> {
        Ok(self
            .vehicles_where(
                "plate_type = $1 AND plate_number = $2",
                &[&plate_type.code(), &plate_number],
            )?
            .into_iter()
            .next())
    }
    fn vehicles_owned_by(&mut self, person_id: i64) -> StoreResult<Vec<VehicleRow>> {
        self.vehicles_where("owner_person_id = $1 ORDER BY id", &[&person_id])
    }
    fn insert_vehicle(&mut self, v: &NewVehicle) -> StoreResult<i64> {
        let row = self.query_one(
            "INSERT INTO vehicles (plate_type, plate_number, engine_number, engine_suffix, use_nature, owner_kind, \
             owner_person_id, owner_name, owner_phone, owner_resident_id, city, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
            &[
                &v.plate_number.plate_type().code(),
                &v.plate_number.as_str(),
                &v.engine_number,
                &v.engine_suffix.as_str(),
                &v.use_nature.code(),
                &v.owner_kind.code(),
                &v.owner_person_id,
                &v.owner_name,
                &v.owner_phone.as_str(),
                &v.owner_resident_id.as_ref().map(|r| r.as_str()),
                &v.city,
                &v.created_at.millis(),
            ],
        )?;
        Ok(row.try_get(0)?)
    }
    fn link_vehicles_to_owner(&mut self, resident_id: &str, person_id: i64) -> StoreResult<()> {
        self.execute(
            "UPDATE vehicles SET owner_person_id = $2 WHERE owner_resident_id = $1 AND owner_person_id IS NULL \
             AND owner_kind = 'individual'",
            &[&resident_id, &person_id],
        )?;
        Ok(())
    }

    fn lock_for_binding(&mut self, binder_id: i64, vehicle_id: i64) -> StoreResult<()> {
        // Always the person first, then the vehicle: two commits can never wait on each other in a circle.
        // NO KEY UPDATE, not UPDATE: inserting rows that reference these (bindings, notifications) takes
        // KEY SHARE locks, which this mode does not block.
        self.execute(
            "SELECT 1 FROM people WHERE id = $1 FOR NO KEY UPDATE",
            &[&binder_id],
        )?;
        self.execute(
            "SELECT 1 FROM vehicles WHERE id = $1 FOR NO KEY UPDATE",
            &[&vehicle_id],
        )?;
        self.binding_locked = true;
        Ok(())
    }
    fn binding(&mut self, id: i64) -> StoreResult<Option<BindingRow>> {
        let clause = format!("id = $1{}", self.lock_clause());
        Ok(self.bindings_where(&clause, id)?.into_iter().next())
    }
    fn active_bindings_of_binder(&mut self, binder_id: i64) -> StoreResult<Vec<BindingRow>> {
        self.bindings_where(
            "binder_id = $1 AND removed_at IS NULL ORDER BY id",
            binder_id,
        )
    }
    fn active_bindings_of_vehicle(&mut self, vehicle_id: i64) -> StoreResult<Vec<BindingRow>> {
        self.bindings_where(
            "vehicle_id = $1 AND removed_at IS NULL ORDER BY id",
            vehicle_id,
        )
    }
    fn insert_binding(&mut self, b: &NewBinding) -> StoreResult<i64> {
        let row = self.query_one(
            "INSERT INTO bindings (binder_id, vehicle_id, relationship, method, application_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            &[
                &b.binder_id,
                &b.vehicle_id,
                &b.relationship.code(),
                &b.method.code(),
                &b.application_id,
                &b.created_at.millis(),
            ],
        )?;
        Ok(row.try_get(0)?)
    }
    fn remove_binding(
        &mut self,
        id: i64,
        at: Timestamp,
        by: i64,
        role: ActorRole,
    ) -> StoreResult<()> {
        self.execute(
            "UPDATE bindings SET removed_at = $2, removed_by = $3, removed_role = $4 WHERE id = $1 AND removed_at IS NULL",
            &[&id, &at.millis(), &by, &role.code()],
        )?;
        Ok(())
    }

    fn insert_application(&mut self, a: &ApplicationRow) -> StoreResult<()> {
        self.execute(
            &format!(
                "INSERT INTO binding_applications ({APPLICATION_COLUMNS}) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
            ),
            &[
                &a.id,
                &a.binder_id,
                &a.vehicle_id,
                &a.method.code(),
                &a.relationship.map(|r| r.code()),
                &a.status.code(),
                &a.verification.map(|v| v.code()),
                &a.note,
                &a.binding_id,
                &a.created_at.millis(),
                &millis(a.submitted_at),
                &a.reviewed_by,
                &millis(a.reviewed_at),
                &a.review_reason,
            ],
        )?;
        Ok(())
    }
    fn application(&mut self, id: &str) -> StoreResult<Option<ApplicationRow>> {
        let sql = format!(
            "SELECT {APPLICATION_COLUMNS} FROM binding_applications WHERE id = $1{}",
            self.lock_clause()
        );
        self.query_opt(&sql, &[&id])?
            .map(|r| rows::application(&r))
            .transpose()
    }
    fn update_application(&mut self, a: &ApplicationRow) -> StoreResult<()> {
        self.execute(
            "UPDATE binding_applications SET relationship = $2, status = $3, verification = $4, note = $5, \
             binding_id = $6, submitted_at = $7, reviewed_by = $8, reviewed_at = $9, review_reason = $10 WHERE id = $1",
            &[
                &a.id,
                &a.relationship.map(|r| r.code()),
                &a.status.code(),
                &a.verification.map(|v| v.code()),
                &a.note,
                &a.binding_id,
                &millis(a.submitted_at),
                &a.reviewed_by,
                &millis(a.reviewed_at),
                &a.review_reason,
            ],
        )?;
        Ok(())
    }
    fn applications_in_review(&mut self) -> StoreResult<Vec<ApplicationRow>> {
        let sql = format!(
            "SELECT {APPLICATION_COLUMNS} FROM binding_applications WHERE status = 'in_review' \
             ORDER BY created_at LIMIT 500"
        );
        self.query(&sql, &[])?
            .iter()
            .map(rows::application)
            .collect()
    }
    fn submitted_applications(&mut self, binder_id: i64) -> StoreResult<Vec<(String, Timestamp)>> {
        self.query(
            "SELECT id, submitted_at FROM binding_applications WHERE binder_id = $1 AND submitted_at IS NOT NULL \
             ORDER BY submitted_at DESC LIMIT 400",
            &[&binder_id],
        )?
        .iter()
        .map(rows::submitted_application)
        .collect()
    }

    fn replace_active_qr_codes(&mut self, vehicle_id: i64) -> StoreResult<()> {
        self.execute(
            "UPDATE qr_codes SET state = 'replaced' WHERE vehicle_id = $1 AND state = 'active'",
            &[&vehicle_id],
        )?;
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
        let row = self.query_one(
            "INSERT INTO qr_codes (vehicle_id, issued_by, token_hash, issued_at, expires_at, state) \
             VALUES ($1, $2, $3, $4, $5, 'active') RETURNING id",
            &[
                &vehicle_id,
                &issued_by,
                &token_hash,
                &issued_at.millis(),
                &expires_at.millis(),
            ],
        )?;
        Ok(row.try_get(0)?)
    }
    fn qr_code_by_token_hash(&mut self, token_hash: &[u8]) -> StoreResult<Option<QrCodeRow>> {
        let sql = format!(
            "SELECT {QR_CODE_COLUMNS} FROM qr_codes WHERE token_hash = $1{}",
            self.lock_clause()
        );
        self.query_opt(&sql, &[&token_hash])?
            .map(|r| rows::qr_code(&r))
            .transpose()
    }
    fn mark_qr_code_used(&mut self, id: i64, by: i64, at: Timestamp) -> StoreResult<()> {
        self.execute(
            "UPDATE qr_codes SET state = 'used', used_by = $2, used_at = $3 WHERE id = $1",
            &[&id, &by, &at.millis()],
        )?;
        Ok(())
    }

    fn insert_sms_challenge(&mut self, c: &SmsChallengeRow) -> StoreResult<()> {
        self.execute(
            &format!(
                "INSERT INTO sms_challenges ({SMS_COLUMNS}) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
            ),
            &[
                &c.id,
                &c.purpose.code(),
                &c.requester,
                &c.phone,
                &c.plate_key,
                &c.vehicle_id,
                &c.salt,
                &c.code_hash,
                &c.delivered,
                &c.created_at.millis(),
                &c.expires_at.millis(),
                &small(c.wrong_tries),
                &millis(c.consumed_at),
            ],
        )?;
        Ok(())
    }
    fn sms_challenge(&mut self, id: &str) -> StoreResult<Option<SmsChallengeRow>> {
        let sql = format!(
            "SELECT {SMS_COLUMNS} FROM sms_challenges WHERE id = $1{}",
            self.lock_clause()
        );
        self.query_opt(&sql, &[&id])?
            .map(|r| rows::sms_challenge(&r))
            .transpose()
    }
    fn record_sms_wrong_try(&mut self, id: &str) -> StoreResult<()> {
        self.execute(
            "UPDATE sms_challenges SET wrong_tries = wrong_tries + 1 WHERE id = $1",
            &[&id],
        )?;
        Ok(())
    }
    fn consume_sms_challenge(&mut self, id: &str, at: Timestamp) -> StoreResult<()> {
        self.execute(
            "UPDATE sms_challenges SET consumed_at = $2 WHERE id = $1 AND consumed_at IS NULL",
            &[&id, &at.millis()],
        )?;
        Ok(())
    }
    fn count_sms_challenges(&mut self, key: &SmsCountKey, since: Timestamp) -> StoreResult<u32> {
        let (clause, args, lock) = Self::sms_key(key);
        // Held to the end of the job: the count and the insert that follows it are one step.
        self.advisory_lock(LOCK_SMS_COUNT, &lock)?;
        let n = args.len() + 1;
        let sql =
            format!("SELECT COUNT(*) FROM sms_challenges WHERE {clause} AND created_at >= ${n}");
        let since = since.millis();
        let mut params: Vec<Param<'_>> = args.iter().map(|a| a as Param<'_>).collect();
        params.push(&since);
        let count: i64 = self.query_one(&sql, &params)?.try_get(0)?;
        Ok(count_u32(count))
    }
    fn last_sms_challenge_at(&mut self, key: &SmsCountKey) -> StoreResult<Option<Timestamp>> {
        let (clause, args, lock) = Self::sms_key(key);
        self.advisory_lock(LOCK_SMS_COUNT, &lock)?;
        let sql = format!("SELECT MAX(created_at) FROM sms_challenges WHERE {clause}");
        let params: Vec<Param<'_>> = args.iter().map(|a| a as Param<'_>).collect();
        let last: Option<i64> = self.query_one(&sql, &params)?.try_get(0)?;
        Ok(ts_opt(last))
    }

    fn violation(&mut self, id: i64) -> StoreResult<Option<ViolationRow>> {
        let sql = format!(
            "SELECT {VIOLATION_COLUMNS} FROM violations WHERE id = $1{}",
            self.lock_clause()
        );
        self.query_opt(&sql, &[&id])?
            .map(|r| rows::violation(&r))
            .transpose()
    }
    fn violations_of_vehicle(
        &mut self,
        vehicle_id: i64,
        limit: u32,
    ) -> StoreResult<Vec<ViolationRow>> {
        let sql = format!(
            "SELECT {VIOLATION_COLUMNS} FROM violations WHERE vehicle_id = $1 ORDER BY occurred_at DESC LIMIT $2"
        );
        self.query(&sql, &[&vehicle_id, &i64::from(limit)])?
            .iter()
            .map(rows::violation)
            .collect()
    }
    fn insert_violation(&mut self, v: &NewViolation) -> StoreResult<i64> {
        let row = self.query_one(
            "INSERT INTO violations (vehicle_id, occurred_at, code, description, place, points, fine_fen, source, \
             state, decision_number, decided_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
            &[
                &v.vehicle_id,
                &v.occurred_at.millis(),
                &v.code,
                &v.description,
                &v.place,
                &i32::from(v.points.value()),
                &fen_i64(v.fine_fen),
                &v.source.code(),
                &v.state.code(),
                &v.decision_number,
                &millis(v.decided_at),
                &v.created_at.millis(),
            ],
        )?;
        Ok(row.try_get(0)?)
    }
    fn update_violation(&mut self, v: &ViolationRow) -> StoreResult<()> {
        self.execute(
            "UPDATE violations SET state = $2, handled_by = $3, decision_number = $4, decided_at = $5, paid_at = $6, \
             paid_fen = $7, payment_ref = $8 WHERE id = $1",
            &[
                &v.id,
                &v.state.code(),
                &v.handled_by,
                &v.decision_number,
                &millis(v.decided_at),
                &millis(v.paid_at),
                &v.paid_fen.map(fen_i64),
                &v.payment_ref,
            ],
        )?;
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
        self.execute(
            "INSERT INTO sessions (token_hash, person_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
            &[&token_hash, &person_id, &csrf_token, &now.millis(), &expires_at.millis()],
        )?;
        Ok(())
    }
    fn session(&mut self, token_hash: &[u8]) -> StoreResult<Option<SessionRow>> {
        let sql = format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE token_hash = $1");
        self.query_opt(&sql, &[&token_hash])?
            .map(|r| rows::session(&r))
            .transpose()
    }
    fn delete_session(&mut self, token_hash: &[u8]) -> StoreResult<()> {
        self.execute("DELETE FROM sessions WHERE token_hash = $1", &[&token_hash])?;
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
        // Claim the key; if another instance holds it in an open transaction this waits for that one to end,
        // then finds its row. Either way the row is ours to inspect under a lock.
        let claimed = self.execute(
            "INSERT INTO idempotency_keys (scope, key, fingerprint, state, created_at) \
             VALUES ($1, $2, $3, 'running', $4) ON CONFLICT (scope, key) DO NOTHING",
            &[&scope, &key, &fingerprint, &now.millis()],
        )?;
        if claimed == 1 {
            return Ok(IdempotencyBegin::Started);
        }
        let Some(r) = self.query_opt(
            "SELECT fingerprint, state, status, body, created_at FROM idempotency_keys \
             WHERE scope = $1 AND key = $2 FOR UPDATE",
            &[&scope, &key],
        )?
        else {
            // Purged between the two statements: claim it again.
            self.execute(
                "INSERT INTO idempotency_keys (scope, key, fingerprint, state, created_at) \
                 VALUES ($1, $2, $3, 'running', $4)",
                &[&scope, &key, &fingerprint, &now.millis()],
            )?;
            return Ok(IdempotencyBegin::Started);
        };
        let stored: Vec<u8> = r.try_get(0)?;
        let state: String = r.try_get(1)?;
        let status: Option<i32> = r.try_get(2)?;
        let body: Option<Vec<u8>> = r.try_get(3)?;
        let created: i64 = r.try_get(4)?;
        if stored != fingerprint {
            return Ok(IdempotencyBegin::Mismatch);
        }
        if state == "running" {
            if created < stale_before.millis() {
                // The first attempt died without finishing (a crash): let this one run.
                self.execute(
                    "UPDATE idempotency_keys SET created_at = $3 WHERE scope = $1 AND key = $2",
                    &[&scope, &key, &now.millis()],
                )?;
                return Ok(IdempotencyBegin::Started);
            }
            return Ok(IdempotencyBegin::InFlight);
        }
        Ok(IdempotencyBegin::Replay {
            status: status.and_then(|s| u16::try_from(s).ok()).unwrap_or(200),
            body: body.unwrap_or_default(),
        })
    }
    fn idempotency_finish(
        &mut self,
        scope: &str,
        key: &str,
        status: u16,
        body: &[u8],
        now: Timestamp,
    ) -> StoreResult<()> {
        self.execute(
            "UPDATE idempotency_keys SET state = 'done', status = $3, body = $4, finished_at = $5 \
             WHERE scope = $1 AND key = $2",
            &[&scope, &key, &i32::from(status), &body, &now.millis()],
        )?;
        Ok(())
    }
    fn idempotency_forget(&mut self, scope: &str, key: &str) -> StoreResult<()> {
        self.execute(
            "DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 AND state = 'running'",
            &[&scope, &key],
        )?;
        Ok(())
    }
    fn purge_expired(&mut self, keys_before: Timestamp, now: Timestamp) -> StoreResult<u64> {
        let a = self.execute(
            "DELETE FROM idempotency_keys WHERE created_at < $1 AND state = 'done'",
            &[&keys_before.millis()],
        )?;
        let b = self.execute(
            "DELETE FROM sessions WHERE expires_at < $1",
            &[&now.millis()],
        )?;
        let c = self.execute(
            "DELETE FROM rate_counters WHERE window_start < $1",
            &[&(now.millis() - 2 * 86_400_000)],
        )?;
        // One-time codes matter for their lifetime and the day's caps; QR codes for their three minutes.
        let d = self.execute(
            "DELETE FROM sms_challenges WHERE created_at < $1",
            &[&(now.millis() - 2 * 86_400_000)],
        )?;
        let e = self.execute(
            "DELETE FROM qr_codes WHERE expires_at < $1",
            &[&(now.millis() - 86_400_000)],
        )?;
        Ok(a + b + c + d + e)
    }

    fn bump_counter(&mut self, key: &str, window_start: Timestamp) -> StoreResult<u32> {
        let n: i32 = self
            .query_one(
                "INSERT INTO rate_counters (key, window_start, count) VALUES ($1, $2, 1) \
                 ON CONFLICT (key, window_start) DO UPDATE SET count = rate_counters.count + 1 RETURNING count",
                &[&key, &window_start.millis()],
            )?
            .try_get(0)?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }
    fn counter(&mut self, key: &str, window_start: Timestamp) -> StoreResult<u32> {
        let n: Option<i32> = match self.query_opt(
            "SELECT count FROM rate_counters WHERE key = $1 AND window_start = $2",
            &[&key, &window_start.millis()],
        )? {
            Some(r) => r.try_get(0)?,
            None => None,
        };
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
        self.execute(
            "INSERT INTO notifications (person_id, kind, message_zh, message_en, created_at) VALUES ($1, $2, $3, $4, $5)",
            &[&person_id, &kind, &zh, &en, &at.millis()],
        )?;
        Ok(())
    }
    fn notifications_of(
        &mut self,
        person_id: i64,
        limit: u32,
    ) -> StoreResult<Vec<NotificationRow>> {
        self.query(
            &format!(
                "SELECT {NOTIFICATION_COLUMNS} FROM notifications WHERE person_id = $1 \
                 ORDER BY id DESC LIMIT $2"
            ),
            &[&person_id, &i64::from(limit)],
        )?
        .iter()
        .map(rows::notification)
        .collect()
    }
    fn append_audit(&mut self, e: &AuditEntry) -> StoreResult<()> {
        self.execute(
            "INSERT INTO audit_log (at, actor_id, action, subject, detail) VALUES ($1, $2, $3, $4, $5)",
            &[
                &e.at.millis(),
                &e.actor_id,
                &e.action,
                &e.subject,
                &e.detail.to_string(),
            ],
        )?;
        Ok(())
    }

    fn server_key(&mut self, name: &str) -> StoreResult<Option<Vec<u8>>> {
        // Instances starting together must agree on one key: the second waits here for the first's insert.
        self.advisory_lock(LOCK_SERVER_KEY, name)?;
        match self.query_opt("SELECT key FROM server_keys WHERE name = $1", &[&name])? {
            Some(r) => Ok(Some(r.try_get(0)?)),
            None => Ok(None),
        }
    }
    fn insert_server_key(&mut self, name: &str, key: &[u8], at: Timestamp) -> StoreResult<()> {
        self.execute(
            "INSERT INTO server_keys (name, key, created_at) VALUES ($1, $2, $3)",
            &[&name, &key, &at.millis()],
        )?;
        Ok(())
    }
}
