//! The owner's side of a vehicle: who has bound it, and the QR code that lets someone bind it.

use crate::error::{ServerError, ServerResult};
use crate::flows::audit::Audit;
use crate::flows::OrNotFound;
use crate::policies::Policies;
use crate::secrets::{random_bytes, sha256};
use crate::store::{BindingRow, Tx, VehicleRow};
use renche::domain::mask_name;
use renche::qr::payload::TOKEN_LEN;
use renche::qr::QrPayload;
use renche::Timestamp;
use serde::Serialize;
use serde_json::json;

/// A binder of an owner's vehicle, as the owner sees them.
pub struct Binder {
    pub binding: BindingRow,
    pub name_masked: String,
}

/// The person's own vehicles, each with its active binders.
pub fn owned_vehicles(tx: &mut dyn Tx, owner: i64) -> ServerResult<Vec<(VehicleRow, Vec<Binder>)>> {
    let mut out = Vec::new();
    for v in tx.vehicles_owned_by(owner)? {
        let mut binders = Vec::new();
        for b in tx.active_bindings_of_vehicle(v.id)? {
            let name_masked = tx
                .person(b.binder_id)?
                .map(|p| mask_name(&p.name))
                .unwrap_or_default();
            binders.push(Binder {
                binding: b,
                name_masked,
            });
        }
        out.push((v, binders));
    }
    Ok(out)
}

/// A QR code just issued: its text to show and when it stops working (the answer's body as it is).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IssuedQrCode {
    pub qr_text: String,
    pub expires_at: Timestamp,
    pub lifetime_seconds: u32,
    pub plate_masked: String,
}

/// Issues a vehicle QR code for its owner, replacing any earlier code of the vehicle. Only the token's
/// hash is stored.
pub fn issue_qr_code(
    tx: &mut dyn Tx,
    policies: &Policies,
    qr_key: &[u8],
    owner: i64,
    vehicle_id: i64,
    now: Timestamp,
) -> ServerResult<IssuedQrCode> {
    let vehicle = tx.vehicle(vehicle_id).or_not_found()?;
    // Someone else's vehicle is simply not there for this person.
    if vehicle.owner_person_id != Some(owner) {
        return Err(ServerError::not_found());
    }
    let lifetime = policies
        .for_city(&vehicle.city, now)
        .rules
        .policy()
        .qr_code_lifetime_seconds;
    let mut token = [0u8; TOKEN_LEN];
    token.copy_from_slice(&random_bytes(TOKEN_LEN));
    let expires_at = now.plus_seconds(i64::from(lifetime));
    let plate_masked = vehicle.plate_number.masked();
    let payload = QrPayload::new(token, expires_at, &plate_masked)
        .map_err(|e| ServerError::internal(format!("QR payload: {e:?}")))?;
    tx.replace_active_qr_codes(vehicle_id)?;
    tx.insert_qr_code(vehicle_id, owner, &sha256(&[&token]), now, expires_at)?;
    Audit::of("qr_code.issued", format!("vehicle:{vehicle_id}"))
        .by(owner)
        .detail(json!({ "expiresAt": expires_at }))
        .write(tx, now)?;
    Ok(IssuedQrCode {
        qr_text: payload.encode(qr_key),
        expires_at,
        lifetime_seconds: lifetime,
        plate_masked,
    })
}
