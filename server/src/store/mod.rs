//! The store: every fact the server keeps, behind two traits.
//!
//! `Tx` is one unit of database work (synchronous: the flows run inside it, load the facts, ask the rules
//! core and write, all in one transaction). `Store` runs such jobs: `write` jobs are atomic and serialised
//! so that count limits hold under any concurrency; `read` jobs see one consistent snapshot. The SQLite
//! store runs its writes on one writer connection (`BEGIN IMMEDIATE`); another store (PostgreSQL) runs
//! them on a pool and takes the row locks in `Tx::lock_for_binding`.
//!
//! Both run the one statement set of `sql` (the one `Tx`); `sqlite` and `postgres` hold only what differs:
//! connections, pools, migrations, how a job's transaction is run, and which locks a connection takes.

pub mod postgres;
mod rows;
mod run;
mod sql;
pub mod sqlite;

pub use run::{read, write, TxError, TxFn};

/// The migrations of one database, in order: `(version, SQL)` from `server/migrations/<dir>/<version>.sql`.
macro_rules! migrations {
    ($dir:literal: $($version:literal),+ $(,)?) => {
        &[$(($version, include_str!(concat!("../../migrations/", $dir, "/", $version, ".sql")))),+]
    };
}
pub(crate) use migrations;

use renche::domain::{
    ActorRole, BindingMethod, EngineSuffix, LicenceClass, LicenceStatus, OwnerKind, PlateNumber,
    PlateType, Points, Relationship, UseNature, ViolationSource, ViolationState,
};
use renche::domain::{Fen, PhoneNumber, ResidentId};
use renche::{code_enum, Timestamp};
use std::future::Future;
use std::pin::Pin;

/// What can go wrong below the flows.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Database(String),
    /// A uniqueness rule of the schema was hit (a race the flow lost).
    #[error("unique constraint: {0}")]
    Unique(String),
    /// A stored value that the core parsers refuse: the data is damaged or was written by something else.
    #[error("stored value {column} is invalid: {problem}")]
    Corrupt {
        column: &'static str,
        problem: String,
    },
    #[error("the store is shut down")]
    Closed,
    /// The database cannot serve just now (connection refused or lost, a standby taking over, a statement
    /// timeout, a deadlock): nothing of the job was kept, and the same request may simply be sent again.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The idempotency key being stored with a job's work was stored by another request first (that
    /// request's transaction committed while this one waited on the key): nothing of this job was kept.
    #[error("the idempotency key was taken by another request")]
    KeyTaken,
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Whether a job's writes are kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Commit,
    Rollback,
}

pub type Job = Box<dyn FnOnce(&mut dyn Tx) -> Outcome + Send>;
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Runs units of work against a database.
pub trait Store: Send + Sync + 'static {
    /// Runs `job` in one write transaction; only one write transaction runs at a time per database.
    fn write(&self, job: Job) -> BoxFuture<'_, StoreResult<()>>;
    /// Runs `job` in one read-only snapshot.
    fn read(&self, job: Job) -> BoxFuture<'_, StoreResult<()>>;
    /// `sqlite` or `postgres`, for logs and health checks.
    fn backend(&self) -> &'static str;
    /// Where the database's write-ahead log stands, in bytes: on a primary, at or past every commit it has
    /// acknowledged; on a standby, what it has replayed. `None` where there is no such log to compare
    /// (SQLite), so a replica is never trusted.
    fn wal_position(&self) -> BoxFuture<'_, StoreResult<Option<u64>>> {
        Box::pin(async { Ok(None) })
    }
}

/// A registered or imported person.
#[derive(Clone, Debug)]
pub struct PersonRow {
    pub id: i64,
    pub name: String,
    pub resident_id: ResidentId,
    pub phone: PhoneNumber,
    pub registered_at: Option<Timestamp>,
    pub identity_verified: bool,
    pub role: Role,
    pub licence: Option<LicenceRow>,
}

// Not a `code_enum!`: its `parse` gives an `Option`, which the people import relies on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Person,
    Officer,
}

impl Role {
    pub fn code(self) -> &'static str {
        match self {
            Role::Person => "person",
            Role::Officer => "officer",
        }
    }
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "person" => Some(Role::Person),
            "officer" => Some(Role::Officer),
            _ => None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct LicenceRow {
    pub class: LicenceClass,
    pub status: LicenceStatus,
    pub points: u32,
    pub cycle_start: Option<Timestamp>,
}

#[derive(Clone, Debug)]
pub struct NewPerson {
    pub name: String,
    pub resident_id: ResidentId,
    pub phone: PhoneNumber,
    pub registered_at: Option<Timestamp>,
    pub identity_verified: bool,
    pub role: Role,
    pub licence: Option<LicenceRow>,
    pub created_at: Timestamp,
}

#[derive(Clone, Debug)]
pub struct VehicleRow {
    pub id: i64,
    pub plate_number: PlateNumber,
    pub engine_suffix: EngineSuffix,
    pub use_nature: UseNature,
    pub owner_kind: OwnerKind,
    pub owner_person_id: Option<i64>,
    pub owner_name: String,
    pub owner_phone: PhoneNumber,
    pub city: String,
}

impl VehicleRow {
    pub fn plate_type(&self) -> PlateType {
        self.plate_number.plate_type()
    }
}

#[derive(Clone, Debug)]
pub struct NewVehicle {
    pub plate_number: PlateNumber,
    pub engine_number: String,
    pub engine_suffix: EngineSuffix,
    pub use_nature: UseNature,
    pub owner_kind: OwnerKind,
    pub owner_person_id: Option<i64>,
    pub owner_name: String,
    pub owner_phone: PhoneNumber,
    pub owner_resident_id: Option<ResidentId>,
    pub city: String,
    pub created_at: Timestamp,
}

#[derive(Clone, Debug)]
pub struct BindingRow {
    pub id: i64,
    pub binder_id: i64,
    pub vehicle_id: i64,
    pub relationship: Relationship,
    pub method: BindingMethod,
    pub created_at: Timestamp,
    pub removed_at: Option<Timestamp>,
    pub removed_by: Option<i64>,
    pub removed_role: Option<ActorRole>,
}

/// What a binding commit decides on, read in one go after the binding locks (`Tx::load_for_binding`).
#[derive(Clone, Debug)]
pub struct BindingFactsRows {
    /// The person acting, when not the binder (an officer at the window or in review).
    pub actor: Option<PersonRow>,
    pub binder: Option<PersonRow>,
    pub vehicle: Option<VehicleRow>,
    pub binder_bindings: Vec<BindingRow>,
    pub vehicle_bindings: Vec<BindingRow>,
    /// The binder's submitted applications, newest first (`Tx::submitted_applications`).
    pub submitted_applications: Vec<(String, Timestamp)>,
    /// The id the binding will have if it is made (`Tx::insert_reserved_binding`), read with the vehicle;
    /// unused ids are gaps.
    pub next_binding_id: i64,
}

#[derive(Clone, Debug)]
pub struct NewBinding {
    pub binder_id: i64,
    pub vehicle_id: i64,
    pub relationship: Relationship,
    pub method: BindingMethod,
    pub application_id: Option<String>,
    pub created_at: Timestamp,
}

code_enum! {
    QrState, "QR code state (active, used or replaced)" {
        Active = "active", "有效", "Active";
        Used = "used", "已使用", "Used";
        Replaced = "replaced", "已作废", "Replaced";
    }
}

#[derive(Clone, Debug)]
pub struct QrCodeRow {
    pub id: i64,
    pub vehicle_id: i64,
    pub issued_at: Timestamp,
    pub expires_at: Timestamp,
    pub state: QrState,
    pub used_by: Option<i64>,
}

code_enum! {
    /// What a one-time SMS code is for.
    SmsPurpose, "SMS purpose (register, sign_in or binding)" {
        Register = "register", "注册", "Registration";
        SignIn = "sign_in", "登录", "Sign-in";
        Binding = "binding", "绑定车辆", "Binding a vehicle";
    }
}

#[derive(Clone, Debug)]
pub struct SmsChallengeRow {
    pub id: String,
    pub purpose: SmsPurpose,
    pub requester: String,
    /// The phone the code went to; `None` for a decoy (no vehicle matched).
    pub phone: Option<String>,
    pub plate_key: Option<String>,
    pub vehicle_id: Option<i64>,
    pub salt: Vec<u8>,
    pub code_hash: Vec<u8>,
    pub delivered: bool,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub wrong_tries: u32,
    pub consumed_at: Option<Timestamp>,
}

/// What to count SMS challenges by (cool-downs and daily caps).
#[derive(Clone, Debug)]
pub enum SmsCountKey {
    Phone(String),
    Plate(String),
    RequesterPlate {
        requester: String,
        plate_key: String,
    },
}

#[derive(Clone, Debug)]
pub struct ViolationRow {
    pub id: i64,
    pub vehicle_id: i64,
    pub occurred_at: Timestamp,
    pub code: String,
    pub description: String,
    pub place: String,
    pub points: Points,
    pub fine_fen: Fen,
    pub source: ViolationSource,
    pub state: ViolationState,
    pub handled_by: Option<i64>,
    pub decision_number: Option<String>,
    pub decided_at: Option<Timestamp>,
    pub paid_at: Option<Timestamp>,
    pub paid_fen: Option<Fen>,
    pub payment_ref: Option<String>,
}

#[derive(Clone, Debug)]
pub struct NewViolation {
    pub vehicle_id: i64,
    pub occurred_at: Timestamp,
    pub code: String,
    pub description: String,
    pub place: String,
    pub points: Points,
    pub fine_fen: Fen,
    pub source: ViolationSource,
    pub state: ViolationState,
    pub decision_number: Option<String>,
    pub decided_at: Option<Timestamp>,
    pub created_at: Timestamp,
}

code_enum! {
    /// Where a binding application stands.
    ApplicationStatus, "application status" {
        AwaitingVerification = "awaiting_verification", "待核验身份", "Awaiting identity verification";
        InReview = "in_review", "人工审核中", "In review";
        Committed = "committed", "已绑定", "Committed";
        Rejected = "rejected", "已驳回", "Rejected";
        Withdrawn = "withdrawn", "车主已撤回", "Withdrawn by the owner";
    }
}

code_enum! {
    /// Where an application's real-person verification stands (the last result taken for it).
    Verification, "verification outcome (pending, passed, failed or unavailable)" {
        Pending = "pending", "核验中", "Pending";
        Passed = "passed", "核验通过", "Passed";
        Failed = "failed", "核验未通过", "Failed";
        Unavailable = "unavailable", "核验服务不可用", "Verifier unavailable";
    }
}

#[derive(Clone, Debug)]
pub struct ApplicationRow {
    pub id: String,
    pub binder_id: i64,
    pub vehicle_id: i64,
    pub method: BindingMethod,
    pub relationship: Option<Relationship>,
    pub status: ApplicationStatus,
    pub verification: Option<Verification>,
    pub note: Option<String>,
    pub binding_id: Option<i64>,
    pub created_at: Timestamp,
    pub submitted_at: Option<Timestamp>,
    pub reviewed_by: Option<i64>,
    pub reviewed_at: Option<Timestamp>,
    pub review_reason: Option<String>,
}

/// Whose bindings a history lists: those a person made, or those of a vehicle.
#[derive(Clone, Copy, Debug)]
pub enum BindingsOf {
    Binder(i64),
    Vehicle(i64),
}

/// An account: a phone proven by an SMS code, linked to a person only by a passed verification.
#[derive(Clone, Debug)]
pub struct AccountRow {
    pub id: i64,
    pub phone: PhoneNumber,
    pub person_id: Option<i64>,
    pub created_at: Timestamp,
    pub verified_at: Option<Timestamp>,
}

code_enum! {
    /// What a real-person verification is for.
    VerificationPurpose, "verification purpose (account or application)" {
        Account = "account", "账户实名", "Account";
        Application = "application", "绑定申请", "Binding application";
    }
}

code_enum! {
    /// Where a real-person verification stands.
    VerificationStatus, "verification status (started, passed, failed, no_face or unavailable)" {
        Started = "started", "进行中", "Started";
        Passed = "passed", "通过", "Passed";
        Failed = "failed", "未通过", "Failed";
        NoFace = "no_face", "未检测到人脸", "No face";
        Unavailable = "unavailable", "服务不可用", "Unavailable";
    }
}

/// One real-person verification started by an account at the identity provider.
#[derive(Clone, Debug)]
pub struct VerificationRow {
    pub id: String,
    pub account_id: i64,
    pub purpose: VerificationPurpose,
    pub resident_id: String,
    pub name: String,
    pub application_id: Option<String>,
    pub provider_session: Option<String>,
    pub provider_url: Option<String>,
    pub status: VerificationStatus,
    pub created_at: Timestamp,
    pub finished_at: Option<Timestamp>,
}

#[derive(Clone, Debug)]
pub struct SessionRow {
    pub account_id: Option<i64>,
    /// The account's linked person, read with the session: a session is a person's only while its account
    /// is linked.
    pub person_id: Option<i64>,
    pub csrf_token: String,
    pub expires_at: Timestamp,
    /// The kiosk a kiosk session was opened at (its person is then the session's own, with no account).
    pub kiosk_id: Option<i64>,
}

/// An idempotency key as stored.
#[derive(Clone, Debug)]
pub struct StoredKey {
    pub fingerprint: Vec<u8>,
    /// Claimed by a request that has not stored its answer yet.
    pub running: bool,
    pub status: Option<u16>,
    pub body: Vec<u8>,
    pub created_at: Timestamp,
}

impl StoredKey {
    /// How a request with `fingerprint` stands against this key: `Started` when the key is running but
    /// stale (its request died), so that the request may take it over.
    pub fn standing(self, fingerprint: &[u8], stale_before: Timestamp) -> IdempotencyBegin {
        if self.fingerprint != fingerprint {
            IdempotencyBegin::Mismatch
        } else if self.running && self.created_at < stale_before {
            IdempotencyBegin::Started
        } else if self.running {
            IdempotencyBegin::InFlight
        } else {
            IdempotencyBegin::Replay {
                status: self.status.unwrap_or(200),
                body: self.body,
            }
        }
    }
}

/// The state of an idempotency key when a request arrives.
#[derive(Clone, Debug)]
pub enum IdempotencyBegin {
    /// First time: the request runs.
    Started,
    /// The same key is running now.
    InFlight,
    /// The same key was used for another request.
    Mismatch,
    /// Finished before: the stored answer.
    Replay { status: u16, body: Vec<u8> },
}

#[derive(Clone, Debug)]
pub struct NotificationRow {
    pub id: i64,
    pub kind: String,
    pub message_zh: String,
    pub message_en: String,
    pub created_at: Timestamp,
    pub read_at: Option<Timestamp>,
}

/// A text message to a phone, waiting to be handed to the SMS gateway.
#[derive(Clone, Debug)]
pub struct SmsNoticeRow {
    pub id: i64,
    pub phone: String,
    pub text: String,
}

/// What is kept of a review photo besides its bytes.
#[derive(Clone, Debug)]
pub struct ReviewPhotoRow {
    pub content_type: String,
    pub size: usize,
    pub uploaded_at: Timestamp,
    pub reject_code: Option<String>,
}

/// An enrolled kiosk: where it stands and the public half of the key it signs its requests with.
#[derive(Clone, Debug)]
pub struct KioskRow {
    pub id: i64,
    pub city: String,
    pub place: String,
    pub public_key: Vec<u8>,
    pub enrolled_by: i64,
    pub enrolled_at: Timestamp,
    pub disabled_at: Option<Timestamp>,
}

#[derive(Clone, Debug)]
pub struct AuditEntry {
    pub at: Timestamp,
    pub actor_id: Option<i64>,
    pub action: &'static str,
    pub subject: String,
    pub detail: serde_json::Value,
}

/// One vehicle's open violations (unhandled, or handled and unpaid) with the vehicle and its registered
/// owner, as the policy preview reads them.
#[derive(Clone, Debug)]
pub struct OpenViolations {
    pub vehicle: VehicleRow,
    /// `None` when the owner is not a platform user (a unit, or someone not registered).
    pub owner: Option<PersonRow>,
    /// Newest first.
    pub violations: Vec<ViolationRow>,
}

/// An active binding with the vehicle and the person who made it.
#[derive(Clone, Debug)]
pub struct ActiveBinding {
    pub binding: BindingRow,
    pub vehicle: VehicleRow,
    pub binder: PersonRow,
}

/// One unit of database work. Every method acts inside the job's transaction.
pub trait Tx {
    // People.
    fn person(&mut self, id: i64) -> StoreResult<Option<PersonRow>>;
    fn person_by_phone(&mut self, phone: &str) -> StoreResult<Option<PersonRow>>;
    fn person_by_resident_id(&mut self, resident_id: &str) -> StoreResult<Option<PersonRow>>;
    fn insert_person(&mut self, person: &NewPerson) -> StoreResult<i64>;
    /// Marks an imported person as registered (their phone confirmed).
    fn register_person(
        &mut self,
        id: i64,
        name: &str,
        phone: &str,
        at: Timestamp,
    ) -> StoreResult<()>;
    fn set_identity_verified(&mut self, id: i64) -> StoreResult<()>;
    fn set_licence_points(
        &mut self,
        id: i64,
        points: u32,
        cycle_start: Option<Timestamp>,
    ) -> StoreResult<()>;
    fn count_people(&mut self) -> StoreResult<i64>;

    // Vehicles.
    fn vehicle(&mut self, id: i64) -> StoreResult<Option<VehicleRow>>;
    fn vehicle_by_plate(
        &mut self,
        plate_type: PlateType,
        plate_number: &str,
    ) -> StoreResult<Option<VehicleRow>>;
    /// Every vehicle with this plate number (normal form), of any plate type, by type code.
    fn vehicles_by_plate_number(&mut self, plate_number: &str) -> StoreResult<Vec<VehicleRow>>;
    fn vehicles_owned_by(&mut self, person_id: i64) -> StoreResult<Vec<VehicleRow>>;
    fn insert_vehicle(&mut self, vehicle: &NewVehicle) -> StoreResult<i64>;
    /// Gives the vehicles recorded with this owner resident ID to the person who just registered.
    fn link_vehicles_to_owner(&mut self, resident_id: &str, person_id: i64) -> StoreResult<()>;

    // Bindings.
    /// Takes the locks that make the binding counts of this person and this vehicle stable until the end
    /// of the transaction, in a fixed order (a no-op where writes are serialised already).
    fn lock_for_binding(&mut self, binder_id: i64, vehicle_id: i64) -> StoreResult<()>;
    fn binding(&mut self, id: i64) -> StoreResult<Option<BindingRow>>;
    fn active_bindings_of_binder(&mut self, binder_id: i64) -> StoreResult<Vec<BindingRow>>;
    fn active_bindings_of_vehicle(&mut self, vehicle_id: i64) -> StoreResult<Vec<BindingRow>>;
    fn insert_binding(&mut self, binding: &NewBinding) -> StoreResult<i64>;
    /// Takes the binding locks (`lock_for_binding`), then reads everything a commit decides on and
    /// reserves the new binding's id: on PostgreSQL one round trip, the locks included.
    fn load_for_binding(
        &mut self,
        binder_id: i64,
        vehicle_id: i64,
        actor_id: Option<i64>,
    ) -> StoreResult<BindingFactsRows>;
    /// Inserts a binding under the id `load_for_binding` reserved; its failure (there is none to expect
    /// under the locks) may surface at the next statement or the commit.
    fn insert_reserved_binding(&mut self, id: i64, binding: &NewBinding)
        -> StoreResult<BindingRow>;
    fn remove_binding(
        &mut self,
        id: i64,
        at: Timestamp,
        by: i64,
        role: ActorRole,
    ) -> StoreResult<()>;

    // Binding applications.
    fn insert_application(&mut self, application: &ApplicationRow) -> StoreResult<()>;
    fn application(&mut self, id: &str) -> StoreResult<Option<ApplicationRow>>;
    fn update_application(&mut self, application: &ApplicationRow) -> StoreResult<()>;
    /// The application was committed as this binding (a no-op for an id that does not exist).
    fn mark_application_committed(
        &mut self,
        id: &str,
        binding_id: i64,
        relationship: Relationship,
        at: Timestamp,
    ) -> StoreResult<()>;
    fn applications_in_review(&mut self) -> StoreResult<Vec<ApplicationRow>>;
    /// When this person filed binding applications (for the caps), with each application's id.
    fn submitted_applications(&mut self, binder_id: i64) -> StoreResult<Vec<(String, Timestamp)>>;

    // QR codes.
    fn replace_active_qr_codes(&mut self, vehicle_id: i64) -> StoreResult<()>;
    fn insert_qr_code(
        &mut self,
        vehicle_id: i64,
        issued_by: i64,
        token_hash: &[u8],
        issued_at: Timestamp,
        expires_at: Timestamp,
    ) -> StoreResult<i64>;
    fn qr_code_by_token_hash(&mut self, token_hash: &[u8]) -> StoreResult<Option<QrCodeRow>>;
    fn mark_qr_code_used(&mut self, id: i64, by: i64, at: Timestamp) -> StoreResult<()>;

    // SMS challenges.
    fn insert_sms_challenge(&mut self, challenge: &SmsChallengeRow) -> StoreResult<()>;
    fn sms_challenge(&mut self, id: &str) -> StoreResult<Option<SmsChallengeRow>>;
    fn record_sms_wrong_try(&mut self, id: &str) -> StoreResult<()>;
    fn consume_sms_challenge(&mut self, id: &str, at: Timestamp) -> StoreResult<()>;
    fn count_sms_challenges(&mut self, key: &SmsCountKey, since: Timestamp) -> StoreResult<u32>;
    fn last_sms_challenge_at(&mut self, key: &SmsCountKey) -> StoreResult<Option<Timestamp>>;

    // Violations.
    fn violation(&mut self, id: i64) -> StoreResult<Option<ViolationRow>>;
    fn violations_of_vehicle(
        &mut self,
        vehicle_id: i64,
        limit: u32,
    ) -> StoreResult<Vec<ViolationRow>>;
    fn insert_violation(&mut self, violation: &NewViolation) -> StoreResult<i64>;
    fn update_violation(&mut self, violation: &ViolationRow) -> StoreResult<()>;

    // Sessions.
    fn insert_session(
        &mut self,
        token_hash: &[u8],
        account_id: Option<i64>,
        csrf_token: &str,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> StoreResult<()>;
    /// A session opened at a kiosk for the person its card reader and face check named.
    fn insert_kiosk_session(
        &mut self,
        token_hash: &[u8],
        person_id: i64,
        kiosk_id: i64,
        csrf_token: &str,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> StoreResult<()>;
    fn session(&mut self, token_hash: &[u8]) -> StoreResult<Option<SessionRow>>;
    /// `session` as the job's only step: on PostgreSQL one statement, without a transaction.
    fn session_alone(&mut self, token_hash: &[u8]) -> StoreResult<Option<SessionRow>>;
    /// The session of this token and, when it is live at `now`, `key` claimed under the session's scope
    /// (`flows::sessions::Session::scope`, which the statement computes too): the scope claimed, or None
    /// when the key exists already. On PostgreSQL one round trip, committed with it; the job's last step.
    fn session_with_claim(
        &mut self,
        token_hash: &[u8],
        key: &str,
        fingerprint: &[u8],
        now: Timestamp,
    ) -> StoreResult<(Option<SessionRow>, Option<String>)>;
    /// The session of this token, and `key` as stored under the session's scope (computed by the statement
    /// as `Session::scope` computes it). On PostgreSQL one statement, without a transaction: the job's only
    /// step.
    fn session_with_key(
        &mut self,
        token_hash: &[u8],
        key: &str,
    ) -> StoreResult<(Option<SessionRow>, Option<StoredKey>)>;
    fn delete_session(&mut self, token_hash: &[u8]) -> StoreResult<()>;
    fn delete_sessions_of_account(&mut self, account_id: i64) -> StoreResult<()>;

    // Accounts and real-person verification
    fn account(&mut self, id: i64) -> StoreResult<Option<AccountRow>>;
    /// Locks the row where rows are locked.
    fn account_by_phone(&mut self, phone: &str) -> StoreResult<Option<AccountRow>>;
    fn account_of_person(&mut self, person_id: i64) -> StoreResult<Option<AccountRow>>;
    fn insert_account(&mut self, phone: &str, at: Timestamp) -> StoreResult<i64>;
    fn link_account(&mut self, account_id: i64, person_id: i64, at: Timestamp) -> StoreResult<()>;
    fn unlink_account(&mut self, account_id: i64) -> StoreResult<()>;
    /// A record linked to a verified account: its phone on file becomes the account's, it is registered and
    /// verified.
    fn mark_person_verified(&mut self, id: i64, phone: &str, at: Timestamp) -> StoreResult<()>;
    fn insert_verification(&mut self, v: &VerificationRow) -> StoreResult<()>;
    fn verification(&mut self, id: &str) -> StoreResult<Option<VerificationRow>>;
    fn set_verification_provider(&mut self, id: &str, session: &str, url: &str) -> StoreResult<()>;
    fn set_verification_status(
        &mut self,
        id: &str,
        status: VerificationStatus,
        at: Timestamp,
    ) -> StoreResult<()>;
    /// Records a provider result as used; `false` when it was used before.
    fn use_identity_result(
        &mut self,
        result_id: &str,
        verification_id: &str,
        outcome: &str,
        at: Timestamp,
    ) -> StoreResult<bool>;

    // Idempotency keys.
    /// Claims the key or finds how it stands. A successful claim is committed at once (on PostgreSQL in
    /// the claim's own round trip), so it is the last thing a job does.
    fn idempotency_begin(
        &mut self,
        scope: &str,
        key: &str,
        fingerprint: &[u8],
        now: Timestamp,
        stale_before: Timestamp,
    ) -> StoreResult<IdempotencyBegin>;
    fn idempotency_finish(
        &mut self,
        scope: &str,
        key: &str,
        status: u16,
        body: &[u8],
        now: Timestamp,
    ) -> StoreResult<()>;
    /// Stores a key that was never claimed, finished with its answer: in the transaction of the work it
    /// answers, whose commit it makes wait for another request storing the same key. Fails with
    /// `StoreError::KeyTaken` when the key is there already (on PostgreSQL at the job's next read or its
    /// commit), and then nothing of the job is kept.
    fn idempotency_store_answer(
        &mut self,
        scope: &str,
        key: &str,
        fingerprint: &[u8],
        status: u16,
        body: &[u8],
        now: Timestamp,
    ) -> StoreResult<()>;
    /// The key as stored, if it is.
    fn idempotency_key(&mut self, scope: &str, key: &str) -> StoreResult<Option<StoredKey>>;
    /// Releases a key that is still running (a finished key keeps its answer).
    fn idempotency_forget(&mut self, scope: &str, key: &str) -> StoreResult<()>;
    /// Releases the key only if it is still running as the claim made at `claimed_at` for `fingerprint`
    /// left it: a claim whose commit the database never confirmed (a failover), not another request's.
    fn idempotency_forget_claim(
        &mut self,
        scope: &str,
        key: &str,
        fingerprint: &[u8],
        claimed_at: Timestamp,
    ) -> StoreResult<()>;
    /// Drops finished keys created before `before` and expired sessions; returns how many rows went.
    fn purge_expired(&mut self, keys_before: Timestamp, now: Timestamp) -> StoreResult<u64>;

    // Rate-limit counters.
    /// Adds one to the counter of `key` in the window starting at `window_start`; returns the new count.
    fn bump_counter(&mut self, key: &str, window_start: Timestamp) -> StoreResult<u32>;
    fn counter(&mut self, key: &str, window_start: Timestamp) -> StoreResult<u32>;

    // Notifications and audit.
    fn insert_notification(
        &mut self,
        person_id: i64,
        kind: &str,
        zh: &str,
        en: &str,
        at: Timestamp,
    ) -> StoreResult<()>;
    fn notifications_of(&mut self, person_id: i64, limit: u32)
        -> StoreResult<Vec<NotificationRow>>;
    /// Marks one of the person's notices read (`id`), or all of them; how many changed.
    fn mark_notifications_read(
        &mut self,
        person_id: i64,
        id: Option<i64>,
        at: Timestamp,
    ) -> StoreResult<u64>;
    fn count_unread_notifications(&mut self, person_id: i64) -> StoreResult<u32>;
    /// Keeps an SMS notice to send once the transaction has committed.
    fn queue_sms_notice(&mut self, phone: &str, text: &str, at: Timestamp) -> StoreResult<()>;
    /// Takes up to `limit` unsent SMS notices, marking them sent at `at` (at most once each).
    fn claim_sms_notices(&mut self, at: Timestamp, limit: u32) -> StoreResult<Vec<SmsNoticeRow>>;

    // History.
    /// Every binding the person made, or of the vehicle, removed ones too, newest first.
    fn binding_history(&mut self, of: BindingsOf, limit: u32) -> StoreResult<Vec<BindingRow>>;
    /// The violations this person handled (and maybe paid), newest first, bound or not.
    fn violations_handled_by(
        &mut self,
        person_id: i64,
        limit: u32,
    ) -> StoreResult<Vec<ViolationRow>>;
    /// The vehicle's applications not yet committed, rejected or withdrawn.
    fn open_applications_of_vehicle(&mut self, vehicle_id: i64)
        -> StoreResult<Vec<ApplicationRow>>;
    /// The person's own applications, newest first.
    fn applications_of_binder(
        &mut self,
        binder_id: i64,
        limit: u32,
    ) -> StoreResult<Vec<ApplicationRow>>;

    // Review photos.
    /// Keeps the photo of an application, replacing an earlier one.
    fn put_review_photo(
        &mut self,
        application_id: &str,
        content_type: &str,
        image: &[u8],
        at: Timestamp,
    ) -> StoreResult<()>;
    fn review_photo(&mut self, application_id: &str) -> StoreResult<Option<ReviewPhotoRow>>;
    fn review_photo_image(&mut self, application_id: &str) -> StoreResult<Option<Vec<u8>>>;
    fn set_review_reject_code(&mut self, application_id: &str, code: &str) -> StoreResult<()>;
    fn append_audit(&mut self, entry: &AuditEntry) -> StoreResult<()>;

    // Kiosks.
    fn insert_kiosk(
        &mut self,
        city: &str,
        place: &str,
        public_key: &[u8],
        enrolled_by: i64,
        at: Timestamp,
    ) -> StoreResult<i64>;
    fn kiosk(&mut self, id: i64) -> StoreResult<Option<KioskRow>>;
    /// Every enrolled kiosk, enabled or not, in the order they were enrolled.
    fn kiosks(&mut self) -> StoreResult<Vec<KioskRow>>;
    fn disable_kiosk(&mut self, id: i64, at: Timestamp) -> StoreResult<()>;
    /// Records a signed request's nonce; false when this kiosk has used it before (a replay).
    fn use_kiosk_nonce(&mut self, kiosk_id: i64, nonce: &str, at: Timestamp) -> StoreResult<bool>;

    // Policy preview.
    /// Every active binding with its vehicle and binder, by vehicle, in every city (a binder's limit counts
    /// the bindings of every city).
    fn active_bindings_with_parties(&mut self) -> StoreResult<Vec<ActiveBinding>>;
    /// Every open violation of the vehicles of `city` (every city when `None`), handed to `each` one
    /// vehicle at a time in vehicle order: what is held is one vehicle's violations, however many the
    /// database has.
    fn each_vehicle_with_open_violations(
        &mut self,
        city: Option<&str>,
        each: &mut dyn FnMut(OpenViolations) -> StoreResult<()>,
    ) -> StoreResult<()>;

    // Server keys.
    fn server_key(&mut self, name: &str) -> StoreResult<Option<Vec<u8>>>;
    fn insert_server_key(&mut self, name: &str, key: &[u8], at: Timestamp) -> StoreResult<()>;
}
