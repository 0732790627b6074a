//! The owner's vehicles: who has bound them, and the vehicle QR code.

use crate::error::ServerResult;
use crate::flows::facts::id_string;
use crate::flows::vehicles;
use crate::http::extract::{Change, Ctx, NoBody, PathId};
use crate::http::guard::SignedIn;
use crate::http::idempotency::Answer;
use crate::http::views::{list_of, VehicleView};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use renche::domain::{BindingMethod, Relationship};
use renche::Timestamp;
use serde::Serialize;
use serde_json::Value;

#[derive(Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct BinderView {
    binding_id: String,
    binder_name_masked: String,
    #[schemars(with = "crate::http::schema::Codes<Relationship>")]
    relationship: Relationship,
    #[schemars(with = "crate::http::schema::Codes<BindingMethod>")]
    method: BindingMethod,
    #[schemars(with = "crate::http::schema::Instant")]
    created_at: Timestamp,
}

#[derive(Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct OwnedVehicleView {
    #[serde(flatten)]
    vehicle: VehicleView,
    binders: Vec<BinderView>,
}

pub(super) async fn my_vehicles(State(state): Ctx, me: SignedIn) -> ServerResult<Json<Value>> {
    let owned = me.read(&state, vehicles::owned_vehicles).await?;
    Ok(list_of(
        "vehicles",
        owned.into_iter().map(|(v, binders)| OwnedVehicleView {
            vehicle: VehicleView::of(&v),
            binders: binders
                .into_iter()
                .map(|b| BinderView {
                    binding_id: id_string(b.binding.id),
                    binder_name_masked: b.name_masked,
                    relationship: b.binding.relationship,
                    method: b.binding.method,
                    created_at: b.binding.created_at,
                })
                .collect(),
        }),
    ))
}

pub(super) async fn make_qr_code(
    PathId(vehicle): PathId,
    c: Change<NoBody>,
) -> ServerResult<Response> {
    let qr_key = c.state.qr_key.clone();
    c.commit(move |tx, policies, _, who| {
        let issued = vehicles::issue_qr_code(tx, policies, &qr_key, who.person, vehicle, who.now)?;
        Answer::json(StatusCode::CREATED, &issued)
    })
    .await
}
