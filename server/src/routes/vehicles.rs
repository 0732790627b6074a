//! The owner's vehicles: who has bound them, and the vehicle QR code.

use super::{audit, id_string, mask_name, read, write_answer, Answer, VehicleView};
use crate::app::SharedState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, PathId};
use crate::guard::{AnswerKey, SignedIn};
use crate::secrets::{random_bytes, sha256};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use renche::domain::{BindingMethod, Relationship};
use renche::qr::QrPayload;
use renche::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BinderView {
    binding_id: String,
    binder_name_masked: String,
    relationship: Relationship,
    method: BindingMethod,
    created_at: Timestamp,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OwnedVehicleView {
    #[serde(flatten)]
    vehicle: VehicleView,
    binders: Vec<BinderView>,
}

pub async fn my_vehicles(
    State(state): State<SharedState>,
    me: SignedIn,
) -> ApiResult<Json<serde_json::Value>> {
    let id = me.person_id;
    let views = read(&state, move |tx| {
        let mut out = Vec::new();
        for v in tx.vehicles_owned_by(id)? {
            let mut binders = Vec::new();
            for b in tx.active_bindings_of_vehicle(v.id)? {
                let name = tx
                    .person(b.binder_id)?
                    .map(|p| mask_name(&p.name))
                    .unwrap_or_default();
                binders.push(BinderView {
                    binding_id: id_string(b.id),
                    binder_name_masked: name,
                    relationship: b.relationship,
                    method: b.method,
                    created_at: b.created_at,
                });
            }
            out.push(OwnedVehicleView {
                vehicle: VehicleView::of(&v),
                binders,
            });
        }
        Ok(out)
    })
    .await?;
    Ok(Json(json!({ "vehicles": views })))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QrCodeRequest {}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct QrCodeView {
    qr_text: String,
    expires_at: Timestamp,
    lifetime_seconds: u32,
    plate_masked: String,
}

pub async fn make_qr_code(
    State(state): State<SharedState>,
    me: SignedIn,
    key: AnswerKey,
    PathId(vehicle_id): PathId,
    ApiJson(_): ApiJson<QrCodeRequest>,
) -> ApiResult<Response> {
    let now = state.now();
    let owner = me.person_id;
    let st = state.clone();
    write_answer(&state, &key, move |tx| {
        let vehicle = tx.vehicle(vehicle_id)?.ok_or_else(ApiError::not_found)?;
        // Someone else's vehicle is simply not there for this person.
        if vehicle.owner_person_id != Some(owner) {
            return Err(ApiError::not_found());
        }
        let lifetime = st
            .policies
            .for_city(&vehicle.city)
            .rules
            .policy()
            .qr_code_lifetime_seconds;
        let mut token = [0u8; renche::qr::payload::TOKEN_LEN];
        token.copy_from_slice(&random_bytes(renche::qr::payload::TOKEN_LEN));
        let expires_at = now.plus_seconds(i64::from(lifetime));
        let masked = vehicle.plate_number.masked();
        let payload = QrPayload::new(token, expires_at, &masked)
            .map_err(|e| ApiError::internal(format!("QR payload: {e:?}")))?;
        tx.replace_active_qr_codes(vehicle_id)?;
        tx.insert_qr_code(vehicle_id, owner, &sha256(&[&token]), now, expires_at)?;
        audit(
            tx,
            now,
            Some(owner),
            "qr_code.issued",
            format!("vehicle:{vehicle_id}"),
            json!({ "expiresAt": expires_at }),
        )?;
        Answer::json(
            StatusCode::CREATED,
            &QrCodeView {
                qr_text: payload.encode(&st.qr_key),
                expires_at,
                lifetime_seconds: lifetime,
                plate_masked: masked,
            },
        )
    })
    .await
}
