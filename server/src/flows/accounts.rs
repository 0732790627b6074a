//! Accounts: codes for registration and sign-in, registration (an account for a phone, linked to nobody),
//! sign-in. An account becomes a person's only through real-person verification (`flows::identity`).

use crate::error::{PhoneAlreadyRegistered, ServerError, ServerErrorCode, ServerResult, Verdict};
use crate::flows::audit::audit;
use crate::flows::sessions;
use crate::flows::sms::{self, ChallengeTarget, CodeCheck, Delivery};
use crate::store::{AccountRow, PersonRow, SmsChallengeRow, SmsCountKey, SmsPurpose, Tx};
use renche::domain::PhoneNumber;
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

/// Opens a registration or sign-in challenge for `phone`. A registration code reaches only a phone without
/// an account, a sign-in code only one with an account; the answer is the same either way.
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
        // A registration code only where there is no account yet, a sign-in code only where there is
        // one; the answer is the same either way.
        AccountPurpose::Register => (
            SmsPurpose::Register,
            tx.account_by_phone(phone.as_str())?.is_none(),
        ),
        AccountPurpose::SignIn => (
            SmsPurpose::SignIn,
            tx.account_by_phone(phone.as_str())?.is_some(),
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

/// A session that has just been opened for an account.
pub struct SignedIn {
    pub account: AccountRow,
    /// The account's linked person, when it has passed verification.
    pub person: Option<PersonRow>,
    pub token: String,
    pub csrf_token: String,
}

/// What a registration says: a phone and its code, nothing more.
/// A phone proven by the code sent to it, for registration or sign-in.
pub struct PhoneProof {
    pub challenge_id: String,
    pub code: String,
    pub phone: PhoneNumber,
    /// The anonymous session the proof came from, ended by it.
    pub session: sessions::Session,
}

/// Checks the typed code against the session's challenge of this purpose; a wrong code is a refusal whose
/// try is kept.
fn check_proof(
    tx: &mut dyn Tx,
    proof: &PhoneProof,
    purpose: SmsPurpose,
    sms_policy: &SmsPolicy,
    now: Timestamp,
) -> ServerResult<Verdict<SmsChallengeRow>> {
    let requester = proof.session.scope();
    let check = CodeCheck {
        challenge_id: &proof.challenge_id,
        requester: &requester,
        purpose,
        code: &proof.code,
    };
    sms::check_code(tx, check, now, sms_policy)
}

/// Checks the code and opens an account for the phone, not linked to anyone: registration claims nothing.
pub fn register(
    tx: &mut dyn Tx,
    r: PhoneProof,
    sms_policy: &SmsPolicy,
    now: Timestamp,
) -> ServerResult<Verdict<SignedIn>> {
    let c = match check_proof(tx, &r, SmsPurpose::Register, sms_policy, now)? {
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
    if tx.account_by_phone(phone)?.is_some() {
        return Ok(Verdict::Refused(
            ServerError::of(ServerErrorCode::PhoneAlreadyRegistered(
                PhoneAlreadyRegistered::Registered,
            ))
            .field("phone"),
        ));
    }
    let id = tx.insert_account(phone, now)?;
    audit(
        tx,
        now,
        None,
        "account.registered",
        format!("account:{id}"),
        json!({}),
    )?;
    open_session(tx, id, &r.session, now).map(Verdict::Done)
}

/// Ends the anonymous session and opens the account's.
fn open_session(
    tx: &mut dyn Tx,
    account_id: i64,
    old: &sessions::Session,
    now: Timestamp,
) -> ServerResult<SignedIn> {
    tx.delete_session(&old.token_hash)?;
    let (token, csrf_token) = sessions::open(tx, Some(account_id), now)?;
    let account = tx
        .account(account_id)?
        .ok_or_else(|| ServerError::internal("account vanished"))?;
    let person = match account.person_id {
        Some(id) => tx.person(id)?,
        None => None,
    };
    Ok(SignedIn {
        account,
        person,
        token,
        csrf_token,
    })
}

/// What a sign-in says.
pub fn sign_in(
    tx: &mut dyn Tx,
    s: PhoneProof,
    sms_policy: &SmsPolicy,
    now: Timestamp,
) -> ServerResult<Verdict<SignedIn>> {
    let c = match check_proof(tx, &s, SmsPurpose::SignIn, sms_policy, now)? {
        Verdict::Done(c) => c,
        Verdict::Refused(e) => return Ok(Verdict::Refused(e)),
    };
    let phone = s.phone.as_str();
    let account = match tx.account_by_phone(phone)? {
        Some(a) if c.phone.as_deref() == Some(phone) => a,
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
        account.person_id,
        "account.signed_in",
        format!("account:{}", account.id),
        json!({}),
    )?;
    open_session(tx, account.id, &s.session, now).map(Verdict::Done)
}

/// The account of a session and its linked person, as the session view shows them.
pub fn parties(
    tx: &mut dyn Tx,
    account_id: Option<i64>,
) -> ServerResult<(Option<AccountRow>, Option<PersonRow>)> {
    let Some(id) = account_id else {
        return Ok((None, None));
    };
    let account = tx.account(id)?;
    let person = match account.as_ref().and_then(|a| a.person_id) {
        Some(p) => tx.person(p)?,
        None => None,
    };
    Ok((account, person))
}
