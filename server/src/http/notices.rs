//! The inbox: marking notices read. (The list itself is `GET /notifications`, with the person's record.)

use crate::error::{ServerError, ServerResult};
use crate::http::extract::{Change, NoBody, PathId};
use crate::http::guard::{AnswerKey, SignedIn};
use crate::http::idempotency::{write_answer, Answer};
use crate::state::SharedState;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

pub(super) async fn mark_read(PathId(id): PathId, c: Change<NoBody>) -> ServerResult<Response> {
    let (state, me, key, _) = c.parts();
    mark(state, me, key, Some(id)).await
}

pub(super) async fn mark_all_read(c: Change<NoBody>) -> ServerResult<Response> {
    let (state, me, key, _) = c.parts();
    mark(state, me, key, None).await
}

async fn mark(
    state: SharedState,
    me: SignedIn,
    key: AnswerKey,
    id: Option<i64>,
) -> ServerResult<Response> {
    let person = me.person_id;
    let now = state.now();
    write_answer(&state, &key, move |tx| {
        let changed = tx.mark_notifications_read(person, id, now)?;
        // Someone else's notice, or one that does not exist, is not there; one read already is fine.
        if let Some(id) = id {
            if changed == 0 && !tx.notifications_of(person, 500)?.iter().any(|n| n.id == id) {
                return Err(ServerError::not_found());
            }
        }
        let unread = tx.count_unread_notifications(person)?;
        Answer::json(StatusCode::OK, &json!({ "unreadCount": unread }))
    })
    .await
}
