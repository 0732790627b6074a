//! Answers stored under the request's idempotency key in the same transaction as the work they report.

use crate::error::{ServerError, ServerErrorCode, ServerResult};
use crate::flows::sms::{self, Delivery};
use crate::http::error::status;
use crate::http::guard::{answer_of_the_first, AnswerKey, PendingKey, RESPONSE_LIMIT};
use crate::state::AppState;
use crate::store::Tx;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use renche::Timestamp;
use serde::Serialize;

/// A handler's answer, made inside its write transaction so that it can be stored there with the work.
pub struct Answer {
    status: StatusCode,
    body: Vec<u8>,
    /// The error this answer renders, logged once the transaction is over.
    error: Option<ServerError>,
}

impl Answer {
    pub fn json(status: StatusCode, value: &impl Serialize) -> ServerResult<Answer> {
        let body = serde_json::to_vec(value)
            .map_err(|e| ServerError::internal(format!("answer body: {e}")))?;
        Ok(Answer {
            status,
            body,
            error: None,
        })
    }

    /// An error answer whose transaction is still committed (a refusal that is audited, a wrong code that
    /// is counted).
    pub fn error(e: ServerError) -> Answer {
        Answer {
            status: status(e.kind),
            body: e.body_bytes(),
            error: Some(e),
        }
    }

    fn into_response(self) -> Response {
        if let Some(e) = &self.error {
            e.log();
        }
        let mut resp = (self.status, self.body).into_response();
        resp.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        resp
    }
}

/// Settles the request's idempotency key inside the transaction: stores the answer, or releases the key
/// after a fault of ours (as the guard would, but atomically with the work).
fn settle_key(
    tx: &mut dyn Tx,
    key: &PendingKey,
    answer: &Answer,
    now: Timestamp,
) -> ServerResult<()> {
    let status = answer.status.as_u16();
    match (answer.status.is_server_error(), key.claimed) {
        // Not claimed: nothing stored, so nothing to release.
        (true, false) => {}
        (true, true) => tx.idempotency_forget(&key.scope, &key.key)?,
        _ if answer.body.len() > RESPONSE_LIMIT => {
            return Err(ServerError::internal("answer too large to store"))
        }
        (false, true) => tx.idempotency_finish(&key.scope, &key.key, status, &answer.body, now)?,
        (false, false) => tx.idempotency_store_answer(
            &key.scope,
            &key.key,
            &key.fingerprint,
            status,
            &answer.body,
            now,
        )?,
    }
    Ok(())
}

/// `write_answer` for a handler that also needs something out of the transaction once it has committed:
/// None instead when the answer is another request's, with the same key, that committed first.
async fn write_answer_with<T, F>(
    state: &AppState,
    key: &AnswerKey,
    f: F,
) -> ServerResult<(Response, Option<T>)>
where
    F: FnOnce(&mut dyn Tx) -> ServerResult<(Answer, T)> + Send + 'static,
    T: Send + 'static,
{
    let pending = key.0.clone();
    let now = state.now();
    let written = state
        .write(move |tx| {
            let (answer, extra) = f(tx)?;
            if let Some(k) = &pending {
                settle_key(tx, k, &answer, now)?;
            }
            Ok::<_, ServerError>((answer, extra))
        })
        .await;
    let (answer, extra) = match (written, &key.0) {
        (Ok(written), _) => written,
        (Err(e), Some(k)) if !k.claimed && e.code == taken_code() => {
            k.mark_settled();
            return answer_of_the_first(state, k).await.map(|resp| (resp, None));
        }
        (Err(e), _) => return Err(e),
    };
    if let Some(k) = &key.0 {
        k.mark_settled();
    }
    Ok((answer.into_response(), Some(extra)))
}

/// The code a job's error has when the key it stored was taken (`StoreError::KeyTaken`).
fn taken_code() -> &'static str {
    use renche::message::Explain as _;
    ServerErrorCode::IdempotencyKeyInUse.code()
}

/// Runs `f` in one write transaction and stores the answer it makes under the request's idempotency key
/// in that same transaction: after a crash either both the work and its stored answer exist or neither
/// does, so a retry never runs committed work again. An `Err` rolls everything back and leaves the key
/// to the guard (stored for a client error, released for a fault of ours), as for any handler.
///
/// Every state change answers this way except registration, sign-in and sign-out: their answers set a
/// cookie, which a stored answer does not carry, and they end the session their key is scoped to, so no
/// retry reaches that key; the guard stores their answers afterwards.
pub async fn write_answer<F>(state: &AppState, key: &AnswerKey, f: F) -> ServerResult<Response>
where
    F: FnOnce(&mut dyn Tx) -> ServerResult<Answer> + Send + 'static,
{
    write_answer_with(state, key, move |tx| f(tx).map(|a| (a, ())))
        .await
        .map(|(resp, _)| resp)
}

/// `write_answer` for a handler whose transaction leaves an SMS code to send: the code goes to the gateway
/// only once the transaction, and the answer stored with it, has committed.
pub async fn write_answer_then_deliver<F>(
    state: &AppState,
    key: &AnswerKey,
    f: F,
) -> ServerResult<Response>
where
    F: FnOnce(&mut dyn Tx) -> ServerResult<(Answer, Option<Delivery>)> + Send + 'static,
{
    let (resp, delivery) = write_answer_with(state, key, f).await?;
    if let Some(Some(delivery)) = delivery {
        sms::deliver(&state.sms, delivery, state.now(), state.policies().sms());
    }
    Ok(resp)
}
