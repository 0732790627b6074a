//! The audit log: every decision and every state change, with who made it.

use crate::error::ServerResult;
use crate::store::{AuditEntry, Tx};
use renche::Timestamp;

/// One entry of the audit log in the making: what was done to what, then who did it and the detail
/// that explains it, written in the transaction that did the work.
#[must_use = "an audit entry is recorded only by `write`"]
pub struct Audit {
    action: &'static str,
    subject: String,
    actor_id: Option<i64>,
    detail: serde_json::Value,
}

impl Audit {
    /// `action` on `subject` (`"binding.created"` on `"binding:12"`), by no one yet and with no detail.
    pub fn of(action: &'static str, subject: impl Into<String>) -> Audit {
        Audit {
            action,
            subject: subject.into(),
            actor_id: None,
            detail: serde_json::json!({}),
        }
    }

    /// The person who acted (none for the system's own steps, such as a provider's callback).
    pub fn by(mut self, actor_id: impl Into<Option<i64>>) -> Audit {
        self.actor_id = actor_id.into();
        self
    }

    pub fn detail(mut self, detail: serde_json::Value) -> Audit {
        self.detail = detail;
        self
    }

    pub fn write(self, tx: &mut dyn Tx, at: Timestamp) -> ServerResult<()> {
        tx.append_audit(&AuditEntry {
            at,
            actor_id: self.actor_id,
            action: self.action,
            subject: self.subject,
            detail: self.detail,
        })?;
        Ok(())
    }
}
