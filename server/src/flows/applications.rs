//! Binding applications after they open: real-person verification and the commit, manual review when
//! verification did not pass, and the officer's approval or rejection.

use crate::error::{MissingField, ServerError, ServerErrorCode, ServerResult, Verdict};
use crate::flows::audit::Audit;
use crate::flows::binding::{self, BindingCommit, Bound};
use crate::flows::decision::ClientExpectation;
use crate::flows::notices;
use crate::flows::officer::require_officer;
use crate::flows::review::RejectReason;
use crate::flows::OrNotFound;
use crate::policies::Policies;
use crate::store::{ApplicationRow, ApplicationStatus, PersonRow, Tx, VehicleRow, Verification};
use renche::domain::{BindingMethod, Channel, Relationship};
use renche::Timestamp;
use serde_json::json;

/// The binder's own application and its vehicle; someone else's is not there.
pub fn own_application(
    tx: &mut dyn Tx,
    id: &str,
    binder: i64,
) -> ServerResult<(ApplicationRow, VehicleRow)> {
    let a = tx
        .application(id)?
        .filter(|a| a.binder_id == binder)
        .ok_or_else(ServerError::not_found)?;
    let v = tx.vehicle(a.vehicle_id).or_not_found()?;
    Ok((a, v))
}

/// Refuses anything but an application awaiting verification.
pub fn require_awaiting(a: &ApplicationRow) -> ServerResult<()> {
    let code = match a.status {
        ApplicationStatus::AwaitingVerification => return Ok(()),
        ApplicationStatus::Committed => ServerErrorCode::ApplicationAlreadyCommitted,
        ApplicationStatus::InReview => ServerErrorCode::ApplicationInReview,
        ApplicationStatus::Withdrawn => ServerErrorCode::ApplicationWithdrawn,
        _ => ServerErrorCode::ApplicationClosed,
    };
    Err(ServerError::of(code))
}

/// The relationship to record: the SMS method always binds as "other"; the others must say.
pub fn relationship_for(
    method: BindingMethod,
    given: Option<Relationship>,
) -> ServerResult<Relationship> {
    match (method, given) {
        (BindingMethod::Sms, _) => Ok(Relationship::Other),
        (_, Some(r)) => Ok(r),
        (_, None) => Err(ServerError::of(ServerErrorCode::MissingField(
            MissingField::Relationship,
        ))
        .field("relationship")),
    }
}

/// What the binder's commit of an application came to.
pub enum Submitted {
    /// Verification passed and the core decided (bound, or refused with its audit entry).
    Decided(Verdict<Bound>),
    /// Verification did not pass; its outcome is kept with the application.
    Unverified(Box<Unverified>),
}

/// An application whose verification did not pass, with the outcome kept.
pub struct Unverified {
    pub verification: Verification,
    pub application: ApplicationRow,
    pub vehicle: VehicleRow,
}

/// The binder's commit of an application, with the verifier's outcome.
pub struct Submission {
    pub application_id: String,
    pub binder: i64,
    pub relationship: Relationship,
    pub verification: Verification,
    pub expectation: ClientExpectation,
}

pub fn submit(
    tx: &mut dyn Tx,
    policies: &Policies,
    now: Timestamp,
    s: Submission,
) -> ServerResult<Submitted> {
    let (mut a, v) = own_application(tx, &s.application_id, s.binder)?;
    require_awaiting(&a)?;
    crate::flows::consent::require_in_time(policies, &a, &v, now)?;
    a.verification = Some(s.verification);
    a.relationship = Some(s.relationship);
    tx.update_application(&a)?;
    if s.verification != Verification::Passed {
        Audit::of("identity.verification", format!("application:{}", a.id))
            .by(s.binder)
            .detail(json!({ "outcome": s.verification.code() }))
            .write(tx, now)?;
        return Ok(Submitted::Unverified(Box::new(Unverified {
            verification: s.verification,
            application: a,
            vehicle: v,
        })));
    }
    tx.set_identity_verified(s.binder)?;
    let decided = binding::commit(
        tx,
        policies,
        now,
        BindingCommit {
            binder_id: s.binder,
            vehicle_id: v.id,
            method: a.method,
            relationship: s.relationship,
            channel: Channel::App,
            identity_verified: true,
            documents_checked: vec![],
            application_id: Some(a.id.clone()),
            actor_id: s.binder,
            actor_must_be_officer: false,
            expectation: s.expectation,
        },
    )?;
    Ok(Submitted::Decided(decided))
}

/// Sends an application whose verification failed or was unavailable to manual review.
pub fn request_review(
    tx: &mut dyn Tx,
    id: &str,
    binder: i64,
    relationship: Option<Relationship>,
    note: Option<String>,
    now: Timestamp,
) -> ServerResult<(ApplicationRow, VehicleRow)> {
    let (mut a, v) = own_application(tx, id, binder)?;
    require_awaiting(&a)?;
    if !matches!(
        a.verification,
        Some(Verification::Failed | Verification::Unavailable)
    ) {
        return Err(ServerError::of(ServerErrorCode::ManualReviewNotAvailable));
    }
    // The officer decides on the photo; without one there is nothing to review.
    if tx.review_photo(&a.id)?.is_none() {
        return Err(ServerError::of(ServerErrorCode::ReviewPhotoMissing));
    }
    a.relationship = Some(relationship_for(a.method, relationship.or(a.relationship))?);
    a.status = ApplicationStatus::InReview;
    a.note = note;
    a.submitted_at = Some(now);
    tx.update_application(&a)?;
    Audit::of(
        "binding_application.review_requested",
        format!("application:{}", a.id),
    )
    .by(binder)
    .write(tx, now)?;
    Ok((a, v))
}

/// The applications waiting for review, each with its vehicle and binder, for an officer.
pub fn in_review(
    tx: &mut dyn Tx,
    officer: i64,
) -> ServerResult<Vec<(ApplicationRow, VehicleRow, PersonRow)>> {
    require_officer(tx, officer)?;
    let mut out = Vec::new();
    for a in tx.applications_in_review()? {
        if let (Some(v), Some(p)) = (tx.vehicle(a.vehicle_id)?, tx.person(a.binder_id)?) {
            out.push((a, v, p));
        }
    }
    Ok(out)
}

fn in_review_for(tx: &mut dyn Tx, officer: i64, id: &str) -> ServerResult<ApplicationRow> {
    require_officer(tx, officer)?;
    let a = tx.application(id).or_not_found()?;
    if a.status == ApplicationStatus::Withdrawn {
        return Err(ServerError::of(ServerErrorCode::ApplicationWithdrawn));
    }
    if a.status != ApplicationStatus::InReview {
        return Err(ServerError::of(ServerErrorCode::ApplicationNotInReview));
    }
    Ok(a)
}

/// The officer approves: the core decides the commit as for the binder, the officer's check standing in
/// for the failed verification.
pub fn approve(
    tx: &mut dyn Tx,
    policies: &Policies,
    now: Timestamp,
    officer: i64,
    id: &str,
    expectation: ClientExpectation,
) -> ServerResult<Verdict<Bound>> {
    let mut a = in_review_for(tx, officer, id)?;
    a.reviewed_by = Some(officer);
    a.reviewed_at = Some(now);
    tx.update_application(&a)?;
    let decided = binding::commit(
        tx,
        policies,
        now,
        BindingCommit {
            binder_id: a.binder_id,
            vehicle_id: a.vehicle_id,
            method: a.method,
            relationship: a.relationship.unwrap_or(Relationship::Other),
            channel: Channel::App,
            identity_verified: true,
            documents_checked: vec![],
            application_id: Some(a.id.clone()),
            actor_id: officer,
            actor_must_be_officer: false,
            expectation,
        },
    )?;
    if matches!(decided, Verdict::Done(_)) {
        Audit::of(
            "binding_application.approved",
            format!("application:{}", a.id),
        )
        .by(officer)
        .write(tx, now)?;
    }
    Ok(decided)
}

/// The officer rejects, with a reason from the list and optional words; the binder is told both.
pub fn reject(
    tx: &mut dyn Tx,
    now: Timestamp,
    officer: i64,
    id: &str,
    reason: RejectReason,
    text: Option<String>,
) -> ServerResult<(ApplicationRow, VehicleRow)> {
    let mut a = in_review_for(tx, officer, id)?;
    let v = tx.vehicle(a.vehicle_id).or_not_found()?;
    a.status = ApplicationStatus::Rejected;
    a.reviewed_by = Some(officer);
    a.reviewed_at = Some(now);
    a.review_reason = text;
    tx.update_application(&a)?;
    tx.set_review_reject_code(&a.id, reason.code())?;
    Audit::of(
        "binding_application.rejected",
        format!("application:{}", a.id),
    )
    .by(officer)
    .detail(json!({ "reasonCode": reason.code(), "reason": a.review_reason }))
    .write(tx, now)?;
    let (zh, en) = match &a.review_reason {
        Some(t) => (
            format!("{}({t})", reason.name_zh()),
            format!("{} ({t})", reason.name_en()),
        ),
        None => (reason.name_zh().to_owned(), reason.name_en().to_owned()),
    };
    notices::application_ended(
        tx,
        now,
        a.binder_id,
        &v,
        notices::ApplicationEnd::Rejected {
            reason_zh: &zh,
            reason_en: &en,
        },
    )?;
    Ok((a, v))
}
