//! Violations: a person's own and bound vehicles' violations, handling one online; and the same at the
//! window, where an officer handles them for a person.

use crate::error::{ServerError, ServerErrorCode, ServerResult};
use crate::flows::decision::{ClientExpectation, Decision};
use crate::flows::officer::require_officer;
use crate::flows::violations::{self, Checked, HandleCase, Routed};
use crate::gateways::PaymentRequest;
use crate::http::extract::{parse_id, Asking, AtWindow, Change, PathId};
use crate::http::guard::AnswerKey;
use crate::http::idempotency::{write_answer, Answer};
use crate::http::views::{VehicleView, ViolationView};
use crate::secrets::random_hex;
use crate::state::SharedState;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use renche::domain::{Channel, Document, EngineSuffix, Fen};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

fn views(routed: Routed) -> (Vec<ViolationView>, String) {
    let views = routed
        .violations
        .into_iter()
        .map(|(v, route)| ViolationView::of(&v, route))
        .collect();
    (views, routed.policy_version)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct VehicleViolationsView {
    vehicle: VehicleView,
    relation: &'static str,
    binding_id: Option<String>,
    policy_version: String,
    violations: Vec<ViolationView>,
}

pub(super) async fn my_violations(asking: Asking) -> ServerResult<Json<Value>> {
    let groups = asking
        .read_may_lag(|tx, policies, who| {
            violations::of_person(tx, policies, who.person, who.channel, who.now)
        })
        .await?;
    let groups: Vec<VehicleViolationsView> = groups
        .into_iter()
        .map(|g| {
            let (violations, policy_version) = views(g.routed);
            VehicleViolationsView {
                vehicle: VehicleView::of(&g.vehicle),
                relation: g.relation.code(),
                binding_id: g.binding_id.map(|b| b.to_string()),
                policy_version,
                violations,
            }
        })
        .collect();
    let version = asking
        .state
        .policies()
        .default_policy()
        .version()
        .to_owned();
    Ok(Json(
        json!({ "policyVersion": version, "vehicles": groups }),
    ))
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct WindowViolationsQuery {
    person_id: String,
    vehicle_id: String,
}

pub(super) async fn violations_for_person(
    w: AtWindow<WindowViolationsQuery>,
) -> ServerResult<Json<Value>> {
    let (asking, q) = (w.asking, w.query);
    let person_id = parse_id("personId", &q.person_id)?;
    let vehicle_id = parse_id("vehicleId", &q.vehicle_id)?;
    let routed = asking
        .read_may_lag(move |tx, policies, who| {
            require_officer(tx, who.person)?;
            violations::at_window(tx, policies, person_id, vehicle_id, who.now)
        })
        .await?;
    let (views, version) = views(routed);
    Ok(Json(
        json!({ "policyVersion": version, "violations": views }),
    ))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct HandledView {
    violation: ViolationView,
    decision_number: Option<String>,
    paid_fen: u64,
    payment_ref: Option<String>,
    decision: Decision,
}

/// Checks, pays, then records the decision, points and payment in one transaction (checking again, and
/// refunding when the facts changed in between).
async fn handle(state: &SharedState, key: &AnswerKey, case: HandleCase) -> ServerResult<Response> {
    let now = state.now();
    let st = state.clone();
    let (person, suffix_given) = (
        case.person_id,
        case.channel == Channel::Kiosk && case.vehicle_proof.is_some(),
    );
    let checked = state
        .read(move |tx| {
            let checked = violations::check(tx, &st.policies(), &case, now)?;
            Ok::<_, ServerError>((case, checked))
        })
        .await;
    let (case, checked) = match checked {
        // A suffix that reached nothing at a kiosk counts against the person's hour, as a lookup's does.
        Err(e) if suffix_given && e.kind == crate::error::ErrorKind::NotFound => {
            state
                .write(move |tx| crate::flows::kiosks::record_failed_vehicle_proof(tx, person, now))
                .await?;
            return Err(e);
        }
        other => other?,
    };
    let owed = match checked {
        Checked::Payable(owed) => owed,
        Checked::Refused(decision) => {
            return write_answer(state, key, move |tx| {
                violations::audit_refusal(tx, &case, &decision, now)?;
                Ok(Answer::error(ServerError::refused(decision)))
            })
            .await;
        }
    };
    let receipt = state
        .payment
        .pay(PaymentRequest {
            reference: random_hex(12),
            payer_id: case.person_id,
            violation_id: case.violation_id,
            amount_fen: owed.value(),
        })
        .await
        .map_err(|e| {
            ServerError::of(ServerErrorCode::PaymentFailed {
                detail: e.to_string(),
            })
        })?;
    let payment_ref = receipt.payment_ref.clone();
    let st = state.clone();
    let now = state.now();
    let recorded = write_answer(state, key, move |tx| {
        let handled = violations::record(tx, &st.policies(), &case, owed, payment_ref, now)?;
        let v = &handled.violation;
        Answer::json(
            StatusCode::OK,
            &HandledView {
                decision_number: v.decision_number.clone(),
                paid_fen: handled.paid.value(),
                payment_ref: v.payment_ref.clone(),
                violation: ViolationView::of(v, handled.route),
                decision: handled.decision,
            },
        )
    })
    .await;
    if recorded.is_err() {
        if let Err(refund) = state.payment.refund(receipt.payment_ref).await {
            tracing::error!(error = %refund, "refund after a failed commit did not go through");
        }
    }
    recorded
}

#[derive(Deserialize, Default, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub(super) struct HandleRequest {
    policy_version: Option<String>,
    expected_allowed: Option<bool>,
    #[schemars(with = "Option<crate::http::schema::FenAmount>")]
    expected_owed_fen: Option<Fen>,
    /// At a kiosk, for a vehicle that is neither yours nor bound: its engine-number suffix, as looked up.
    engine_suffix: Option<String>,
}

pub(super) async fn handle_violation(
    PathId(violation_id): PathId,
    c: Change<HandleRequest>,
) -> ServerResult<Response> {
    let me = c.who.person;
    let vehicle_proof = c
        .body
        .engine_suffix
        .as_deref()
        .map(EngineSuffix::parse)
        .transpose()
        .map_err(|e| ServerError::invalid("engineSuffix", &e))?;
    let case = HandleCase {
        person_id: me,
        actor_id: me,
        channel: c.who.channel,
        violation_id,
        documents_checked: vec![],
        expectation: ClientExpectation::new(c.body.policy_version, c.body.expected_allowed),
        expected_owed: c.body.expected_owed_fen,
        vehicle_proof,
    };
    handle(&c.state, &c.key, case).await
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct WindowHandleRequest {
    person_id: String,
    #[serde(default)]
    #[schemars(with = "Vec<crate::http::schema::Codes<Document>>")]
    documents_checked: Vec<Document>,
    #[serde(default)]
    policy_version: Option<String>,
    #[serde(default)]
    expected_allowed: Option<bool>,
    #[serde(default)]
    #[schemars(with = "Option<crate::http::schema::FenAmount>")]
    expected_owed_fen: Option<Fen>,
}

pub(super) async fn handle_for_person(
    PathId(violation_id): PathId,
    c: Change<WindowHandleRequest>,
) -> ServerResult<Response> {
    let person_id = parse_id("personId", &c.body.person_id)?;
    let officer = c.who.person;
    c.state
        .read(move |tx| require_officer(tx, officer).map(|_| ()))
        .await?;
    let case = HandleCase {
        person_id,
        actor_id: officer,
        channel: Channel::Window,
        violation_id,
        documents_checked: c.body.documents_checked,
        expectation: ClientExpectation::new(c.body.policy_version, c.body.expected_allowed),
        expected_owed: c.body.expected_owed_fen,
        vehicle_proof: None,
    };
    handle(&c.state, &c.key, case).await
}
