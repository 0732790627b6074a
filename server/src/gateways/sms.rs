//! SMS delivery.

use crate::store::BoxFuture;
use renche::Timestamp;
use std::sync::Mutex;

pub trait SmsGateway: Send + Sync + 'static {
    /// Hands one message to the carrier. Delivery runs after the request is answered, so that its time
    /// cannot tell a caller whether a message was sent.
    fn send(&self, message: OutboxMessage) -> BoxFuture<'_, Result<(), String>>;
    /// Whether messages can go anywhere at all; a request for a code is refused when not, rather than
    /// answered "sent".
    fn configured(&self) -> bool {
        true
    }
}

/// One text message to a phone: what the carrier is handed, and what the development outbox keeps.
#[derive(Clone, Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OutboxMessage {
    pub phone: String,
    pub text: String,
    /// The one-time code inside `text` (the development outbox shows it apart).
    pub code: String,
    pub sent_at: Timestamp,
}

/// Development gateway: keeps every message in memory (readable at `GET /api/v1/dev/sms-outbox`) and
/// prints it in the server log. Sends nothing anywhere.
#[derive(Default)]
pub struct DevSmsOutbox {
    messages: Mutex<Vec<OutboxMessage>>,
}

impl DevSmsOutbox {
    /// Newest first, optionally for one phone.
    pub fn messages(&self, phone: Option<&str>) -> Vec<OutboxMessage> {
        let all = self.messages.lock().map(|m| m.clone()).unwrap_or_default();
        all.into_iter()
            .rev()
            .filter(|m| phone.is_none_or(|p| m.phone == p))
            .collect()
    }
}

impl SmsGateway for DevSmsOutbox {
    fn send(&self, message: OutboxMessage) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            tracing::info!(target: "dev_sms_outbox", phone = %message.phone, text = %message.text, "SMS (development outbox, not sent)");
            let mut m = self
                .messages
                .lock()
                .map_err(|_| "outbox lock poisoned".to_owned())?;
            // Bounded: a development outbox is not a message archive.
            if m.len() >= 10_000 {
                m.drain(..5_000);
            }
            m.push(message);
            Ok(())
        })
    }
}
