//! What stays after a binding ends: the binding history of both sides, the violations a binder handled,
//! and the applications opened on an owner's vehicles, which the owner may withdraw.

use crate::error::{ServerError, ServerErrorCode, ServerResult};
use crate::flows::audit::Audit;
use crate::flows::notices;
use crate::flows::OrNotFound;
use crate::store::{
    ApplicationRow, ApplicationStatus, BindingRow, BindingsOf, PersonRow, Tx, VehicleRow,
    ViolationRow,
};
use renche::Timestamp;
use serde_json::json;

const HISTORY_LIMIT: u32 = 200;

/// One binding as history shows it: the vehicle, the other party, and who removed it.
pub struct HistoryEntry {
    pub binding: BindingRow,
    pub vehicle: VehicleRow,
    pub binder: Option<PersonRow>,
    pub remover: Option<PersonRow>,
}

/// A person's history: the bindings they made, the bindings of their vehicles, the violations they handled.
pub struct History {
    pub as_binder: Vec<HistoryEntry>,
    pub as_owner: Vec<HistoryEntry>,
    pub handled: Vec<(ViolationRow, VehicleRow)>,
}

fn entry(tx: &mut dyn Tx, binding: BindingRow) -> ServerResult<Option<HistoryEntry>> {
    let Some(vehicle) = tx.vehicle(binding.vehicle_id)? else {
        return Ok(None);
    };
    let binder = tx.person(binding.binder_id)?;
    let remover = match binding.removed_by {
        Some(id) => tx.person(id)?,
        None => None,
    };
    Ok(Some(HistoryEntry {
        binding,
        vehicle,
        binder,
        remover,
    }))
}

pub fn history(tx: &mut dyn Tx, person: i64) -> ServerResult<History> {
    let mut as_binder = Vec::new();
    for b in tx.binding_history(BindingsOf::Binder(person), HISTORY_LIMIT)? {
        as_binder.extend(entry(tx, b)?);
    }
    let mut as_owner = Vec::new();
    for v in tx.vehicles_owned_by(person)? {
        for b in tx.binding_history(BindingsOf::Vehicle(v.id), HISTORY_LIMIT)? {
            as_owner.extend(entry(tx, b)?);
        }
    }
    as_owner.sort_by_key(|e| std::cmp::Reverse(e.binding.created_at));
    let mut handled = Vec::new();
    for v in tx.violations_handled_by(person, HISTORY_LIMIT)? {
        if let Some(vehicle) = tx.vehicle(v.vehicle_id)? {
            handled.push((v, vehicle));
        }
    }
    Ok(History {
        as_binder,
        as_owner,
        handled,
    })
}

/// The applications opened on the owner's vehicles and not yet decided, each with its applicant.
pub fn pending_on_my_vehicles(
    tx: &mut dyn Tx,
    owner: i64,
) -> ServerResult<Vec<(ApplicationRow, VehicleRow, PersonRow)>> {
    let mut out = Vec::new();
    for v in tx.vehicles_owned_by(owner)? {
        for a in tx.open_applications_of_vehicle(v.id)? {
            if let Some(p) = tx.person(a.binder_id)? {
                out.push((a, v.clone(), p));
            }
        }
    }
    out.sort_by_key(|e| std::cmp::Reverse(e.0.created_at));
    Ok(out)
}

/// The person's own applications with their vehicles and, when rejected, the reason's code.
pub fn my_applications(
    tx: &mut dyn Tx,
    binder: i64,
) -> ServerResult<Vec<(ApplicationRow, VehicleRow, Option<String>)>> {
    let mut out = Vec::new();
    for a in tx.applications_of_binder(binder, 50)? {
        if let Some(v) = tx.vehicle(a.vehicle_id)? {
            let code = match a.status {
                ApplicationStatus::Rejected => tx.review_photo(&a.id)?.and_then(|p| p.reject_code),
                _ => None,
            };
            out.push((a, v, code));
        }
    }
    Ok(out)
}

/// The owner closes an application on their vehicle before it is committed; its applicant is told, and a
/// later commit or approval of it is refused.
pub fn withdraw(
    tx: &mut dyn Tx,
    now: Timestamp,
    owner: i64,
    application_id: &str,
) -> ServerResult<(ApplicationRow, VehicleRow)> {
    let mut a = tx.application(application_id).or_not_found()?;
    let v = tx
        .vehicle(a.vehicle_id)?
        .filter(|v| v.owner_person_id == Some(owner))
        .ok_or_else(ServerError::not_found)?;
    let code = match a.status {
        ApplicationStatus::AwaitingVerification | ApplicationStatus::InReview => None,
        ApplicationStatus::Committed => Some(ServerErrorCode::ApplicationAlreadyCommitted),
        ApplicationStatus::Withdrawn => Some(ServerErrorCode::ApplicationWithdrawn),
        ApplicationStatus::Rejected => Some(ServerErrorCode::ApplicationClosed),
    };
    if let Some(code) = code {
        return Err(ServerError::of(code));
    }
    a.status = ApplicationStatus::Withdrawn;
    tx.update_application(&a)?;
    Audit::of(
        "binding_application.withdrawn",
        format!("application:{}", a.id),
    )
    .by(owner)
    .detail(json!({ "vehicle": v.id, "binder": a.binder_id }))
    .write(tx, now)?;
    notices::application_ended(tx, now, a.binder_id, &v, notices::ApplicationEnd::Withdrawn)?;
    Ok((a, v))
}
