//! Turning a result row into the store's row types, once for both stores.
//!
//! Rows are read by position through `Columns`, so the SELECTs in `sql` list the columns in the order of
//! the constants here. A column the driver cannot read is a `Database` error; a value the core
//! parsers refuse is `Corrupt`, named by its column.

use super::{
    AccountRow, ApplicationRow, ApplicationStatus, BindingRow, KioskRow, LicenceRow,
    NotificationRow, PersonRow, QrCodeRow, QrState, ReviewPhotoRow, Role, SessionRow,
    SmsChallengeRow, SmsNoticeRow, SmsPurpose, StoreError, StoreResult, VehicleRow, Verification,
    VerificationPurpose, VerificationRow, VerificationStatus, ViolationRow,
};
use renche::domain::{
    ActorRole, BindingMethod, EngineSuffix, Fen, LicenceClass, LicenceStatus, OwnerKind,
    PhoneNumber, PlateNumber, PlateType, Points, Relationship, ResidentId, UseNature,
    ViolationSource, ViolationState,
};
use renche::Timestamp;

/// The columns of one result row, by position, as the types the parsers take. A driver's own error (no
/// such column, a NULL or a value of another type) comes back as it converts to `StoreError`.
pub(super) trait Columns {
    /// Any integer column, widened to i64.
    fn int(&self, i: usize) -> StoreResult<i64>;
    fn opt_int(&self, i: usize) -> StoreResult<Option<i64>>;
    fn text(&self, i: usize) -> StoreResult<String>;
    fn opt_text(&self, i: usize) -> StoreResult<Option<String>>;
    fn flag(&self, i: usize) -> StoreResult<bool>;
    fn bytes(&self, i: usize) -> StoreResult<Vec<u8>>;
    fn opt_bytes(&self, i: usize) -> StoreResult<Option<Vec<u8>>>;
}

pub(super) const PERSON_COLUMNS: &str = "id, name, resident_id, phone, registered_at, identity_verified, role, licence_class, licence_status, licence_points, licence_cycle_start";
pub(super) const VEHICLE_COLUMNS: &str =
    "id, plate_type, plate_number, engine_suffix, use_nature, owner_kind, owner_person_id, owner_name, owner_phone, city";
pub(super) const BINDING_COLUMNS: &str =
    "id, binder_id, vehicle_id, relationship, method, created_at, removed_at, removed_by, removed_role";
pub(super) const VIOLATION_COLUMNS: &str = "id, vehicle_id, occurred_at, code, description, place, points, fine_fen, source, state, handled_by, decision_number, decided_at, paid_at, paid_fen, payment_ref";
pub(super) const APPLICATION_COLUMNS: &str = "id, binder_id, vehicle_id, method, relationship, status, verification, note, binding_id, created_at, submitted_at, reviewed_by, reviewed_at, review_reason";
pub(super) const SMS_COLUMNS: &str = "id, purpose, requester, phone, plate_key, vehicle_id, salt, code_hash, delivered, created_at, expires_at, wrong_tries, consumed_at";
pub(super) const QR_CODE_COLUMNS: &str = "id, vehicle_id, issued_at, expires_at, state, used_by";
/// How many columns a column list names (its commas outside parentheses, plus one).
pub(super) fn column_count(columns: &str) -> usize {
    let mut depth = 0i32;
    let mut count = 1;
    for c in columns.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => count += 1,
            _ => {}
        }
    }
    count
}

pub(super) const SESSION_COLUMNS: &str =
    "s.account_id, COALESCE(a.person_id, s.person_id), s.csrf_token, s.expires_at, s.kiosk_id";
pub(super) const ACCOUNT_COLUMNS: &str = "id, phone, person_id, created_at, verified_at";
pub(super) const VERIFICATION_COLUMNS: &str = "id, account_id, purpose, resident_id, name, application_id, provider_session, provider_url, status, created_at, finished_at";
pub(super) const NOTIFICATION_COLUMNS: &str =
    "id, kind, message_zh, message_en, created_at, read_at";

/// `a, b` → `t.a, t.b`: a column list for a join, where names repeat across tables.
pub(super) fn qualified(columns: &str, table: &str) -> String {
    columns
        .split(", ")
        .map(|c| format!("{table}.{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The columns from `offset` on, for the parsers of a joined row's later tables.
pub(super) struct Shifted<'a>(pub &'a dyn Columns, pub usize);

impl Columns for Shifted<'_> {
    fn int(&self, i: usize) -> StoreResult<i64> {
        self.0.int(self.1 + i)
    }
    fn opt_int(&self, i: usize) -> StoreResult<Option<i64>> {
        self.0.opt_int(self.1 + i)
    }
    fn text(&self, i: usize) -> StoreResult<String> {
        self.0.text(self.1 + i)
    }
    fn opt_text(&self, i: usize) -> StoreResult<Option<String>> {
        self.0.opt_text(self.1 + i)
    }
    fn flag(&self, i: usize) -> StoreResult<bool> {
        self.0.flag(self.1 + i)
    }
    fn bytes(&self, i: usize) -> StoreResult<Vec<u8>> {
        self.0.bytes(self.1 + i)
    }
    fn opt_bytes(&self, i: usize) -> StoreResult<Option<Vec<u8>>> {
        self.0.opt_bytes(self.1 + i)
    }
}

/// How many columns a list names.
pub(super) fn width(columns: &str) -> usize {
    columns.split(", ").count()
}

fn corrupt(column: &'static str, problem: impl ToString) -> StoreError {
    StoreError::Corrupt {
        column,
        problem: problem.to_string(),
    }
}

fn ts(ms: i64) -> Timestamp {
    Timestamp::from_millis(ms)
}
pub(super) fn ts_opt(ms: Option<i64>) -> Option<Timestamp> {
    ms.map(Timestamp::from_millis)
}

/// An optional code column, parsed when present.
fn opt_code<T, E: ToString>(
    value: Option<String>,
    column: &'static str,
    parse: fn(&str) -> Result<T, E>,
) -> StoreResult<Option<T>> {
    value
        .map(|v| parse(&v).map_err(|e| corrupt(column, e)))
        .transpose()
}

fn fen(v: i64, column: &'static str) -> StoreResult<Fen> {
    u64::try_from(v)
        .ok()
        .and_then(Fen::new)
        .ok_or_else(|| corrupt(column, v))
}

pub(super) fn person(r: &dyn Columns) -> StoreResult<PersonRow> {
    // Read even without a licence: an unreadable value is an error either way.
    let points = r.int(9)?;
    let cycle_start = r.opt_int(10)?;
    let licence = match (r.opt_text(7)?, r.opt_text(8)?) {
        (Some(c), Some(s)) => Some(LicenceRow {
            class: LicenceClass::parse(&c).map_err(|e| corrupt("people.licence_class", e))?,
            status: LicenceStatus::parse(&s).map_err(|e| corrupt("people.licence_status", e))?,
            points: u32::try_from(points).map_err(|e| corrupt("people.licence_points", e))?,
            cycle_start: ts_opt(cycle_start),
        }),
        _ => None,
    };
    let resident_id = r.text(2)?;
    let phone = r.text(3)?;
    let role = r.text(6)?;
    Ok(PersonRow {
        id: r.int(0)?,
        name: r.text(1)?,
        resident_id: ResidentId::parse(&resident_id)
            .map_err(|e| corrupt("people.resident_id", e))?,
        phone: PhoneNumber::parse(&phone).map_err(|e| corrupt("people.phone", e))?,
        registered_at: ts_opt(r.opt_int(4)?),
        identity_verified: r.flag(5)?,
        role: Role::parse(&role).ok_or_else(|| corrupt("people.role", &role))?,
        licence,
    })
}

pub(super) fn vehicle(r: &dyn Columns) -> StoreResult<VehicleRow> {
    let plate_type =
        PlateType::parse(&r.text(1)?).map_err(|e| corrupt("vehicles.plate_type", e))?;
    Ok(VehicleRow {
        id: r.int(0)?,
        plate_number: PlateNumber::parse(&r.text(2)?, plate_type)
            .map_err(|e| corrupt("vehicles.plate_number", e))?,
        engine_suffix: EngineSuffix::parse(&r.text(3)?)
            .map_err(|e| corrupt("vehicles.engine_suffix", e))?,
        use_nature: UseNature::parse(&r.text(4)?).map_err(|e| corrupt("vehicles.use_nature", e))?,
        owner_kind: OwnerKind::parse(&r.text(5)?).map_err(|e| corrupt("vehicles.owner_kind", e))?,
        owner_person_id: r.opt_int(6)?,
        owner_name: r.text(7)?,
        owner_phone: PhoneNumber::parse(&r.text(8)?)
            .map_err(|e| corrupt("vehicles.owner_phone", e))?,
        city: r.text(9)?,
    })
}

pub(super) fn binding(r: &dyn Columns) -> StoreResult<BindingRow> {
    Ok(BindingRow {
        id: r.int(0)?,
        binder_id: r.int(1)?,
        vehicle_id: r.int(2)?,
        relationship: Relationship::parse(&r.text(3)?)
            .map_err(|e| corrupt("bindings.relationship", e))?,
        method: BindingMethod::parse(&r.text(4)?).map_err(|e| corrupt("bindings.method", e))?,
        created_at: ts(r.int(5)?),
        removed_at: ts_opt(r.opt_int(6)?),
        removed_by: r.opt_int(7)?,
        removed_role: opt_code(r.opt_text(8)?, "bindings.removed_role", ActorRole::parse)?,
    })
}

pub(super) fn violation(r: &dyn Columns) -> StoreResult<ViolationRow> {
    Ok(ViolationRow {
        id: r.int(0)?,
        vehicle_id: r.int(1)?,
        occurred_at: ts(r.int(2)?),
        code: r.text(3)?,
        description: r.text(4)?,
        place: r.text(5)?,
        points: Points::new(r.int(6)?).map_err(|e| corrupt("violations.points", e))?,
        fine_fen: fen(r.int(7)?, "violations.fine_fen")?,
        source: ViolationSource::parse(&r.text(8)?).map_err(|e| corrupt("violations.source", e))?,
        state: ViolationState::parse(&r.text(9)?).map_err(|e| corrupt("violations.state", e))?,
        handled_by: r.opt_int(10)?,
        decision_number: r.opt_text(11)?,
        decided_at: ts_opt(r.opt_int(12)?),
        paid_at: ts_opt(r.opt_int(13)?),
        paid_fen: r
            .opt_int(14)?
            .map(|v| fen(v, "violations.paid_fen"))
            .transpose()?,
        payment_ref: r.opt_text(15)?,
    })
}

pub(super) fn application(r: &dyn Columns) -> StoreResult<ApplicationRow> {
    let method = r.text(3)?;
    let status = r.text(5)?;
    Ok(ApplicationRow {
        id: r.text(0)?,
        binder_id: r.int(1)?,
        vehicle_id: r.int(2)?,
        method: BindingMethod::parse(&method)
            .map_err(|e| corrupt("binding_applications.method", e))?,
        relationship: opt_code(
            r.opt_text(4)?,
            "binding_applications.relationship",
            Relationship::parse,
        )?,
        status: ApplicationStatus::parse(&status)
            .map_err(|e| corrupt("binding_applications.status", e))?,
        verification: opt_code(
            r.opt_text(6)?,
            "binding_applications.verification",
            Verification::parse,
        )?,
        note: r.opt_text(7)?,
        binding_id: r.opt_int(8)?,
        created_at: ts(r.int(9)?),
        submitted_at: ts_opt(r.opt_int(10)?),
        reviewed_by: r.opt_int(11)?,
        reviewed_at: ts_opt(r.opt_int(12)?),
        review_reason: r.opt_text(13)?,
    })
}

/// An application's id and when it was filed (`SELECT id, submitted_at`, filed ones only).
pub(super) fn submitted_application(r: &dyn Columns) -> StoreResult<(String, Timestamp)> {
    Ok((r.text(0)?, ts(r.int(1)?)))
}

pub(super) fn sms_challenge(r: &dyn Columns) -> StoreResult<SmsChallengeRow> {
    let purpose = r.text(1)?;
    Ok(SmsChallengeRow {
        id: r.text(0)?,
        purpose: SmsPurpose::parse(&purpose).map_err(|e| corrupt("sms_challenges.purpose", e))?,
        requester: r.text(2)?,
        phone: r.opt_text(3)?,
        plate_key: r.opt_text(4)?,
        vehicle_id: r.opt_int(5)?,
        salt: r.bytes(6)?,
        code_hash: r.bytes(7)?,
        delivered: r.flag(8)?,
        created_at: ts(r.int(9)?),
        expires_at: ts(r.int(10)?),
        wrong_tries: u32::try_from(r.int(11)?)
            .map_err(|e| corrupt("sms_challenges.wrong_tries", e))?,
        consumed_at: ts_opt(r.opt_int(12)?),
    })
}

pub(super) fn qr_code(r: &dyn Columns) -> StoreResult<QrCodeRow> {
    let state = QrState::parse(&r.text(4)?).map_err(|e| corrupt("qr_codes.state", e))?;
    Ok(QrCodeRow {
        id: r.int(0)?,
        vehicle_id: r.int(1)?,
        issued_at: ts(r.int(2)?),
        expires_at: ts(r.int(3)?),
        state,
        used_by: r.opt_int(5)?,
    })
}

pub(super) fn session(r: &dyn Columns) -> StoreResult<SessionRow> {
    Ok(SessionRow {
        account_id: r.opt_int(0)?,
        person_id: r.opt_int(1)?,
        csrf_token: r.text(2)?,
        expires_at: ts(r.int(3)?),
        kiosk_id: r.opt_int(4)?,
    })
}

pub(super) fn account(r: &dyn Columns) -> StoreResult<AccountRow> {
    Ok(AccountRow {
        id: r.int(0)?,
        phone: PhoneNumber::parse(&r.text(1)?).map_err(|e| corrupt("accounts.phone", e))?,
        person_id: r.opt_int(2)?,
        created_at: ts(r.int(3)?),
        verified_at: ts_opt(r.opt_int(4)?),
    })
}

pub(super) fn verification(r: &dyn Columns) -> StoreResult<VerificationRow> {
    Ok(VerificationRow {
        id: r.text(0)?,
        account_id: r.int(1)?,
        purpose: VerificationPurpose::parse(&r.text(2)?)
            .map_err(|e| corrupt("identity_verifications.purpose", e))?,
        resident_id: r.text(3)?,
        name: r.text(4)?,
        application_id: r.opt_text(5)?,
        provider_session: r.opt_text(6)?,
        provider_url: r.opt_text(7)?,
        status: VerificationStatus::parse(&r.text(8)?)
            .map_err(|e| corrupt("identity_verifications.status", e))?,
        created_at: ts(r.int(9)?),
        finished_at: ts_opt(r.opt_int(10)?),
    })
}

pub(super) fn notification(r: &dyn Columns) -> StoreResult<NotificationRow> {
    Ok(NotificationRow {
        id: r.int(0)?,
        kind: r.text(1)?,
        message_zh: r.text(2)?,
        message_en: r.text(3)?,
        created_at: ts(r.int(4)?),
        read_at: ts_opt(r.opt_int(5)?),
    })
}

pub(super) fn sms_notice(r: &dyn Columns) -> StoreResult<SmsNoticeRow> {
    Ok(SmsNoticeRow {
        id: r.int(0)?,
        phone: r.text(1)?,
        text: r.text(2)?,
    })
}

pub(super) fn review_photo(r: &dyn Columns) -> StoreResult<ReviewPhotoRow> {
    Ok(ReviewPhotoRow {
        content_type: r.text(0)?,
        size: usize::try_from(r.int(1)?).unwrap_or(0),
        uploaded_at: ts(r.int(2)?),
        reject_code: r.opt_text(3)?,
    })
}

pub(super) fn kiosk(r: &dyn Columns) -> StoreResult<KioskRow> {
    Ok(KioskRow {
        id: r.int(0)?,
        city: r.text(1)?,
        place: r.text(2)?,
        public_key: r.bytes(3)?,
        enrolled_by: r.int(4)?,
        enrolled_at: ts(r.int(5)?),
        disabled_at: ts_opt(r.opt_int(6)?),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_column_list_is_counted_by_its_commas_outside_parentheses() {
        assert_eq!(super::column_count(super::SESSION_COLUMNS), 5);
        assert_eq!(super::column_count("id"), 1);
        assert_eq!(super::column_count("a, f(b, c), d"), 3);
    }
}
