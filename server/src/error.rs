//! The one error type of the HTTP layer, its JSON shape, and the one place where kinds map to statuses.

use crate::store::StoreError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use renche::message::{Explain, Message, Params};
use renche::Reason;
use serde::Serialize;
use std::borrow::Cow;

/// The server's own answer to a commit, beside the browser's expectation.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    pub allowed: bool,
    pub reasons: Vec<Reason>,
    pub policy_version: String,
    /// The browser evaluated another policy version: fetch the policy again.
    pub refresh_policy: bool,
    /// `false` when the browser expected another outcome.
    pub agreed: bool,
}

impl Decision {
    pub fn new(
        allowed: bool,
        reasons: Vec<Reason>,
        server_version: &str,
        browser: &ClientExpectation,
    ) -> Decision {
        Decision {
            allowed,
            reasons,
            policy_version: server_version.to_owned(),
            refresh_policy: browser
                .policy_version
                .as_deref()
                .is_some_and(|v| v != server_version),
            agreed: browser.expected_allowed.is_none_or(|e| e == allowed),
        }
    }
}

/// What the browser said it evaluated (the `policyVersion` / `expectedAllowed` of a commit request).
#[derive(Clone, Debug, Default)]
pub struct ClientExpectation {
    pub policy_version: Option<String>,
    pub expected_allowed: Option<bool>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// Malformed request: bad JSON, missing header.
    BadRequest,
    Unauthenticated,
    PaymentFailed,
    Forbidden,
    NotFound,
    /// A rule refused or the state does not allow it.
    Conflict,
    /// A one-time thing that is no more (QR code, SMS code).
    Gone,
    PayloadTooLarge,
    UnsupportedMediaType,
    /// Well-formed but invalid content (a field's value, a wrong code, a reused idempotency key).
    Unprocessable,
    TooManyRequests,
    Internal,
    Unavailable,
}

impl ErrorKind {
    /// The only mapping from error kinds to HTTP statuses.
    pub fn status(self) -> StatusCode {
        match self {
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
}

/// The error of the HTTP layer; boxed so that results stay small.
#[derive(Debug)]
pub struct ApiError(Box<ApiErrorInner>);

#[derive(Debug)]
pub struct ApiErrorInner {
    pub kind: ErrorKind,
    pub code: Cow<'static, str>,
    pub message: Message,
    pub field: Option<String>,
    pub params: Option<Params>,
    pub reasons: Vec<Reason>,
    pub decision: Option<Decision>,
    /// Logged, never sent.
    pub internal: Option<String>,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: ErrorFields<'a>,
}

#[derive(Serialize)]
struct ErrorFields<'a> {
    code: &'a str,
    message: &'a Message,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    params: Option<&'a Params>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    reasons: &'a Vec<Reason>,
    #[serde(skip_serializing_if = "Option::is_none")]
    decision: Option<&'a Decision>,
}

impl std::ops::Deref for ApiError {
    type Target = ApiErrorInner;
    fn deref(&self) -> &ApiErrorInner {
        &self.0
    }
}

impl std::ops::DerefMut for ApiError {
    fn deref_mut(&mut self) -> &mut ApiErrorInner {
        &mut self.0
    }
}

impl From<ApiErrorInner> for ApiError {
    fn from(inner: ApiErrorInner) -> Self {
        ApiError(Box::new(inner))
    }
}

impl ApiError {
    pub fn new(
        kind: ErrorKind,
        code: impl Into<Cow<'static, str>>,
        zh: impl Into<String>,
        en: impl Into<String>,
    ) -> Self {
        ApiErrorInner {
            kind,
            code: code.into(),
            message: Message::new(zh, en),
            field: None,
            params: None,
            reasons: Vec::new(),
            decision: None,
            internal: None,
        }
        .into()
    }
    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }
    pub fn params(mut self, params: Params) -> Self {
        self.params = Some(params);
        self
    }

    /// A value the core's parsers refused, naming the request field.
    pub fn invalid(field: &str, e: &dyn Explain) -> Self {
        let reason = Reason::of(e);
        ApiErrorInner {
            kind: ErrorKind::Unprocessable,
            code: Cow::Borrowed(reason.code),
            message: reason.message.clone(),
            field: Some(field.to_owned()),
            params: if reason.params.is_empty() {
                None
            } else {
                Some(reason.params.clone())
            },
            reasons: vec![reason],
            decision: None,
            internal: None,
        }
        .into()
    }

    /// A field with a value that is not one of the allowed codes.
    pub fn invalid_value(field: &str, problem: &str) -> Self {
        ApiError::new(
            ErrorKind::Unprocessable,
            "INVALID_FIELD",
            format!("字段 {field} 的值无效:{problem}"),
            format!("Field {field} is invalid: {problem}"),
        )
        .field(field)
    }

    /// The rules refused: the first reason's code, every reason, and the server's decision.
    pub fn refused(decision: Decision) -> Self {
        let first = decision.reasons.first().cloned();
        let (code, message, params) = match first {
            Some(r) => (
                Cow::Borrowed(r.code),
                r.message,
                if r.params.is_empty() {
                    None
                } else {
                    Some(r.params)
                },
            ),
            None => (
                Cow::Borrowed("REFUSED"),
                Message::new("请求被拒绝", "The request was refused"),
                None,
            ),
        };
        ApiErrorInner {
            kind: ErrorKind::Conflict,
            code,
            message,
            field: None,
            params,
            reasons: decision.reasons.clone(),
            decision: Some(decision),
            internal: None,
        }
        .into()
    }

    pub fn unauthenticated() -> Self {
        ApiError::new(
            ErrorKind::Unauthenticated,
            "UNAUTHENTICATED",
            "请先登录",
            "Please sign in first",
        )
    }
    pub fn not_found() -> Self {
        ApiError::new(ErrorKind::NotFound, "NOT_FOUND", "未找到", "Not found")
    }
    pub fn not_an_officer() -> Self {
        ApiError::new(
            ErrorKind::Forbidden,
            "NOT_AN_OFFICER",
            "仅限窗口民警办理",
            "Only a window officer can do this",
        )
    }
    pub fn internal(detail: impl Into<String>) -> Self {
        let mut e = ApiError::new(
            ErrorKind::Internal,
            "INTERNAL",
            "服务器内部错误,请稍后再试",
            "Internal error; please try again later",
        );
        e.internal = Some(detail.into());
        e
    }

    pub fn status(&self) -> axum::http::StatusCode {
        self.kind.status()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unique(detail) => {
                let mut err = ApiError::new(
                    ErrorKind::Conflict,
                    "CONFLICT",
                    "数据已被同时修改,请重试",
                    "The data changed at the same moment; please try again",
                );
                err.internal = Some(detail);
                err
            }
            other => ApiError::internal(other.to_string()),
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.kind.status().as_u16(), self.code)
    }
}

impl ApiError {
    /// Logs what only the server may see: the detail of a server fault or of a refusal.
    pub fn log(&self) {
        if let Some(detail) = &self.internal {
            if self.status().is_server_error() {
                tracing::error!(code = %self.code, detail = %detail, "request failed");
            } else {
                tracing::info!(code = %self.code, detail = %detail, "request refused");
            }
        }
    }

    /// The JSON body sent for this error (the same bytes `into_response` sends).
    pub fn body_bytes(&self) -> Vec<u8> {
        let body = ErrorBody {
            error: ErrorFields {
                code: &self.code,
                message: &self.message,
                field: self.field.as_deref(),
                params: self.params.as_ref(),
                reasons: &self.reasons,
                decision: self.decision.as_ref(),
            },
        };
        serde_json::to_vec(&body).unwrap_or_default()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.log();
        let status = self.kind.status();
        (
            status,
            [(
                axum::http::header::CONTENT_TYPE,
                axum::http::HeaderValue::from_static("application/json"),
            )],
            self.body_bytes(),
        )
            .into_response()
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
