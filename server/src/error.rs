//! The server's one error type below the store: what went wrong, its code and messages in Chinese and
//! English, and its JSON shape. Which HTTP status each kind gets is decided in `http::error`.

use crate::flows::decision::Decision;
use crate::store::StoreError;
use renche::message::{Explain, Message, Params};
use renche::Reason;
use serde::Serialize;
use std::borrow::Cow;

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
    /// A fault of ours, not of the request.
    pub fn is_server_fault(self) -> bool {
        matches!(self, ErrorKind::Internal | ErrorKind::Unavailable)
    }
}

/// The error of the flows and of the HTTP layer that renders it; boxed so that results stay small.
#[derive(Debug)]
pub struct ServerError(Box<ServerErrorInner>);

#[derive(Debug)]
pub struct ServerErrorInner {
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

impl std::ops::Deref for ServerError {
    type Target = ServerErrorInner;
    fn deref(&self) -> &ServerErrorInner {
        &self.0
    }
}

impl std::ops::DerefMut for ServerError {
    fn deref_mut(&mut self) -> &mut ServerErrorInner {
        &mut self.0
    }
}

impl From<ServerErrorInner> for ServerError {
    fn from(inner: ServerErrorInner) -> Self {
        ServerError(Box::new(inner))
    }
}

impl ServerError {
    pub fn new(
        kind: ErrorKind,
        code: impl Into<Cow<'static, str>>,
        zh: impl Into<String>,
        en: impl Into<String>,
    ) -> Self {
        ServerErrorInner {
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
        ServerErrorInner {
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
        ServerError::new(
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
        ServerErrorInner {
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
        ServerError::new(
            ErrorKind::Unauthenticated,
            "UNAUTHENTICATED",
            "请先登录",
            "Please sign in first",
        )
    }
    pub fn not_found() -> Self {
        ServerError::new(ErrorKind::NotFound, "NOT_FOUND", "未找到", "Not found")
    }
    pub fn not_an_officer() -> Self {
        ServerError::new(
            ErrorKind::Forbidden,
            "NOT_AN_OFFICER",
            "仅限窗口民警办理",
            "Only a window officer can do this",
        )
    }
    pub fn internal(detail: impl Into<String>) -> Self {
        let mut e = ServerError::new(
            ErrorKind::Internal,
            "INTERNAL",
            "服务器内部错误,请稍后再试",
            "Internal error; please try again later",
        );
        e.internal = Some(detail.into());
        e
    }
}

impl From<StoreError> for ServerError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unique(detail) => {
                let mut err = ServerError::new(
                    ErrorKind::Conflict,
                    "CONFLICT",
                    "数据已被同时修改,请重试",
                    "The data changed at the same moment; please try again",
                );
                err.internal = Some(detail);
                err
            }
            other => ServerError::internal(other.to_string()),
        }
    }
}

impl std::fmt::Display for ServerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?} {}", self.kind, self.code)
    }
}

impl ServerError {
    /// Logs what only the server may see: the detail of a server fault or of a refusal.
    pub fn log(&self) {
        if let Some(detail) = &self.internal {
            if self.kind.is_server_fault() {
                tracing::error!(code = %self.code, detail = %detail, "request failed");
            } else {
                tracing::info!(code = %self.code, detail = %detail, "request refused");
            }
        }
    }

    /// The JSON body sent for this error (the same bytes an HTTP answer sends).
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

pub type ServerResult<T> = Result<T, ServerError>;

/// The answer of a flow whose work is kept even when it refuses (a refusal that is audited, a wrong code
/// that is counted): its transaction commits in both cases, while an `Err` beside it rolls back.
#[derive(Debug)]
pub enum Verdict<T> {
    Done(T),
    Refused(ServerError),
}
