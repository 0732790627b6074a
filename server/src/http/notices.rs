//! The inbox: marking notices read. (The list itself is `GET /notifications`, with the person's record.)

use crate::error::{ServerError, ServerResult};
use crate::http::extract::{Change, NoBody, PathId};
use crate::http::idempotency::Answer;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

pub(super) async fn mark_read(PathId(id): PathId, c: Change<NoBody>) -> ServerResult<Response> {
    mark(c, Some(id)).await
}

pub(super) async fn mark_all_read(c: Change<NoBody>) -> ServerResult<Response> {
    mark(c, None).await
}

async fn mark(c: Change<NoBody>, id: Option<i64>) -> ServerResult<Response> {
    c.commit(move |tx, _, _, who| {
        let person = who.person;
        let changed = tx.mark_notifications_read(person, id, who.now)?;
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
