//! The audit log: every decision and every state change, with who made it.

use crate::error::ServerResult;
use crate::store::{AuditEntry, Tx};
use renche::Timestamp;

pub fn audit(
    tx: &mut dyn Tx,
    at: Timestamp,
    actor_id: Option<i64>,
    action: &'static str,
    subject: String,
    detail: serde_json::Value,
) -> ServerResult<()> {
    tx.append_audit(&AuditEntry {
        at,
        actor_id,
        action,
        subject,
        detail,
    })?;
    Ok(())
}
