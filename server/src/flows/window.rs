//! The window: an officer finds a person or a vehicle and binds for a person after checking the
//! originals.

use crate::error::{ServerError, ServerResult, Verdict};
use crate::flows::audit::Audit;
use crate::flows::binding::{self, BindingCommit, Bound};
use crate::flows::decision::ClientExpectation;
use crate::flows::officer::require_officer;
use crate::flows::OrNotFound;
use crate::policies::Policies;
use crate::store::{BindingRow, BindingsOf, PersonRow, Tx, VehicleRow};
use renche::domain::{BindingMethod, Channel, Document, PlateType, Relationship, ResidentId};
use renche::Timestamp;
use serde_json::json;

/// The person with this resident ID, shown in full to the officer comparing the originals; the look is
/// audited, since the officer sees what the person's own pages mask.
pub fn find_person(
    tx: &mut dyn Tx,
    officer: i64,
    rid: &ResidentId,
    now: Timestamp,
) -> ServerResult<PersonRow> {
    require_officer(tx, officer)?;
    let person = tx.person_by_resident_id(rid.as_str()).or_not_found()?;
    Audit::of("window.person_viewed", format!("person:{}", person.id))
        .by(officer)
        .write(tx, now)?;
    Ok(person)
}

/// How the officer names a vehicle: the number off the vehicle licence, with its plate type or without.
pub struct PlateSearch {
    pub plate_type: Option<PlateType>,
    /// Normal form (`粤S12345`).
    pub number: String,
}

/// The vehicles the officer's search names (one with a type; without, every type with that number),
/// with their owners in full; the look is audited. None found is a 404.
pub fn find_vehicles(
    tx: &mut dyn Tx,
    officer: i64,
    search: &PlateSearch,
    now: Timestamp,
) -> ServerResult<Vec<VehicleRow>> {
    require_officer(tx, officer)?;
    let found = match search.plate_type {
        Some(t) => tx
            .vehicle_by_plate(t, &search.number)?
            .into_iter()
            .collect(),
        None => tx.vehicles_by_plate_number(&search.number)?,
    };
    if found.is_empty() {
        return Err(ServerError::not_found());
    }
    let ids: Vec<i64> = found.iter().map(|v| v.id).collect();
    Audit::of("window.vehicles_viewed", format!("plate:{}", search.number))
        .by(officer)
        .detail(json!({ "vehicles": ids }))
        .write(tx, now)?;
    Ok(found)
}

/// A binding as the window lists it: with the binder and the vehicle, so the officer can tell them apart.
pub struct ListedBinding {
    pub binding: BindingRow,
    pub binder: PersonRow,
    pub vehicle: VehicleRow,
}

/// The active bindings a person made, or those of a vehicle (FAQ 3: either side may have one removed at the
/// window); the look is audited.
pub fn bindings(
    tx: &mut dyn Tx,
    officer: i64,
    of: BindingsOf,
    now: Timestamp,
) -> ServerResult<Vec<ListedBinding>> {
    require_officer(tx, officer)?;
    let (rows, subject) = match of {
        BindingsOf::Binder(id) => {
            tx.person(id).or_not_found()?;
            (tx.active_bindings_of_binder(id)?, format!("person:{id}"))
        }
        BindingsOf::Vehicle(id) => {
            tx.vehicle(id).or_not_found()?;
            (tx.active_bindings_of_vehicle(id)?, format!("vehicle:{id}"))
        }
    };
    let mut listed = Vec::with_capacity(rows.len());
    for binding in rows {
        let binder = tx.person(binding.binder_id).or_not_found()?;
        let vehicle = tx.vehicle(binding.vehicle_id).or_not_found()?;
        listed.push(ListedBinding {
            binding,
            binder,
            vehicle,
        });
    }
    Audit::of("window.bindings_viewed", subject)
        .by(officer)
        .write(tx, now)?;
    Ok(listed)
}

/// A binding an officer makes at the window.
pub struct WindowBinding {
    pub officer: i64,
    pub person_id: i64,
    pub vehicle_id: i64,
    pub relationship: Relationship,
    pub documents_checked: Vec<Document>,
    pub expectation: ClientExpectation,
}

/// Binds for a person at the window: the officer's check of the originals stands for verification.
pub fn bind_for_person(
    tx: &mut dyn Tx,
    policies: &Policies,
    now: Timestamp,
    w: WindowBinding,
) -> ServerResult<Verdict<Bound>> {
    // The officer, the person and the vehicle are checked in the commit's one read.
    binding::commit(
        tx,
        policies,
        now,
        BindingCommit {
            binder_id: w.person_id,
            vehicle_id: w.vehicle_id,
            method: BindingMethod::Window,
            relationship: w.relationship,
            channel: Channel::Window,
            identity_verified: true,
            documents_checked: w.documents_checked,
            application_id: None,
            actor_id: w.officer,
            actor_must_be_officer: true,
            expectation: w.expectation,
        },
    )
}
