//! What every request passes through first: its request id (in each of its log lines and in
//! `X-Request-Id`), one log line when it is answered, and the request metrics.

use crate::metrics;
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderValue, Method};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

pub const REQUEST_ID: &str = "x-request-id";

/// The id a proxy in front already gave the request, when it is a plain token; otherwise a new one.
fn request_id(req: &Request) -> String {
    let given = req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            (1..=64).contains(&v.len())
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        });
    match given {
        Some(id) => id.to_owned(),
        None => hex::encode(crate::secrets::random_bytes(8)),
    }
}

/// The route's pattern (never the path itself, whose ids would make a series per id).
fn route_of(req: &Request) -> String {
    if let Some(matched) = req.extensions().get::<MatchedPath>() {
        return matched.as_str().to_owned();
    }
    if req.uri().path().starts_with("/api/") {
        "unmatched".to_owned()
    } else {
        "static".to_owned()
    }
}

pub async fn observe(req: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    let id = request_id(&req);
    let route = route_of(&req);
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let span = tracing::info_span!("request", id = %id);
    let mut resp = next.run(req).instrument(span.clone()).await;
    let status = resp.status().as_u16();
    let took = started.elapsed();
    let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
    span.in_scope(|| {
        if status >= 500 {
            tracing::warn!(%method, %path, status, micros, "request");
        } else {
            tracing::debug!(%method, %path, status, micros, "request");
        }
    });
    let status_text = status.to_string();
    metrics::count(
        "renche_http_requests_total",
        &[
            ("route", &route),
            ("method", method.as_str()),
            ("status", &status_text),
        ],
    );
    metrics::observe(
        "renche_http_request_duration_seconds",
        &[("route", &route)],
        took,
    );
    let state_change = !matches!(method, Method::GET | Method::HEAD | Method::OPTIONS);
    if state_change && resp.status().is_success() && route.starts_with("/api/") {
        metrics::count("renche_commits_total", &[("route", &route)]);
    }
    if let Ok(value) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert(REQUEST_ID, value);
    }
    resp
}
