//! The server's one error type below the store: what went wrong, its code and messages in Chinese and
//! English, and its JSON shape. Which HTTP status each kind gets is decided in `http::error`.

use crate::flows::decision::Decision;
use crate::store::StoreError;
use renche::domain::Fen;
use renche::message::{Explain, Message, Params};
use renche::{params, Reason};
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
    /// The error a server code describes; its field, if any, is named with `.field(..)`.
    pub fn of(code: ServerErrorCode) -> Self {
        let params = code.params();
        ServerErrorInner {
            kind: code.kind(),
            code: Cow::Borrowed(code.code()),
            message: code.message(),
            field: None,
            params: if params.is_empty() {
                None
            } else {
                Some(params)
            },
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
        ServerError::of(ServerErrorCode::InvalidField(InvalidField::Value {
            field: field.to_owned(),
            problem: problem.to_owned(),
        }))
        .field(field)
    }

    /// The rules refused: the first reason's code, every reason, and the server's decision.
    pub fn refused(decision: Decision) -> Self {
        let Some(first) = decision.reasons.first().cloned() else {
            let mut e = ServerError::of(ServerErrorCode::Refused);
            e.reasons = decision.reasons.clone();
            e.decision = Some(decision);
            return e;
        };
        ServerErrorInner {
            kind: ErrorKind::Conflict,
            code: Cow::Borrowed(first.code),
            message: first.message,
            field: None,
            params: if first.params.is_empty() {
                None
            } else {
                Some(first.params)
            },
            reasons: decision.reasons.clone(),
            decision: Some(decision),
            internal: None,
        }
        .into()
    }

    pub fn unauthenticated() -> Self {
        ServerError::of(ServerErrorCode::Unauthenticated)
    }
    pub fn not_found() -> Self {
        ServerError::of(ServerErrorCode::NotFound(NotFound::Resource))
    }
    pub fn not_an_officer() -> Self {
        ServerError::of(ServerErrorCode::NotAnOfficer)
    }
    pub fn internal(detail: impl Into<String>) -> Self {
        let mut e = ServerError::of(ServerErrorCode::Internal);
        e.internal = Some(detail.into());
        e
    }
}

impl From<ServerErrorCode> for ServerError {
    fn from(code: ServerErrorCode) -> Self {
        ServerError::of(code)
    }
}

impl From<StoreError> for ServerError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unique(detail) => {
                let mut err = ServerError::of(ServerErrorCode::Conflict);
                err.internal = Some(detail);
                err
            }
            // A second or so covers a lost connection or a standby being promoted.
            StoreError::Unavailable(detail) => {
                let mut err = ServerError::of(ServerErrorCode::TemporarilyUnavailable {
                    retry_after_seconds: 1,
                });
                err.internal = Some(detail);
                err
            }
            StoreError::KeyTaken => {
                let mut err = ServerError::of(ServerErrorCode::IdempotencyKeyInUse);
                err.internal = Some(StoreError::KeyTaken.to_string());
                err
            }
            other => ServerError::internal(other.to_string()),
        }
    }
}

/// Every error the server itself names (the core's refusals and parse errors keep their own codes). Each
/// explains itself in zh and en the way the core's refusals do, and is listed in docs/reasons.md.
///
/// A code with several texts (`NOT_FOUND`, `INVALID_FIELD`, `MISSING_FIELD`, `PHONE_ALREADY_REGISTERED`,
/// `IDEMPOTENCY_KEY_INVALID`, `CSRF_CHECK_FAILED`) is one variant whose payload picks the text, so that
/// one code is one variant and clients can rely on the code alone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServerErrorCode {
    // 400
    /// The body is not JSON; `detail` is the parser's text, shown but not sent as a parameter.
    MalformedJson {
        detail: String,
    },
    BodyUnreadable,
    IdempotencyKeyMissing,
    IdempotencyKeyInvalid(IdempotencyKeyInvalid),
    // 401
    Unauthenticated,
    // 402
    /// `detail` is the payment gateway's text, sent as a parameter.
    PaymentFailed {
        detail: String,
    },
    /// A request signed as a kiosk whose signature does not hold (which check failed is a parameter).
    KioskNotRecognised(KioskProblem),
    // 403
    NotAnOfficer,
    /// A kiosk's ID-card and face sign-in that names no one on record, or whose face check did not match.
    KioskSignInRefused(KioskSignInProblem),
    CsrfCheckFailed(CsrfCheckFailed),
    /// An account not (or no longer) linked to a person by a passed verification.
    IdentityNotVerified,
    // 404
    NotFound(NotFound),
    // 409
    /// Two writers at once (a unique constraint).
    Conflict,
    /// A refusal that names no reason.
    Refused,
    ClockFixed,
    IdempotencyKeyInUse,
    AmountChanged {
        owed: Fen,
    },
    ManualReviewNotAvailable,
    ApplicationNotInReview,
    ApplicationAlreadyCommitted,
    ApplicationInReview,
    ApplicationClosed,
    /// The vehicle's owner withdrew the application.
    ApplicationWithdrawn,
    /// Manual review asked for before the ID photo was uploaded.
    ReviewPhotoMissing,
    PhoneAlreadyRegistered(PhoneAlreadyRegistered),
    IdentityMismatch,
    IdentityAlreadyVerified,
    /// The provider has no result for this verification yet.
    VerificationPending,
    /// This provider result (or another one for the same verification) was used before.
    VerificationResultReplayed,
    // 410
    QrExpired,
    QrReplaced,
    QrAlreadyUsed,
    SmsCodeUsed,
    SmsCodeExpired,
    /// An application opened by the owner's QR or SMS code was not committed in time.
    ApplicationExpired,
    // 413, 415
    PayloadTooLarge,
    UnsupportedMediaType,
    PhotoTooLarge {
        limit_kb: u32,
    },
    // 422
    /// An upload that is not a whole JPEG or PNG image.
    PhotoUnreadable,
    UnknownField {
        field: String,
    },
    MissingField(MissingField),
    InvalidField(InvalidField),
    InvalidQuery {
        problem: String,
    },
    IdempotencyKeyReused,
    QrUnknown,
    SmsCodeLocked,
    SmsCodeWrong {
        tries_left: u32,
    },
    RealPersonVerificationFailed,
    RealPersonVerificationUnavailable,
    /// The result is unreadable or its signature is not the provider's.
    VerificationResultInvalid,
    /// The result is about another verification, provider session, resident ID or name.
    VerificationResultMismatch,
    /// The result is older than ten minutes.
    VerificationResultStale,
    // 429
    SmsResendTooSoon {
        retry_after_seconds: i64,
    },
    SmsDailyCapReached {
        limit: u32,
    },
    TooManyFailures,
    /// A session, account or client address asked for too many SMS codes.
    SmsLimitReached {
        scope: SmsLimitScope,
        window: SmsLimitWindow,
        limit: u32,
        retry_after_seconds: i64,
    },
    /// The service's SMS budget for this purpose is used up for the day.
    SmsBudgetReached {
        retry_after_seconds: i64,
    },
    /// Verifications started by one account today: each one costs a provider call.
    VerificationDailyCapReached {
        limit: u32,
    },
    // 500
    Internal,
    // 503
    /// No SMS gateway is configured (outside development mode): no code can be sent, so none is promised.
    SmsUnavailable,
    /// The database could not serve the request (a failover, a lost connection, a timeout); nothing was
    /// changed, and the same request with the same Idempotency-Key may be sent again.
    TemporarilyUnavailable {
        retry_after_seconds: i64,
    },
}

/// Who asked for too many SMS codes (`SMS_LIMIT_REACHED`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmsLimitScope {
    Session,
    Account,
    Address,
}

impl SmsLimitScope {
    pub fn code(self) -> &'static str {
        match self {
            SmsLimitScope::Session => "session",
            SmsLimitScope::Account => "account",
            SmsLimitScope::Address => "address",
        }
    }
}

/// The window an SMS limit counts in: the clock hour or the China-Standard-Time day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmsLimitWindow {
    Hour,
    Day,
}

impl SmsLimitWindow {
    pub fn code(self) -> &'static str {
        match self {
            SmsLimitWindow::Hour => "hour",
            SmsLimitWindow::Day => "day",
        }
    }
}

/// A wait in plain words: seconds, minutes (rounded up) or hours (rounded up).
fn wait_words(seconds: i64) -> (String, String) {
    if seconds < 60 {
        (format!("{seconds}秒"), format!("{seconds} s"))
    } else if seconds < 3600 {
        let m = (seconds + 59) / 60;
        (format!("{m}分钟"), format!("{m} min"))
    } else {
        let h = (seconds + 3599) / 3600;
        (format!("{h}小时"), format!("{h} h"))
    }
}

/// Which `NOT_FOUND`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotFound {
    Resource,
    /// A development route on a server not in development mode.
    DevOnly,
}

/// Which `INVALID_FIELD`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InvalidField {
    /// `field` may be empty when the problem is the body itself.
    Value {
        field: String,
        problem: String,
    },
    BodyNotAnObject,
}

/// Which `MISSING_FIELD`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MissingField {
    /// A field the request's JSON lacks, by its path.
    Named(String),
    /// The relationship to the owner, which only some binding methods need.
    Relationship,
}

/// Which `PHONE_ALREADY_REGISTERED`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PhoneAlreadyRegistered {
    /// Someone registered has this phone.
    Registered,
    /// Another person's imported record has this phone.
    InUse,
}

/// Which `IDEMPOTENCY_KEY_INVALID`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdempotencyKeyInvalid {
    Repeated,
    Shape,
}

/// Which check of a kiosk's signed request failed (`KIOSK_NOT_RECOGNISED`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KioskProblem {
    /// One of the four kiosk headers is missing or malformed.
    Incomplete,
    /// A kiosk-only endpoint asked without a kiosk's signature.
    Unsigned,
    /// No kiosk with that id is enrolled.
    Unknown,
    Disabled,
    /// The signed time is more than a minute from the server's.
    Stale,
    /// This kiosk has signed a request with this nonce before.
    Replayed,
    BadSignature,
}

/// Why a kiosk's sign-in was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KioskSignInProblem {
    /// No person on record has the card's ID number and name.
    CardNotOnRecord,
    /// The kiosk's face check did not match the card's photo well enough.
    FaceNotMatched,
}

impl KioskSignInProblem {
    pub fn code(self) -> &'static str {
        match self {
            KioskSignInProblem::CardNotOnRecord => "card_not_on_record",
            KioskSignInProblem::FaceNotMatched => "face_not_matched",
        }
    }
}

impl KioskProblem {
    pub fn code(self) -> &'static str {
        match self {
            KioskProblem::Incomplete => "incomplete",
            KioskProblem::Unsigned => "unsigned",
            KioskProblem::Unknown => "unknown_kiosk",
            KioskProblem::Disabled => "disabled",
            KioskProblem::Stale => "stale",
            KioskProblem::Replayed => "replayed",
            KioskProblem::BadSignature => "bad_signature",
        }
    }
}

/// Which `CSRF_CHECK_FAILED`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CsrfCheckFailed {
    Token,
    Origin,
    /// More than one `X-CSRF-Token` header.
    Repeated,
}

impl ServerErrorCode {
    pub fn kind(&self) -> ErrorKind {
        use ServerErrorCode as C;
        match self {
            C::MalformedJson { .. }
            | C::BodyUnreadable
            | C::IdempotencyKeyMissing
            | C::IdempotencyKeyInvalid(_) => ErrorKind::BadRequest,
            C::Unauthenticated | C::KioskNotRecognised(_) => ErrorKind::Unauthenticated,
            C::PaymentFailed { .. } => ErrorKind::PaymentFailed,
            C::NotAnOfficer
            | C::CsrfCheckFailed(_)
            | C::IdentityNotVerified
            | C::KioskSignInRefused(_) => ErrorKind::Forbidden,
            C::NotFound(_) => ErrorKind::NotFound,
            C::Conflict
            | C::Refused
            | C::ClockFixed
            | C::IdempotencyKeyInUse
            | C::AmountChanged { .. }
            | C::ManualReviewNotAvailable
            | C::ApplicationNotInReview
            | C::ApplicationAlreadyCommitted
            | C::ApplicationInReview
            | C::ApplicationClosed
            | C::ApplicationWithdrawn
            | C::ReviewPhotoMissing
            | C::PhoneAlreadyRegistered(_)
            | C::IdentityMismatch
            | C::IdentityAlreadyVerified
            | C::VerificationPending
            | C::VerificationResultReplayed => ErrorKind::Conflict,
            C::QrExpired
            | C::QrReplaced
            | C::QrAlreadyUsed
            | C::SmsCodeUsed
            | C::SmsCodeExpired
            | C::ApplicationExpired => ErrorKind::Gone,
            C::PayloadTooLarge | C::PhotoTooLarge { .. } => ErrorKind::PayloadTooLarge,
            C::UnsupportedMediaType => ErrorKind::UnsupportedMediaType,
            C::UnknownField { .. }
            | C::MissingField(_)
            | C::InvalidField(_)
            | C::InvalidQuery { .. }
            | C::IdempotencyKeyReused
            | C::QrUnknown
            | C::SmsCodeLocked
            | C::SmsCodeWrong { .. }
            | C::RealPersonVerificationFailed
            | C::RealPersonVerificationUnavailable
            | C::PhotoUnreadable
            | C::VerificationResultInvalid
            | C::VerificationResultMismatch
            | C::VerificationResultStale => ErrorKind::Unprocessable,
            C::SmsResendTooSoon { .. }
            | C::SmsDailyCapReached { .. }
            | C::TooManyFailures
            | C::SmsLimitReached { .. }
            | C::SmsBudgetReached { .. }
            | C::VerificationDailyCapReached { .. } => ErrorKind::TooManyRequests,
            C::Internal => ErrorKind::Internal,
            C::SmsUnavailable => ErrorKind::Unavailable,
            C::TemporarilyUnavailable { .. } => ErrorKind::Unavailable,
        }
    }

    /// One value of every variant and of every text a variant can have, for the docs and their test.
    #[rustfmt::skip]
    pub fn examples() -> Vec<ServerErrorCode> {
        use ServerErrorCode as C;
        vec![
            C::MalformedJson { detail: "EOF while parsing an object at line 1 column 1".into() },
            C::BodyUnreadable,
            C::IdempotencyKeyMissing,
            C::IdempotencyKeyInvalid(IdempotencyKeyInvalid::Repeated),
            C::IdempotencyKeyInvalid(IdempotencyKeyInvalid::Shape),
            C::Unauthenticated,
            C::PaymentFailed { detail: "gateway timeout".into() },
            C::KioskNotRecognised(KioskProblem::Replayed),
            C::NotAnOfficer,
            C::KioskSignInRefused(KioskSignInProblem::CardNotOnRecord),
            C::KioskSignInRefused(KioskSignInProblem::FaceNotMatched),
            C::CsrfCheckFailed(CsrfCheckFailed::Token),
            C::CsrfCheckFailed(CsrfCheckFailed::Origin),
            C::CsrfCheckFailed(CsrfCheckFailed::Repeated),
            C::IdentityNotVerified,
            C::NotFound(NotFound::Resource),
            C::NotFound(NotFound::DevOnly),
            C::Conflict,
            C::Refused,
            C::ClockFixed,
            C::IdempotencyKeyInUse,
            C::AmountChanged { owed: Fen::from_yuan(200) },
            C::ManualReviewNotAvailable,
            C::ApplicationNotInReview,
            C::ApplicationAlreadyCommitted,
            C::ApplicationInReview,
            C::ApplicationClosed,
            C::ApplicationWithdrawn,
            C::ReviewPhotoMissing,
            C::PhoneAlreadyRegistered(PhoneAlreadyRegistered::Registered),
            C::PhoneAlreadyRegistered(PhoneAlreadyRegistered::InUse),
            C::IdentityMismatch,
            C::IdentityAlreadyVerified,
            C::VerificationPending,
            C::VerificationResultReplayed,
            C::QrExpired,
            C::QrReplaced,
            C::QrAlreadyUsed,
            C::SmsCodeUsed,
            C::SmsCodeExpired,
            C::ApplicationExpired,
            C::PayloadTooLarge,
            C::UnsupportedMediaType,
            C::PhotoTooLarge { limit_kb: 2048 },
            C::PhotoUnreadable,
            C::UnknownField { field: "vehicle.colour".into() },
            C::MissingField(MissingField::Named("vehicle.plateNumber".into())),
            C::MissingField(MissingField::Relationship),
            C::InvalidField(InvalidField::Value {
                field: "plateType".into(),
                problem: "invalid type: integer `2`, expected a string".into(),
            }),
            C::InvalidField(InvalidField::BodyNotAnObject),
            C::InvalidQuery { problem: "Failed to deserialize query string: missing field `plate`".into() },
            C::IdempotencyKeyReused,
            C::QrUnknown,
            C::SmsCodeLocked,
            C::SmsCodeWrong { tries_left: 4 },
            C::RealPersonVerificationFailed,
            C::RealPersonVerificationUnavailable,
            C::VerificationResultInvalid,
            C::VerificationResultMismatch,
            C::VerificationResultStale,
            C::SmsResendTooSoon { retry_after_seconds: 60 },
            C::SmsDailyCapReached { limit: 10 },
            C::TooManyFailures,
            C::SmsLimitReached { scope: SmsLimitScope::Session, window: SmsLimitWindow::Hour, limit: 5, retry_after_seconds: 1_500 },
            C::SmsLimitReached { scope: SmsLimitScope::Account, window: SmsLimitWindow::Day, limit: 20, retry_after_seconds: 30_000 },
            C::SmsLimitReached { scope: SmsLimitScope::Address, window: SmsLimitWindow::Hour, limit: 30, retry_after_seconds: 45 },
            C::SmsBudgetReached { retry_after_seconds: 30_000 },
            C::VerificationDailyCapReached { limit: 20 },
            C::Internal,
            C::SmsUnavailable,
            C::TemporarilyUnavailable { retry_after_seconds: 1 },
        ]
    }
}

impl Explain for ServerErrorCode {
    fn code(&self) -> &'static str {
        use ServerErrorCode as C;
        match self {
            C::MalformedJson { .. } => "MALFORMED_JSON",
            C::BodyUnreadable => "BODY_UNREADABLE",
            C::IdempotencyKeyMissing => "IDEMPOTENCY_KEY_MISSING",
            C::IdempotencyKeyInvalid(_) => "IDEMPOTENCY_KEY_INVALID",
            C::Unauthenticated => "UNAUTHENTICATED",
            C::PaymentFailed { .. } => "PAYMENT_FAILED",
            C::KioskNotRecognised(_) => "KIOSK_NOT_RECOGNISED",
            C::NotAnOfficer => "NOT_AN_OFFICER",
            C::KioskSignInRefused(_) => "KIOSK_SIGN_IN_REFUSED",
            C::IdentityNotVerified => "IDENTITY_NOT_VERIFIED",
            C::CsrfCheckFailed(_) => "CSRF_CHECK_FAILED",
            C::NotFound(_) => "NOT_FOUND",
            C::Conflict => "CONFLICT",
            C::Refused => "REFUSED",
            C::ClockFixed => "CLOCK_FIXED",
            C::IdempotencyKeyInUse => "IDEMPOTENCY_KEY_IN_USE",
            C::AmountChanged { .. } => "AMOUNT_CHANGED",
            C::ManualReviewNotAvailable => "MANUAL_REVIEW_NOT_AVAILABLE",
            C::ApplicationNotInReview => "APPLICATION_NOT_IN_REVIEW",
            C::ApplicationAlreadyCommitted => "APPLICATION_ALREADY_COMMITTED",
            C::ApplicationInReview => "APPLICATION_IN_REVIEW",
            C::ApplicationClosed => "APPLICATION_CLOSED",
            C::ApplicationWithdrawn => "APPLICATION_WITHDRAWN",
            C::ReviewPhotoMissing => "REVIEW_PHOTO_MISSING",
            C::PhotoTooLarge { .. } => "PHOTO_TOO_LARGE",
            C::PhotoUnreadable => "PHOTO_UNREADABLE",
            C::PhoneAlreadyRegistered(_) => "PHONE_ALREADY_REGISTERED",
            C::IdentityMismatch => "IDENTITY_MISMATCH",
            C::IdentityAlreadyVerified => "IDENTITY_ALREADY_VERIFIED",
            C::VerificationPending => "VERIFICATION_PENDING",
            C::VerificationResultReplayed => "VERIFICATION_RESULT_REPLAYED",
            C::QrExpired => "QR_EXPIRED",
            C::QrReplaced => "QR_REPLACED",
            C::QrAlreadyUsed => "QR_ALREADY_USED",
            C::SmsCodeUsed => "SMS_CODE_USED",
            C::SmsCodeExpired => "SMS_CODE_EXPIRED",
            C::ApplicationExpired => "APPLICATION_EXPIRED",
            C::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            C::UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            C::UnknownField { .. } => "UNKNOWN_FIELD",
            C::MissingField(_) => "MISSING_FIELD",
            C::InvalidField(_) => "INVALID_FIELD",
            C::InvalidQuery { .. } => "INVALID_QUERY",
            C::IdempotencyKeyReused => "IDEMPOTENCY_KEY_REUSED",
            C::QrUnknown => "QR_UNKNOWN",
            C::SmsCodeLocked => "SMS_CODE_LOCKED",
            C::SmsCodeWrong { .. } => "SMS_CODE_WRONG",
            C::RealPersonVerificationFailed => "REAL_PERSON_VERIFICATION_FAILED",
            C::RealPersonVerificationUnavailable => "REAL_PERSON_VERIFICATION_UNAVAILABLE",
            C::VerificationResultInvalid => "VERIFICATION_RESULT_INVALID",
            C::VerificationResultMismatch => "VERIFICATION_RESULT_MISMATCH",
            C::VerificationResultStale => "VERIFICATION_RESULT_STALE",
            C::SmsResendTooSoon { .. } => "SMS_RESEND_TOO_SOON",
            C::SmsDailyCapReached { .. } => "SMS_DAILY_CAP_REACHED",
            C::TooManyFailures => "TOO_MANY_FAILURES",
            C::SmsLimitReached { .. } => "SMS_LIMIT_REACHED",
            C::SmsBudgetReached { .. } => "SMS_BUDGET_REACHED",
            C::VerificationDailyCapReached { .. } => "VERIFICATION_DAILY_CAP_REACHED",
            C::Internal => "INTERNAL",
            C::SmsUnavailable => "SMS_UNAVAILABLE",
            C::TemporarilyUnavailable { .. } => "TEMPORARILY_UNAVAILABLE",
        }
    }

    fn params(&self) -> Params {
        use ServerErrorCode as C;
        match self {
            C::PaymentFailed { detail } => params![detail = detail.as_str()],
            C::AmountChanged { owed } => {
                params![owedFen = i64::try_from(owed.value()).unwrap_or(i64::MAX)]
            }
            C::SmsCodeWrong { tries_left } => params![triesLeft = *tries_left],
            C::RealPersonVerificationFailed | C::RealPersonVerificationUnavailable => {
                params![manualReview = "available"]
            }
            C::IdentityNotVerified => params![nextStep = "verify_identity"],
            C::SmsResendTooSoon {
                retry_after_seconds,
            } => params![retryAfterSeconds = *retry_after_seconds],
            C::SmsDailyCapReached { limit } | C::VerificationDailyCapReached { limit } => {
                params![limit = *limit]
            }
            C::SmsLimitReached {
                scope,
                window,
                limit,
                retry_after_seconds,
            } => params![
                scope = scope.code(),
                window = window.code(),
                limit = *limit,
                retryAfterSeconds = *retry_after_seconds
            ],
            C::SmsBudgetReached {
                retry_after_seconds,
            }
            | C::TemporarilyUnavailable {
                retry_after_seconds,
            } => params![retryAfterSeconds = *retry_after_seconds],
            C::PhotoTooLarge { limit_kb } => params![limitKb = *limit_kb],
            C::KioskNotRecognised(problem) => params![problem = problem.code()],
            C::KioskSignInRefused(problem) => params![problem = problem.code()],
            _ => Params::new(),
        }
    }

    #[rustfmt::skip]
    fn message(&self) -> Message {
        use ServerErrorCode as C;
        let m = |zh: &str, en: &str| Message::new(zh, en);
        match self {
            C::MalformedJson { detail } => Message::new(
                format!("请求体不是有效的 JSON:{detail}"),
                format!("The request body is not valid JSON: {detail}"),
            ),
            C::BodyUnreadable => m("无法读取请求体", "The request body could not be read"),
            C::IdempotencyKeyMissing => m("缺少 Idempotency-Key 请求头", "The Idempotency-Key header is required for this request"),
            C::IdempotencyKeyInvalid(IdempotencyKeyInvalid::Repeated) => m("只能提供一个 Idempotency-Key 请求头", "Send exactly one Idempotency-Key header"),
            C::IdempotencyKeyInvalid(IdempotencyKeyInvalid::Shape) => m("Idempotency-Key 应为1到128个可见 ASCII 字符", "An Idempotency-Key is 1 to 128 visible ASCII characters"),
            C::Unauthenticated => m("请先登录", "Please sign in first"),
            C::PaymentFailed { .. } => m("缴款未成功,未作任何变更", "The payment did not go through; nothing was changed"),
            C::KioskNotRecognised(_) => m("自助终端未通过校验,请联系工作人员", "This kiosk's request could not be verified; ask the staff"),
            C::NotAnOfficer => m("仅限窗口民警办理", "Only a window officer can do this"),
            C::KioskSignInRefused(KioskSignInProblem::CardNotOnRecord) => m("未查到该身份证的驾驶人信息,请到窗口办理", "No driver is on record for this ID card; please go to a window"),
            C::KioskSignInRefused(KioskSignInProblem::FaceNotMatched) => m("人脸比对未通过,请正对摄像头重试,或到窗口办理", "The face check did not match the ID card; face the camera and try again, or go to a window"),
            C::IdentityNotVerified => m("请先完成实人认证,认证通过后才能查看和办理本人业务", "Complete real-person verification first; your records are shown only after it passes"),
            C::CsrfCheckFailed(which) => m(
                "请求来源校验失败,请刷新页面后重试",
                match which {
                    CsrfCheckFailed::Token => {
                        "Missing or wrong X-CSRF-Token; reload the page and try again"
                    }
                    CsrfCheckFailed::Origin => "The request comes from another site",
                    CsrfCheckFailed::Repeated => "Send exactly one X-CSRF-Token header",
                },
            ),
            C::NotFound(NotFound::Resource) => m("未找到", "Not found"),
            C::NotFound(NotFound::DevOnly) => m("仅开发模式可用", "Development mode only"),
            C::Conflict => m("数据已被同时修改,请重试", "The data changed at the same moment; please try again"),
            C::Refused => m("请求被拒绝", "The request was refused"),
            C::ClockFixed => m("此时钟不能调整", "This clock cannot be moved"),
            C::IdempotencyKeyInUse => m("相同 Idempotency-Key 的请求仍在处理中,请稍后重试", "A request with this Idempotency-Key is still being processed; retry later"),
            C::AmountChanged { owed } => Message::new(
                format!("应缴金额已变为{}元,请确认后重试", owed.to_yuan_string()),
                format!(
                    "The amount owed is now ¥{}; confirm and try again",
                    owed.to_yuan_string()
                ),
            ),
            C::ManualReviewNotAvailable => m("仅在实人认证未通过或不可用时可申请人工审核", "Manual review is for when real-person verification failed or is unavailable"),
            C::ApplicationNotInReview => m("该申请不在人工审核中", "This application is not waiting for review"),
            C::ApplicationAlreadyCommitted => m("该绑定申请已完成", "This application has already been committed"),
            C::ApplicationInReview => m("该绑定申请正在人工审核", "This application is waiting for manual review"),
            C::ApplicationClosed => m("该绑定申请已结束", "This application is closed"),
            C::ApplicationWithdrawn => m("车主已撤回该绑定申请", "The vehicle's owner withdrew this application"),
            C::ReviewPhotoMissing => m("请先上传本人手持身份证的照片", "Upload a photo of yourself holding your ID card first"),
            C::PhotoTooLarge { limit_kb } => Message::new(
                format!("照片不能超过{}MB,请压缩后重新上传", limit_kb / 1024),
                format!(
                    "The photo may be at most {} MB; make it smaller and upload it again",
                    limit_kb / 1024
                ),
            ),
            C::PhotoUnreadable => m("无法读取照片,请上传完整的 JPEG 或 PNG 图片", "The photo could not be read; upload a whole JPEG or PNG picture"),
            C::PhoneAlreadyRegistered(PhoneAlreadyRegistered::Registered) => m("该手机号码已注册,请直接登录", "This phone number is already registered; sign in instead"),
            C::PhoneAlreadyRegistered(PhoneAlreadyRegistered::InUse) => m("该手机号码已被使用", "This phone number is in use"),
            C::IdentityAlreadyVerified => m("该账户已完成实人认证", "This account has already passed real-person verification"),
            C::VerificationPending => m("实人认证尚未完成,请在认证页面完成后再试", "The verification has not been completed yet; finish it on the verification page first"),
            C::VerificationResultReplayed => m("该认证结果已使用过,请重新认证", "This verification result has already been used; verify again"),
            C::VerificationResultInvalid => m("认证结果无效(签名不符)", "The verification result is not valid (its signature does not match)"),
            C::VerificationResultMismatch => m("认证结果与本次认证不符", "The verification result is about another verification or person"),
            C::VerificationResultStale => m("认证结果已超过10分钟,请重新认证", "The verification result is more than 10 minutes old; verify again"),
            C::IdentityMismatch => m("姓名与身份证号码不符", "The name does not match the resident ID number"),
            C::QrExpired => m("二维码已过期,请车主重新生成", "The QR code has expired; ask the owner for a new one"),
            C::QrReplaced => m("车主已生成新的二维码,此码已失效", "The owner has made a newer code; this one no longer works"),
            C::QrAlreadyUsed => m("二维码已被使用,请车主重新生成", "This QR code has already been used; ask the owner for a new one"),
            C::SmsCodeUsed => m("验证码已使用,请重新获取", "This code was already used; ask for a new one"),
            C::SmsCodeExpired => m("验证码已过期,请重新获取", "The code has expired; ask for a new one"),
            C::ApplicationExpired => m("绑定申请已超过有效时间,请重新扫码或获取验证码", "This application has run out of time; scan the owner's code or ask for an SMS code again"),
            C::PayloadTooLarge => m("请求体过大", "The request body is too large"),
            C::UnsupportedMediaType => m("请求体须为 JSON(Content-Type: application/json)", "The request body must be JSON (Content-Type: application/json)"),
            C::UnknownField { field } => Message::new(
                format!("未知字段 {field}"),
                format!("Unknown field {field}"),
            ),
            C::MissingField(MissingField::Named(field)) => Message::new(
                format!("缺少字段 {field}"),
                format!("Missing field {field}"),
            ),
            C::MissingField(MissingField::Relationship) => m("请选择与车主的关系", "Pick your relationship to the owner"),
            C::InvalidField(InvalidField::Value { field, problem }) => Message::new(
                format!("字段 {field} 的值无效:{problem}"),
                format!("Field {field} is invalid: {problem}"),
            ),
            C::InvalidField(InvalidField::BodyNotAnObject) => m("请求体应为 JSON 对象", "The request body must be a JSON object"),
            C::InvalidQuery { problem } => Message::new(
                format!("查询参数无效:{problem}"),
                format!("Invalid query parameters: {problem}"),
            ),
            C::IdempotencyKeyReused => m("该 Idempotency-Key 已用于另一个请求", "This Idempotency-Key was already used for a different request"),
            C::QrUnknown => m("二维码无效", "This QR code is not known"),
            C::SmsCodeLocked => m("验证码错误次数过多,已失效,请重新获取", "Too many wrong tries: this code no longer works; ask for a new one"),
            C::SmsCodeWrong { tries_left } => Message::new(
                format!("验证码错误,还可尝试{tries_left}次"),
                format!("Wrong code; {tries_left} tries left"),
            ),
            C::RealPersonVerificationFailed => m("实人认证未通过,可申请人工审核", "Real-person verification failed; you may ask for manual review"),
            C::RealPersonVerificationUnavailable => m("实人认证服务暂不可用,可申请人工审核", "Real-person verification is unavailable; you may ask for manual review"),
            C::SmsResendTooSoon {
                retry_after_seconds,
            } => Message::new(
                format!("发送过于频繁,请{retry_after_seconds}秒后再试"),
                format!("Too soon; try again in {retry_after_seconds} s"),
            ),
            C::VerificationDailyCapReached { limit } => Message::new(
                format!("今日实人认证次数已达上限({limit}次),请明天再试或到窗口办理"),
                format!("You have started {limit} verifications today, the most a day; try again tomorrow or go to a window"),
            ),
            C::SmsDailyCapReached { limit } => Message::new(
                format!("今日验证码发送次数已达上限({limit}次)"),
                format!("The daily limit of {limit} codes has been reached"),
            ),
            C::TooManyFailures => m("错误次数过多,请一小时后再试", "Too many wrong codes; try again in an hour"),
            C::SmsLimitReached {
                retry_after_seconds,
                ..
            } => {
                let (zh, en) = wait_words(*retry_after_seconds);
                Message::new(
                    format!("获取验证码的次数过多,请{zh}后再试"),
                    format!("Too many codes asked for; try again in {en}"),
                )
            }
            C::SmsBudgetReached { .. } => m("今日短信验证码已发送过多,请明天再试", "Too many text messages were sent today; please try again tomorrow"),
            C::Internal => m("服务器内部错误,请稍后再试", "Internal error; please try again later"),
            C::SmsUnavailable => m("短信服务暂不可用,请稍后再试或到窗口办理", "Text messages cannot be sent at the moment; please try again later or visit a service window"),
            C::TemporarilyUnavailable { .. } => m("系统繁忙,未作任何变更,请稍后重试", "The service is busy; nothing was changed, please try again in a moment"),
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
