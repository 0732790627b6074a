//! The server's decision on a commit, beside what the browser expected.

use renche::Reason;
use serde::Serialize;

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

impl ClientExpectation {
    pub fn new(policy_version: Option<String>, expected_allowed: Option<bool>) -> Self {
        ClientExpectation {
            policy_version,
            expected_allowed,
        }
    }
}
