//! The owner's consent to a binding: the vehicle QR code the owner shows, or the SMS code sent to the
//! phone on the vehicle record. Either opens a binding application.

use crate::error::{ServerError, ServerErrorCode, ServerResult, Verdict};
use crate::flows::audit::Audit;
use crate::flows::binding::{open_application, precheck, Opened};
use crate::flows::decision::{ClientExpectation, Decision};
use crate::flows::sms::{self, Asker, ChallengeTarget, CodeCheck, Delivery, SmsAbout};
use crate::flows::OrNotFound;
use crate::policies::Policies;
use crate::secrets::constant_time_eq;
use crate::store::{
    ApplicationRow, QrState, SmsChallengeRow, SmsCountKey, SmsPurpose, Tx, VehicleRow,
};
use renche::domain::{
    mask_name, BindingMethod, EngineSuffix, OwnerKind, PhoneNumber, PlateNumber, PlateType,
    UseNature,
};
use renche::{Reason, Refusal, Timestamp};
use serde_json::json;

/// When an application opened by the owner's QR or SMS code stops being committable: the owner agreed at
/// that moment, not to a binding days later.
pub fn application_deadline(
    policies: &Policies,
    vehicle: &VehicleRow,
    opened_at: Timestamp,
) -> Timestamp {
    // The lifetime in force when the owner agreed.
    let lifetime = policies
        .for_city(&vehicle.city, opened_at)
        .rules
        .policy()
        .application_lifetime_seconds;
    opened_at.plus_seconds(i64::from(lifetime))
}

/// Refuses an application past its deadline. It is closed by time rather than by a write: every later
/// commit meets this same refusal, and its view shows the deadline passed.
pub fn require_in_time(
    policies: &Policies,
    application: &ApplicationRow,
    vehicle: &VehicleRow,
    now: Timestamp,
) -> ServerResult<()> {
    if now >= application_deadline(policies, vehicle, application.created_at) {
        return Err(ServerError::of(ServerErrorCode::ApplicationExpired));
    }
    Ok(())
}

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
    let vehicle = tx.vehicle(qr.vehicle_id).or_not_found()?;
    if vehicle.owner_person_id == Some(binder) {
        // The owner scanning their own code would only use it up.
        return Err(ServerError::refused(Decision::new(
            false,
            vec![Reason::of(&Refusal::VehicleIsYourOwn)],
            policies.for_city(&vehicle.city, now).version(),
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

/// Whether `suffix` is the vehicle's engine-number suffix, compared in constant time: the suffix is the
/// secret that proves the vehicle licence is in hand.
pub fn suffix_matches(vehicle: &VehicleRow, suffix: &EngineSuffix) -> bool {
    constant_time_eq(
        vehicle.engine_suffix.as_str().as_bytes(),
        suffix.as_str().as_bytes(),
    )
}

/// A vehicle that passes every rule about the vehicle, with the plate as typed, in the city the plate's
/// prefix names: asked about before the record is looked up, the core then answers only on what the
/// binder and the request decide (the binder's own limits, the city switch, the plate type).
fn stand_in(policies: &Policies, named: &NamedVehicle, now: Timestamp) -> ServerResult<VehicleRow> {
    let policy = policies.for_plate(named.plate.as_str(), now).rules.policy();
    Ok(VehicleRow {
        id: -1,
        plate_number: named.plate.clone(),
        engine_suffix: named.engine_suffix.clone(),
        use_nature: policy
            .bindable_use_natures
            .first()
            .copied()
            .unwrap_or(UseNature::NonCommercial),
        owner_kind: policy
            .bindable_owner_kinds
            .first()
            .copied()
            .unwrap_or(OwnerKind::Individual),
        owner_person_id: None,
        owner_name: String::new(),
        owner_phone: PhoneNumber::parse("13000000000")
            .map_err(|_| ServerError::internal("stand-in phone"))?,
        city: policy.city.code.clone(),
    })
}

/// Starts an SMS binding challenge. Counts the request against the caps first; then asks the core at the
/// precheck stage before anything is texted: a binding that cannot be made is refused with all the core's
/// reasons and nothing is sent. Before the plate and engine suffix match, only what the binder and the
/// request decide is asked (on a stand-in vehicle), so an unknown plate and a wrong suffix get the same
/// answer as a match would: a challenge, whose code reaches the owner's phone only on a match.
pub fn start_sms_challenge(
    tx: &mut dyn Tx,
    policies: &Policies,
    binder: i64,
    named: &NamedVehicle,
    asker: &Asker,
    now: Timestamp,
) -> ServerResult<Verdict<(SmsChallengeRow, Option<Delivery>)>> {
    let sms_policy = policies.sms();
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
    sms::count_request(tx, asker, SmsPurpose::Binding, sms_policy, now)?;
    let person = tx
        .person(binder)?
        .ok_or_else(ServerError::unauthenticated)?;
    let found = tx.vehicle_by_plate(named.plate_type, named.plate.as_str())?;
    let matched = found.filter(|v| suffix_matches(v, &named.engine_suffix));
    // The precheck: on the vehicle itself once plate and suffix match, else on the stand-in.
    let asked = match &matched {
        Some(v) => v.clone(),
        None => stand_in(policies, named, now)?,
    };
    let answer = precheck(tx, policies, now, binder, &asked, BindingMethod::Sms)?;
    if !answer.allowed {
        // The refused start is kept as an undelivered challenge, so that it counts towards the cool-down
        // and the per-plate cap like any other (a refusal must not be a free guess at the suffix).
        let target = ChallengeTarget {
            purpose: SmsPurpose::Binding,
            requester,
            phone: None,
            plate_key: Some(plate_key),
            vehicle_id: None,
            delivered: false,
        };
        let (row, _) = sms::open_challenge(tx, target, now, sms_policy)?;
        let codes: Vec<&str> = answer.reasons.iter().map(|r| r.code).collect();
        Audit::of("sms_binding.refused", format!("challenge:{}", row.id))
            .by(binder)
            .detail(json!({ "reasons": codes, "policyVersion": answer.policy_version }))
            .write(tx, now)?;
        return Ok(Verdict::Refused(ServerError::refused(Decision::new(
            false,
            answer.reasons,
            &answer.policy_version,
            &ClientExpectation::default(),
        ))));
    }
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
    let about = SmsAbout::Binding {
        binder_masked: mask_name(&person.name),
        plate_masked: named.plate.masked(),
    };
    let target = ChallengeTarget {
        purpose: SmsPurpose::Binding,
        requester,
        phone: target.as_ref().map(|v| v.owner_phone.as_str().to_owned()),
        plate_key: Some(plate_key),
        vehicle_id: target.as_ref().map(|v| v.id),
        delivered,
    };
    let (row, delivery) = sms::open_challenge(tx, target, now, sms_policy)?;
    let delivery = delivery.map(|d| Delivery { about, ..d });
    Audit::of("sms_binding.challenge", format!("challenge:{}", row.id))
        .by(binder)
        .detail(json!({ "delivered": delivered }))
        .write(tx, now)?;
    Ok(Verdict::Done((row, delivery)))
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
    let vehicle = tx.vehicle(vehicle_id).or_not_found()?;
    open_application(tx, policies, now, binder, vehicle, BindingMethod::Sms).map(Verdict::Done)
}
