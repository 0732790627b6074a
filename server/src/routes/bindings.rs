//! Binding a vehicle that is not in one's name: by the owner's QR code or by an SMS code to the owner's
//! phone, then real-person verification and the commit; listing and removing bindings.

use super::accounts::{
    challenge_view, check_code, daily_cap, deliver, new_challenge, too_soon, ChallengeTarget,
};
use super::{
    audit, binding_facts, commit_binding, person_facts, read, vehicle_facts, write_answer,
    write_answer_with, Answer, ApplicationView, BindingCommit, BindingView, MaskedVehicleView,
    VehicleView,
};
use crate::app::SharedState;
use crate::error::{ApiError, ApiResult, ClientExpectation, Decision, ErrorKind};
use crate::extract::{ApiJson, PathId, PathToken};
use crate::gateways::VerificationOutcome;
use crate::guard::{AnswerKey, SignedIn};
use crate::policies::Policies;
use crate::secrets::{constant_time_eq, random_hex, sha256};
use crate::store::{
    ApplicationRow, ApplicationStatus, BindingRow, QrState, SmsCountKey, SmsPurpose, Tx,
    VehicleRow, Verification,
};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use renche::domain::{
    ActorRole, BindingMethod, Channel, EngineSuffix, PlateNumber, PlateType, Relationship,
};
use renche::qr::{QrPayload, QrPayloadError};
use renche::{
    params, BindingAnswer, BindingCall, BindingFacts, Refusal, Stage, Timestamp, UnbindCall,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OpenedApplication {
    application_id: String,
    vehicle: MaskedVehicleView,
    precheck: BindingAnswer,
}

/// The core's answer before verification, from the facts in the database.
fn precheck(
    tx: &mut dyn Tx,
    policies: &Policies,
    now: Timestamp,
    binder_id: i64,
    vehicle: &VehicleRow,
    method: BindingMethod,
) -> ApiResult<BindingAnswer> {
    let binder = tx
        .person(binder_id)?
        .ok_or_else(ApiError::unauthenticated)?;
    let binder_bindings: Vec<BindingFacts> = tx
        .active_bindings_of_binder(binder_id)?
        .iter()
        .map(binding_facts)
        .collect();
    let vehicle_bindings: Vec<BindingFacts> = tx
        .active_bindings_of_vehicle(vehicle.id)?
        .iter()
        .map(binding_facts)
        .collect();
    let applications = tx
        .submitted_applications(binder_id)?
        .into_iter()
        .map(|(_, at)| at)
        .collect();
    let call = BindingCall {
        binder: person_facts(&binder, now, false),
        vehicle: vehicle_facts(vehicle),
        binder_bindings,
        vehicle_bindings,
        applications,
        method,
        channel: Channel::App,
        stage: Stage::Precheck,
        documents_checked: vec![],
        now,
    };
    Ok(policies.for_city(&vehicle.city).rules.check_binding(&call))
}

/// Opens a binding application for `binder_id` on `vehicle`, awaiting verification.
fn open_application(
    tx: &mut dyn Tx,
    policies: &Policies,
    now: Timestamp,
    binder_id: i64,
    vehicle: &VehicleRow,
    method: BindingMethod,
) -> ApiResult<OpenedApplication> {
    let application = ApplicationRow {
        id: random_hex(16),
        binder_id,
        vehicle_id: vehicle.id,
        method,
        relationship: if method == BindingMethod::Sms {
            Some(Relationship::Other)
        } else {
            None
        },
        status: ApplicationStatus::AwaitingVerification,
        verification: None,
        note: None,
        binding_id: None,
        created_at: now,
        submitted_at: None,
        reviewed_by: None,
        reviewed_at: None,
        review_reason: None,
    };
    tx.insert_application(&application)?;
    let answer = precheck(tx, policies, now, binder_id, vehicle, method)?;
    audit(
        tx,
        now,
        Some(binder_id),
        "binding_application.opened",
        format!("application:{}", application.id),
        json!({ "vehicle": vehicle.id, "method": method, "precheck": answer.allowed,
                "reasons": answer.reasons.iter().map(|r| r.code).collect::<Vec<_>>() }),
    )?;
    Ok(OpenedApplication {
        application_id: application.id,
        vehicle: MaskedVehicleView::of(vehicle),
        precheck: answer,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RedeemRequest {
    qr_text: String,
}

fn qr_gone(code: &'static str, zh: &str, en: &str) -> ApiError {
    ApiError::new(ErrorKind::Gone, code, zh.to_owned(), en.to_owned()).field("qrText")
}

fn qr_expired() -> ApiError {
    qr_gone(
        "QR_EXPIRED",
        "二维码已过期,请车主重新生成",
        "The QR code has expired; ask the owner for a new one",
    )
}

pub async fn redeem_qr(
    State(state): State<SharedState>,
    me: SignedIn,
    key: AnswerKey,
    ApiJson(body): ApiJson<RedeemRequest>,
) -> ApiResult<Response> {
    let now = state.now();
    let payload = match QrPayload::verify(body.qr_text.trim(), &state.qr_key, now) {
        Ok(p) => p,
        Err(QrPayloadError::Expired { .. }) => return Err(qr_expired()),
        Err(e) => return Err(ApiError::invalid("qrText", &e)),
    };
    let token_hash = sha256(&[payload.token()]);
    let binder = me.person_id;
    let st = state.clone();
    write_answer(&state, &key, move |tx| {
        let Some(qr) = tx.qr_code_by_token_hash(&token_hash)? else {
            return Err(ApiError::new(
                ErrorKind::Unprocessable,
                "QR_UNKNOWN",
                "二维码无效",
                "This QR code is not known",
            )
            .field("qrText"));
        };
        match qr.state {
            QrState::Replaced => {
                return Err(qr_gone(
                    "QR_REPLACED",
                    "车主已生成新的二维码,此码已失效",
                    "The owner has made a newer code; this one no longer works",
                ))
            }
            QrState::Used => {
                return Err(qr_gone(
                    "QR_ALREADY_USED",
                    "二维码已被使用,请车主重新生成",
                    "This QR code has already been used; ask the owner for a new one",
                ))
            }
            QrState::Active => {}
        }
        if now >= qr.expires_at {
            return Err(qr_expired());
        }
        let vehicle = tx.vehicle(qr.vehicle_id)?.ok_or_else(ApiError::not_found)?;
        if vehicle.owner_person_id == Some(binder) {
            // The owner scanning their own code would only use it up.
            return Err(ApiError::refused(Decision::new(
                false,
                vec![renche::Reason::of(&Refusal::VehicleIsYourOwn)],
                st.policies.for_city(&vehicle.city).version(),
                &ClientExpectation::default(),
            )));
        }
        tx.mark_qr_code_used(qr.id, binder, now)?;
        let opened = open_application(tx, &st.policies, now, binder, &vehicle, BindingMethod::Qr)?;
        Answer::json(StatusCode::CREATED, &opened)
    })
    .await
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SmsChallengeRequest {
    plate_type: String,
    plate_number: String,
    engine_suffix: String,
}

pub async fn start_sms_challenge(
    State(state): State<SharedState>,
    me: SignedIn,
    key: AnswerKey,
    ApiJson(body): ApiJson<SmsChallengeRequest>,
) -> ApiResult<Response> {
    let plate_type =
        PlateType::parse(&body.plate_type).map_err(|e| ApiError::invalid("plateType", &e))?;
    let plate = PlateNumber::parse(&body.plate_number, plate_type)
        .map_err(|e| ApiError::invalid("plateNumber", &e))?;
    let suffix = EngineSuffix::parse(&body.engine_suffix)
        .map_err(|e| ApiError::invalid("engineSuffix", &e))?;
    let now = state.now();
    // One SMS policy for every challenge, so the answer cannot differ by the vehicle's city.
    let sms = state.policies.default_policy().rules.policy().sms.clone();
    let requester = format!("p:{}", me.person_id);
    let plate_key = format!("{}:{}", plate_type.code(), plate.as_str());
    let sms_job = sms.clone();
    let (resp, delivery) = write_answer_with(&state, &key, move |tx| {
        let mine = SmsCountKey::RequesterPlate {
            requester: requester.clone(),
            plate_key: plate_key.clone(),
        };
        if let Some(last) = tx.last_sms_challenge_at(&mine)? {
            let wait =
                last.millis() + i64::from(sms_job.resend_cooldown_seconds) * 1000 - now.millis();
            if wait > 0 {
                return Err(too_soon(wait));
            }
        }
        let day_start = now.cst_date().start();
        if tx.count_sms_challenges(&SmsCountKey::Plate(plate_key.clone()), day_start)?
            >= sms_job.daily_cap_per_plate
        {
            return Err(daily_cap(sms_job.daily_cap_per_plate));
        }
        // The same work whether or not the plate and suffix match: one lookup, one comparison, one code,
        // one insert. Only a match gets a code that reaches a phone.
        let found = tx.vehicle_by_plate(plate_type, plate.as_str())?;
        let matched = found.filter(|v| {
            constant_time_eq(
                v.engine_suffix.as_str().as_bytes(),
                suffix.as_str().as_bytes(),
            )
        });
        // The per-phone cap is silent (saying so would tell that the plate exists), and counted in both
        // cases so that both take the same queries.
        let counted_phone = matched
            .as_ref()
            .map(|v| v.owner_phone.as_str().to_owned())
            .unwrap_or_else(|| plate_key.clone());
        let under_cap = tx.count_sms_challenges(&SmsCountKey::Phone(counted_phone), day_start)?
            < sms_job.daily_cap_per_phone;
        let target = matched
            .filter(|_| under_cap)
            .map(|v| (v.id, v.owner_phone.as_str().to_owned()));
        let (vehicle_id, phone) = match &target {
            Some((v, p)) => (Some(*v), Some(p.clone())),
            None => (None, None),
        };
        let delivered = target.is_some();
        let target = ChallengeTarget {
            purpose: SmsPurpose::Binding,
            requester: requester.clone(),
            phone: phone.clone(),
            plate_key: Some(plate_key),
            vehicle_id,
            delivered,
        };
        let (row, code) = new_challenge(target, now, &sms_job);
        tx.insert_sms_challenge(&row)?;
        audit(
            tx,
            now,
            Some(me.person_id),
            "sms_binding.challenge",
            format!("challenge:{}", row.id),
            json!({ "delivered": delivered }),
        )?;
        let answer = Answer::json(StatusCode::ACCEPTED, &challenge_view(&row, &sms_job))?;
        Ok((answer, phone.map(|p| (p, code))))
    })
    .await?;
    if let Some((to, code)) = delivery {
        deliver(&state, to, code, now, &sms);
    }
    Ok(resp)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConfirmRequest {
    code: String,
}

pub async fn confirm_sms_challenge(
    State(state): State<SharedState>,
    me: SignedIn,
    key: AnswerKey,
    PathToken(challenge_id): PathToken,
    ApiJson(body): ApiJson<ConfirmRequest>,
) -> ApiResult<Response> {
    let now = state.now();
    let sms = state.policies.default_policy().rules.policy().sms.clone();
    let binder = me.person_id;
    let requester = format!("p:{binder}");
    let st = state.clone();
    write_answer(&state, &key, move |tx| {
        let c = match check_code(
            tx,
            &challenge_id,
            &requester,
            SmsPurpose::Binding,
            &body.code,
            now,
            &sms,
        )? {
            Ok(c) => c,
            Err(e) => return Ok(Answer::error(e)),
        };
        let Some(vehicle_id) = c.vehicle_id else {
            return Ok(Answer::error(ApiError::internal(
                "a decoy challenge matched a code",
            )));
        };
        let vehicle = tx.vehicle(vehicle_id)?.ok_or_else(ApiError::not_found)?;
        let opened = open_application(tx, &st.policies, now, binder, &vehicle, BindingMethod::Sms)?;
        Answer::json(StatusCode::CREATED, &opened)
    })
    .await
}

fn load_own_application(
    tx: &mut dyn Tx,
    id: &str,
    binder: i64,
) -> ApiResult<(ApplicationRow, VehicleRow)> {
    let a = tx
        .application(id)?
        .filter(|a| a.binder_id == binder)
        .ok_or_else(ApiError::not_found)?;
    let v = tx.vehicle(a.vehicle_id)?.ok_or_else(ApiError::not_found)?;
    Ok((a, v))
}

pub async fn get_application(
    State(state): State<SharedState>,
    me: SignedIn,
    PathToken(id): PathToken,
) -> ApiResult<Json<ApplicationView>> {
    let binder = me.person_id;
    let (a, v) = read(&state, move |tx| load_own_application(tx, &id, binder)).await?;
    Ok(Json(ApplicationView::of(&a, &v)))
}

fn not_awaiting(a: &ApplicationRow) -> ApiError {
    let (code, zh, en) = match a.status {
        ApplicationStatus::Committed => (
            "APPLICATION_ALREADY_COMMITTED",
            "该绑定申请已完成",
            "This application has already been committed",
        ),
        ApplicationStatus::InReview => (
            "APPLICATION_IN_REVIEW",
            "该绑定申请正在人工审核",
            "This application is waiting for manual review",
        ),
        _ => (
            "APPLICATION_CLOSED",
            "该绑定申请已结束",
            "This application is closed",
        ),
    };
    ApiError::new(ErrorKind::Conflict, code, zh, en)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CommitRequest {
    #[serde(default)]
    relationship: Option<Relationship>,
    #[serde(default)]
    policy_version: Option<String>,
    #[serde(default)]
    expected_allowed: Option<bool>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CommittedView {
    pub binding: BindingView,
    pub decision: Decision,
}

/// The answer to a binding commit: 201 with the binding, or the rules' refusal (kept with its audit entry).
pub fn committed_answer(committed: Result<(BindingRow, Decision), ApiError>) -> ApiResult<Answer> {
    match committed {
        Ok((binding, decision)) => Answer::json(
            StatusCode::CREATED,
            &CommittedView {
                binding: BindingView::of(&binding),
                decision,
            },
        ),
        Err(refused) => Ok(Answer::error(refused)),
    }
}

fn relationship_for(method: BindingMethod, given: Option<Relationship>) -> ApiResult<Relationship> {
    match (method, given) {
        (BindingMethod::Sms, _) => Ok(Relationship::Other),
        (_, Some(r)) => Ok(r),
        (_, None) => Err(ApiError::new(
            ErrorKind::Unprocessable,
            "MISSING_FIELD",
            "请选择与车主的关系",
            "Pick your relationship to the owner",
        )
        .field("relationship")),
    }
}

pub async fn commit_application(
    State(state): State<SharedState>,
    me: SignedIn,
    key: AnswerKey,
    PathToken(id): PathToken,
    ApiJson(body): ApiJson<CommitRequest>,
) -> ApiResult<Response> {
    let binder = me.person_id;
    let app_id = id.clone();
    let (a, _) = read(&state, move |tx| load_own_application(tx, &app_id, binder)).await?;
    if a.status != ApplicationStatus::AwaitingVerification {
        return Err(not_awaiting(&a));
    }
    let relationship = relationship_for(a.method, body.relationship)?;
    let outcome = state.identity.verify(binder).await;
    let now = state.now();
    let verification = match outcome {
        VerificationOutcome::Pass => Verification::Passed,
        VerificationOutcome::Pending => Verification::Pending,
        VerificationOutcome::Fail => Verification::Failed,
        VerificationOutcome::Unavailable => Verification::Unavailable,
    };
    let expectation = ClientExpectation {
        policy_version: body.policy_version,
        expected_allowed: body.expected_allowed,
    };
    let st = state.clone();
    write_answer(&state, &key, move |tx| {
        let (mut a, v) = load_own_application(tx, &id, binder)?;
        if a.status != ApplicationStatus::AwaitingVerification {
            return Err(not_awaiting(&a));
        }
        a.verification = Some(verification);
        a.relationship = Some(relationship);
        tx.update_application(&a)?;
        if verification != Verification::Passed {
            audit(
                tx,
                now,
                Some(binder),
                "identity.verification",
                format!("application:{}", a.id),
                json!({ "outcome": verification.code() }),
            )?;
            return unverified_answer(verification, &a, &v);
        }
        tx.set_identity_verified(binder)?;
        let committed = commit_binding(
            tx,
            &st.policies,
            now,
            BindingCommit {
                binder_id: binder,
                vehicle_id: v.id,
                method: a.method,
                relationship,
                channel: Channel::App,
                identity_verified: true,
                documents_checked: vec![],
                application_id: Some(a.id.clone()),
                actor_id: binder,
                expectation,
            },
        )?;
        committed_answer(committed)
    })
    .await
}

/// The answer when verification did not pass; the verifier's outcome is kept with the application.
fn unverified_answer(
    verification: Verification,
    a: &ApplicationRow,
    v: &VehicleRow,
) -> ApiResult<Answer> {
    match verification {
        Verification::Pending => Answer::json(
            StatusCode::ACCEPTED,
            &json!({ "application": ApplicationView::of(a, v) }),
        ),
        Verification::Failed => Ok(Answer::error(
            ApiError::new(
                ErrorKind::Unprocessable,
                "REAL_PERSON_VERIFICATION_FAILED",
                "实人认证未通过,可申请人工审核",
                "Real-person verification failed; you may ask for manual review",
            )
            .params(params![manualReview = "available"]),
        )),
        _ => Ok(Answer::error(
            ApiError::new(
                ErrorKind::Unprocessable,
                "REAL_PERSON_VERIFICATION_UNAVAILABLE",
                "实人认证服务暂不可用,可申请人工审核",
                "Real-person verification is unavailable; you may ask for manual review",
            )
            .params(params![manualReview = "available"]),
        )),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ManualReviewRequest {
    #[serde(default)]
    relationship: Option<Relationship>,
    #[serde(default)]
    note: Option<String>,
}

pub async fn request_manual_review(
    State(state): State<SharedState>,
    me: SignedIn,
    key: AnswerKey,
    PathToken(id): PathToken,
    ApiJson(body): ApiJson<ManualReviewRequest>,
) -> ApiResult<Response> {
    let binder = me.person_id;
    let now = state.now();
    if body.note.as_ref().is_some_and(|n| n.chars().count() > 500) {
        return Err(ApiError::invalid_value("note", "at most 500 characters"));
    }
    write_answer(&state, &key, move |tx| {
        let (mut a, v) = load_own_application(tx, &id, binder)?;
        if a.status != ApplicationStatus::AwaitingVerification {
            return Err(not_awaiting(&a));
        }
        if !matches!(
            a.verification,
            Some(Verification::Failed | Verification::Unavailable)
        ) {
            return Err(ApiError::new(
                ErrorKind::Conflict,
                "MANUAL_REVIEW_NOT_AVAILABLE",
                "仅在实人认证未通过或不可用时可申请人工审核",
                "Manual review is for when real-person verification failed or is unavailable",
            ));
        }
        a.relationship = Some(relationship_for(
            a.method,
            body.relationship.or(a.relationship),
        )?);
        a.status = ApplicationStatus::InReview;
        a.note = body.note;
        a.submitted_at = Some(now);
        tx.update_application(&a)?;
        audit(
            tx,
            now,
            Some(binder),
            "binding_application.review_requested",
            format!("application:{}", a.id),
            json!({}),
        )?;
        Answer::json(
            StatusCode::ACCEPTED,
            &json!({ "application": ApplicationView::of(&a, &v) }),
        )
    })
    .await
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MyBindingView {
    #[serde(flatten)]
    binding: BindingView,
    vehicle: VehicleView,
}

pub async fn my_bindings(
    State(state): State<SharedState>,
    me: SignedIn,
) -> ApiResult<Json<serde_json::Value>> {
    let id = me.person_id;
    let views = read(&state, move |tx| {
        let mut out = Vec::new();
        for b in tx.active_bindings_of_binder(id)? {
            if let Some(v) = tx.vehicle(b.vehicle_id)? {
                out.push(MyBindingView {
                    binding: BindingView::of(&b),
                    vehicle: VehicleView::of(&v),
                });
            }
        }
        Ok(out)
    })
    .await?;
    Ok(Json(json!({ "bindings": views })))
}

pub async fn remove_binding(
    State(state): State<SharedState>,
    me: SignedIn,
    key: AnswerKey,
    PathId(binding_id): PathId,
) -> ApiResult<Response> {
    let actor = me.person_id;
    let now = state.now();
    let st = state.clone();
    write_answer(&state, &key, move |tx| {
        let b = tx.binding(binding_id)?.ok_or_else(ApiError::not_found)?;
        // The same locks a commit takes, so that removals and commits of one person or vehicle are decided
        // (and audited) one after the other.
        tx.lock_for_binding(b.binder_id, b.vehicle_id)?;
        let v = tx.vehicle(b.vehicle_id)?.ok_or_else(ApiError::not_found)?;
        let person = tx.person(actor)?.ok_or_else(ApiError::unauthenticated)?;
        let is_officer = person.role == crate::store::Role::Officer;
        let is_party = b.binder_id == actor || v.owner_person_id == Some(actor);
        if !is_party && !is_officer {
            return Err(ApiError::not_found());
        }
        let channel = if is_party {
            Channel::App
        } else {
            Channel::Window
        };
        let rules = &st.policies.for_city(&v.city).rules;
        let answer = rules.check_unbind(&UnbindCall {
            actor_id: actor.to_string(),
            actor_is_officer: is_officer,
            binding: binding_facts(&b),
            vehicle: vehicle_facts(&v),
            channel,
            now,
        });
        let decision = Decision::new(
            answer.allowed,
            answer.reasons,
            &answer.policy_version,
            &ClientExpectation::default(),
        );
        if !answer.allowed {
            audit(
                tx,
                now,
                Some(actor),
                "binding.removal_refused",
                format!("binding:{binding_id}"),
                json!({ "reasons": decision.reasons.iter().map(|r| r.code).collect::<Vec<_>>() }),
            )?;
            return Ok(Answer::error(ApiError::refused(decision)));
        }
        tx.remove_binding(binding_id, now, actor, answer.role)?;
        audit(
            tx,
            now,
            Some(actor),
            "binding.removed",
            format!("binding:{binding_id}"),
            json!({ "role": answer.role, "channel": channel }),
        )?;
        let plate = v.plate_number.display();
        if answer.role != ActorRole::Binder {
            tx.insert_notification(
                b.binder_id,
                "binding_removed",
                &format!("您对机动车{plate}的绑定已被{}解除。", answer.role.name_zh()),
                &format!(
                    "Your binding of vehicle {plate} was removed by the {}.",
                    answer.role.name_en().to_lowercase()
                ),
                now,
            )?;
        }
        if let Some(owner) = v
            .owner_person_id
            .filter(|o| answer.role != ActorRole::Owner && *o != actor)
        {
            tx.insert_notification(
                owner,
                "binding_removed",
                &format!("机动车{plate}的一项绑定已解除。"),
                &format!("A binding of your vehicle {plate} was removed."),
                now,
            )?;
        }
        let row = tx.binding(binding_id)?.ok_or_else(ApiError::not_found)?;
        Answer::json(
            StatusCode::OK,
            &CommittedView {
                binding: BindingView::of(&row),
                decision,
            },
        )
    })
    .await
}
