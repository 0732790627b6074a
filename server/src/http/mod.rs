//! The HTTP layer: each resource module parses its requests, calls one use case in `flows` and shapes
//! its answer; resource modules never import each other. Beside them: the guard (session, CSRF,
//! idempotency keys), extractors, idempotent answers, shared views and the error rendering.

pub mod accounts;
pub mod bindings;
pub mod dev;
pub mod error;
pub mod extract;
pub mod guard;
pub mod history;
pub mod idempotency;
pub mod identity;
pub mod notices;
pub mod policy;
pub mod reviews;
pub mod vehicles;
pub mod views;
pub mod violations;
pub mod window;

use crate::error::ServerError;
use crate::http::extract::Ctx;
use crate::state::SharedState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::{Json, Router};
use serde_json::json;

/// Every API resource under `/api/v1`, behind the guard.
pub fn api_router() -> Router<SharedState> {
    Router::new()
        .merge(policy::router())
        .merge(accounts::router())
        .merge(identity::router())
        .merge(vehicles::router())
        .merge(bindings::router())
        .merge(violations::router())
        .merge(window::router())
        .merge(notices::router())
        .merge(history::router())
        .merge(reviews::router())
        .fallback(api_not_found)
}

async fn api_not_found() -> ServerError {
    ServerError::not_found()
}

pub async fn health(State(state): Ctx) -> impl IntoResponse {
    match state
        .read(|tx| Ok::<_, ServerError>(tx.count_people()?))
        .await
    {
        Ok(_) => (
            StatusCode::OK,
            Json(json!({ "status": "ok", "store": state.store.backend() })),
        ),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "unavailable" })),
        ),
    }
}
