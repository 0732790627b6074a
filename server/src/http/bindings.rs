//! Binding a vehicle that is not in one's name: by the owner's QR code or by an SMS code to the owner's
//! phone, then real-person verification and the commit; listing and removing bindings.

use crate::error::{ServerError, ServerErrorCode, ServerResult, Verdict};
use crate::flows::applications::{self, Submission, Submitted};
use crate::flows::binding;
use crate::flows::consent::{self, NamedVehicle};
use crate::flows::decision::ClientExpectation;
use crate::flows::identity;
use crate::flows::sms;
use crate::gateways::ResultOutcome;
use crate::http::extract::{
    parse_plate, ApiJson, Asking, Change, ClientAddr, Ctx, NotAtKiosk, PathId, PathToken,
};
use crate::http::guard::{AnswerKey, SignedIn};
use crate::http::idempotency::{write_answer, write_answer_then_deliver, Answer};
use crate::http::views::{
    application_answer, bound_answer, list_of, ApplicationView, BindingView, ChallengeView,
    OpenedView, VehicleView,
};
use crate::secrets::sha256;
use crate::state::SharedState;
use crate::store::{ApplicationStatus, Verification};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use renche::domain::{EngineSuffix, Relationship};
use renche::qr::{QrPayload, QrPayloadError};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct RedeemRequest {
    qr_text: String,
}

pub(super) async fn redeem_qr(_: NotAtKiosk, c: Change<RedeemRequest>) -> ServerResult<Response> {
    let payload = match QrPayload::verify(c.body.qr_text.trim(), &c.state.qr_key, c.who.now) {
        Ok(p) => p,
        Err(QrPayloadError::Expired { .. }) => return Err(consent::qr_expired()),
        Err(e) => return Err(ServerError::invalid("qrText", &e)),
    };
    let token_hash = sha256(&[payload.token()]);
    c.commit(move |tx, policies, _, who| {
        let opened = consent::redeem_qr(tx, policies, &token_hash, who.person, who.now)?;
        Answer::json(StatusCode::CREATED, &OpenedView::of(opened))
    })
    .await
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct SmsChallengeRequest {
    plate_type: String,
    plate_number: String,
    engine_suffix: String,
}

pub(super) async fn start_sms_challenge(
    _: NotAtKiosk,
    State(state): Ctx,
    me: SignedIn,
    ClientAddr(address): ClientAddr,
    key: AnswerKey,
    ApiJson(body): ApiJson<SmsChallengeRequest>,
) -> ServerResult<Response> {
    sms::require_gateway(&state.sms)?;
    let (plate_type, plate) = parse_plate(&body.plate_type, &body.plate_number)?;
    let named = NamedVehicle {
        plate_type,
        plate,
        engine_suffix: EngineSuffix::parse(&body.engine_suffix)
            .map_err(|e| ServerError::invalid("engineSuffix", &e))?,
    };
    let now = state.now();
    let binder = me.person_id;
    let asker = sms::Asker {
        session: hex::encode(&me.session.token_hash),
        account: Some(binder),
        address,
    };
    let st = state.clone();
    write_answer_then_deliver(&state, &key, move |tx| match consent::start_sms_challenge(
        tx,
        &st.policies(),
        binder,
        &named,
        &asker,
        now,
    )? {
        Verdict::Done((row, delivery)) => {
            let view = ChallengeView::of(&row, st.policies().sms());
            Ok((Answer::json(StatusCode::ACCEPTED, &view)?, delivery))
        }
        Verdict::Refused(e) => Ok((Answer::error(e), None)),
    })
    .await
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct ConfirmRequest {
    code: String,
}

pub(super) async fn confirm_sms_challenge(
    _: NotAtKiosk,
    PathToken(challenge_id): PathToken,
    c: Change<ConfirmRequest>,
) -> ServerResult<Response> {
    c.commit(move |tx, policies, body, who| {
        let confirmed = consent::confirm_sms_challenge(
            tx,
            policies,
            who.person,
            &challenge_id,
            &body.code,
            who.now,
        )?;
        match confirmed {
            Verdict::Done(opened) => Answer::json(StatusCode::CREATED, &OpenedView::of(opened)),
            Verdict::Refused(e) => Ok(Answer::error(e)),
        }
    })
    .await
}

pub(super) async fn get_application(
    asking: Asking,
    PathToken(id): PathToken,
) -> ServerResult<Json<ApplicationView>> {
    let (a, v) = asking
        .read(move |tx, _, who| applications::own_application(tx, &id, who.person))
        .await?;
    let mut view = ApplicationView::of(&a, &v);
    if a.status == ApplicationStatus::AwaitingVerification {
        let policies = asking.state.policies();
        view.expires_at = Some(consent::application_deadline(&policies, &v, a.created_at));
    }
    Ok(Json(view))
}

#[derive(Deserialize, Default, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub(super) struct CommitRequest {
    #[schemars(with = "Option<crate::http::schema::Codes<Relationship>>")]
    relationship: Option<Relationship>,
    policy_version: Option<String>,
    expected_allowed: Option<bool>,
    /// A verification of purpose `application` for this application.
    verification_id: Option<String>,
    /// The provider's signed result, as the browser brought it back; else the server asks the provider.
    result: Option<String>,
}

/// Where the commit's verification result comes from.
enum ResultSource {
    /// No verification named: the application waits for one.
    NotStarted,
    /// The provider is not configured or could not be asked.
    Unavailable,
    Token {
        verification_id: String,
        token: String,
    },
}

/// The signed result for the commit: the one the browser brought, or the provider's answer for the
/// verification's session (409 `VERIFICATION_PENDING` while it has none).
async fn result_source(
    state: &SharedState,
    account_id: i64,
    verification_id: Option<String>,
    result: Option<String>,
) -> ServerResult<ResultSource> {
    // No provider at all: unavailable, and the binder may ask for manual review.
    if state.identity.public_key().is_none() {
        return Ok(ResultSource::Unavailable);
    }
    let Some(verification_id) = verification_id else {
        return Ok(ResultSource::NotStarted);
    };
    if let Some(token) = result {
        return Ok(ResultSource::Token {
            verification_id,
            token,
        });
    }
    let id = verification_id.clone();
    let v = state
        .read(move |tx| identity::own_verification(tx, &id, account_id))
        .await?;
    let Some(session) = v.provider_session else {
        return Ok(ResultSource::Unavailable);
    };
    match state.identity.result(session).await {
        Ok(Some(token)) => Ok(ResultSource::Token {
            verification_id,
            token,
        }),
        Ok(None) => Err(ServerError::of(ServerErrorCode::VerificationPending)),
        Err(e) => {
            tracing::warn!(error = %e, "identity provider result not available");
            Ok(ResultSource::Unavailable)
        }
    }
}

pub(super) async fn commit_application(
    _: NotAtKiosk,
    PathToken(id): PathToken,
    c: Change<CommitRequest>,
) -> ServerResult<Response> {
    let Change {
        state,
        who,
        key,
        body,
        ..
    } = c;
    let (binder, now) = (who.person, who.now);
    let app_id = id.clone();
    let (a, v) = state
        .read(move |tx| applications::own_application(tx, &app_id, binder))
        .await?;
    applications::require_awaiting(&a)?;
    // Before the provider is asked anything: consent that has run out is refused at once.
    consent::require_in_time(&state.policies(), &a, &v, now)?;
    let relationship = applications::relationship_for(a.method, body.relationship)?;
    let account_id = who.account.ok_or_else(ServerError::unauthenticated)?;
    let source = result_source(&state, account_id, body.verification_id, body.result).await?;
    let provider_key = state.identity.public_key();
    let expectation = ClientExpectation::new(body.policy_version, body.expected_allowed);
    let st = state.clone();
    write_answer(&state, &key, move |tx| {
        let verification = match source {
            ResultSource::NotStarted => Verification::Pending,
            ResultSource::Unavailable => Verification::Unavailable,
            ResultSource::Token {
                verification_id,
                token,
            } => {
                let person = tx
                    .person(binder)?
                    .ok_or_else(ServerError::unauthenticated)?;
                let taken = identity::accept_for_application(
                    tx,
                    &verification_id,
                    account_id,
                    &id,
                    &person,
                    &token,
                    provider_key.as_ref(),
                    now,
                )?;
                match taken {
                    Verdict::Done(ResultOutcome::Pass) => Verification::Passed,
                    Verdict::Done(_) => Verification::Failed,
                    Verdict::Refused(e) => return Ok(Answer::error(e)),
                }
            }
        };
        let submission = Submission {
            application_id: id,
            binder,
            relationship,
            verification,
            expectation,
        };
        match applications::submit(tx, &st.policies(), now, submission)? {
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
        Verification::Pending => return application_answer(StatusCode::ACCEPTED, a, v),
        Verification::Failed => ServerErrorCode::RealPersonVerificationFailed,
        _ => ServerErrorCode::RealPersonVerificationUnavailable,
    };
    Ok(Answer::error(ServerError::of(code)))
}

#[derive(Deserialize, Default, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub(super) struct ManualReviewRequest {
    #[schemars(with = "Option<crate::http::schema::Codes<Relationship>>")]
    relationship: Option<Relationship>,
    note: Option<String>,
}

pub(super) async fn request_manual_review(
    PathToken(id): PathToken,
    c: Change<ManualReviewRequest>,
) -> ServerResult<Response> {
    if c.body
        .note
        .as_ref()
        .is_some_and(|n| n.chars().count() > 500)
    {
        return Err(ServerError::invalid_value("note", "at most 500 characters"));
    }
    c.commit(move |tx, _, body, who| {
        let (relationship, note) = (body.relationship, body.note);
        let (a, v) =
            applications::request_review(tx, &id, who.person, relationship, note, who.now)?;
        application_answer(StatusCode::ACCEPTED, &a, &v)
    })
    .await
}

#[derive(Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct MyBindingView {
    #[serde(flatten)]
    binding: BindingView,
    vehicle: VehicleView,
}

pub(super) async fn my_bindings(State(state): Ctx, me: SignedIn) -> ServerResult<Json<Value>> {
    let rows = me.read(&state, binding::bindings_of).await?;
    Ok(list_of(
        "bindings",
        rows.iter().map(|(b, v)| MyBindingView {
            binding: BindingView::of(b),
            vehicle: VehicleView::of(v),
        }),
    ))
}

pub(super) async fn remove_binding(
    asking: Asking,
    key: AnswerKey,
    PathId(binding_id): PathId,
) -> ServerResult<Response> {
    let (policies, who) = (asking.state.policies(), asking.who);
    write_answer(&asking.state, &key, move |tx| {
        let removed = binding::remove(tx, &policies, who.now, who.person, binding_id)?;
        bound_answer(StatusCode::OK, removed)
    })
    .await
}
