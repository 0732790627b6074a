//! Rows from the store turned into the facts the rules core decides on, and the one builder of a
//! binding call (the precheck before verification and the commit both ask the core with it).

use crate::store::{BindingRow, PersonRow, VehicleRow, ViolationRow};
use renche::domain::{BindingMethod, Channel, Document, ScoringCycle};
use renche::{
    BindingCall, BindingFacts, LicenceFacts, PersonFacts, Stage, Timestamp, VehicleFacts,
    ViolationFacts,
};

pub fn id_string(id: i64) -> String {
    id.to_string()
}

pub fn person_facts(p: &PersonRow, now: Timestamp, identity_verified: bool) -> PersonFacts {
    PersonFacts {
        id: id_string(p.id),
        identity_verified,
        licence: p.licence.as_ref().map(|l| LicenceFacts {
            class: l.class,
            status: l.status,
            points: ScoringCycle::at(l.points, l.cycle_start, now).points,
        }),
    }
}

pub fn vehicle_facts(v: &VehicleRow) -> VehicleFacts {
    VehicleFacts {
        id: id_string(v.id),
        plate_type: v.plate_type(),
        plate_number: v.plate_number.clone(),
        owner_kind: v.owner_kind,
        use_nature: v.use_nature,
        owner_id: v.owner_person_id.map(id_string),
        city: Some(v.city.clone()),
    }
}

pub fn binding_facts(b: &BindingRow) -> BindingFacts {
    BindingFacts {
        binder_id: id_string(b.binder_id),
        vehicle_id: id_string(b.vehicle_id),
        created_at: b.created_at,
        removed_at: b.removed_at,
    }
}

pub fn violation_facts(v: &ViolationRow) -> ViolationFacts {
    ViolationFacts {
        id: id_string(v.id),
        vehicle_id: id_string(v.vehicle_id),
        occurred_at: v.occurred_at,
        points: v.points,
        fine_fen: v.fine_fen,
        source: v.source,
        state: v.state,
        decided_at: v.decided_at,
    }
}

/// What a binding call is about, besides the facts the store holds.
pub struct BindingAsk<'a> {
    pub binder: &'a PersonRow,
    pub vehicle: &'a VehicleRow,
    pub method: BindingMethod,
    pub channel: Channel,
    pub stage: Stage,
    /// Real-person verification passed (or an officer checked the person) for this application.
    pub identity_verified: bool,
    pub documents_checked: Vec<Document>,
    /// The application being committed, which is not one of the earlier applications the caps count.
    pub application_id: Option<&'a str>,
    pub now: Timestamp,
}

/// The bindings and applications the caps count, as the store has them now.
pub struct BindingsNow<'a> {
    pub of_binder: &'a [BindingRow],
    pub of_vehicle: &'a [BindingRow],
    /// The binder's submitted applications with their ids (`Tx::submitted_applications`).
    pub submitted_applications: Vec<(String, Timestamp)>,
}

/// Puts `ask` and the bindings and applications the caps count into the core's binding call; the
/// application being committed is not one of the earlier ones.
pub fn binding_call(ask: BindingAsk<'_>, now_bound: BindingsNow<'_>) -> BindingCall {
    let applications: Vec<Timestamp> = now_bound
        .submitted_applications
        .into_iter()
        .filter(|(id, _)| ask.application_id != Some(id.as_str()))
        .map(|(_, at)| at)
        .collect();
    BindingCall {
        binder: person_facts(ask.binder, ask.now, ask.identity_verified),
        vehicle: vehicle_facts(ask.vehicle),
        binder_bindings: now_bound.of_binder.iter().map(binding_facts).collect(),
        vehicle_bindings: now_bound.of_vehicle.iter().map(binding_facts).collect(),
        applications,
        method: ask.method,
        channel: ask.channel,
        stage: ask.stage,
        documents_checked: ask.documents_checked,
        now: ask.now,
    }
}
