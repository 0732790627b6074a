//! Binding a vehicle that is not in one's name: by the owner's QR code or by an SMS code to the owner's
//! phone, then real-person verification and the commit; listing and removing bindings.

use crate::error::{ServerError, ServerErrorCode, ServerResult, Verdict};
use crate::flows::applications::{self, Submission, Submitted};
use crate::flows::binding;
use crate::flows::consent::{self, NamedVehicle};
use crate::flows::decision::ClientExpectation;
use crate::flows::sms;
use crate::gateways::VerificationOutcome;
use crate::http::extract::{ApiJson, ClientAddr, Ctx, PathId, PathToken};
use crate::http::guard::{AnswerKey, SignedIn};
use crate::http::idempotency::{write_answer, write_answer_with, Answer};
use crate::http::views::{
    bound_answer, ApplicationView, BindingView, ChallengeView, OpenedView, VehicleView,
};
use crate::secrets::sha256;
use crate::state::SharedState;
use crate::store::{ApplicationStatus, Verification};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use renche::domain::{EngineSuffix, PlateNumber, PlateType, Relationship};
use renche::qr::{QrPayload, QrPayloadError};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

pub fn router() -> Router<SharedState> {
    Router::new()
        .route("/bindings", get(my_bindings))
        .route("/bindings/{id}", delete(remove_binding))
        .route("/bindings/qr/redeem", post(redeem_qr))
        .route("/bindings/sms/challenges", post(start_sms_challenge))
        .route(
            "/bindings/sms/challenges/{id}/confirm",
            post(confirm_sms_challenge),
        )
        .route("/binding-applications/{id}", get(get_application))
        .route(
            "/binding-applications/{id}/commit",
            post(commit_application),
        )
        .route(
            "/binding-applications/{id}/manual-review",
            post(request_manual_review),
        )
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RedeemRequest {
    qr_text: String,
}

async fn redeem_qr(
    State(state): Ctx,
    me: SignedIn,
    key: AnswerKey,
    ApiJson(body): ApiJson<RedeemRequest>,
) -> ServerResult<Response> {
    let now = state.now();
    let payload = match QrPayload::verify(body.qr_text.trim(), &state.qr_key, now) {
        Ok(p) => p,
        Err(QrPayloadError::Expired { .. }) => return Err(consent::qr_expired()),
        Err(e) => return Err(ServerError::invalid("qrText", &e)),
    };
    let token_hash = sha256(&[payload.token()]);
    let binder = me.person_id;
    let st = state.clone();
    write_answer(&state, &key, move |tx| {
        let opened = consent::redeem_qr(tx, &st.policies, &token_hash, binder, now)?;
        Answer::json(StatusCode::CREATED, &OpenedView::of(opened))
    })
    .await
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SmsChallengeRequest {
    plate_type: String,
    plate_number: String,
    engine_suffix: String,
}

async fn start_sms_challenge(
    State(state): Ctx,
    me: SignedIn,
    ClientAddr(address): ClientAddr,
    key: AnswerKey,
    ApiJson(body): ApiJson<SmsChallengeRequest>,
) -> ServerResult<Response> {
    let plate_type =
        PlateType::parse(&body.plate_type).map_err(|e| ServerError::invalid("plateType", &e))?;
    let named = NamedVehicle {
        plate_type,
        plate: PlateNumber::parse(&body.plate_number, plate_type)
            .map_err(|e| ServerError::invalid("plateNumber", &e))?,
        engine_suffix: EngineSuffix::parse(&body.engine_suffix)
            .map_err(|e| ServerError::invalid("engineSuffix", &e))?,
    };
    let now = state.now();
    let sms_policy = state.policies.sms().clone();
    let binder = me.person_id;
    let asker = sms::Asker {
        session: hex::encode(&me.session.token_hash),
        account: Some(binder),
        address,
    };
    let st = state.clone();
    let (resp, delivery) =
        write_answer_with(&state, &key, move |tx| match consent::start_sms_challenge(
            tx,
            &st.policies,
            binder,
            &named,
            &asker,
            now,
        )? {
            Verdict::Done((row, delivery)) => {
                let view = ChallengeView::of(&row, st.policies.sms());
                Ok((Answer::json(StatusCode::ACCEPTED, &view)?, delivery))
            }
            Verdict::Refused(e) => Ok((Answer::error(e), None)),
        })
        .await?;
    if let Some(delivery) = delivery {
        sms::deliver(&state.sms, delivery, now, &sms_policy);
    }
    Ok(resp)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ConfirmRequest {
    code: String,
}

async fn confirm_sms_challenge(
    State(state): Ctx,
    me: SignedIn,
    key: AnswerKey,
    PathToken(challenge_id): PathToken,
    ApiJson(body): ApiJson<ConfirmRequest>,
) -> ServerResult<Response> {
    let now = state.now();
    let binder = me.person_id;
    let st = state.clone();
    write_answer(
        &state,
        &key,
        move |tx| match consent::confirm_sms_challenge(
            tx,
            &st.policies,
            binder,
            &challenge_id,
            &body.code,
            now,
        )? {
            Verdict::Done(opened) => Answer::json(StatusCode::CREATED, &OpenedView::of(opened)),
            Verdict::Refused(e) => Ok(Answer::error(e)),
        },
    )
    .await
}

async fn get_application(
    State(state): Ctx,
    me: SignedIn,
    PathToken(id): PathToken,
) -> ServerResult<Json<ApplicationView>> {
    let binder = me.person_id;
    let (a, v) = state
        .read(move |tx| applications::own_application(tx, &id, binder))
        .await?;
    let mut view = ApplicationView::of(&a, &v);
    if a.status == ApplicationStatus::AwaitingVerification {
        view.expires_at = Some(consent::application_deadline(
            &state.policies,
            &v,
            a.created_at,
        ));
    }
    Ok(Json(view))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CommitRequest {
    #[serde(default)]
    relationship: Option<Relationship>,
    #[serde(default)]
    policy_version: Option<String>,
    #[serde(default)]
    expected_allowed: Option<bool>,
}

async fn commit_application(
    State(state): Ctx,
    me: SignedIn,
    key: AnswerKey,
    PathToken(id): PathToken,
    ApiJson(body): ApiJson<CommitRequest>,
) -> ServerResult<Response> {
    let binder = me.person_id;
    let app_id = id.clone();
    let (a, _) = state
        .read(move |tx| applications::own_application(tx, &app_id, binder))
        .await?;
    applications::require_awaiting(&a)?;
    let relationship = applications::relationship_for(a.method, body.relationship)?;
    let verification = match state.identity.verify(binder).await {
        VerificationOutcome::Pass => Verification::Passed,
        VerificationOutcome::Pending => Verification::Pending,
        VerificationOutcome::Fail => Verification::Failed,
        VerificationOutcome::Unavailable => Verification::Unavailable,
    };
    let now = state.now();
    let submission = Submission {
        application_id: id,
        binder,
        relationship,
        verification,
        expectation: ClientExpectation {
            policy_version: body.policy_version,
            expected_allowed: body.expected_allowed,
        },
    };
    let st = state.clone();
    write_answer(&state, &key, move |tx| {
        match applications::submit(tx, &st.policies, now, submission)? {
            Submitted::Decided(decided) => bound_answer(StatusCode::CREATED, decided),
            Submitted::Unverified(u) => {
                unverified_answer(u.verification, &u.application, &u.vehicle)
            }
        }
    })
    .await
}

/// The answer when verification did not pass.
fn unverified_answer(
    verification: Verification,
    a: &crate::store::ApplicationRow,
    v: &crate::store::VehicleRow,
) -> ServerResult<Answer> {
    let code = match verification {
        Verification::Pending => {
            return Answer::json(
                StatusCode::ACCEPTED,
                &json!({ "application": ApplicationView::of(a, v) }),
            )
        }
        Verification::Failed => ServerErrorCode::RealPersonVerificationFailed,
        _ => ServerErrorCode::RealPersonVerificationUnavailable,
    };
    Ok(Answer::error(ServerError::of(code)))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ManualReviewRequest {
    #[serde(default)]
    relationship: Option<Relationship>,
    #[serde(default)]
    note: Option<String>,
}

async fn request_manual_review(
    State(state): Ctx,
    me: SignedIn,
    key: AnswerKey,
    PathToken(id): PathToken,
    ApiJson(body): ApiJson<ManualReviewRequest>,
) -> ServerResult<Response> {
    let binder = me.person_id;
    let now = state.now();
    if body.note.as_ref().is_some_and(|n| n.chars().count() > 500) {
        return Err(ServerError::invalid_value("note", "at most 500 characters"));
    }
    write_answer(&state, &key, move |tx| {
        let (a, v) =
            applications::request_review(tx, &id, binder, body.relationship, body.note, now)?;
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

async fn my_bindings(State(state): Ctx, me: SignedIn) -> ServerResult<Json<Value>> {
    let id = me.person_id;
    let rows = state.read(move |tx| binding::bindings_of(tx, id)).await?;
    let views: Vec<MyBindingView> = rows
        .iter()
        .map(|(b, v)| MyBindingView {
            binding: BindingView::of(b),
            vehicle: VehicleView::of(v),
        })
        .collect();
    Ok(Json(json!({ "bindings": views })))
}

async fn remove_binding(
    State(state): Ctx,
    me: SignedIn,
    key: AnswerKey,
    PathId(binding_id): PathId,
) -> ServerResult<Response> {
    let actor = me.person_id;
    let now = state.now();
    let st = state.clone();
    write_answer(&state, &key, move |tx| {
        let removed = binding::remove(tx, &st.policies, now, actor, binding_id)?;
        bound_answer(StatusCode::OK, removed)
    })
    .await
}
