//! Real-person verification (实人认证).

use crate::store::BoxFuture;
use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VerificationOutcome {
    Pass,
    Fail,
    Unavailable,
    Pending,
}

pub trait IdentityVerifier: Send + Sync + 'static {
    /// Asks whether this person has passed real-person verification just now.
    fn verify(&self, person_id: i64) -> BoxFuture<'_, VerificationOutcome>;
}

/// Development verifier: answers whatever the tester set for the person through `POST /api/v1/dev/identity`;
/// until then it answers *pending*. It never passes anyone by itself.
#[derive(Default)]
pub struct DevIdentityVerifier {
    outcomes: Mutex<HashMap<i64, VerificationOutcome>>,
}

impl DevIdentityVerifier {
    pub fn set(&self, person_id: i64, outcome: VerificationOutcome) {
        if let Ok(mut m) = self.outcomes.lock() {
            m.insert(person_id, outcome);
        }
    }
}

impl IdentityVerifier for DevIdentityVerifier {
    fn verify(&self, person_id: i64) -> BoxFuture<'_, VerificationOutcome> {
        let outcome = self
            .outcomes
            .lock()
            .ok()
            .and_then(|m| m.get(&person_id).copied())
            .unwrap_or(VerificationOutcome::Pending);
        Box::pin(async move { outcome })
    }
}
