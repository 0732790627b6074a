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
const VARIANTS: usize = 59;
fn slot(c: &ServerErrorCode) -> usize {
    use ServerErrorCode as C;
    match c {
        C::MalformedJson { .. } => 0,
        C::BodyUnreadable => 1,
        C::IdempotencyKeyMissing => 2,
        C::IdempotencyKeyInvalid(_) => 3,
        C::Unauthenticated => 4,
        C::PaymentFailed { .. } => 5,
        C::NotAnOfficer => 6,
        C::CsrfCheckFailed(_) => 7,
        C::NotFound(_) => 8,
        C::Conflict => 9,
        C::Refused => 10,
        C::ClockFixed => 11,
        C::IdempotencyKeyInUse => 12,
        C::AmountChanged { .. } => 13,
        C::ManualReviewNotAvailable => 14,
        C::ApplicationNotInReview => 15,
        C::ApplicationAlreadyCommitted => 16,
        C::ApplicationInReview => 17,
        C::ApplicationClosed => 18,
        C::PhoneAlreadyRegistered(_) => 19,
        C::IdentityNotVerified => 20,
        C::IdentityMismatch => 21,
        C::QrExpired => 22,
        C::QrReplaced => 23,
        C::QrAlreadyUsed => 24,
        C::SmsCodeUsed => 25,
        C::SmsCodeExpired => 26,
        C::PayloadTooLarge => 27,
        C::UnsupportedMediaType => 28,
        C::UnknownField { .. } => 29,
        C::MissingField(_) => 30,
        C::InvalidField(_) => 31,
        C::InvalidQuery { .. } => 32,
        C::IdempotencyKeyReused => 33,
        C::QrUnknown => 34,
        C::SmsCodeLocked => 35,
        C::SmsCodeWrong { .. } => 36,
        C::RealPersonVerificationFailed => 37,
        C::RealPersonVerificationUnavailable => 38,
        C::SmsResendTooSoon { .. } => 39,
        C::SmsDailyCapReached { .. } => 40,
        C::TooManyFailures => 41,
        C::Internal => 42,
        C::ApplicationExpired => 43,
        C::SmsLimitReached { .. } => 44,
        C::SmsBudgetReached { .. } => 45,
        C::ApplicationWithdrawn => 46,
        C::ReviewPhotoMissing => 47,
        C::PhotoTooLarge { .. } => 48,
        C::PhotoUnreadable => 49,
        C::IdentityAlreadyVerified => 50,
        C::VerificationPending => 51,
        C::VerificationResultReplayed => 52,
        C::VerificationResultInvalid => 53,
        C::VerificationResultMismatch => 54,
        C::VerificationResultStale => 55,
        C::VerificationDailyCapReached { .. } => 56,
        C::SmsUnavailable => 57,
        C::TemporarilyUnavailable { .. } => 58,
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
