//! `/metrics` in the Prometheus text format, on its own listener (`--metrics-listen`): an address the
//! public proxy never forwards to, so that no token has to be handed out or rotated and a scrape never
//! waits behind the public connection cap.

use crate::state::SharedState;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

pub fn router(state: SharedState) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .with_state(state)
}

async fn scrape(State(state): State<SharedState>) -> impl IntoResponse {
    let mut policies = vec![(
        "default".to_owned(),
        state.policies().default_policy().version().to_owned(),
    )];
    policies.extend(
        state
            .policies()
            .cities(state.now())
            .map(|c| (c.rules.policy().city.code.clone(), c.version().to_owned())),
    );
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        crate::metrics::render(&policies),
    )
}
