//! The statements, written once for both stores, and the one `Tx` that runs them.
//!
//! Statements use SQLite's numbered placeholders (`?1`); the PostgreSQL connection turns them into `$1`
//! when it prepares a statement. Both databases take `RETURNING`, `TRUE` and `ON CONFLICT`, so what is left
//! to the connection (`Db`) is locking: PostgreSQL runs write jobs concurrently and rebuilds with row and
//! advisory locks what the single SQLite writer gives for free (see `postgres`).

use super::rows::{
    self, ts_opt, Columns, ACCOUNT_COLUMNS, APPLICATION_COLUMNS, BINDING_COLUMNS,
    NOTIFICATION_COLUMNS, PERSON_COLUMNS, QR_CODE_COLUMNS, SESSION_COLUMNS, SMS_COLUMNS,
    VEHICLE_COLUMNS, VERIFICATION_COLUMNS, VIOLATION_COLUMNS,
};
use super::{
    AccountRow, ApplicationRow, AuditEntry, BindingRow, BindingsOf, IdempotencyBegin, KioskRow,
    NewBinding, NewPerson, NewVehicle, NewViolation, NotificationRow, PersonRow, QrCodeRow,
    ReviewPhotoRow, SessionRow, SmsChallengeRow, SmsCountKey, SmsNoticeRow, StoreError,
    StoreResult, StoredKey, Tx, VehicleRow, VerificationRow, VerificationStatus, ViolationRow,
};
use super::{ActiveBinding, ApplicationStatus, BindingFactsRows, OpenViolations};
use renche::domain::{ActorRole, Fen, PlateType, Relationship};
use renche::Timestamp;

/// A statement argument, as the schema's column types take it.
#[derive(Clone, Copy, Debug)]
pub(super) enum Arg<'a> {
    /// Any integer column: PostgreSQL narrows it to the column's INTEGER where the schema says so.
    Int(Option<i64>),
    Text(Option<&'a str>),
    Bytes(Option<&'a [u8]>),
    Flag(bool),
}

impl From<i64> for Arg<'_> {
    fn from(v: i64) -> Self {
        Arg::Int(Some(v))
    }
}
impl From<Option<i64>> for Arg<'_> {
    fn from(v: Option<i64>) -> Self {
        Arg::Int(v)
    }
}
impl From<u32> for Arg<'_> {
    fn from(v: u32) -> Self {
        Arg::Int(Some(i64::from(v)))
    }
}
impl From<Timestamp> for Arg<'_> {
    fn from(t: Timestamp) -> Self {
        Arg::Int(Some(t.millis()))
    }
}
impl From<Option<Timestamp>> for Arg<'_> {
    fn from(t: Option<Timestamp>) -> Self {
        Arg::Int(t.map(|t| t.millis()))
    }
}
impl From<Option<Fen>> for Arg<'_> {
    fn from(f: Option<Fen>) -> Self {
        // Fen is capped far below i64::MAX.
        Arg::Int(f.map(|f| i64::try_from(f.value()).unwrap_or(i64::MAX)))
    }
}
impl<'a> From<&'a str> for Arg<'a> {
    fn from(v: &'a str) -> Self {
        Arg::Text(Some(v))
    }
}
impl<'a> From<&'a String> for Arg<'a> {
    fn from(v: &'a String) -> Self {
        Arg::Text(Some(v))
    }
}
impl<'a> From<Option<&'a str>> for Arg<'a> {
    fn from(v: Option<&'a str>) -> Self {
        Arg::Text(v)
    }
}
impl<'a> From<&'a Option<String>> for Arg<'a> {
    fn from(v: &'a Option<String>) -> Self {
        Arg::Text(v.as_deref())
    }
}
impl<'a> From<&'a [u8]> for Arg<'a> {
    fn from(v: &'a [u8]) -> Self {
        Arg::Bytes(Some(v))
    }
}
impl<'a> From<&'a Vec<u8>> for Arg<'a> {
    fn from(v: &'a Vec<u8>) -> Self {
        Arg::Bytes(Some(v))
    }
}
impl From<bool> for Arg<'_> {
    fn from(v: bool) -> Self {
        Arg::Flag(v)
    }
}

/// An `Arg` that owns its value, for a statement kept to be sent later.
#[derive(Clone, Debug)]
pub(super) enum OwnedArg {
    Int(Option<i64>),
    Text(Option<String>),
    Bytes(Option<Vec<u8>>),
    Flag(bool),
}

impl From<&Arg<'_>> for OwnedArg {
    fn from(a: &Arg<'_>) -> Self {
        match *a {
            Arg::Int(v) => OwnedArg::Int(v),
            Arg::Text(v) => OwnedArg::Text(v.map(str::to_owned)),
            Arg::Bytes(v) => OwnedArg::Bytes(v.map(<[u8]>::to_vec)),
            Arg::Flag(v) => OwnedArg::Flag(v),
        }
    }
}

impl OwnedArg {
    pub(super) fn as_arg(&self) -> Arg<'_> {
        match self {
            OwnedArg::Int(v) => Arg::Int(*v),
            OwnedArg::Text(v) => Arg::Text(v.as_deref()),
            OwnedArg::Bytes(v) => Arg::Bytes(v.as_deref()),
            OwnedArg::Flag(v) => Arg::Flag(*v),
        }
    }
}

/// The arguments of one statement, `?1` first.
macro_rules! args {
    ($($a:expr),* $(,)?) => { &[$(Arg::from($a)),*] };
}

/// Which transaction-scoped advisory lock to take (PostgreSQL; SQLite serialises writes already).
#[derive(Clone, Copy, Debug)]
pub(super) enum Advisory {
    /// Making a server key, so that instances starting together agree on one.
    ServerKey,
    /// Counting SMS challenges before sending one: the count and the insert that follows are one step.
    SmsCount,
}

/// What a query hands each of its rows to, in order.
pub(super) type EachRow<'a> = &'a mut dyn FnMut(&dyn Columns) -> StoreResult<()>;

/// One database connection inside a job's transaction: what each store provides.
pub(super) trait Db {
    /// Whether reads that the flow may act on lock their rows (`FOR … UPDATE`): PostgreSQL write jobs.
    fn row_locks(&self) -> bool;
    /// Takes `lock` on `key` until the end of the transaction, where needed.
    fn advisory_lock(&mut self, lock: Advisory, key: &str) -> StoreResult<()>;
    /// Runs a statement that returns no rows; the number of rows it changed.
    fn execute(&mut self, sql: &str, args: &[Arg<'_>]) -> StoreResult<u64>;
    /// Runs a statement whose answer nobody reads (an insert into a log, a lock). It may be sent with the
    /// job's next statement or its commit, so its failure may surface there instead: never use it for a
    /// statement whose failure the flow handles (a unique constraint it expects to hit).
    fn execute_unread(&mut self, sql: &str, args: &[Arg<'_>]) -> StoreResult<()>;
    /// Runs a query and hands each row to `each`, in order.
    fn query(&mut self, sql: &str, args: &[Arg<'_>], each: EachRow<'_>) -> StoreResult<()>;
    /// Runs the queries in order and hands each row to `each` with its query's place in `queries`; where
    /// the database is a network away, all of them in one round trip.
    fn query_batch(
        &mut self,
        queries: &[(&str, &[Arg<'_>])],
        each: EachBatchRow<'_>,
    ) -> StoreResult<()> {
        for (i, (sql, args)) in queries.iter().enumerate() {
            self.query(sql, args, &mut |r| each(i, r))?;
        }
        Ok(())
    }
    /// Runs a statement and commits the transaction with it (on PostgreSQL in the same round trip); what
    /// the job does after it runs in a new transaction. SQLite's writer commits at the job's end: there
    /// the job stays one transaction, which only matters if it fails after this statement.
    fn execute_and_commit(&mut self, sql: &str, args: &[Arg<'_>]) -> StoreResult<u64> {
        self.execute(sql, args)
    }
    /// `query_batch`, then commits (on PostgreSQL in the same round trip), as `execute_and_commit` does.
    fn query_batch_and_commit(
        &mut self,
        queries: &[(&str, &[Arg<'_>])],
        each: EachBatchRow<'_>,
    ) -> StoreResult<()> {
        self.query_batch(queries, each)
    }
    /// Whether unread writes wait to travel with the job's next read or its commit (PostgreSQL), so that
    /// their failures are reported there.
    fn pipelines(&self) -> bool {
        false
    }
    /// Whether a statement's `WITH` may hold an `INSERT … RETURNING` (PostgreSQL), so that one statement
    /// can write and read what two would on SQLite.
    fn writes_in_with(&self) -> bool {
        false
    }
    /// An expression (for a select list) whose value is the next id of `table`'s sequence.
    fn next_id_sql(&self, table: &'static str) -> String;
}

/// What a batch of queries hands each of its rows to, with the query's place in the batch.
pub(super) type EachBatchRow<'a> = &'a mut dyn FnMut(usize, &dyn Columns) -> StoreResult<()>;

/// A session with its account, as `s` and `a`: the account's linked person is the session's.
const SESSION_WITH_ACCOUNT: &str = "sessions s LEFT JOIN accounts a ON a.id = s.account_id";

/// `Session::scope` in SQL over `SESSION_WITH_ACCOUNT`: the person, else the account, else the anonymous
/// session (`anonymous`, a parameter holding `s:` and the token's hash in hex).
fn session_scope(anonymous: &str) -> String {
    format!(
        "CASE WHEN COALESCE(a.person_id, s.person_id) IS NOT NULL \
              THEN 'p:' || COALESCE(a.person_id, s.person_id) \
              WHEN s.account_id IS NOT NULL THEN 'a:' || s.account_id ELSE {anonymous} END"
    )
}

const STORED_KEY_COLUMNS: &str = "k.fingerprint, k.state, k.status, k.body, k.created_at";

/// `STORED_KEY_COLUMNS` from column `at` on; None where they are null (no key joined).
fn stored_key(r: &dyn Columns, at: usize) -> StoreResult<Option<StoredKey>> {
    let Some(fingerprint) = r.opt_bytes(at)? else {
        return Ok(None);
    };
    Ok(Some(StoredKey {
        fingerprint,
        running: r.text(at + 1)? == "running",
        status: r.opt_int(at + 2)?.and_then(|s| u16::try_from(s).ok()),
        body: r.opt_bytes(at + 3)?.unwrap_or_default(),
        created_at: Timestamp::from_millis(r.int(at + 4)?),
    }))
}

fn session_by_token() -> String {
    format!("SELECT {SESSION_COLUMNS} FROM {SESSION_WITH_ACCOUNT} WHERE s.token_hash = ?1")
}

/// The columns a new binding is written with, in `new_binding_args`' order.
const NEW_BINDING_COLUMNS: &str =
    "binder_id, vehicle_id, relationship, method, application_id, created_at";

fn new_binding_args(b: &NewBinding) -> [Arg<'_>; 6] {
    [
        Arg::from(b.binder_id),
        Arg::from(b.vehicle_id),
        Arg::from(b.relationship.code()),
        Arg::from(b.method.code()),
        Arg::from(&b.application_id),
        Arg::from(b.created_at),
    ]
}

/// A binder's submitted applications, newest first, as many as any cap looks back on.
const SUBMITTED_APPLICATIONS: &str =
    "SELECT id, submitted_at FROM binding_applications WHERE binder_id = ?1 AND submitted_at IS NOT NULL \
     ORDER BY submitted_at DESC LIMIT 400";

/// The `Tx` of both stores, over one connection.
pub(super) struct SqlTx<D> {
    pub(super) db: D,
    /// `lock_for_binding` ran: person rows read from now on are not locked (see `person_lock`).
    binding_locked: bool,
}

type Parse<T> = fn(&dyn Columns) -> StoreResult<T>;

impl<D: Db> SqlTx<D> {
    pub(super) fn new(db: D) -> Self {
        SqlTx {
            db,
            binding_locked: false,
        }
    }

    /// Every row of `sql`, each parsed by `parse`.
    fn all<T>(&mut self, sql: &str, args: &[Arg<'_>], parse: Parse<T>) -> StoreResult<Vec<T>> {
        let mut out = Vec::new();
        self.db.query(sql, args, &mut |r| {
            out.push(parse(r)?);
            Ok(())
        })?;
        Ok(out)
    }
    fn first<T>(&mut self, sql: &str, args: &[Arg<'_>], parse: Parse<T>) -> StoreResult<Option<T>> {
        Ok(self.all(sql, args, parse)?.into_iter().next())
    }
    /// The row of a statement that always returns one (`COUNT(*)`, `RETURNING`).
    fn one<T>(&mut self, sql: &str, args: &[Arg<'_>], parse: Parse<T>) -> StoreResult<T> {
        self.first(sql, args, parse)?
            .ok_or_else(|| StoreError::Database(format!("no row returned by: {sql}")))
    }
    fn inserted_id(&mut self, sql: &str, args: &[Arg<'_>]) -> StoreResult<i64> {
        self.one(sql, args, |r| r.int(0))
    }

    /// ` FOR NO KEY UPDATE` where rows are locked, nothing elsewhere. NO KEY UPDATE, not UPDATE: inserting
    /// rows that reference these (bindings, notifications) takes KEY SHARE locks, which it does not block.
    fn lock(&self) -> &'static str {
        if self.db.row_locks() {
            " FOR NO KEY UPDATE"
        } else {
            ""
        }
    }
    /// The reads of a binding's two sides by id, `?1`, locking both rows where jobs run at once, in the one
    /// order every job takes them: the person, then the vehicle, so that two commits can never wait on
    /// each other in a circle.
    fn binding_side_reads(&self, person_columns: &str, vehicle_columns: &str) -> [String; 2] {
        let lock = self.lock();
        [
            format!("SELECT {person_columns} FROM people WHERE id = ?1{lock}"),
            format!("SELECT {vehicle_columns} FROM vehicles WHERE id = ?1{lock}"),
        ]
    }
    /// People are locked before vehicles, always: after `lock_for_binding` has locked a vehicle, reading
    /// another person (an officer, an owner) must not wait for that person's row, or a commit holding it and
    /// waiting for this vehicle would close a circle. Such a job only reads them; the person whose count
    /// matters is already locked.
    fn person_lock(&self) -> &'static str {
        if self.binding_locked {
            ""
        } else {
            self.lock()
        }
    }

    fn one_person(&mut self, clause: &str, arg: Arg<'_>) -> StoreResult<Option<PersonRow>> {
        let sql = format!(
            "SELECT {PERSON_COLUMNS} FROM people WHERE {clause}{}",
            self.person_lock()
        );
        self.first(&sql, &[arg], rows::person)
    }
    fn vehicles_where(&mut self, clause: &str, args: &[Arg<'_>]) -> StoreResult<Vec<VehicleRow>> {
        let sql = format!("SELECT {VEHICLE_COLUMNS} FROM vehicles WHERE {clause}");
        self.all(&sql, args, rows::vehicle)
    }
    fn bindings_where(&mut self, clause: &str, arg: i64) -> StoreResult<Vec<BindingRow>> {
        let sql = format!("SELECT {BINDING_COLUMNS} FROM bindings WHERE {clause}");
        self.all(&sql, args![arg], rows::binding)
    }
    /// The WHERE clause of an SMS count key, with its arguments and its advisory-lock name.
    fn sms_key(key: &SmsCountKey) -> (&'static str, Vec<&str>, String) {
        match key {
            SmsCountKey::Phone(p) => (
                "phone = ?1 AND delivered",
                vec![p.as_str()],
                format!("phone:{p}"),
            ),
            SmsCountKey::Plate(k) => ("plate_key = ?1", vec![k.as_str()], format!("plate:{k}")),
            SmsCountKey::RequesterPlate {
                requester,
                plate_key,
            } => (
                "requester = ?1 AND plate_key = ?2",
                vec![requester.as_str(), plate_key.as_str()],
                format!("requester-plate:{requester}:{plate_key}"),
            ),
        }
    }
}

fn count_u32(n: i64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

const INSERT_IDEMPOTENCY_KEY: &str =
    "INSERT INTO idempotency_keys (scope, key, fingerprint, state, created_at) \
     VALUES (?1, ?2, ?3, 'running', ?4)";

impl<D: Db> Tx for SqlTx<D> {
    fn person(&mut self, id: i64) -> StoreResult<Option<PersonRow>> {
        self.one_person("id = ?1", id.into())
    }
    fn person_by_phone(&mut self, phone: &str) -> StoreResult<Option<PersonRow>> {
        self.one_person("phone = ?1", phone.into())
    }
    fn person_by_resident_id(&mut self, resident_id: &str) -> StoreResult<Option<PersonRow>> {
        self.one_person("resident_id = ?1", resident_id.into())
    }
    fn insert_person(&mut self, p: &NewPerson) -> StoreResult<i64> {
        let (class, status, points, cycle) = match &p.licence {
            Some(l) => (
                Some(l.class.code()),
                Some(l.status.code()),
                l.points,
                l.cycle_start,
            ),
            None => (None, None, 0, None),
        };
        self.inserted_id(
            "INSERT INTO people (name, resident_id, phone, registered_at, identity_verified, role, licence_class, \
             licence_status, licence_points, licence_cycle_start, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) RETURNING id",
            args![
                &p.name,
                p.resident_id.as_str(),
                p.phone.as_str(),
                p.registered_at,
                p.identity_verified,
                p.role.code(),
                class,
                status,
                points,
                cycle,
                p.created_at,
            ],
        )
    }
    fn register_person(
        &mut self,
        id: i64,
        name: &str,
        phone: &str,
        at: Timestamp,
    ) -> StoreResult<()> {
        self.db.execute(
            "UPDATE people SET registered_at = ?2, name = ?3, phone = ?4 WHERE id = ?1",
            args![id, at, name, phone],
        )?;
        Ok(())
    }
    fn set_identity_verified(&mut self, id: i64) -> StoreResult<()> {
        self.db.execute(
            "UPDATE people SET identity_verified = TRUE WHERE id = ?1",
            args![id],
        )?;
        Ok(())
    }
    fn set_licence_points(
        &mut self,
        id: i64,
        points: u32,
        cycle_start: Option<Timestamp>,
    ) -> StoreResult<()> {
        self.db.execute(
            "UPDATE people SET licence_points = ?2, licence_cycle_start = ?3 WHERE id = ?1",
            args![id, points, cycle_start],
        )?;
        Ok(())
    }
    fn count_people(&mut self) -> StoreResult<i64> {
        self.one("SELECT COUNT(*) FROM people", &[], |r| r.int(0))
    }

    fn vehicle(&mut self, id: i64) -> StoreResult<Option<VehicleRow>> {
        Ok(self
            .vehicles_where("id = ?1", args![id])?
            .into_iter()
            .next())
    }
    fn vehicle_by_plate(
        &mut self,
        plate_type: PlateType,
        plate_number: &str,
    ) -> StoreResult<Option<VehicleRow>> {
        Ok(self
            .vehicles_where(
                "plate_type = ?1 AND plate_number = ?2",
                args![plate_type.code(), plate_number],
            )?
            .into_iter()
            .next())
    }
    fn vehicles_by_plate_number(&mut self, plate_number: &str) -> StoreResult<Vec<VehicleRow>> {
        self.vehicles_where(
            "plate_number = ?1 ORDER BY plate_type, id",
            args![plate_number],
        )
    }
    fn vehicles_owned_by(&mut self, person_id: i64) -> StoreResult<Vec<VehicleRow>> {
        self.vehicles_where("owner_person_id = ?1 ORDER BY id", args![person_id])
    }
    fn insert_vehicle(&mut self, v: &NewVehicle) -> StoreResult<i64> {
        self.inserted_id(
            "INSERT INTO vehicles (plate_type, plate_number, engine_number, engine_suffix, use_nature, owner_kind, \
             owner_person_id, owner_name, owner_phone, owner_resident_id, city, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) RETURNING id",
            args![
                v.plate_number.plate_type().code(),
                v.plate_number.as_str(),
                &v.engine_number,
                v.engine_suffix.as_str(),
                v.use_nature.code(),
                v.owner_kind.code(),
                v.owner_person_id,
                &v.owner_name,
                v.owner_phone.as_str(),
                v.owner_resident_id.as_ref().map(|r| r.as_str()),
                &v.city,
                v.created_at,
            ],
        )
    }
    fn link_vehicles_to_owner(&mut self, resident_id: &str, person_id: i64) -> StoreResult<()> {
        self.db.execute(
            "UPDATE vehicles SET owner_person_id = ?2 WHERE owner_resident_id = ?1 AND owner_person_id IS NULL \
             AND owner_kind = 'individual'",
            args![resident_id, person_id],
        )?;
        Ok(())
    }

    fn lock_for_binding(&mut self, binder_id: i64, vehicle_id: i64) -> StoreResult<()> {
        if self.db.row_locks() {
            // Neither answer is read: both travel with the job's next statement, in this order.
            let [person, vehicle] = self.binding_side_reads("1", "1");
            self.db.execute_unread(&person, args![binder_id])?;
            self.db.execute_unread(&vehicle, args![vehicle_id])?;
        }
        self.binding_locked = true;
        Ok(())
    }
    fn binding(&mut self, id: i64) -> StoreResult<Option<BindingRow>> {
        let clause = format!("id = ?1{}", self.lock());
        Ok(self.bindings_where(&clause, id)?.into_iter().next())
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
        let sql = format!("INSERT INTO bindings ({NEW_BINDING_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id");
        self.inserted_id(&sql, &new_binding_args(b))
    }
    fn load_for_binding(
        &mut self,
        binder_id: i64,
        vehicle_id: i64,
        actor_id: Option<i64>,
    ) -> StoreResult<BindingFactsRows> {
        // `lock_for_binding`'s two locks, taken by the reads of the two rows (the person first), with the
        // new binding's id in the vehicle's row; then the rest, where person reads are plain (`person_lock`).
        let next_id_column = VEHICLE_COLUMNS.split(',').count();
        let vehicle_columns = format!("{VEHICLE_COLUMNS}, {}", self.db.next_id_sql("bindings"));
        let [binder, vehicle] = self.binding_side_reads(PERSON_COLUMNS, &vehicle_columns);
        let actor = format!("SELECT {PERSON_COLUMNS} FROM people WHERE id = ?1");
        // Both sides' active bindings, each row marked with its side (a UNION of two index searches: SQLite
        // plans an OR of the two as a scan of every active binding).
        let side_column = BINDING_COLUMNS.split(',').count();
        let bindings = format!(
            "SELECT {BINDING_COLUMNS}, 0 FROM bindings WHERE binder_id = ?1 AND removed_at IS NULL \
             UNION ALL SELECT {BINDING_COLUMNS}, 1 FROM bindings WHERE vehicle_id = ?2 AND removed_at IS NULL \
             ORDER BY 1"
        );
        let (binder_arg, vehicle_arg) = ([Arg::from(binder_id)], [Arg::from(vehicle_id)]);
        let both = [Arg::from(binder_id), Arg::from(vehicle_id)];
        let actor_arg = [Arg::from(actor_id)];
        let mut queries: Vec<(&str, &[Arg<'_>])> = vec![
            (&binder, &binder_arg),
            (&vehicle, &vehicle_arg),
            (&bindings, &both),
            (SUBMITTED_APPLICATIONS, &binder_arg),
        ];
        if actor_id.is_some() {
            queries.push((&actor, &actor_arg));
        }
        let mut facts = BindingFactsRows {
            actor: None,
            binder: None,
            vehicle: None,
            binder_bindings: Vec::new(),
            vehicle_bindings: Vec::new(),
            submitted_applications: Vec::new(),
            next_binding_id: 0,
        };
        self.db.query_batch(&queries, &mut |i, r| {
            match i {
                0 => facts.binder = Some(rows::person(r)?),
                1 => {
                    facts.vehicle = Some(rows::vehicle(r)?);
                    facts.next_binding_id = r.int(next_id_column)?;
                }
                2 if r.int(side_column)? == 0 => facts.binder_bindings.push(rows::binding(r)?),
                2 => facts.vehicle_bindings.push(rows::binding(r)?),
                3 => facts
                    .submitted_applications
                    .push(rows::submitted_application(r)?),
                _ => facts.actor = Some(rows::person(r)?),
            }
            Ok(())
        })?;
        self.binding_locked = true;
        Ok(facts)
    }
    fn insert_reserved_binding(&mut self, id: i64, b: &NewBinding) -> StoreResult<BindingRow> {
        let sql = format!(
            "INSERT INTO bindings ({NEW_BINDING_COLUMNS}, id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
        );
        let [a1, a2, a3, a4, a5, a6] = new_binding_args(b);
        self.db
            .execute_unread(&sql, &[a1, a2, a3, a4, a5, a6, Arg::from(id)])?;
        Ok(BindingRow {
            id,
            binder_id: b.binder_id,
            vehicle_id: b.vehicle_id,
            relationship: b.relationship,
            method: b.method,
            created_at: b.created_at,
            removed_at: None,
            removed_by: None,
            removed_role: None,
        })
    }
    fn remove_binding(
        &mut self,
        id: i64,
        at: Timestamp,
        by: i64,
        role: ActorRole,
    ) -> StoreResult<()> {
        self.db.execute(
            "UPDATE bindings SET removed_at = ?2, removed_by = ?3, removed_role = ?4 WHERE id = ?1 AND removed_at IS NULL",
            args![id, at, by, role.code()],
        )?;
        Ok(())
    }

    fn insert_application(&mut self, a: &ApplicationRow) -> StoreResult<()> {
        self.db.execute(
            &format!(
                "INSERT INTO binding_applications ({APPLICATION_COLUMNS}) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
            ),
            args![
                &a.id,
                a.binder_id,
                a.vehicle_id,
                a.method.code(),
                a.relationship.map(|r| r.code()),
                a.status.code(),
                a.verification.map(|v| v.code()),
                &a.note,
                a.binding_id,
                a.created_at,
                a.submitted_at,
                a.reviewed_by,
                a.reviewed_at,
                &a.review_reason,
            ],
        )?;
        Ok(())
    }
    fn application(&mut self, id: &str) -> StoreResult<Option<ApplicationRow>> {
        let sql = format!(
            "SELECT {APPLICATION_COLUMNS} FROM binding_applications WHERE id = ?1{}",
            self.lock()
        );
        self.first(&sql, args![id], rows::application)
    }
    fn update_application(&mut self, a: &ApplicationRow) -> StoreResult<()> {
        self.db.execute_unread(
            "UPDATE binding_applications SET relationship = ?2, status = ?3, verification = ?4, note = ?5, \
             binding_id = ?6, submitted_at = ?7, reviewed_by = ?8, reviewed_at = ?9, review_reason = ?10 WHERE id = ?1",
            args![
                &a.id,
                a.relationship.map(|r| r.code()),
                a.status.code(),
                a.verification.map(|v| v.code()),
                &a.note,
                a.binding_id,
                a.submitted_at,
                a.reviewed_by,
                a.reviewed_at,
                &a.review_reason,
            ],
        )?;
        Ok(())
    }
    fn mark_application_committed(
        &mut self,
        id: &str,
        binding_id: i64,
        relationship: Relationship,
        at: Timestamp,
    ) -> StoreResult<()> {
        self.db.execute_unread(
            "UPDATE binding_applications SET status = ?2, binding_id = ?3, relationship = ?4, submitted_at = ?5 \
             WHERE id = ?1",
            args![
                id,
                ApplicationStatus::Committed.code(),
                binding_id,
                relationship.code(),
                at
            ],
        )
    }
    fn applications_in_review(&mut self) -> StoreResult<Vec<ApplicationRow>> {
        let sql = format!(
            "SELECT {APPLICATION_COLUMNS} FROM binding_applications WHERE status = 'in_review' \
             ORDER BY created_at LIMIT 500"
        );
        self.all(&sql, &[], rows::application)
    }
    fn submitted_applications(&mut self, binder_id: i64) -> StoreResult<Vec<(String, Timestamp)>> {
        self.all(
            SUBMITTED_APPLICATIONS,
            args![binder_id],
            rows::submitted_application,
        )
    }

    fn replace_active_qr_codes(&mut self, vehicle_id: i64) -> StoreResult<()> {
        self.db.execute(
            "UPDATE qr_codes SET state = 'replaced' WHERE vehicle_id = ?1 AND state = 'active'",
            args![vehicle_id],
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
        self.inserted_id(
            "INSERT INTO qr_codes (vehicle_id, issued_by, token_hash, issued_at, expires_at, state) \
             VALUES (?1, ?2, ?3, ?4, ?5, 'active') RETURNING id",
            args![vehicle_id, issued_by, token_hash, issued_at, expires_at],
        )
    }
    fn qr_code_by_token_hash(&mut self, token_hash: &[u8]) -> StoreResult<Option<QrCodeRow>> {
        let sql = format!(
            "SELECT {QR_CODE_COLUMNS} FROM qr_codes WHERE token_hash = ?1{}",
            self.lock()
        );
        self.first(&sql, args![token_hash], rows::qr_code)
    }
    fn mark_qr_code_used(&mut self, id: i64, by: i64, at: Timestamp) -> StoreResult<()> {
        self.db.execute(
            "UPDATE qr_codes SET state = 'used', used_by = ?2, used_at = ?3 WHERE id = ?1",
            args![id, by, at],
        )?;
        Ok(())
    }

    fn insert_sms_challenge(&mut self, c: &SmsChallengeRow) -> StoreResult<()> {
        self.db.execute(
            &format!(
                "INSERT INTO sms_challenges ({SMS_COLUMNS}) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
            ),
            args![
                &c.id,
                c.purpose.code(),
                &c.requester,
                &c.phone,
                &c.plate_key,
                c.vehicle_id,
                &c.salt,
                &c.code_hash,
                c.delivered,
                c.created_at,
                c.expires_at,
                c.wrong_tries,
                c.consumed_at,
            ],
        )?;
        Ok(())
    }
    fn sms_challenge(&mut self, id: &str) -> StoreResult<Option<SmsChallengeRow>> {
        let sql = format!(
            "SELECT {SMS_COLUMNS} FROM sms_challenges WHERE id = ?1{}",
            self.lock()
        );
        self.first(&sql, args![id], rows::sms_challenge)
    }
    fn record_sms_wrong_try(&mut self, id: &str) -> StoreResult<()> {
        self.db.execute(
            "UPDATE sms_challenges SET wrong_tries = wrong_tries + 1 WHERE id = ?1",
            args![id],
        )?;
        Ok(())
    }
    fn consume_sms_challenge(&mut self, id: &str, at: Timestamp) -> StoreResult<()> {
        self.db.execute(
            "UPDATE sms_challenges SET consumed_at = ?2 WHERE id = ?1 AND consumed_at IS NULL",
            args![id, at],
        )?;
        Ok(())
    }
    fn count_sms_challenges(&mut self, key: &SmsCountKey, since: Timestamp) -> StoreResult<u32> {
        let (clause, keys, lock) = Self::sms_key(key);
        // Held to the end of the job: the count and the insert that follows it are one step.
        self.db.advisory_lock(Advisory::SmsCount, &lock)?;
        let n = keys.len() + 1;
        let sql =
            format!("SELECT COUNT(*) FROM sms_challenges WHERE {clause} AND created_at >= ?{n}");
        let mut args: Vec<Arg<'_>> = keys.into_iter().map(Arg::from).collect();
        args.push(since.into());
        Ok(count_u32(self.one(&sql, &args, |r| r.int(0))?))
    }
    fn last_sms_challenge_at(&mut self, key: &SmsCountKey) -> StoreResult<Option<Timestamp>> {
        let (clause, keys, lock) = Self::sms_key(key);
        self.db.advisory_lock(Advisory::SmsCount, &lock)?;
        let sql = format!("SELECT MAX(created_at) FROM sms_challenges WHERE {clause}");
        let args: Vec<Arg<'_>> = keys.into_iter().map(Arg::from).collect();
        Ok(ts_opt(self.one(&sql, &args, |r| r.opt_int(0))?))
    }

    fn violation(&mut self, id: i64) -> StoreResult<Option<ViolationRow>> {
        let sql = format!(
            "SELECT {VIOLATION_COLUMNS} FROM violations WHERE id = ?1{}",
            self.lock()
        );
        self.first(&sql, args![id], rows::violation)
    }
    fn violations_of_vehicle(
        &mut self,
        vehicle_id: i64,
        limit: u32,
    ) -> StoreResult<Vec<ViolationRow>> {
        let sql = format!(
            "SELECT {VIOLATION_COLUMNS} FROM violations WHERE vehicle_id = ?1 ORDER BY occurred_at DESC LIMIT ?2"
        );
        self.all(&sql, args![vehicle_id, limit], rows::violation)
    }
    fn insert_violation(&mut self, v: &NewViolation) -> StoreResult<i64> {
        self.inserted_id(
            "INSERT INTO violations (vehicle_id, occurred_at, code, description, place, points, fine_fen, source, \
             state, decision_number, decided_at, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) RETURNING id",
            args![
                v.vehicle_id,
                v.occurred_at,
                &v.code,
                &v.description,
                &v.place,
                u32::from(v.points.value()),
                Some(v.fine_fen),
                v.source.code(),
                v.state.code(),
                &v.decision_number,
                v.decided_at,
                v.created_at,
            ],
        )
    }
    fn update_violation(&mut self, v: &ViolationRow) -> StoreResult<()> {
        self.db.execute(
            "UPDATE violations SET state = ?2, handled_by = ?3, decision_number = ?4, decided_at = ?5, paid_at = ?6, \
             paid_fen = ?7, payment_ref = ?8 WHERE id = ?1",
            args![
                v.id,
                v.state.code(),
                v.handled_by,
                &v.decision_number,
                v.decided_at,
                v.paid_at,
                v.paid_fen,
                &v.payment_ref,
            ],
        )?;
        Ok(())
    }

    fn insert_session(
        &mut self,
        token_hash: &[u8],
        account_id: Option<i64>,
        csrf_token: &str,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> StoreResult<()> {
        self.db.execute(
            "INSERT INTO sessions (token_hash, account_id, csrf_token, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            args![token_hash, account_id, csrf_token, now, expires_at],
        )?;
        Ok(())
    }
    fn insert_kiosk_session(
        &mut self,
        token_hash: &[u8],
        person_id: i64,
        kiosk_id: i64,
        csrf_token: &str,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> StoreResult<()> {
        self.db.execute(
            "INSERT INTO sessions (token_hash, person_id, kiosk_id, csrf_token, created_at, expires_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            args![token_hash, person_id, kiosk_id, csrf_token, now, expires_at],
        )?;
        Ok(())
    }
    fn session(&mut self, token_hash: &[u8]) -> StoreResult<Option<SessionRow>> {
        self.first(&session_by_token(), args![token_hash], rows::session)
    }
    fn session_with_claim(
        &mut self,
        token_hash: &[u8],
        key: &str,
        fingerprint: &[u8],
        now: Timestamp,
    ) -> StoreResult<(Option<SessionRow>, Option<String>)> {
        let claim = format!(
            "INSERT INTO idempotency_keys (scope, key, fingerprint, state, created_at) \
             SELECT {}, ?2, ?3, 'running', ?4 \
             FROM {SESSION_WITH_ACCOUNT} WHERE s.token_hash = ?1 AND s.expires_at > ?4 \
             ON CONFLICT (scope, key) DO NOTHING RETURNING scope",
            session_scope("?5")
        );
        let anonymous = format!("s:{}", hex::encode(token_hash));
        let args = args![token_hash, key, fingerprint, now, anonymous.as_str()];
        let (mut row, mut claimed) = (None, None);
        if self.db.writes_in_with() {
            // One statement: the claim as a CTE, the session as the query. Its commit waits for the disk
            // and a synchronous standby like any other: after a failover the work may commit on the
            // promoted standby, which must hold the claim that the work's stored answer settles.
            let claimed_column = rows::column_count(SESSION_COLUMNS);
            let sql = format!(
                "WITH claim AS ({claim}) \
                 SELECT {SESSION_COLUMNS}, (SELECT scope FROM claim) \
                 FROM {SESSION_WITH_ACCOUNT} WHERE s.token_hash = ?1"
            );
            self.db
                .query_batch_and_commit(&[(&sql, args)], &mut |_, r| {
                    row = Some(rows::session(r)?);
                    claimed = r.opt_text(claimed_column)?;
                    Ok(())
                })?;
            return Ok((row, claimed));
        }
        // As above, in two statements.
        self.db.query_batch_and_commit(
            &[(&session_by_token(), args![token_hash]), (&claim, args)],
            &mut |i, r| {
                match i {
                    0 => row = Some(rows::session(r)?),
                    _ => claimed = Some(r.text(0)?),
                }
                Ok(())
            },
        )?;
        Ok((row, claimed))
    }
    fn session_alone(&mut self, token_hash: &[u8]) -> StoreResult<Option<SessionRow>> {
        let mut session = None;
        self.db.query_batch_and_commit(
            &[(&session_by_token(), args![token_hash])],
            &mut |_, r| {
                session = Some(rows::session(r)?);
                Ok(())
            },
        )?;
        Ok(session)
    }
    fn session_with_key(
        &mut self,
        token_hash: &[u8],
        key: &str,
    ) -> StoreResult<(Option<SessionRow>, Option<StoredKey>)> {
        let sql = format!(
            "SELECT {SESSION_COLUMNS}, {STORED_KEY_COLUMNS} FROM {SESSION_WITH_ACCOUNT} \
             LEFT JOIN idempotency_keys k ON k.scope = {} AND k.key = ?2 \
             WHERE s.token_hash = ?1",
            session_scope("?3")
        );
        let anonymous = format!("s:{}", hex::encode(token_hash));
        let key_at = rows::column_count(SESSION_COLUMNS);
        let (mut session, mut stored) = (None, None);
        // The job's one statement: on PostgreSQL sent alone, without `BEGIN` or `COMMIT`.
        self.db.query_batch_and_commit(
            &[(&sql, args![token_hash, key, anonymous.as_str()])],
            &mut |_, r| {
                session = Some(rows::session(r)?);
                stored = stored_key(r, key_at)?;
                Ok(())
            },
        )?;
        Ok((session, stored))
    }
    fn delete_sessions_of_account(&mut self, account_id: i64) -> StoreResult<()> {
        self.db.execute(
            "DELETE FROM sessions WHERE account_id = ?1",
            args![account_id],
        )?;
        Ok(())
    }

    fn account(&mut self, id: i64) -> StoreResult<Option<AccountRow>> {
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = ?1");
        self.first(&sql, args![id], rows::account)
    }
    fn account_by_phone(&mut self, phone: &str) -> StoreResult<Option<AccountRow>> {
        let sql = format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE phone = ?1{}",
            self.lock()
        );
        self.first(&sql, args![phone], rows::account)
    }
    fn account_of_person(&mut self, person_id: i64) -> StoreResult<Option<AccountRow>> {
        let sql = format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE person_id = ?1{}",
            self.lock()
        );
        self.first(&sql, args![person_id], rows::account)
    }
    fn insert_account(&mut self, phone: &str, at: Timestamp) -> StoreResult<i64> {
        self.inserted_id(
            "INSERT INTO accounts (phone, created_at) VALUES (?1, ?2) RETURNING id",
            args![phone, at],
        )
    }
    fn link_account(&mut self, account_id: i64, person_id: i64, at: Timestamp) -> StoreResult<()> {
        self.db.execute(
            "UPDATE accounts SET person_id = ?2, verified_at = ?3 WHERE id = ?1",
            args![account_id, person_id, at],
        )?;
        Ok(())
    }
    fn unlink_account(&mut self, account_id: i64) -> StoreResult<()> {
        self.db.execute(
            "UPDATE accounts SET person_id = NULL, verified_at = NULL WHERE id = ?1",
            args![account_id],
        )?;
        Ok(())
    }
    fn mark_person_verified(&mut self, id: i64, phone: &str, at: Timestamp) -> StoreResult<()> {
        self.db.execute(
            "UPDATE people SET phone = ?2, identity_verified = TRUE, \
             registered_at = COALESCE(registered_at, ?3) WHERE id = ?1",
            args![id, phone, at],
        )?;
        Ok(())
    }
    fn insert_verification(&mut self, v: &VerificationRow) -> StoreResult<()> {
        self.db.execute(
            "INSERT INTO identity_verifications (id, account_id, purpose, resident_id, name, application_id, \
             provider_session, provider_url, status, created_at, finished_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            args![
                &v.id,
                v.account_id,
                v.purpose.code(),
                &v.resident_id,
                &v.name,
                &v.application_id,
                &v.provider_session,
                &v.provider_url,
                v.status.code(),
                v.created_at,
                v.finished_at
            ],
        )?;
        Ok(())
    }
    fn verification(&mut self, id: &str) -> StoreResult<Option<VerificationRow>> {
        let sql = format!(
            "SELECT {VERIFICATION_COLUMNS} FROM identity_verifications WHERE id = ?1{}",
            self.lock()
        );
        self.first(&sql, args![id], rows::verification)
    }
    fn set_verification_provider(&mut self, id: &str, session: &str, url: &str) -> StoreResult<()> {
        self.db.execute(
            "UPDATE identity_verifications SET provider_session = ?2, provider_url = ?3 WHERE id = ?1",
            args![id, session, url],
        )?;
        Ok(())
    }
    fn set_verification_status(
        &mut self,
        id: &str,
        status: VerificationStatus,
        at: Timestamp,
    ) -> StoreResult<()> {
        self.db.execute(
            "UPDATE identity_verifications SET status = ?2, finished_at = ?3 WHERE id = ?1",
            args![id, status.code(), at],
        )?;
        Ok(())
    }
    fn use_identity_result(
        &mut self,
        result_id: &str,
        verification_id: &str,
        outcome: &str,
        at: Timestamp,
    ) -> StoreResult<bool> {
        let inserted = self.all(
            "INSERT INTO identity_results (result_id, verification_id, outcome, used_at) \
             VALUES (?1, ?2, ?3, ?4) ON CONFLICT (result_id) DO NOTHING RETURNING result_id",
            args![result_id, verification_id, outcome, at],
            |r| r.text(0),
        )?;
        Ok(!inserted.is_empty())
    }
    fn delete_session(&mut self, token_hash: &[u8]) -> StoreResult<()> {
        self.db.execute(
            "DELETE FROM sessions WHERE token_hash = ?1",
            args![token_hash],
        )?;
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
        // Claim the key; where another job holds it in an open transaction (PostgreSQL) this waits for that
        // one to end, then finds its row. Either way the row is ours to inspect under a lock.
        // A claim is the job's last statement when it succeeds, so it commits in the same round trip.
        let claimed = self.db.execute_and_commit(
            &format!("{INSERT_IDEMPOTENCY_KEY} ON CONFLICT (scope, key) DO NOTHING"),
            args![scope, key, fingerprint, now],
        )?;
        if claimed == 1 {
            return Ok(IdempotencyBegin::Started);
        }
        let lock = if self.db.row_locks() {
            " FOR UPDATE"
        } else {
            ""
        };
        let sql = format!(
            "SELECT {STORED_KEY_COLUMNS} FROM idempotency_keys k \
             WHERE k.scope = ?1 AND k.key = ?2{lock}"
        );
        let found = self.first(&sql, args![scope, key], |r| stored_key(r, 0))?;
        let Some(stored) = found.flatten() else {
            // Purged between the two statements: claim it again.
            self.db
                .execute(INSERT_IDEMPOTENCY_KEY, args![scope, key, fingerprint, now])?;
            return Ok(IdempotencyBegin::Started);
        };
        let standing = stored.standing(fingerprint, stale_before);
        if let IdempotencyBegin::Started = standing {
            // The first attempt died without finishing (a crash): let this one run.
            self.db.execute(
                "UPDATE idempotency_keys SET created_at = ?3 WHERE scope = ?1 AND key = ?2",
                args![scope, key, now],
            )?;
        }
        Ok(standing)
    }
    fn idempotency_store_answer(
        &mut self,
        scope: &str,
        key: &str,
        fingerprint: &[u8],
        status: u16,
        body: &[u8],
        now: Timestamp,
    ) -> StoreResult<()> {
        // A plain insert: where another open transaction has inserted the key, this waits for it to end,
        // and fails if it committed.
        let sql = "INSERT INTO idempotency_keys \
                   (scope, key, fingerprint, state, status, body, created_at, finished_at) \
                   VALUES (?1, ?2, ?3, 'done', ?4, ?5, ?6, ?6)";
        let args = args![scope, key, fingerprint, u32::from(status), body, now];
        if self.db.pipelines() {
            // Travels with the commit; a conflict is reported as `KeyTaken` by the store.
            return self.db.execute_unread(sql, args);
        }
        let stored = self
            .db
            .execute(&format!("{sql} ON CONFLICT (scope, key) DO NOTHING"), args)?;
        if stored == 0 {
            return Err(StoreError::KeyTaken);
        }
        Ok(())
    }
    fn idempotency_key(&mut self, scope: &str, key: &str) -> StoreResult<Option<StoredKey>> {
        let sql = format!(
            "SELECT {STORED_KEY_COLUMNS} FROM idempotency_keys k WHERE k.scope = ?1 AND k.key = ?2"
        );
        Ok(self
            .first(&sql, args![scope, key], |r| stored_key(r, 0))?
            .flatten())
    }
    fn idempotency_finish(
        &mut self,
        scope: &str,
        key: &str,
        status: u16,
        body: &[u8],
        now: Timestamp,
    ) -> StoreResult<()> {
        self.db.execute_unread(
            "UPDATE idempotency_keys SET state = 'done', status = ?3, body = ?4, finished_at = ?5 \
             WHERE scope = ?1 AND key = ?2",
            args![scope, key, u32::from(status), body, now],
        )?;
        Ok(())
    }
    fn idempotency_forget(&mut self, scope: &str, key: &str) -> StoreResult<()> {
        self.db.execute(
            "DELETE FROM idempotency_keys WHERE scope = ?1 AND key = ?2 AND state = 'running'",
            args![scope, key],
        )?;
        Ok(())
    }
    fn idempotency_forget_claim(
        &mut self,
        scope: &str,
        key: &str,
        fingerprint: &[u8],
        claimed_at: Timestamp,
    ) -> StoreResult<()> {
        self.db.execute(
            "DELETE FROM idempotency_keys WHERE scope = ?1 AND key = ?2 AND state = 'running' \
             AND fingerprint = ?3 AND created_at = ?4",
            args![scope, key, fingerprint, claimed_at],
        )?;
        Ok(())
    }
    fn purge_expired(&mut self, keys_before: Timestamp, now: Timestamp) -> StoreResult<u64> {
        const DAY: i64 = 86_400_000;
        let now = now.millis();
        // One-time codes matter for their lifetime and the day's caps; QR codes for their three minutes.
        let deletes: [(&str, i64); 6] = [
            (
                "DELETE FROM idempotency_keys WHERE created_at < ?1 AND state = 'done'",
                keys_before.millis(),
            ),
            ("DELETE FROM sessions WHERE expires_at < ?1", now),
            (
                "DELETE FROM rate_counters WHERE window_start < ?1",
                now - 2 * DAY,
            ),
            (
                "DELETE FROM sms_challenges WHERE created_at < ?1",
                now - 2 * DAY,
            ),
            ("DELETE FROM qr_codes WHERE expires_at < ?1", now - DAY),
            // Far past any signature's window (a minute either way).
            ("DELETE FROM kiosk_nonces WHERE seen_at < ?1", now - DAY),
        ];
        let mut gone = 0;
        for (sql, before) in deletes {
            gone += self.db.execute(sql, args![before])?;
        }
        Ok(gone)
    }

    fn bump_counter(&mut self, key: &str, window_start: Timestamp) -> StoreResult<u32> {
        let n = self.one(
            "INSERT INTO rate_counters (key, window_start, count) VALUES (?1, ?2, 1) \
             ON CONFLICT (key, window_start) DO UPDATE SET count = rate_counters.count + 1 RETURNING count",
            args![key, window_start],
            |r| r.int(0),
        )?;
        Ok(count_u32(n))
    }
    fn counter(&mut self, key: &str, window_start: Timestamp) -> StoreResult<u32> {
        let n = self.first(
            "SELECT count FROM rate_counters WHERE key = ?1 AND window_start = ?2",
            args![key, window_start],
            |r| r.opt_int(0),
        )?;
        Ok(n.flatten().and_then(|n| u32::try_from(n).ok()).unwrap_or(0))
    }

    fn insert_notification(
        &mut self,
        person_id: i64,
        kind: &str,
        zh: &str,
        en: &str,
        at: Timestamp,
    ) -> StoreResult<()> {
        self.db.execute_unread(
            "INSERT INTO notifications (person_id, kind, message_zh, message_en, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            args![person_id, kind, zh, en, at],
        )?;
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
        self.all(&sql, args![person_id, limit], rows::notification)
    }
    fn mark_notifications_read(
        &mut self,
        person_id: i64,
        id: Option<i64>,
        at: Timestamp,
    ) -> StoreResult<u64> {
        match id {
            Some(id) => self.db.execute(
                "UPDATE notifications SET read_at = ?3 WHERE person_id = ?1 AND id = ?2 AND read_at IS NULL",
                args![person_id, id, at],
            ),
            None => self.db.execute(
                "UPDATE notifications SET read_at = ?2 WHERE person_id = ?1 AND read_at IS NULL",
                args![person_id, at],
            ),
        }
    }
    fn count_unread_notifications(&mut self, person_id: i64) -> StoreResult<u32> {
        let n = self.one(
            "SELECT COUNT(*) FROM notifications WHERE person_id = ?1 AND read_at IS NULL",
            args![person_id],
            |r| r.int(0),
        )?;
        Ok(count_u32(n))
    }
    fn queue_sms_notice(&mut self, phone: &str, text: &str, at: Timestamp) -> StoreResult<()> {
        self.db.execute_unread(
            "INSERT INTO sms_notices (phone, text, created_at) VALUES (?1, ?2, ?3)",
            args![phone, text, at],
        )?;
        Ok(())
    }
    fn claim_sms_notices(&mut self, at: Timestamp, limit: u32) -> StoreResult<Vec<SmsNoticeRow>> {
        // Where writers run at once (PostgreSQL), each claimer skips the rows another is taking, so two
        // instances never take the same notice and neither waits for the other; the outer
        // `sent_at IS NULL` holds it to at most once even so.
        let skip = if self.db.row_locks() {
            " FOR UPDATE SKIP LOCKED"
        } else {
            ""
        };
        let sql = format!(
            "UPDATE sms_notices SET sent_at = ?1 WHERE sent_at IS NULL AND id IN \
             (SELECT id FROM sms_notices WHERE sent_at IS NULL ORDER BY id LIMIT ?2{skip}) RETURNING id, phone, text"
        );
        self.all(&sql, args![at, limit], rows::sms_notice)
    }

    fn binding_history(&mut self, of: BindingsOf, limit: u32) -> StoreResult<Vec<BindingRow>> {
        let (column, id) = match of {
            BindingsOf::Binder(id) => ("binder_id", id),
            BindingsOf::Vehicle(id) => ("vehicle_id", id),
        };
        let sql = format!(
            "SELECT {BINDING_COLUMNS} FROM bindings WHERE {column} = ?1 ORDER BY id DESC LIMIT ?2"
        );
        self.all(&sql, args![id, limit], rows::binding)
    }
    fn violations_handled_by(
        &mut self,
        person_id: i64,
        limit: u32,
    ) -> StoreResult<Vec<ViolationRow>> {
        let sql = format!(
            "SELECT {VIOLATION_COLUMNS} FROM violations WHERE handled_by = ?1 ORDER BY decided_at DESC, id DESC LIMIT ?2"
        );
        self.all(&sql, args![person_id, limit], rows::violation)
    }
    fn open_applications_of_vehicle(
        &mut self,
        vehicle_id: i64,
    ) -> StoreResult<Vec<ApplicationRow>> {
        let sql = format!(
            "SELECT {APPLICATION_COLUMNS} FROM binding_applications \
             WHERE vehicle_id = ?1 AND status IN ('awaiting_verification', 'in_review') ORDER BY created_at DESC LIMIT 100"
        );
        self.all(&sql, args![vehicle_id], rows::application)
    }
    fn applications_of_binder(
        &mut self,
        binder_id: i64,
        limit: u32,
    ) -> StoreResult<Vec<ApplicationRow>> {
        let sql = format!(
            "SELECT {APPLICATION_COLUMNS} FROM binding_applications WHERE binder_id = ?1 ORDER BY created_at DESC LIMIT ?2"
        );
        self.all(&sql, args![binder_id, limit], rows::application)
    }

    fn put_review_photo(
        &mut self,
        application_id: &str,
        content_type: &str,
        image: &[u8],
        at: Timestamp,
    ) -> StoreResult<()> {
        self.db.execute(
            "INSERT INTO review_photos (application_id, content_type, image, uploaded_at) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (application_id) DO UPDATE SET content_type = excluded.content_type, image = excluded.image, \
             uploaded_at = excluded.uploaded_at, reject_code = NULL",
            args![application_id, content_type, image, at],
        )?;
        Ok(())
    }
    fn review_photo(&mut self, application_id: &str) -> StoreResult<Option<ReviewPhotoRow>> {
        self.first(
            "SELECT content_type, length(image), uploaded_at, reject_code FROM review_photos WHERE application_id = ?1",
            args![application_id],
            rows::review_photo,
        )
    }
    fn review_photo_image(&mut self, application_id: &str) -> StoreResult<Option<Vec<u8>>> {
        self.first(
            "SELECT image FROM review_photos WHERE application_id = ?1",
            args![application_id],
            |r| r.bytes(0),
        )
    }
    fn set_review_reject_code(&mut self, application_id: &str, code: &str) -> StoreResult<()> {
        self.db.execute(
            "UPDATE review_photos SET reject_code = ?2 WHERE application_id = ?1",
            args![application_id, code],
        )?;
        Ok(())
    }
    fn append_audit(&mut self, e: &AuditEntry) -> StoreResult<()> {
        let detail = e.detail.to_string();
        self.db.execute_unread(
            "INSERT INTO audit_log (at, actor_id, action, subject, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
            args![e.at, e.actor_id, e.action, &e.subject, &detail],
        )?;
        Ok(())
    }

    fn insert_kiosk(
        &mut self,
        city: &str,
        place: &str,
        public_key: &[u8],
        enrolled_by: i64,
        at: Timestamp,
    ) -> StoreResult<i64> {
        self.inserted_id(
            "INSERT INTO kiosks (city, place, public_key, enrolled_by, enrolled_at) \
             VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
            args![city, place, public_key, enrolled_by, at],
        )
    }
    fn kiosk(&mut self, id: i64) -> StoreResult<Option<KioskRow>> {
        self.first(
            "SELECT id, city, place, public_key, enrolled_by, enrolled_at, disabled_at FROM kiosks \
             WHERE id = ?1",
            args![id],
            rows::kiosk,
        )
    }
    fn kiosks(&mut self) -> StoreResult<Vec<KioskRow>> {
        self.all(
            "SELECT id, city, place, public_key, enrolled_by, enrolled_at, disabled_at FROM kiosks \
             ORDER BY id",
            args![],
            rows::kiosk,
        )
    }
    fn disable_kiosk(&mut self, id: i64, at: Timestamp) -> StoreResult<()> {
        self.db.execute(
            "UPDATE kiosks SET disabled_at = ?2 WHERE id = ?1 AND disabled_at IS NULL",
            args![id, at],
        )?;
        Ok(())
    }
    fn use_kiosk_nonce(&mut self, kiosk_id: i64, nonce: &str, at: Timestamp) -> StoreResult<bool> {
        let inserted = self.db.execute(
            "INSERT INTO kiosk_nonces (kiosk_id, nonce, seen_at) VALUES (?1, ?2, ?3) \
             ON CONFLICT (kiosk_id, nonce) DO NOTHING",
            args![kiosk_id, nonce, at],
        )?;
        Ok(inserted == 1)
    }
    fn active_bindings_with_parties(&mut self) -> StoreResult<Vec<ActiveBinding>> {
        let sql = format!(
            "SELECT {}, {}, {} FROM bindings b JOIN vehicles h ON h.id = b.vehicle_id \
             JOIN people p ON p.id = b.binder_id WHERE b.removed_at IS NULL ORDER BY b.vehicle_id, b.id",
            rows::qualified(BINDING_COLUMNS, "b"),
            rows::qualified(VEHICLE_COLUMNS, "h"),
            rows::qualified(PERSON_COLUMNS, "p"),
        );
        let (b, h) = (rows::width(BINDING_COLUMNS), rows::width(VEHICLE_COLUMNS));
        let mut out = Vec::new();
        self.db.query(&sql, &[], &mut |r| {
            out.push(ActiveBinding {
                binding: rows::binding(r)?,
                vehicle: rows::vehicle(&rows::Shifted(r, b))?,
                binder: rows::person(&rows::Shifted(r, b + h))?,
            });
            Ok(())
        })?;
        Ok(out)
    }
    fn each_vehicle_with_open_violations(
        &mut self,
        city: Option<&str>,
        each: &mut dyn FnMut(OpenViolations) -> StoreResult<()>,
    ) -> StoreResult<()> {
        // In the order of `violations_by_vehicle`, so that neither database sorts a million rows.
        let sql = format!(
            "SELECT {}, {}, {} FROM violations v JOIN vehicles h ON h.id = v.vehicle_id \
             LEFT JOIN people p ON p.id = h.owner_person_id WHERE v.state <> 'paid'{} \
             ORDER BY v.vehicle_id, v.occurred_at DESC",
            rows::qualified(VIOLATION_COLUMNS, "v"),
            rows::qualified(VEHICLE_COLUMNS, "h"),
            rows::qualified(PERSON_COLUMNS, "p"),
            if city.is_some() {
                " AND h.city = ?1"
            } else {
                ""
            },
        );
        let args: &[Arg<'_>] = match city {
            Some(c) => &[Arg::Text(Some(c))],
            None => &[],
        };
        let (v, h) = (rows::width(VIOLATION_COLUMNS), rows::width(VEHICLE_COLUMNS));
        let mut group: Option<OpenViolations> = None;
        self.db.query(&sql, args, &mut |r| {
            let violation = rows::violation(r)?;
            match &mut group {
                Some(g) if g.vehicle.id == violation.vehicle_id => g.violations.push(violation),
                _ => {
                    // A new vehicle: its row and owner are parsed once, not per violation.
                    let owner = match r.opt_int(v + h)? {
                        Some(_) => Some(rows::person(&rows::Shifted(r, v + h))?),
                        None => None,
                    };
                    let next = OpenViolations {
                        vehicle: rows::vehicle(&rows::Shifted(r, v))?,
                        owner,
                        violations: vec![violation],
                    };
                    if let Some(done) = group.replace(next) {
                        each(done)?;
                    }
                }
            }
            Ok(())
        })?;
        if let Some(done) = group {
            each(done)?;
        }
        Ok(())
    }

    fn server_key(&mut self, name: &str) -> StoreResult<Option<Vec<u8>>> {
        // Instances starting together must agree on one key: the second waits here for the first's insert.
        self.db.advisory_lock(Advisory::ServerKey, name)?;
        self.first(
            "SELECT key FROM server_keys WHERE name = ?1",
            args![name],
            |r| r.bytes(0),
        )
    }
    fn insert_server_key(&mut self, name: &str, key: &[u8], at: Timestamp) -> StoreResult<()> {
        self.db.execute(
            "INSERT INTO server_keys (name, key, created_at) VALUES (?1, ?2, ?3)",
            args![name, key, at],
        )?;
        Ok(())
    }
}
