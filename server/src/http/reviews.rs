//! Manual review with an ID photo: the applicant's upload, and the officer's view of one review (the
//! person unmasked, the photo), every look audited. Approving and rejecting are with the window console.

use crate::error::{ServerError, ServerErrorCode, ServerResult};
use crate::flows::facts::id_string;
use crate::flows::review::{self, RejectReason, PHOTO_LIMIT};
use crate::http::extract::{Asking, PathToken};
use crate::http::guard::AnswerKey;
use crate::http::idempotency::{write_answer, Answer};
use crate::http::views::{ApplicationView, VehicleView};
use axum::extract::Request;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use renche::Timestamp;
use serde::Serialize;
use serde_json::json;

/// The raw image as the body: `image/jpeg` or `image/png`. The type kept is the one the bytes show.
pub(super) async fn upload_photo(
    asking: Asking,
    key: AnswerKey,
    PathToken(id): PathToken,
    req: Request,
) -> ServerResult<Response> {
    let types = req.headers().get_all(CONTENT_TYPE);
    let declared: Vec<String> = types
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .collect();
    if declared.len() != 1
        || !matches!(
            declared.first().map(String::as_str),
            Some("image/jpeg" | "image/png")
        )
    {
        return Err(ServerError::of(ServerErrorCode::UnsupportedMediaType));
    }
    // One byte past the limit is enough to tell that it is too large.
    let bytes = axum::body::to_bytes(req.into_body(), PHOTO_LIMIT + 1)
        .await
        .map_err(|_| review::photo_too_large())?;
    review::check_photo(&bytes)?;
    let who = asking.who;
    write_answer(&asking.state, &key, move |tx| {
        let (a, v, photo) = review::upload_photo(tx, who.now, who.person, &id, &bytes)?;
        Answer::json(
            StatusCode::CREATED,
            &json!({
                "application": ApplicationView::of(&a, &v),
                "photo": { "contentType": photo.content_type, "bytes": photo.size, "uploadedAt": photo.uploaded_at },
            }),
        )
    })
    .await
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ReasonView {
    code: &'static str,
    name: renche::Message,
}

pub(super) async fn reject_reasons() -> Json<serde_json::Value> {
    let reasons: Vec<ReasonView> = RejectReason::ALL
        .iter()
        .map(|r| ReasonView {
            code: r.code(),
            name: renche::Message::new(r.name_zh(), r.name_en()),
        })
        .collect();
    Json(json!({ "reasons": reasons }))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ReviewCaseView {
    application: ApplicationView,
    vehicle: VehicleView,
    binder: BinderFull,
    note: Option<String>,
    photo: Option<PhotoView>,
}

/// The applicant unmasked: an officer checks the photo against these.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BinderFull {
    id: String,
    name: String,
    resident_id: String,
    phone_masked: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PhotoView {
    content_type: String,
    bytes: usize,
    uploaded_at: Timestamp,
    url: String,
}

/// A write job, not a read: the look itself is written to the audit log.
pub(super) async fn review_case(
    asking: Asking,
    PathToken(id): PathToken,
) -> ServerResult<Response> {
    let c = asking
        .write(move |tx, _, who| review::review_case(tx, who.now, who.person, &id))
        .await?;
    let view = ReviewCaseView {
        application: ApplicationView::of(&c.application, &c.vehicle),
        vehicle: VehicleView::of(&c.vehicle),
        binder: BinderFull {
            id: id_string(c.binder.id),
            name: c.binder.name.clone(),
            resident_id: c.binder.resident_id.as_str().to_owned(),
            phone_masked: c.binder.phone.masked(),
        },
        note: c.application.note.clone(),
        photo: c.photo.map(|p| PhotoView {
            content_type: p.content_type,
            bytes: p.size,
            uploaded_at: p.uploaded_at,
            url: format!("/api/v1/window/reviews/{}/photo", c.application.id),
        }),
    };
    Ok(no_store(Json(view).into_response()))
}

pub(super) async fn review_photo(
    asking: Asking,
    PathToken(id): PathToken,
) -> ServerResult<Response> {
    let (content_type, image) = asking
        .write(move |tx, _, who| review::review_photo(tx, who.now, who.person, &id))
        .await?;
    let mut resp = image.into_response();
    if let Ok(v) = HeaderValue::from_str(&content_type) {
        resp.headers_mut().insert(CONTENT_TYPE, v);
    }
    Ok(no_store(resp))
}

/// Personal data is not kept in caches along the way or in the browser.
fn no_store(mut resp: Response) -> Response {
    resp.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp.headers_mut().insert(
        axum::http::header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    resp
}
