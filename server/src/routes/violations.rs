//! Violations of one's own and bound vehicles, each routed by the core, and handling one online:
//! decision, points and payment.

use super::{
    audit, binding_facts, current_cycle, person_facts, read, vehicle_facts, violation_facts,
    write_answer, Answer, VehicleView, ViolationView,
};
use crate::app::SharedState;
use crate::error::{ApiError, ApiResult, ClientExpectation, Decision, ErrorKind};
use crate::extract::{ApiJson, PathId};
use crate::gateways::PaymentRequest;
use crate::guard::{AnswerKey, SignedIn};
use crate::policies::Policies;
use crate::secrets::random_hex;
use crate::store::{BindingRow, Tx, VehicleRow, ViolationRow};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use renche::domain::{Channel, Document, Fen, ViolationState};
use renche::{params, Reason, Refusal, Route, RouteCall, Timestamp, ViolationRoute};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// Most violations listed per vehicle (newest first).
const LIST_LIMIT: u32 = 200;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct VehicleViolations {
    vehicle: VehicleView,
    relation: &'static str,
    binding_id: Option<String>,
    policy_version: String,
    violations: Vec<ViolationView>,
}

/// Routes a vehicle's violations for a person on a channel; drops what is not theirs to see.
pub fn routed(
    tx: &mut dyn Tx,
    policies: &Policies,
    person: &crate::store::PersonRow,
    vehicle: &VehicleRow,
    binding: Option<&BindingRow>,
    channel: Channel,
    now: Timestamp,
) -> ApiResult<(Vec<ViolationView>, String)> {
    let rows = tx.violations_of_vehicle(vehicle.id, LIST_LIMIT)?;
    let policy = policies.for_city(&vehicle.city);
    let call = RouteCall {
        person: person_facts(person, now, false),
        vehicle: vehicle_facts(vehicle),
        binding: binding.map(binding_facts),
        violations: rows.iter().map(violation_facts).collect(),
        channel,
        now,
    };
    let answer = policy.rules.route_violations(&call);
    let views = rows
        .iter()
        .zip(answer.routes)
        .filter(|(_, r)| r.route != Route::NotTheirs)
        .map(|(v, r)| ViolationView::of(v, r))
        .collect();
    Ok((views, answer.policy_version))
}

pub async fn my_violations(
    State(state): State<SharedState>,
    me: SignedIn,
) -> ApiResult<Json<serde_json::Value>> {
    let id = me.person_id;
    let now = state.now();
    let st = state.clone();
    let groups = read(&state, move |tx| {
        let person = tx.person(id)?.ok_or_else(ApiError::unauthenticated)?;
        let mut out = Vec::new();
        for v in tx.vehicles_owned_by(id)? {
            let (violations, version) =
                routed(tx, &st.policies, &person, &v, None, Channel::App, now)?;
            out.push(VehicleViolations {
                vehicle: VehicleView::of(&v),
                relation: "owner",
                binding_id: None,
                policy_version: version,
                violations,
            });
        }
        for b in tx.active_bindings_of_binder(id)? {
            let Some(v) = tx.vehicle(b.vehicle_id)? else {
                continue;
            };
            let (violations, version) =
                routed(tx, &st.policies, &person, &v, Some(&b), Channel::App, now)?;
            out.push(VehicleViolations {
                vehicle: VehicleView::of(&v),
                relation: "binder",
                binding_id: Some(b.id.to_string()),
                policy_version: version,
                violations,
            });
        }
        Ok(out)
    })
    .await?;
    let version = state.policies.default_policy().version().to_owned();
    Ok(Json(
        json!({ "policyVersion": version, "vehicles": groups }),
    ))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HandleRequest {
    #[serde(default)]
    policy_version: Option<String>,
    #[serde(default)]
    expected_allowed: Option<bool>,
    #[serde(default)]
    expected_owed_fen: Option<Fen>,
}

/// Who handles which violation, where.
pub struct HandleCase {
    pub person_id: i64,
    pub actor_id: i64,
    pub channel: Channel,
    pub violation_id: i64,
    pub documents_checked: Vec<Document>,
    pub expectation: ClientExpectation,
    pub expected_owed: Option<Fen>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HandledView {
    violation: ViolationView,
    decision_number: Option<String>,
    paid_fen: u64,
    payment_ref: Option<String>,
    decision: Decision,
}

/// The route of one violation for the case, from the facts in the database; `Err` when it is not theirs.
fn route_one(
    tx: &mut dyn Tx,
    policies: &Policies,
    case: &HandleCase,
    now: Timestamp,
) -> ApiResult<(ViolationRow, VehicleRow, ViolationRoute, String)> {
    let v = tx
        .violation(case.violation_id)?
        .ok_or_else(ApiError::not_found)?;
    let vehicle = tx.vehicle(v.vehicle_id)?.ok_or_else(ApiError::not_found)?;
    let person = tx.person(case.person_id)?.ok_or_else(ApiError::not_found)?;
    let own = vehicle.owner_person_id == Some(person.id);
    let binding = tx
        .active_bindings_of_binder(person.id)?
        .into_iter()
        .find(|b| b.vehicle_id == vehicle.id);
    if case.channel != Channel::Window && !own && binding.is_none() {
        return Err(ApiError::not_found());
    }
    let policy = policies.for_city(&vehicle.city);
    let route = policy.rules.route_violation(
        &person_facts(&person, now, false),
        &vehicle_facts(&vehicle),
        binding.as_ref().map(binding_facts).as_ref(),
        &violation_facts(&v),
        case.channel,
        now,
    );
    if route.route == Route::NotTheirs && case.channel != Channel::Window {
        return Err(ApiError::not_found());
    }
    Ok((v, vehicle, route, policy.version().to_owned()))
}

/// The decision for the case: allowed only on the online route and, at a window, with the originals checked.
fn decide(case: &HandleCase, route: &ViolationRoute, version: &str) -> Decision {
    let mut reasons: Vec<Reason> = route
        .reasons
        .iter()
        .filter(|r| r.code != "VIOLATION_ALREADY_HANDLED")
        .cloned()
        .collect();
    let mut allowed = route.route == Route::Online;
    if route.route == Route::Settled {
        allowed = false;
        reasons.push(Reason::of(&Refusal::AlreadyHandled));
    }
    if case.channel == Channel::Window {
        let missing: Vec<Document> = Document::ALL
            .iter()
            .copied()
            .filter(|d| !case.documents_checked.contains(d))
            .collect();
        if !missing.is_empty() {
            allowed = false;
            reasons.push(Reason::of(&Refusal::WindowDocumentsNotChecked { missing }));
        }
    }
    if !allowed && reasons.is_empty() {
        reasons = route.reasons.clone();
    }
    Decision::new(
        allowed,
        if allowed { vec![] } else { reasons },
        version,
        &case.expectation,
    )
}

fn decision_number(city: &str, violation_id: i64, now: Timestamp) -> String {
    let (y, m, d) = now.cst_date().ymd();
    format!("{city}{y:04}{m:02}{d:02}{violation_id:08}")
}

/// Checks, pays, then records the decision, points and payment in one transaction (checking again, and
/// refunding when the facts changed in between).
pub async fn handle(state: &SharedState, key: &AnswerKey, case: HandleCase) -> ApiResult<Response> {
    let now = state.now();
    let st = state.clone();
    let (actor, violation_id, person_id, channel) = (
        case.actor_id,
        case.violation_id,
        case.person_id,
        case.channel,
    );
    let checked = read(state, move |tx| {
        let (_, _, route, version) = route_one(tx, &st.policies, &case, now)?;
        let decision = decide(&case, &route, &version);
        if !decision.allowed {
            return Ok(Err(decision));
        }
        Ok(Ok((case, route.owed_fen)))
    })
    .await?;
    let (case, owed) = match checked {
        Ok(ok) => ok,
        Err(decision) => {
            // Refusals are decisions too: they go to the audit log.
            let codes: Vec<&'static str> = decision.reasons.iter().map(|r| r.code).collect();
            let version = decision.policy_version.clone();
            return write_answer(state, key, move |tx| {
                audit(
                    tx,
                    now,
                    Some(actor),
                    "violation.handling_refused",
                    format!("violation:{violation_id}"),
                    json!({ "person": person_id, "channel": channel, "reasons": codes, "policyVersion": version }),
                )?;
                Ok(Answer::error(ApiError::refused(decision)))
            })
            .await;
        }
    };
    if let Some(expected) = case.expected_owed {
        if expected != owed {
            return Err(ApiError::new(
                ErrorKind::Conflict,
                "AMOUNT_CHANGED",
                format!("应缴金额已变为{}元,请确认后重试", owed.to_yuan_string()),
                format!(
                    "The amount owed is now ¥{}; confirm and try again",
                    owed.to_yuan_string()
                ),
            )
            .params(params![
                owedFen = i64::try_from(owed.value()).unwrap_or(i64::MAX)
            ]));
        }
    }
    let reference = random_hex(12);
    let receipt = state
        .payment
        .pay(PaymentRequest {
            reference,
            payer_id: case.person_id,
            violation_id: case.violation_id,
            amount_fen: owed.value(),
        })
        .await
        .map_err(|e| {
            ApiError::new(
                ErrorKind::PaymentFailed,
                "PAYMENT_FAILED",
                "缴款未成功,未作任何变更",
                "The payment did not go through; nothing was changed",
            )
            .params(params![detail = e.to_string()])
        })?;
    let payment_ref = receipt.payment_ref.clone();
    let st = state.clone();
    let now = state.now();
    let recorded = write_answer(state, key, move |tx| {
        let (mut v, vehicle, route, version) = route_one(tx, &st.policies, &case, now)?;
        let decision = decide(&case, &route, &version);
        if !decision.allowed || route.owed_fen != owed {
            // Nothing to keep: the guard stores this refusal after the refund, as for any error.
            return Err(ApiError::refused(decision));
        }
        let person = tx.person(case.person_id)?.ok_or_else(ApiError::not_found)?;
        if v.state == ViolationState::Unhandled {
            v.decision_number = Some(decision_number(&vehicle.city, v.id, now));
            v.decided_at = Some(now);
            v.handled_by = Some(person.id);
            if let Some(l) = &person.licence {
                let (points, start) = current_cycle(l, now);
                tx.set_licence_points(person.id, points + u32::from(v.points.value()), start)?;
            }
        }
        v.state = ViolationState::Paid;
        v.paid_at = Some(now);
        v.paid_fen = Some(owed);
        v.payment_ref = Some(payment_ref.clone());
        tx.update_violation(&v)?;
        audit(
            tx,
            now,
            Some(case.actor_id),
            "violation.handled",
            format!("violation:{}", v.id),
            json!({ "person": person.id, "channel": case.channel, "decisionNumber": v.decision_number, "paidFen": owed.value(),
                    "paymentRef": payment_ref, "points": v.points.value(), "policyVersion": version,
                    "documentsChecked": case.documents_checked }),
        )?;
        let view = ViolationView::of(&v, route);
        Answer::json(StatusCode::OK, &HandledView { decision_number: v.decision_number.clone(), paid_fen: owed.value(), payment_ref: v.payment_ref.clone(), violation: view, decision })
    })
    .await;
    match recorded {
        Ok(answered) => Ok(answered),
        Err(e) => {
            if let Err(refund) = state.payment.refund(receipt.payment_ref).await {
                tracing::error!(error = %refund, "refund after a failed commit did not go through");
            }
            Err(e)
        }
    }
}

pub async fn handle_violation(
    State(state): State<SharedState>,
    me: SignedIn,
    key: AnswerKey,
    PathId(violation_id): PathId,
    ApiJson(body): ApiJson<HandleRequest>,
) -> ApiResult<Response> {
    let case = HandleCase {
        person_id: me.person_id,
        actor_id: me.person_id,
        channel: Channel::App,
        violation_id,
        documents_checked: vec![],
        expectation: ClientExpectation {
            policy_version: body.policy_version,
            expected_allowed: body.expected_allowed,
        },
        expected_owed: body.expected_owed_fen,
    };
    handle(&state, &key, case).await
}
