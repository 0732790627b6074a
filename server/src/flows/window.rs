//! The window: an officer finds a person or a vehicle and binds for a person after checking the
//! originals.

use crate::error::{ServerResult, Verdict};
use crate::flows::binding::{self, BindingCommit, Bound};
use crate::flows::decision::ClientExpectation;
use crate::flows::officer::require_officer;
use crate::flows::OrNotFound;
use crate::policies::Policies;
use crate::store::{PersonRow, Tx, VehicleRow};
use renche::domain::{
    BindingMethod, Channel, Document, PlateNumber, PlateType, Relationship, ResidentId,
};
use renche::Timestamp;

pub fn find_person(tx: &mut dyn Tx, officer: i64, rid: &ResidentId) -> ServerResult<PersonRow> {
    require_officer(tx, officer)?;
    tx.person_by_resident_id(rid.as_str()).or_not_found()
}

pub fn find_vehicle(
    tx: &mut dyn Tx,
    officer: i64,
    plate_type: PlateType,
    plate: &PlateNumber,
) -> ServerResult<VehicleRow> {
    require_officer(tx, officer)?;
    tx.vehicle_by_plate(plate_type, plate.as_str())
        .or_not_found()
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
    require_officer(tx, w.officer)?;
    tx.person(w.person_id).or_not_found()?;
    tx.vehicle(w.vehicle_id).or_not_found()?;
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
            expectation: w.expectation,
        },
    )
}
