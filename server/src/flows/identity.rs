//! Real-person verification (实人认证): starting one, taking the provider's signed result (once, fresh, for
//! this verification and this person), and what a passed `account` verification does: link the account to
//! the person of that resident ID, taking the person over from any other account.

use crate::error::{ServerError, ServerErrorCode, ServerResult, Verdict};
use crate::flows::audit::Audit;
use crate::flows::OrNotFound;
use crate::gateways::identity::{verify_result, ResultOutcome, TokenProblem};
use crate::secrets::random_hex;
use crate::store::{
    AccountRow, ApplicationStatus, NewPerson, PersonRow, Role, Tx, Verification,
    VerificationPurpose, VerificationRow, VerificationStatus,
};
use ed25519_dalek::VerifyingKey;
use renche::domain::ResidentId;
use renche::Timestamp;
use serde_json::json;

/// A provider's result is taken for at most ten minutes after it was issued.
pub const RESULT_MAX_AGE_MS: i64 = 10 * 60_000;
/// Verifications one account may start in a (UTC) day: each start is a paid provider call.
pub const STARTS_PER_DAY: u32 = 20;
const DAY_MS: i64 = 86_400_000;
/// Clocks differ a little: a result from up to a minute "in the future" is still taken.
const CLOCK_SKEW_MS: i64 = 60_000;

/// What a verification is to check.
pub struct NewVerification {
    pub account_id: i64,
    pub purpose: VerificationPurpose,
    pub resident_id: ResidentId,
    pub name: String,
    pub application_id: Option<String>,
}

/// Records a verification about to be started at the provider.
pub fn open(tx: &mut dyn Tx, nv: NewVerification, now: Timestamp) -> ServerResult<VerificationRow> {
    let account = tx
        .account(nv.account_id)?
        .ok_or_else(ServerError::unauthenticated)?;
    if nv.purpose == VerificationPurpose::Account && account.person_id.is_some() {
        return Err(ServerError::of(ServerErrorCode::IdentityAlreadyVerified));
    }
    let day = Timestamp::from_millis(now.millis() - now.millis().rem_euclid(DAY_MS));
    let key = format!("identity-start:{}", account.id);
    if tx.counter(&key, day)? >= STARTS_PER_DAY {
        return Err(ServerError::of(
            ServerErrorCode::VerificationDailyCapReached {
                limit: STARTS_PER_DAY,
            },
        ));
    }
    tx.bump_counter(&key, day)?;
    let row = VerificationRow {
        id: random_hex(16),
        account_id: account.id,
        purpose: nv.purpose,
        resident_id: nv.resident_id.as_str().to_owned(),
        name: nv.name,
        application_id: nv.application_id,
        provider_session: None,
        provider_url: None,
        status: VerificationStatus::Started,
        created_at: now,
        finished_at: None,
    };
    tx.insert_verification(&row)?;
    Audit::of(
        "identity.verification_started",
        format!("verification:{}", row.id),
    )
    .by(account.person_id)
    .detail(
        json!({ "account": account.id, "purpose": row.purpose.code(),
                "application": row.application_id }),
    )
    .write(tx, now)?;
    Ok(row)
}

/// The provider opened its session for the verification.
pub fn provider_started(
    tx: &mut dyn Tx,
    id: &str,
    session: &str,
    url: &str,
) -> ServerResult<VerificationRow> {
    tx.set_verification_provider(id, session, url)?;
    tx.verification(id).or_not_found()
}

/// The provider could not be reached: the verification is unavailable.
pub fn provider_unavailable(tx: &mut dyn Tx, id: &str, now: Timestamp) -> ServerResult<()> {
    tx.set_verification_status(id, VerificationStatus::Unavailable, now)?;
    // An application whose verification cannot be done may go to manual review, as before.
    let application = tx.verification(id)?.and_then(|v| v.application_id);
    if let Some(app_id) = application {
        if let Some(mut a) = tx.application(&app_id)? {
            if a.status == ApplicationStatus::AwaitingVerification {
                a.verification = Some(Verification::Unavailable);
                tx.update_application(&a)?;
            }
        }
    }
    Audit::of(
        "identity.provider_unavailable",
        format!("verification:{id}"),
    )
    .write(tx, now)
}

/// The account's own verification (else not found).
pub fn own_verification(
    tx: &mut dyn Tx,
    id: &str,
    account_id: i64,
) -> ServerResult<VerificationRow> {
    tx.verification(id)?
        .filter(|v| v.account_id == account_id)
        .ok_or_else(ServerError::not_found)
}

/// Audits a refused result and answers with its code; the transaction still commits (`Verdict::Refused`).
fn reject<T>(
    tx: &mut dyn Tx,
    v: &VerificationRow,
    actor: Option<i64>,
    reason: &'static str,
    code: ServerErrorCode,
    now: Timestamp,
) -> ServerResult<Verdict<T>> {
    Audit::of("identity.result_rejected", format!("verification:{}", v.id))
        .by(actor)
        .detail(json!({ "reason": reason, "account": v.account_id, "purpose": v.purpose.code() }))
        .write(tx, now)?;
    tracing::warn!(verification = %v.id, reason, "identity provider result rejected");
    crate::metrics::count("renche_verifications_total", &[("outcome", reason)]);
    Ok(Verdict::Refused(ServerError::of(code)))
}

/// Checks the provider's result token against this verification and uses it up: the signature must be the
/// provider's, it must name this verification, its provider session, resident ID and name, be at most ten
/// minutes old and never used before (and the verification must not have had a result already).
pub fn accept_result(
    tx: &mut dyn Tx,
    v: &VerificationRow,
    token: &str,
    key: Option<&VerifyingKey>,
    actor: Option<i64>,
    now: Timestamp,
) -> ServerResult<Verdict<ResultOutcome>> {
    let Some(key) = key else {
        return Ok(Verdict::Refused(ServerError::of(
            ServerErrorCode::RealPersonVerificationUnavailable,
        )));
    };
    let claims = match verify_result(token, key) {
        Ok(c) => c,
        Err(problem) => {
            let reason = match problem {
                TokenProblem::Signature => "signature",
                TokenProblem::Unreadable => "unreadable",
            };
            let code = ServerErrorCode::VerificationResultInvalid;
            return reject(tx, v, actor, reason, code, now);
        }
    };
    let same = claims.verification_id == v.id
        && v.provider_session.as_deref() == Some(claims.session_id.as_str())
        && claims.resident_id == v.resident_id
        && claims.name == v.name;
    if !same {
        return reject(
            tx,
            v,
            actor,
            "mismatch",
            ServerErrorCode::VerificationResultMismatch,
            now,
        );
    }
    let age = now.millis() - claims.issued_at;
    if !(-CLOCK_SKEW_MS..=RESULT_MAX_AGE_MS).contains(&age) {
        return reject(
            tx,
            v,
            actor,
            "stale",
            ServerErrorCode::VerificationResultStale,
            now,
        );
    }
    let fresh = tx.use_identity_result(&claims.result_id, &v.id, claims.outcome.code(), now)?;
    if !fresh || v.status != VerificationStatus::Started {
        return reject(
            tx,
            v,
            actor,
            "replayed",
            ServerErrorCode::VerificationResultReplayed,
            now,
        );
    }
    let status = match claims.outcome {
        ResultOutcome::Pass => VerificationStatus::Passed,
        ResultOutcome::Fail => VerificationStatus::Failed,
        ResultOutcome::NoFace => VerificationStatus::NoFace,
    };
    tx.set_verification_status(&v.id, status, now)?;
    Audit::of("identity.verification", format!("verification:{}", v.id))
        .by(actor)
        .detail(
            json!({ "outcome": claims.outcome.code(), "purpose": v.purpose.code(),
                "application": v.application_id, "resultId": claims.result_id }),
        )
        .write(tx, now)?;
    crate::metrics::count(
        "renche_verifications_total",
        &[("outcome", claims.outcome.code())],
    );
    Ok(Verdict::Done(claims.outcome))
}

/// An SMS for the phone of an account that lost its person to a newer verified account.
pub struct TakeoverNotice {
    pub phone: String,
    pub text: String,
}

/// A passed account verification: the account, now the person's.
pub struct Linked {
    pub account: AccountRow,
    pub person: PersonRow,
    pub notice: Option<TakeoverNotice>,
}

/// Takes the result of an `account` verification; on pass, links the account to the person of that resident
/// ID (the imported record, or a new one), links the person's vehicles, and takes the person over from any
/// other account (unlinked, its sessions ended, its phone and the person told).
pub fn finish_account(
    tx: &mut dyn Tx,
    verification_id: &str,
    account_id: i64,
    token: &str,
    key: Option<&VerifyingKey>,
    now: Timestamp,
) -> ServerResult<Verdict<Linked>> {
    let v = own_verification(tx, verification_id, account_id)?;
    if v.purpose != VerificationPurpose::Account {
        return Err(ServerError::not_found());
    }
    let account = tx
        .account(account_id)?
        .ok_or_else(ServerError::unauthenticated)?;
    let outcome = match accept_result(tx, &v, token, key, account.person_id, now)? {
        Verdict::Done(o) => o,
        Verdict::Refused(e) => return Ok(Verdict::Refused(e)),
    };
    if outcome != ResultOutcome::Pass {
        return Ok(Verdict::Refused(ServerError::of(
            ServerErrorCode::RealPersonVerificationFailed,
        )));
    }
    if account.person_id.is_some() {
        return Ok(Verdict::Refused(ServerError::of(
            ServerErrorCode::IdentityAlreadyVerified,
        )));
    }
    link(tx, &account, &v, now)
}

fn link(
    tx: &mut dyn Tx,
    account: &AccountRow,
    v: &VerificationRow,
    now: Timestamp,
) -> ServerResult<Verdict<Linked>> {
    let resident_id = ResidentId::parse(&v.resident_id)
        .map_err(|_| ServerError::internal("stored resident ID"))?;
    let person_id = match tx.person_by_resident_id(&v.resident_id)? {
        Some(p) if p.name != v.name => {
            // The provider confirmed this name for this resident ID; our record says otherwise.
            Audit::of("identity.record_mismatch", format!("person:{}", p.id))
                .detail(json!({ "account": account.id, "verification": v.id }))
                .write(tx, now)?;
            return Ok(Verdict::Refused(
                ServerError::of(ServerErrorCode::IdentityMismatch).field("name"),
            ));
        }
        Some(p) => p.id,
        None => tx.insert_person(&NewPerson {
            name: v.name.clone(),
            resident_id,
            phone: account.phone.clone(),
            registered_at: Some(now),
            identity_verified: true,
            role: Role::Person,
            licence: None,
            created_at: now,
        })?,
    };
    let mut notice = None;
    if let Some(previous) = tx.account_of_person(person_id)? {
        if previous.id != account.id {
            tx.unlink_account(previous.id)?;
            tx.delete_sessions_of_account(previous.id)?;
            tx.insert_notification(
                person_id,
                "account_taken_over",
                &format!(
                    "您的实名账户已改由手机号{}使用(通过实人认证),原手机号{}的账户已解除关联。如非本人操作,请到窗口办理。",
                    account.phone.masked(),
                    previous.phone.masked()
                ),
                &format!(
                    "Your records are now used by the account of phone {} (it passed real-person verification); the account of {} was unlinked. If this was not you, go to a window.",
                    account.phone.masked(),
                    previous.phone.masked()
                ),
                now,
            )?;
            Audit::of("account.taken_over", format!("person:{person_id}"))
                .by(person_id)
                .detail(json!({ "from": previous.id, "to": account.id, "verification": v.id }))
                .write(tx, now)?;
            notice = Some(TakeoverNotice {
                phone: previous.phone.as_str().to_owned(),
                text: format!(
                    "【人车绑定】您的手机号已不再关联{}的账户:另一手机号已通过实人认证。如非本人操作,请到交通违法处理窗口办理。",
                    mask_name(&v.name)
                ),
            });
        }
    }
    tx.link_account(account.id, person_id, now)?;
    tx.mark_person_verified(person_id, account.phone.as_str(), now)?;
    tx.link_vehicles_to_owner(&v.resident_id, person_id)?;
    Audit::of("account.verified", format!("account:{}", account.id))
        .by(person_id)
        .detail(json!({ "person": person_id, "verification": v.id }))
        .write(tx, now)?;
    let account = tx
        .account(account.id)?
        .ok_or_else(|| ServerError::internal("account vanished"))?;
    let person = tx
        .person(person_id)?
        .ok_or_else(|| ServerError::internal("person vanished"))?;
    Ok(Verdict::Done(Linked {
        account,
        person,
        notice,
    }))
}

fn mask_name(name: &str) -> String {
    let mut chars = name.chars();
    let first = chars.next().map(String::from).unwrap_or_default();
    format!("{first}{}", "*".repeat(chars.count()))
}

/// For a binding application's commit: the verification must be this account's, of purpose `application`,
/// for this application and for the binder's own resident ID and name; then its result is taken as above.
#[allow(clippy::too_many_arguments)]
pub fn accept_for_application(
    tx: &mut dyn Tx,
    verification_id: &str,
    account_id: i64,
    application_id: &str,
    binder: &PersonRow,
    token: &str,
    key: Option<&VerifyingKey>,
    now: Timestamp,
) -> ServerResult<Verdict<ResultOutcome>> {
    let v = own_verification(tx, verification_id, account_id)?;
    let fits = v.purpose == VerificationPurpose::Application
        && v.application_id.as_deref() == Some(application_id)
        && v.resident_id == binder.resident_id.as_str()
        && v.name == binder.name;
    if !fits {
        return reject(
            tx,
            &v,
            Some(binder.id),
            "another_application",
            ServerErrorCode::VerificationResultMismatch,
            now,
        );
    }
    accept_result(tx, &v, token, key, Some(binder.id), now)
}
