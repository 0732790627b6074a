//! Bindings: the precheck when an application opens, the authoritative commit, listing and removal.

use crate::error::{ServerError, ServerResult, Verdict};
use crate::flows::audit::Audit;
use crate::flows::decision::{ClientExpectation, Decision};
use crate::flows::facts::{binding_call, binding_facts, vehicle_facts, BindingAsk, BindingsNow};
use crate::flows::notices;
use crate::flows::OrNotFound;
use crate::policies::Policies;
use crate::secrets::random_hex;
use crate::store::{
    ApplicationRow, ApplicationStatus, BindingRow, NewBinding, Role, Tx, VehicleRow,
};
use renche::domain::{BindingMethod, Channel, Document, Relationship};
use renche::{BindingAnswer, Stage, Timestamp, UnbindCall};
use serde_json::json;

/// A binding that now exists, with the server's decision.
pub struct Bound {
    pub binding: BindingRow,
    pub decision: Decision,
}

/// Everything a binding commit needs besides the facts in the database.
pub struct BindingCommit {
    pub binder_id: i64,
    pub vehicle_id: i64,
    pub method: BindingMethod,
    pub relationship: Relationship,
    pub channel: Channel,
    /// Real-person verification passed (or an officer checked the person) for this application.
    pub identity_verified: bool,
    pub documents_checked: Vec<Document>,
    pub application_id: Option<String>,
    /// Who makes the commit: the binder, or the officer at the window or in review.
    pub actor_id: i64,
    /// The actor must be an officer (the window): checked in the commit's own read.
    pub actor_must_be_officer: bool,
    pub expectation: ClientExpectation,
}

/// Loads the facts, asks the core at the commit stage and writes the binding, in the caller's
/// transaction. A refusal is kept with its audit entry.
///
/// The facts come in one read after the locks (`Tx::load_for_binding`), and everything written after the
/// decision is left unread, so on PostgreSQL the commit costs two round trips: the read, and the writes
/// with `COMMIT`.
pub fn commit(
    tx: &mut dyn Tx,
    policies: &Policies,
    now: Timestamp,
    c: BindingCommit,
) -> ServerResult<Verdict<Bound>> {
    let actor = (c.actor_id != c.binder_id).then_some(c.actor_id);
    let facts = tx.load_for_binding(c.binder_id, c.vehicle_id, actor)?;
    if c.actor_must_be_officer {
        let officer = if actor.is_some() {
            facts.actor.as_ref()
        } else {
            facts.binder.as_ref()
        }
        .ok_or_else(ServerError::unauthenticated)?;
        if officer.role != Role::Officer {
            return Err(ServerError::not_an_officer());
        }
    }
    let binder = facts.binder.ok_or_else(ServerError::not_found)?;
    let vehicle = facts.vehicle.ok_or_else(ServerError::not_found)?;
    let call = binding_call(
        BindingAsk {
            binder: &binder,
            vehicle: &vehicle,
            method: c.method,
            channel: c.channel,
            stage: Stage::Commit,
            identity_verified: c.identity_verified,
            documents_checked: c.documents_checked.clone(),
            application_id: c.application_id.as_deref(),
            now,
        },
        BindingsNow {
            of_binder: &facts.binder_bindings,
            of_vehicle: &facts.vehicle_bindings,
            submitted_applications: facts.submitted_applications,
        },
    );
    let answer = policies
        .for_city(&vehicle.city, now)
        .rules
        .check_binding(&call);
    let decision = Decision::new(
        answer.allowed,
        answer.reasons,
        &answer.policy_version,
        &c.expectation,
    );
    let subject = format!("vehicle:{}/binder:{}", c.vehicle_id, c.binder_id);
    if !decision.allowed {
        let codes: Vec<&str> = decision.reasons.iter().map(|r| r.code).collect();
        Audit::of("binding.refused", subject)
            .by(c.actor_id)
            .detail(json!({
                "method": c.method, "channel": c.channel, "reasons": codes,
                "policyVersion": decision.policy_version, "application": c.application_id,
            }))
            .write(tx, now)?;
        return Ok(Verdict::Refused(ServerError::refused(decision)));
    }
    let id = facts.next_binding_id;
    let binding = tx.insert_reserved_binding(
        id,
        &NewBinding {
            binder_id: c.binder_id,
            vehicle_id: c.vehicle_id,
            relationship: c.relationship,
            method: c.method,
            application_id: c.application_id.clone(),
            created_at: now,
        },
    )?;
    if let Some(app_id) = &c.application_id {
        tx.mark_application_committed(app_id, id, c.relationship, now)?;
    }
    Audit::of("binding.created", subject)
        .by(c.actor_id)
        .detail(json!({
            "binding": id, "method": c.method, "channel": c.channel, "relationship": c.relationship,
            "policyVersion": decision.policy_version, "application": c.application_id,
            "documentsChecked": c.documents_checked,
        }))
        .write(tx, now)?;
    notices::binding_changed(
        tx,
        now,
        &vehicle,
        notices::BindingChange::Created {
            binder: &binder,
            method: c.method,
        },
    )?;
    Ok(Verdict::Done(Bound { binding, decision }))
}

/// The core's answer before verification, from the facts in the database.
pub fn precheck(
    tx: &mut dyn Tx,
    policies: &Policies,
    now: Timestamp,
    binder_id: i64,
    vehicle: &VehicleRow,
    method: BindingMethod,
) -> ServerResult<BindingAnswer> {
    let binder = tx
        .person(binder_id)?
        .ok_or_else(ServerError::unauthenticated)?;
    let call = binding_call(
        BindingAsk {
            binder: &binder,
            vehicle,
            method,
            channel: Channel::App,
            stage: Stage::Precheck,
            identity_verified: false,
            documents_checked: vec![],
            application_id: None,
            now,
        },
        BindingsNow {
            of_binder: &tx.active_bindings_of_binder(binder_id)?,
            of_vehicle: &tx.active_bindings_of_vehicle(vehicle.id)?,
            submitted_applications: tx.submitted_applications(binder_id)?,
        },
    );
    Ok(policies
        .for_city(&vehicle.city, now)
        .rules
        .check_binding(&call))
}

/// An application just opened, awaiting verification, with the core's precheck.
pub struct Opened {
    pub application: ApplicationRow,
    pub vehicle: VehicleRow,
    pub precheck: BindingAnswer,
    /// Until when it may be committed (`flows::consent::application_deadline`).
    pub expires_at: Timestamp,
}

/// Opens a binding application for `binder_id` on `vehicle`, awaiting verification.
pub fn open_application(
    tx: &mut dyn Tx,
    policies: &Policies,
    now: Timestamp,
    binder_id: i64,
    vehicle: VehicleRow,
    method: BindingMethod,
) -> ServerResult<Opened> {
    let application = ApplicationRow {
        id: random_hex(16),
        binder_id,
        vehicle_id: vehicle.id,
        method,
        relationship: if method == BindingMethod::Sms {
            Some(Relationship::Other)
        } else {
            None
        },
        status: ApplicationStatus::AwaitingVerification,
        verification: None,
        note: None,
        binding_id: None,
        created_at: now,
        submitted_at: None,
        reviewed_by: None,
        reviewed_at: None,
        review_reason: None,
    };
    tx.insert_application(&application)?;
    let answer = precheck(tx, policies, now, binder_id, &vehicle, method)?;
    Audit::of(
        "binding_application.opened",
        format!("application:{}", application.id),
    )
    .by(binder_id)
    .detail(
        json!({ "vehicle": vehicle.id, "method": method, "precheck": answer.allowed,
                "reasons": answer.reasons.iter().map(|r| r.code).collect::<Vec<_>>() }),
    )
    .write(tx, now)?;
    let expires_at = crate::flows::consent::application_deadline(policies, &vehicle, now);
    Ok(Opened {
        application,
        vehicle,
        precheck: answer,
        expires_at,
    })
}

/// The person's active bindings, each with its vehicle.
pub fn bindings_of(tx: &mut dyn Tx, binder: i64) -> ServerResult<Vec<(BindingRow, VehicleRow)>> {
    let mut out = Vec::new();
    for b in tx.active_bindings_of_binder(binder)? {
        if let Some(v) = tx.vehicle(b.vehicle_id)? {
            out.push((b, v));
        }
    }
    Ok(out)
}

/// Removes a binding for its binder, the vehicle's owner or an officer, as the core allows; tells the
/// other side. A refusal is kept with its audit entry.
pub fn remove(
    tx: &mut dyn Tx,
    policies: &Policies,
    now: Timestamp,
    actor: i64,
    binding_id: i64,
) -> ServerResult<Verdict<Bound>> {
    let b = tx.binding(binding_id).or_not_found()?;
    // The same locks a commit takes, so that removals and commits of one person or vehicle are decided
    // (and audited) one after the other.
    tx.lock_for_binding(b.binder_id, b.vehicle_id)?;
    let v = tx.vehicle(b.vehicle_id).or_not_found()?;
    let person = tx.person(actor)?.ok_or_else(ServerError::unauthenticated)?;
    let is_officer = person.role == Role::Officer;
    let is_party = b.binder_id == actor || v.owner_person_id == Some(actor);
    if !is_party && !is_officer {
        return Err(ServerError::not_found());
    }
    let channel = if is_party {
        Channel::App
    } else {
        Channel::Window
    };
    let rules = &policies.for_city(&v.city, now).rules;
    let answer = rules.check_unbind(&UnbindCall {
        actor_id: actor.to_string(),
        actor_is_officer: is_officer,
        binding: binding_facts(&b),
        vehicle: vehicle_facts(&v),
        channel,
        now,
    });
    let decision = Decision::new(
        answer.allowed,
        answer.reasons,
        &answer.policy_version,
        &ClientExpectation::default(),
    );
    if !answer.allowed {
        Audit::of("binding.removal_refused", format!("binding:{binding_id}"))
            .by(actor)
            .detail(
                json!({ "reasons": decision.reasons.iter().map(|r| r.code).collect::<Vec<_>>() }),
            )
            .write(tx, now)?;
        return Ok(Verdict::Refused(ServerError::refused(decision)));
    }
    tx.remove_binding(binding_id, now, actor, answer.role)?;
    Audit::of("binding.removed", format!("binding:{binding_id}"))
        .by(actor)
        .detail(json!({ "role": answer.role, "channel": channel }))
        .write(tx, now)?;
    notices::binding_changed(
        tx,
        now,
        &v,
        notices::BindingChange::Removed {
            binding: &b,
            role: answer.role,
        },
    )?;
    let binding = tx.binding(binding_id).or_not_found()?;
    Ok(Verdict::Done(Bound { binding, decision }))
}
