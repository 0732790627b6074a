//! Binding history of both sides, the violations a binder handled, the person's own applications, and
//! the applications opened on an owner's vehicles (which the owner may withdraw).

use crate::error::ServerResult;
use crate::flows::facts::id_string;
use crate::flows::history::{self, HistoryEntry};
use crate::http::extract::{Change, Ctx, NoBody, PathToken};
use crate::http::guard::SignedIn;
use crate::http::views::{application_answer, list_of, ApplicationView, MaskedVehicleView};
use crate::store::{PersonRow, Role};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use renche::domain::{mask_name, ActorRole, BindingMethod, Relationship};
use renche::Timestamp;
use serde::Serialize;
use serde_json::{json, Value};

/// Who removed a binding: their role, and a masked name unless it was an officer (officers are named by
/// their role only).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct RemovalView {
    at: Timestamp,
    role: Option<ActorRole>,
    by_name_masked: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct HistoryView {
    binding_id: String,
    vehicle: MaskedVehicleView,
    plate_display: String,
    method: BindingMethod,
    relationship: Relationship,
    /// The binder, masked (in the owner's history; in the binder's own it is themselves).
    binder_name_masked: String,
    created_at: Timestamp,
    active: bool,
    removed: Option<RemovalView>,
}

fn masked(p: &Option<PersonRow>) -> String {
    p.as_ref().map(|p| mask_name(&p.name)).unwrap_or_default()
}

impl HistoryView {
    fn of(e: &HistoryEntry) -> HistoryView {
        let b = &e.binding;
        HistoryView {
            binding_id: id_string(b.id),
            vehicle: MaskedVehicleView::of(&e.vehicle),
            plate_display: e.vehicle.plate_number.display(),
            method: b.method,
            relationship: b.relationship,
            binder_name_masked: masked(&e.binder),
            created_at: b.created_at,
            active: b.removed_at.is_none(),
            removed: b.removed_at.map(|at| RemovalView {
                at,
                role: b.removed_role,
                by_name_masked: e
                    .remover
                    .as_ref()
                    .filter(|p| p.role != Role::Officer)
                    .map(|p| mask_name(&p.name)),
            }),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct HandledView {
    id: String,
    plate_display: String,
    plate_type: &'static str,
    occurred_at: Timestamp,
    /// The violation code (违法代码): pages name the offence by it in English.
    code: String,
    offence_en: Option<&'static str>,
    description: String,
    place: String,
    points: u8,
    fine_fen: u64,
    state: &'static str,
    decision_number: Option<String>,
    decided_at: Option<Timestamp>,
    paid_at: Option<Timestamp>,
    paid_fen: Option<u64>,
}

pub(super) async fn my_history(State(state): Ctx, me: SignedIn) -> ServerResult<Json<Value>> {
    let h = me.read(&state, history::history).await?;
    let handled: Vec<HandledView> = h
        .handled
        .iter()
        .map(|(v, vehicle)| HandledView {
            id: id_string(v.id),
            plate_display: vehicle.plate_number.display(),
            plate_type: vehicle.plate_type().code(),
            occurred_at: v.occurred_at,
            code: v.code.clone(),
            offence_en: renche::domain::offence_name_en(&v.code),
            description: v.description.clone(),
            place: v.place.clone(),
            points: v.points.value(),
            fine_fen: v.fine_fen.value(),
            state: v.state.code(),
            decision_number: v.decision_number.clone(),
            decided_at: v.decided_at,
            paid_at: v.paid_at,
            paid_fen: v.paid_fen.map(|f| f.value()),
        })
        .collect();
    Ok(Json(json!({
        "asBinder": h.as_binder.iter().map(HistoryView::of).collect::<Vec<_>>(),
        "asOwner": h.as_owner.iter().map(HistoryView::of).collect::<Vec<_>>(),
        "handledViolations": handled,
    })))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct MyApplicationView {
    #[serde(flatten)]
    application: ApplicationView,
    plate_display: String,
    status_name: renche::Message,
    reject_code: Option<String>,
}

pub(super) async fn my_applications(State(state): Ctx, me: SignedIn) -> ServerResult<Json<Value>> {
    let rows = me.read(&state, history::my_applications).await?;
    Ok(list_of(
        "applications",
        rows.iter().map(|(a, v, code)| MyApplicationView {
            application: ApplicationView::of(a, v),
            plate_display: v.plate_number.display(),
            status_name: renche::Message::new(a.status.name_zh(), a.status.name_en()),
            reject_code: code.clone(),
        }),
    ))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct PendingView {
    id: String,
    plate_display: String,
    plate_type: &'static str,
    vehicle_id: String,
    binder_name_masked: String,
    binder_phone_masked: String,
    method: BindingMethod,
    status: &'static str,
    created_at: Timestamp,
}

pub(super) async fn pending_on_my_vehicles(
    State(state): Ctx,
    me: SignedIn,
) -> ServerResult<Json<Value>> {
    let rows = me.read(&state, history::pending_on_my_vehicles).await?;
    Ok(list_of(
        "applications",
        rows.iter().map(|(a, v, p)| PendingView {
            id: a.id.clone(),
            plate_display: v.plate_number.display(),
            plate_type: v.plate_type().code(),
            vehicle_id: id_string(v.id),
            binder_name_masked: mask_name(&p.name),
            binder_phone_masked: p.phone.masked(),
            method: a.method,
            status: a.status.code(),
            created_at: a.created_at,
        }),
    ))
}

pub(super) async fn withdraw(
    PathToken(id): PathToken,
    c: Change<NoBody>,
) -> ServerResult<Response> {
    c.commit(move |tx, _, _, who| {
        let (a, v) = history::withdraw(tx, who.now, who.person, &id)?;
        application_answer(StatusCode::OK, &a, &v)
    })
    .await
}
