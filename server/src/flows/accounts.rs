//! Accounts: codes for registration and sign-in, registration (an account for a phone, linked to nobody),
//! sign-in. An account becomes a person's only through real-person verification (`flows::identity`).

use crate::error::{PhoneAlreadyRegistered, ServerError, ServerErrorCode, ServerResult, Verdict};
use crate::flows::audit::Audit;
use crate::flows::sessions;
use crate::flows::sms::{self, ChallengeTarget, CodeCheck, Delivery};
use crate::store::{AccountRow, PersonRow, SmsChallengeRow, SmsCountKey, SmsPurpose, Tx};
use renche::domain::PhoneNumber;
use renche::policy::SmsPolicy;
use renche::Timestamp;
use serde::Deserialize;

#[derive(Deserialize, schemars::JsonSchema, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum AccountPurpose {
    Register,
    SignIn,
}

impl AccountPurpose {
    fn sms(self) -> SmsPurpose {
        match self {
            AccountPurpose::Register => SmsPurpose::Register,
            AccountPurpose::SignIn => SmsPurpose::SignIn,
        }
    }
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
    // A registration code only where there is no account yet, a sign-in code only where there is one;
    // the answer is the same either way.
    let has_account = tx.account_by_phone(phone.as_str())?.is_some();
    let deliver = has_account == (purpose == AccountPurpose::SignIn);
    let target = ChallengeTarget {
        purpose: purpose.sms(),
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

/// A phone proven by the code sent to it, for registration or sign-in.
pub struct PhoneProof {
    pub challenge_id: String,
    pub code: String,
    pub phone: PhoneNumber,
    /// The anonymous session the proof came from, ended by it.
    pub session: sessions::Session,
}

/// Checks the typed code against the session's challenge of the purpose (a wrong code is a refusal whose
/// try is kept) and that it went to the phone the request names; then opens an account for the phone,
/// linked to no one (registration claims nothing), or finds the phone's account for a sign-in.
pub fn open_by_phone(
    tx: &mut dyn Tx,
    proof: PhoneProof,
    purpose: AccountPurpose,
    sms_policy: &SmsPolicy,
    now: Timestamp,
) -> ServerResult<Verdict<SignedIn>> {
    let requester = proof.session.scope();
    let check = CodeCheck {
        challenge_id: &proof.challenge_id,
        requester: &requester,
        purpose: purpose.sms(),
        code: &proof.code,
    };
    let challenge = match sms::check_code(tx, check, now, sms_policy)? {
        Verdict::Done(c) => c,
        Verdict::Refused(e) => return Ok(Verdict::Refused(e)),
    };
    let phone = proof.phone.as_str();
    let sent_elsewhere = || {
        Ok(Verdict::Refused(ServerError::invalid_value(
            "phone",
            "the code was sent to another phone number",
        )))
    };
    if challenge.phone.as_deref() != Some(phone) {
        return sent_elsewhere();
    }
    let (account_id, actor, event) = match (purpose, tx.account_by_phone(phone)?) {
        (AccountPurpose::Register, None) => {
            (tx.insert_account(phone, now)?, None, "account.registered")
        }
        (AccountPurpose::Register, Some(_)) => {
            return Ok(Verdict::Refused(
                ServerError::of(ServerErrorCode::PhoneAlreadyRegistered(
                    PhoneAlreadyRegistered::Registered,
                ))
                .field("phone"),
            ))
        }
        (AccountPurpose::SignIn, Some(a)) => (a.id, a.person_id, "account.signed_in"),
        (AccountPurpose::SignIn, None) => return sent_elsewhere(),
    };
    Audit::of(event, format!("account:{account_id}"))
        .by(actor)
        .write(tx, now)?;
    open_session(tx, account_id, &proof.session, now).map(Verdict::Done)
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
