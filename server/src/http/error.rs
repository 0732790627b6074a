//! How the server's errors become HTTP answers: the one place where error kinds map to statuses.

use crate::error::{ErrorKind, ServerError};
use axum::http::header::{CONTENT_TYPE, RETRY_AFTER};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use renche::message::Param;

/// The only mapping from error kinds to HTTP statuses.
pub fn status(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::BadRequest => StatusCode::BAD_REQUEST,
        ErrorKind::Unauthenticated => StatusCode::UNAUTHORIZED,
        ErrorKind::PaymentFailed => StatusCode::PAYMENT_REQUIRED,
        ErrorKind::Forbidden => StatusCode::FORBIDDEN,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::Gone => StatusCode::GONE,
        ErrorKind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorKind::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ErrorKind::Unprocessable => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorKind::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
    }
}

/// The `Retry-After` of a 429 or 503 that knows its wait (`params.retryAfterSeconds`).
fn retry_after(e: &ServerError) -> Option<HeaderValue> {
    if !matches!(e.kind, ErrorKind::TooManyRequests | ErrorKind::Unavailable) {
        return None;
    }
    match e.params.as_ref()?.get("retryAfterSeconds")? {
        Param::Int(secs) => HeaderValue::from_str(&secs.to_string()).ok(),
        Param::Text(_) => None,
    }
}

impl IntoResponse for ServerError {
    fn into_response(self) -> Response {
        self.log();
        crate::metrics::count("renche_refusals_total", &[("code", &self.code)]);
        for reason in &self.reasons {
            crate::metrics::count("renche_rule_refusals_total", &[("reason", reason.code)]);
        }
        let mut resp = (
            status(self.kind),
            [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
            self.body_bytes(),
        )
            .into_response();
        if let Some(wait) = retry_after(&self) {
            resp.headers_mut().insert(RETRY_AFTER, wait);
        }
        resp
    }
}
