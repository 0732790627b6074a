//! The HTTP layer: each resource module parses its requests, calls one use case in `flows` and shapes
//! its answer; resource modules never import each other. Beside them: the guard (session, CSRF,
//! idempotency keys), extractors, idempotent answers, shared views and the error rendering.

pub mod accounts;
pub mod bindings;
pub mod dev;
pub mod error;
pub mod extract;
pub mod guard;
pub mod headers;
pub mod history;
pub mod idempotency;
pub mod identity;
pub mod kiosk;
pub mod metrics;
pub mod notices;
pub mod observe;
pub mod openapi;
pub mod policy;
pub mod reviews;
pub mod schema;
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
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use serde_json::json;

/// Every API route under `/api/v1`, behind the guard: the one table of the HTTP surface, each route
/// naming its resource module's handler.
#[rustfmt::skip]
pub fn api_router() -> Router<SharedState> {
    Router::new()
        .route("/openapi.json", get(openapi::serve))
        .route("/policy", get(policy::get_policy))
        .route("/policy/cities", get(policy::list_cities))
        .route("/session", get(accounts::get_session))
        .route("/auth/sms-code", post(accounts::send_sms_code))
        .route("/auth/register", post(accounts::register))
        .route("/auth/sign-in", post(accounts::sign_in))
        .route("/auth/sign-out", post(accounts::sign_out))
        .route("/me", get(accounts::me))
        .route("/me/next-step", get(accounts::next_step))
        .route("/notifications", get(accounts::notifications))
        .route("/identity/verifications", post(identity::start))
        .route("/identity/verifications/{id}", get(identity::show))
        .route("/identity/verifications/{id}/finish", post(identity::finish))
        .route("/vehicles", get(vehicles::my_vehicles))
        .route("/vehicles/{id}/qr-codes", post(vehicles::make_qr_code))
        .route("/bindings", get(bindings::my_bindings))
        .route("/bindings/{id}", delete(bindings::remove_binding))
        .route("/bindings/qr/redeem", post(bindings::redeem_qr))
        .route("/bindings/sms/challenges", post(bindings::start_sms_challenge))
        .route("/bindings/sms/challenges/{id}/confirm", post(bindings::confirm_sms_challenge))
        .route("/binding-applications/{id}", get(bindings::get_application))
        .route("/binding-applications/{id}/commit", post(bindings::commit_application))
        .route("/binding-applications/{id}/manual-review", post(bindings::request_manual_review))
        .route("/violations", get(violations::my_violations))
        .route("/violations/{id}/handle", post(violations::handle_violation))
        .route("/window/violations", get(violations::violations_for_person))
        .route("/window/violations/{id}/handle", post(violations::handle_for_person))
        .route("/window/people", get(window::find_person))
        .route("/window/vehicles", get(window::find_vehicles))
        .route("/window/bindings", post(window::bind_for_person).get(window::bindings))
        .route("/kiosk/sign-in", post(kiosk::sign_in))
        .route("/kiosk/vehicle-lookup", post(kiosk::look_up_vehicle))
        .route("/window/kiosks", post(window::enrol_kiosk).get(window::kiosks))
        .route("/window/kiosks/{id}/disable", post(window::disable_kiosk))
        .route("/window/policy-preview", post(window::policy_preview))
        .route("/window/reviews", get(window::reviews))
        .route("/window/reviews/{id}/approve", post(window::approve_review))
        .route("/window/reviews/{id}/reject", post(window::reject_review))
        .route("/notifications/read", post(notices::mark_all_read))
        .route("/notifications/{id}/read", post(notices::mark_read))
        .route("/history", get(history::my_history))
        .route("/binding-applications", get(history::my_applications))
        .route("/owner/applications", get(history::pending_on_my_vehicles))
        .route("/owner/applications/{id}/withdraw", post(history::withdraw))
        .route("/binding-applications/{id}/review-photo", put(reviews::upload_photo))
        .route("/window/review-reasons", get(reviews::reject_reasons))
        .route("/window/reviews/{id}", get(reviews::review_case))
        .route("/window/reviews/{id}/photo", get(reviews::review_photo))
        .fallback(api_not_found)
}

/// The state changes (all `POST`, paths as in `api_router`) whose handler takes `Change` and does all its
/// work in its one `Change::commit`, with nothing before it but parsing: their idempotency key is stored
/// with that commit instead of being claimed in a transaction of its own ahead of it (see `guard`).
/// Handlers that talk to a provider, deliver an SMS, or set a cookie are not here.
const KEYED_IN_COMMIT: &[&str] = &[
    "/bindings/qr/redeem",
    "/bindings/sms/challenges/{id}/confirm",
    "/binding-applications/{id}/manual-review",
    "/owner/applications/{id}/withdraw",
    "/kiosk/vehicle-lookup",
    "/vehicles/{id}/qr-codes",
    "/window/bindings",
    "/window/kiosks",
    "/window/kiosks/{id}/disable",
    "/window/reviews/{id}/approve",
    "/window/reviews/{id}/reject",
    "/notifications/read",
    "/notifications/{id}/read",
];

/// Whether a request to the route `matched` (as axum's `MatchedPath` gives it, under `/api/v1`) with
/// `method` has its idempotency key stored with its commit (`KEYED_IN_COMMIT`).
pub fn keyed_in_commit(method: &axum::http::Method, matched: &str) -> bool {
    let route = matched.strip_prefix("/api/v1").unwrap_or(matched);
    method == axum::http::Method::POST && KEYED_IN_COMMIT.contains(&route)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_keyed_in_commit_is_a_post_route_of_the_table() {
        let table = include_str!("mod.rs");
        for route in KEYED_IN_COMMIT {
            let line = table
                .lines()
                .find(|l| l.contains(&format!(".route(\"{route}\",")))
                .unwrap_or_else(|| panic!("{route} is not in api_router"));
            assert!(line.contains("post("), "{route} takes no POST: {line}");
        }
        assert!(keyed_in_commit(
            &axum::http::Method::POST,
            "/api/v1/window/bindings"
        ));
        assert!(!keyed_in_commit(
            &axum::http::Method::GET,
            "/api/v1/window/bindings"
        ));
        assert!(!keyed_in_commit(
            &axum::http::Method::POST,
            "/api/v1/auth/sign-in"
        ));
    }
}
