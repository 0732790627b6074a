//! Development-only endpoints (`--dev`): the SMS outbox, the payment provider's next answers, and the
//! movable clock. They do not exist otherwise. Nothing here makes a real-person verification pass: that
//! goes only through the development identity provider's page (`dev_identity`).

use crate::error::{NotFound, ServerError, ServerErrorCode, ServerResult};
use crate::http::extract::{ApiJson, ApiQuery as Query, Ctx};
use crate::state::SharedState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use renche::domain::PhoneNumber;
use serde::Deserialize;
use serde_json::{json, Value};

pub fn router(state: &SharedState) -> Router<SharedState> {
    if state.dev.is_none() {
        return Router::new();
    }
    Router::new()
        .route("/dev/sms-outbox", get(sms_outbox))
        .route("/dev/payment", post(set_payment))
        .route("/dev/clock", get(get_clock).post(advance_clock))
}

fn dev_only() -> ServerError {
    ServerError::of(ServerErrorCode::NotFound(NotFound::DevOnly))
}

#[derive(Deserialize)]
pub struct OutboxQuery {
    phone: Option<String>,
}

async fn sms_outbox(State(state): Ctx, Query(q): Query<OutboxQuery>) -> ServerResult<Json<Value>> {
    let dev = state.dev.as_ref().ok_or_else(dev_only)?;
    let phone = match q.phone.as_deref() {
        Some(p) => Some(PhoneNumber::parse(p).map_err(|e| ServerError::invalid("phone", &e))?),
        None => None,
    };
    let messages = dev.outbox.messages(phone.as_ref().map(|p| p.as_str()));
    Ok(Json(json!({ "messages": messages })))
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
pub enum PaymentOutcome {
    Succeed,
    Fail,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PaymentSetting {
    outcome: PaymentOutcome,
}

async fn set_payment(
    State(state): Ctx,
    ApiJson(body): ApiJson<PaymentSetting>,
) -> ServerResult<StatusCode> {
    let dev = state.dev.as_ref().ok_or_else(dev_only)?;
    dev.payment
        .set_failing(matches!(body.outcome, PaymentOutcome::Fail));
    Ok(StatusCode::NO_CONTENT)
}

async fn get_clock(State(state): Ctx) -> Json<Value> {
    Json(json!({ "now": state.now() }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AdvanceRequest {
    advance_seconds: f64,
}

async fn advance_clock(
    State(state): Ctx,
    ApiJson(body): ApiJson<AdvanceRequest>,
) -> ServerResult<Json<Value>> {
    state.dev.as_ref().ok_or_else(dev_only)?;
    if !body.advance_seconds.is_finite()
        || body.advance_seconds < 0.0
        || body.advance_seconds > 3.2e9
    {
        return Err(ServerError::invalid_value(
            "advanceSeconds",
            "from 0 to about a century",
        ));
    }
    let ms = (body.advance_seconds * 1000.0).round() as i64;
    if !state.clock.advance(ms) {
        return Err(ServerError::of(ServerErrorCode::ClockFixed));
    }
    Ok(Json(json!({ "now": state.now() })))
}
