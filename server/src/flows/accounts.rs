//! Accounts: codes for registration and sign-in, registration (claiming an imported record), sign-in.

use crate::error::{PhoneAlreadyRegistered, ServerError, ServerErrorCode, ServerResult, Verdict};
use crate::flows::audit::audit;
use crate::flows::sessions;
use crate::flows::sms::{self, ChallengeTarget, CodeCheck, Delivery};
use crate::store::{NewPerson, PersonRow, Role, SmsChallengeRow, SmsCountKey, SmsPurpose, Tx};
use renche::domain::{PhoneNumber, ResidentId};
use renche::policy::SmsPolicy;
use renche::Timestamp;
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum AccountPurpose {
    Register,
    SignIn,
}

/// Opens a registration or sign-in challenge for `phone`. A sign-in code reaches only a registered
/// phone; the answer is the same either way.
pub fn send_code(
    tx: &mut dyn Tx,
    requester: String,
    phone: &PhoneNumber,
    purpose: AccountPurpose,
    sms_policy: &SmsPolicy,
    now: Timestamp,
) -> ServerResult<(SmsChallengeRow, Option<Delivery>)> {
    let key = SmsCountKey::Phone(phone.as_str().to_owned());
    sms::check_cooldown(tx, &key, sms_policy, now)?;
    sms::check_daily_cap(tx, &key, sms_policy.daily_cap_per_phone, now)?;
    let (purpose, deliver) = match purpose {
        AccountPurpose::Register => (SmsPurpose::Register, true),
        AccountPurpose::SignIn => (
            SmsPurpose::SignIn,
            tx.person_by_phone(phone.as_str())?
                .is_some_and(|p| p.registered_at.is_some()),
        ),
    };
    let target = ChallengeTarget {
        purpose,
        requester,
        phone: Some(phone.as_str().to_owned()),
        plate_key: None,
        vehicle_id: None,
        delivered: deliver,
    };
    sms::open_challenge(tx, target, now, sms_policy)
}

/// A session that has just been opened for a person.
pub struct SignedIn {
    pub person: PersonRow,
    pub token: String,
    pub csrf_token: String,
}

/// What a registration says.
pub struct Registration {
    pub challenge_id: String,
    pub code: String,
    pub name: String,
    pub resident_id: ResidentId,
    pub phone: PhoneNumber,
    /// The anonymous session the registration came from, ended by it.
    pub session: sessions::Session,
}

fn conflict(code: ServerErrorCode, field: &str) -> ServerError {
    ServerError::of(code).field(field)
}

fn phone_in_use() -> ServerError {
    conflict(
        ServerErrorCode::PhoneAlreadyRegistered(PhoneAlreadyRegistered::InUse),
        "phone",
    )
}

/// Checks the code, registers the person (or claims the imported record that names them), links their
/// vehicles and opens their session in place of the anonymous one.
pub fn register(
    tx: &mut dyn Tx,
    r: Registration,
    sms_policy: &SmsPolicy,
    now: Timestamp,
) -> ServerResult<Verdict<SignedIn>> {
    let requester = r.session.scope();
    let check = CodeCheck {
        challenge_id: &r.challenge_id,
        requester: &requester,
        purpose: SmsPurpose::Register,
        code: &r.code,
    };
    let c = match sms::check_code(tx, check, now, sms_policy)? {
        Verdict::Done(c) => c,
        Verdict::Refused(e) => return Ok(Verdict::Refused(e)),
    };
    let phone = r.phone.as_str();
    if c.phone.as_deref() != Some(phone) {
        return Ok(Verdict::Refused(ServerError::invalid_value(
            "phone",
            "the code was sent to another phone number",
        )));
    }
    let by_phone = tx.person_by_phone(phone)?;
    if by_phone.as_ref().is_some_and(|p| p.registered_at.is_some()) {
        return Ok(Verdict::Refused(conflict(
            ServerErrorCode::PhoneAlreadyRegistered(PhoneAlreadyRegistered::Registered),
            "phone",
        )));
    }
    let id = match tx.person_by_resident_id(r.resident_id.as_str())? {
        Some(p) if p.registered_at.is_some() => {
            return Ok(Verdict::Refused(conflict(
                ServerErrorCode::ResidentIdAlreadyRegistered,
                "residentId",
            )))
        }
        Some(p) => {
            // An imported record (e.g. a licence holder) is claimed by the person it names.
            if p.name != r.name {
                return Ok(Verdict::Refused(conflict(
                    ServerErrorCode::IdentityMismatch,
                    "name",
                )));
            }
            if by_phone.as_ref().is_some_and(|o| o.id != p.id) {
                return Ok(Verdict::Refused(phone_in_use()));
            }
            tx.register_person(p.id, &r.name, phone, now)?;
            p.id
        }
        None => {
            if by_phone.is_some() {
                return Ok(Verdict::Refused(phone_in_use()));
            }
            tx.insert_person(&NewPerson {
                name: r.name.clone(),
                resident_id: r.resident_id.clone(),
                phone: r.phone.clone(),
                registered_at: Some(now),
                identity_verified: false,
                role: Role::Person,
                licence: None,
                created_at: now,
            })?
        }
    };
    tx.link_vehicles_to_owner(r.resident_id.as_str(), id)?;
    audit(
        tx,
        now,
        Some(id),
        "person.registered",
        format!("person:{id}"),
        json!({}),
    )?;
    open_session(tx, id, &r.session, now).map(Verdict::Done)
}

/// Ends the anonymous session and opens the person's.
fn open_session(
    tx: &mut dyn Tx,
    person_id: i64,
    old: &sessions::Session,
    now: Timestamp,
) -> ServerResult<SignedIn> {
    tx.delete_session(&old.token_hash)?;
    let (token, csrf_token) = sessions::open(tx, Some(person_id), now)?;
    let person = tx
        .person(person_id)?
        .ok_or_else(|| ServerError::internal("person vanished"))?;
    Ok(SignedIn {
        person,
        token,
        csrf_token,
    })
}

/// What a sign-in says.
pub struct SignIn {
    pub challenge_id: String,
    pub code: String,
    pub phone: PhoneNumber,
    pub session: sessions::Session,
}

pub fn sign_in(
    tx: &mut dyn Tx,
    s: SignIn,
    sms_policy: &SmsPolicy,
    now: Timestamp,
) -> ServerResult<Verdict<SignedIn>> {
    let requester = s.session.scope();
    let check = CodeCheck {
        challenge_id: &s.challenge_id,
        requester: &requester,
        purpose: SmsPurpose::SignIn,
        code: &s.code,
    };
    let c = match sms::check_code(tx, check, now, sms_policy)? {
        Verdict::Done(c) => c,
        Verdict::Refused(e) => return Ok(Verdict::Refused(e)),
    };
    let phone = s.phone.as_str();
    let person = match tx.person_by_phone(phone)? {
        Some(p) if p.registered_at.is_some() && c.phone.as_deref() == Some(phone) => p,
        _ => {
            return Ok(Verdict::Refused(ServerError::invalid_value(
                "phone",
                "the code was sent to another phone number",
            )))
        }
    };
    audit(
        tx,
        now,
        Some(person.id),
        "person.signed_in",
        format!("person:{}", person.id),
        json!({}),
    )?;
    open_session(tx, person.id, &s.session, now).map(Verdict::Done)
}
