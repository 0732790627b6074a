//! The owner's consent to a binding: the vehicle QR code the owner shows, or the SMS code sent to the
//! phone on the vehicle record. Either opens a binding application.

use crate::error::{ServerError, ServerErrorCode, ServerResult, Verdict};
use crate::flows::audit::audit;
use crate::flows::binding::{open_application, Opened};
use crate::flows::decision::{ClientExpectation, Decision};
use crate::flows::sms::{self, ChallengeTarget, CodeCheck, Delivery};
use crate::policies::Policies;
use crate::secrets::constant_time_eq;
use crate::store::{QrState, SmsChallengeRow, SmsCountKey, SmsPurpose, Tx};
use renche::domain::{BindingMethod, EngineSuffix, PlateNumber, PlateType};
use renche::policy::SmsPolicy;
use renche::{Reason, Refusal, Timestamp};
use serde_json::json;

fn qr_gone(code: ServerErrorCode) -> ServerError {
    ServerError::of(code).field("qrText")
}

pub fn qr_expired() -> ServerError {
    qr_gone(ServerErrorCode::QrExpired)
}

/// Uses up the QR code whose token hashes to `token_hash` and opens an application for `binder`.
pub fn redeem_qr(
    tx: &mut dyn Tx,
    policies: &Policies,
    token_hash: &[u8],
    binder: i64,
    now: Timestamp,
) -> ServerResult<Opened> {
    let Some(qr) = tx.qr_code_by_token_hash(token_hash)? else {
        return Err(ServerError::of(ServerErrorCode::QrUnknown).field("qrText"));
    };
    match qr.state {
        QrState::Replaced => return Err(qr_gone(ServerErrorCode::QrReplaced)),
        QrState::Used => return Err(qr_gone(ServerErrorCode::QrAlreadyUsed)),
        QrState::Active => {}
    }
    if now >= qr.expires_at {
        return Err(qr_expired());
    }
    let vehicle = tx
        .vehicle(qr.vehicle_id)?
        .ok_or_else(ServerError::not_found)?;
    if vehicle.owner_person_id == Some(binder) {
        // The owner scanning their own code would only use it up.
        return Err(ServerError::refused(Decision::new(
            false,
            vec![Reason::of(&Refusal::VehicleIsYourOwn)],
            policies.for_city(&vehicle.city).version(),
            &ClientExpectation::default(),
        )));
    }
    tx.mark_qr_code_used(qr.id, binder, now)?;
    open_application(tx, policies, now, binder, vehicle, BindingMethod::Qr)
}

/// The vehicle a binder names for the SMS method.
pub struct NamedVehicle {
    pub plate_type: PlateType,
    pub plate: PlateNumber,
    pub engine_suffix: EngineSuffix,
}

/// Starts an SMS binding challenge. The same work is done whether or not the plate and engine suffix
/// match, and the answer is the same: only a match gets a code that reaches the owner's phone.
pub fn start_sms_challenge(
    tx: &mut dyn Tx,
    binder: i64,
    named: &NamedVehicle,
    sms_policy: &SmsPolicy,
    now: Timestamp,
) -> ServerResult<(SmsChallengeRow, Option<Delivery>)> {
    let requester = format!("p:{binder}");
    let plate_key = format!("{}:{}", named.plate_type.code(), named.plate.as_str());
    let mine = SmsCountKey::RequesterPlate {
        requester: requester.clone(),
        plate_key: plate_key.clone(),
    };
    sms::check_cooldown(tx, &mine, sms_policy, now)?;
    sms::check_daily_cap(
        tx,
        &SmsCountKey::Plate(plate_key.clone()),
        sms_policy.daily_cap_per_plate,
        now,
    )?;
    let found = tx.vehicle_by_plate(named.plate_type, named.plate.as_str())?;
    let matched = found.filter(|v| {
        constant_time_eq(
            v.engine_suffix.as_str().as_bytes(),
            named.engine_suffix.as_str().as_bytes(),
        )
    });
    // The per-phone cap is silent (saying so would tell that the plate exists), and counted in both
    // cases so that both take the same queries.
    let counted_phone = matched
        .as_ref()
        .map(|v| v.owner_phone.as_str().to_owned())
        .unwrap_or_else(|| plate_key.clone());
    let under_cap = tx
        .count_sms_challenges(&SmsCountKey::Phone(counted_phone), now.cst_date().start())?
        < sms_policy.daily_cap_per_phone;
    let target = matched.filter(|_| under_cap);
    let delivered = target.is_some();
    let target = ChallengeTarget {
        purpose: SmsPurpose::Binding,
        requester,
        phone: target.as_ref().map(|v| v.owner_phone.as_str().to_owned()),
        plate_key: Some(plate_key),
        vehicle_id: target.as_ref().map(|v| v.id),
        delivered,
    };
    let (row, delivery) = sms::open_challenge(tx, target, now, sms_policy)?;
    audit(
        tx,
        now,
        Some(binder),
        "sms_binding.challenge",
        format!("challenge:{}", row.id),
        json!({ "delivered": delivered }),
    )?;
    Ok((row, delivery))
}

/// Checks the code the owner passed on and opens an application. A wrong code is a refusal whose wrong
/// try is kept.
pub fn confirm_sms_challenge(
    tx: &mut dyn Tx,
    policies: &Policies,
    binder: i64,
    challenge_id: &str,
    code: &str,
    now: Timestamp,
) -> ServerResult<Verdict<Opened>> {
    let requester = format!("p:{binder}");
    let check = CodeCheck {
        challenge_id,
        requester: &requester,
        purpose: SmsPurpose::Binding,
        code,
    };
    let c = match sms::check_code(tx, check, now, policies.sms())? {
        Verdict::Done(c) => c,
        Verdict::Refused(e) => return Ok(Verdict::Refused(e)),
    };
    let Some(vehicle_id) = c.vehicle_id else {
        return Ok(Verdict::Refused(ServerError::internal(
            "a decoy challenge matched a code",
        )));
    };
    let vehicle = tx.vehicle(vehicle_id)?.ok_or_else(ServerError::not_found)?;
    open_application(tx, policies, now, binder, vehicle, BindingMethod::Sms).map(Verdict::Done)
}
