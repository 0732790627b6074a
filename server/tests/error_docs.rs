//! The server's error codes are listed in docs/reasons.md, after the core's, under "## Server errors":
//! this test fails when that section and the code differ, or when a variant has no example or shares
//! its code with another. Regenerate with `UPDATE_DOCS=1 cargo test -p renche-server --test error_docs`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use renche::message::Explain;
use renche_server::error::{ServerError, ServerErrorCode};
use renche_server::http::error::status;
use std::collections::BTreeMap;

const MARKER: &str = "\n## Server errors\n";

/// Variants in declaration order. The match has no wildcard, so a new variant does not compile until it
/// gets a slot here, and `VARIANTS` then has to grow for its example to be accepted.
const VARIANTS: usize = 61;
fn slot(c: &ServerErrorCode) -> usize {
    use ServerErrorCode as C;
    match c {
        C::MalformedJson { .. } => 0,
        C::BodyUnreadable => 1,
        C::IdempotencyKeyMissing => 2,
        C::IdempotencyKeyInvalid(_) => 3,
        C::Unauthenticated => 4,
        C::PaymentFailed { .. } => 5,
        C::KioskNotRecognised(_) => 6,
        C::NotAnOfficer => 7,
        C::CsrfCheckFailed(_) => 8,
        C::NotFound(_) => 9,
        C::Conflict => 10,
        C::Refused => 11,
        C::ClockFixed => 12,
        C::IdempotencyKeyInUse => 13,
        C::AmountChanged { .. } => 14,
        C::ManualReviewNotAvailable => 15,
        C::ApplicationNotInReview => 16,
        C::ApplicationAlreadyCommitted => 17,
        C::ApplicationInReview => 18,
        C::ApplicationClosed => 19,
        C::PhoneAlreadyRegistered(_) => 20,
        C::IdentityNotVerified => 21,
        C::IdentityMismatch => 22,
        C::QrExpired => 23,
        C::QrReplaced => 24,
        C::QrAlreadyUsed => 25,
        C::SmsCodeUsed => 26,
        C::SmsCodeExpired => 27,
        C::PayloadTooLarge => 28,
        C::UnsupportedMediaType => 29,
        C::UnknownField { .. } => 30,
        C::MissingField(_) => 31,
        C::InvalidField(_) => 32,
        C::InvalidQuery { .. } => 33,
        C::IdempotencyKeyReused => 34,
        C::QrUnknown => 35,
        C::SmsCodeLocked => 36,
        C::SmsCodeWrong { .. } => 37,
        C::RealPersonVerificationFailed => 38,
        C::RealPersonVerificationUnavailable => 39,
        C::SmsResendTooSoon { .. } => 40,
        C::SmsDailyCapReached { .. } => 41,
        C::TooManyFailures => 42,
        C::Internal => 43,
        C::ApplicationExpired => 44,
        C::SmsLimitReached { .. } => 45,
        C::SmsBudgetReached { .. } => 46,
        C::ApplicationWithdrawn => 47,
        C::ReviewPhotoMissing => 48,
        C::PhotoTooLarge { .. } => 49,
        C::PhotoUnreadable => 50,
        C::IdentityAlreadyVerified => 51,
        C::VerificationPending => 52,
        C::VerificationResultReplayed => 53,
        C::VerificationResultInvalid => 54,
        C::VerificationResultMismatch => 55,
        C::VerificationResultStale => 56,
        C::VerificationDailyCapReached { .. } => 57,
        C::SmsUnavailable => 58,
        C::TemporarilyUnavailable { .. } => 59,
        C::KioskSignInRefused(_) => 60,
    }
}

#[test]
fn every_variant_has_an_example_and_its_own_code() {
    let mut code_of: BTreeMap<usize, &'static str> = BTreeMap::new();
    let mut slot_of: BTreeMap<&'static str, usize> = BTreeMap::new();
    for e in ServerErrorCode::examples() {
        let s = slot(&e);
        assert!(s < VARIANTS, "slot {s} of {e:?} is not below VARIANTS");
        let code = e.code();
        // A variant's texts may differ between its examples, its code may not.
        if let Some(earlier) = code_of.insert(s, code) {
            assert_eq!(earlier, code, "{e:?} changes its variant's code");
        }
        // One code, one variant: a client can tell errors apart by the code alone.
        if let Some(other) = slot_of.insert(code, s) {
            assert_eq!(other, s, "{code} is the code of two variants");
        }
    }
    let missing: Vec<usize> = (0..VARIANTS).filter(|s| !code_of.contains_key(s)).collect();
    assert!(
        missing.is_empty(),
        "variants in slots {missing:?} have no example in ServerErrorCode::examples()"
    );
}

#[test]
fn examples_are_distinct_and_codes_are_screaming_snake_case() {
    let examples = ServerErrorCode::examples();
    for (i, a) in examples.iter().enumerate() {
        assert!(
            !examples[i + 1..].contains(a),
            "{a:?} is listed twice in examples()"
        );
        assert!(
            a.code()
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_'),
            "{} is not SCREAMING_SNAKE_CASE",
            a.code()
        );
    }
}

/// What is documented is what is sent: the JSON body of each example carries its code, message and params.
#[test]
fn the_error_body_is_the_explanation() {
    for c in ServerErrorCode::examples() {
        let e = ServerError::of(c.clone());
        assert_eq!(e.kind, c.kind());
        let body: serde_json::Value = serde_json::from_slice(&e.body_bytes()).unwrap();
        let err = &body["error"];
        assert_eq!(err["code"], c.code());
        assert_eq!(err["message"], serde_json::to_value(c.message()).unwrap());
        let params = c.params();
        if params.is_empty() {
            assert!(err.get("params").is_none(), "{c:?} sends empty params");
        } else {
            assert_eq!(err["params"], serde_json::to_value(&params).unwrap());
        }
    }
}

fn section() -> String {
    let mut out = String::from(
        "## Server errors\n\n\
         Generated by `UPDATE_DOCS=1 cargo test -p renche-server --test error_docs` from\n\
         `ServerErrorCode::examples()`: the errors the server itself names, besides the refusals and input\n\
         errors above that it passes on from the core (HTTP 409 and 422). A code listed twice has one\n\
         meaning and more than one text.\n\n\
         | code | HTTP status | example params | zh-CN | en |\n|---|---|---|---|---|\n",
    );
    for e in ServerErrorCode::examples() {
        let s = status(e.kind());
        let params = serde_json::to_string(&e.params()).unwrap();
        let m = e.message();
        out.push_str(&format!(
            "| `{}` | {} {} | `{}` | {} | {} |\n",
            e.code(),
            s.as_u16(),
            s.canonical_reason().unwrap_or(""),
            params,
            m.zh.replace('|', "\\|"),
            m.en.replace('|', "\\|"),
        ));
    }
    out
}

#[test]
fn reasons_doc_ends_with_the_server_errors() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/reasons.md");
    let on_disk = std::fs::read_to_string(path).unwrap_or_default();
    let core = on_disk
        .find(MARKER)
        .map_or(on_disk.as_str(), |i| &on_disk[..i]);
    let wanted = format!("{core}\n{}", section());
    if std::env::var_os("UPDATE_DOCS").is_some() && wanted != on_disk {
        std::fs::write(path, &wanted).unwrap();
        return;
    }
    assert!(
        on_disk == wanted,
        "docs/reasons.md's server errors are stale: run \
         UPDATE_DOCS=1 cargo test -p renche-server --test error_docs"
    );
}
