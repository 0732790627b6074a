//! Manual review with an ID photo: the applicant whose verification failed or was unavailable uploads a
//! photo of themselves holding their ID card; only an officer on that review sees it, and every look is
//! audited.

use crate::error::{ServerError, ServerErrorCode, ServerResult};
use crate::flows::applications::{own_application, require_awaiting};
use crate::flows::audit::Audit;
use crate::flows::officer::require_officer;
use crate::flows::OrNotFound;
use crate::store::{
    ApplicationRow, ApplicationStatus, PersonRow, ReviewPhotoRow, Tx, VehicleRow, Verification,
};
use renche::{code_enum, Timestamp};
use serde_json::json;

/// Largest photo kept: a phone picture, compressed, fits; a raw camera file does not.
pub const PHOTO_LIMIT: usize = 2 * 1024 * 1024;

code_enum! {
    /// Why an officer rejects a manual review (a list, so that the applicant learns what to fix).
    RejectReason, "rejection reason (photo_unclear, face_mismatch, id_invalid or other)" {
        PhotoUnclear = "photo_unclear", "照片不清晰", "the photo is not clear";
        FaceMismatch = "face_mismatch", "人证不符", "the person does not match the ID card";
        IdInvalid = "id_invalid", "证件无效", "the ID card is not valid";
        Other = "other", "其他", "another reason";
    }
}

/// The image type read from the bytes; `None` for anything that is not a whole JPEG or PNG.
pub fn sniff_image(bytes: &[u8]) -> Option<&'static str> {
    if is_whole_jpeg(bytes) {
        Some("image/jpeg")
    } else if is_whole_png(bytes) {
        Some("image/png")
    } else {
        None
    }
}

/// Starts with SOI and a marker, ends with EOI: a cut-off upload loses its end marker.
fn is_whole_jpeg(b: &[u8]) -> bool {
    b.len() > 4 && b.starts_with(&[0xFF, 0xD8, 0xFF]) && b.ends_with(&[0xFF, 0xD9])
}

/// The signature, an IHDR chunk first, every chunk's length inside the bytes, IEND last and nothing after.
fn is_whole_png(b: &[u8]) -> bool {
    const SIGNATURE: &[u8] = &[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    let Some(mut rest) = b.strip_prefix(SIGNATURE) else {
        return false;
    };
    let mut first = true;
    loop {
        let (Some(len), Some(kind)) = (rest.get(..4), rest.get(4..8)) else {
            return false;
        };
        let Some(len) = <[u8; 4]>::try_from(len)
            .ok()
            .and_then(|l| usize::try_from(u32::from_be_bytes(l)).ok())
        else {
            return false;
        };
        if first && kind != b"IHDR" {
            return false;
        }
        first = false;
        let Some(next) = len.checked_add(12).and_then(|end| rest.get(end..)) else {
            return false;
        };
        if kind == b"IEND" {
            return next.is_empty();
        }
        rest = next;
    }
}

/// Keeps the applicant's photo with their application; refused before verification has failed or once
/// the application has moved on. Bad bytes are refused before anything is written.
pub fn upload_photo(
    tx: &mut dyn Tx,
    now: Timestamp,
    binder: i64,
    application_id: &str,
    image: &[u8],
) -> ServerResult<(ApplicationRow, VehicleRow, ReviewPhotoRow)> {
    let content_type = check_photo(image)?;
    let (a, v) = own_application(tx, application_id, binder)?;
    require_awaiting(&a)?;
    if !matches!(
        a.verification,
        Some(Verification::Failed | Verification::Unavailable)
    ) {
        return Err(ServerError::of(ServerErrorCode::ManualReviewNotAvailable));
    }
    tx.put_review_photo(&a.id, content_type, image, now)?;
    Audit::of(
        "binding_application.photo_uploaded",
        format!("application:{}", a.id),
    )
    .by(binder)
    .detail(json!({ "contentType": content_type, "bytes": image.len() }))
    .write(tx, now)?;
    let photo = tx
        .review_photo(&a.id)?
        .ok_or_else(|| ServerError::internal("review photo vanished after insert"))?;
    Ok((a, v, photo))
}

/// The photo's type, or the code that says why it cannot be kept.
pub fn check_photo(image: &[u8]) -> ServerResult<&'static str> {
    if image.len() > PHOTO_LIMIT {
        return Err(photo_too_large());
    }
    sniff_image(image).ok_or_else(|| ServerError::of(ServerErrorCode::PhotoUnreadable))
}

pub fn photo_too_large() -> ServerError {
    ServerError::of(ServerErrorCode::PhotoTooLarge {
        limit_kb: u32::try_from(PHOTO_LIMIT / 1024).unwrap_or(u32::MAX),
    })
}

/// What the officer sees of one review: the person unmasked, the vehicle, the note, the photo's facts.
pub struct ReviewCase {
    pub application: ApplicationRow,
    pub vehicle: VehicleRow,
    pub binder: PersonRow,
    pub photo: Option<ReviewPhotoRow>,
}

/// An application in review, opened by an officer and written to the audit log as `event`: the unmasked
/// data is seen only this way.
fn open_review(
    tx: &mut dyn Tx,
    now: Timestamp,
    officer: i64,
    application_id: &str,
    event: &'static str,
) -> ServerResult<ApplicationRow> {
    require_officer(tx, officer)?;
    let application = tx
        .application(application_id)?
        .filter(|a| a.status == ApplicationStatus::InReview)
        .ok_or_else(ServerError::not_found)?;
    Audit::of(event, format!("application:{}", application.id))
        .by(officer)
        .detail(json!({ "binder": application.binder_id }))
        .write(tx, now)?;
    Ok(application)
}

/// One review for an officer.
pub fn review_case(
    tx: &mut dyn Tx,
    now: Timestamp,
    officer: i64,
    application_id: &str,
) -> ServerResult<ReviewCase> {
    let viewed = "binding_application.review_viewed";
    let application = open_review(tx, now, officer, application_id, viewed)?;
    let vehicle = tx.vehicle(application.vehicle_id).or_not_found()?;
    let binder = tx.person(application.binder_id).or_not_found()?;
    let photo = tx.review_photo(&application.id)?;
    Ok(ReviewCase {
        application,
        vehicle,
        binder,
        photo,
    })
}

/// The photo's bytes and type for an officer on that review.
pub fn review_photo(
    tx: &mut dyn Tx,
    now: Timestamp,
    officer: i64,
    application_id: &str,
) -> ServerResult<(String, Vec<u8>)> {
    let viewed = "binding_application.photo_viewed";
    let a = open_review(tx, now, officer, application_id, viewed)?;
    let meta = tx.review_photo(&a.id).or_not_found()?;
    let image = tx.review_photo_image(&a.id).or_not_found()?;
    Ok((meta.content_type, image))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(chunks: &[(&[u8; 4], &[u8])]) -> Vec<u8> {
        let mut b = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
        for (kind, data) in chunks {
            b.extend_from_slice(&(data.len() as u32).to_be_bytes());
            b.extend_from_slice(*kind);
            b.extend_from_slice(data);
            b.extend_from_slice(&[0, 0, 0, 0]);
        }
        b
    }

    #[test]
    fn whole_images_pass_and_cut_ones_do_not() {
        let good = png(&[(b"IHDR", &[0; 13]), (b"IDAT", &[1, 2, 3]), (b"IEND", &[])]);
        assert_eq!(sniff_image(&good), Some("image/png"));
        assert_eq!(sniff_image(&good[..good.len() - 12]), None, "no IEND");
        assert_eq!(sniff_image(&good[..good.len() - 1]), None, "cut IEND");
        let mut trailing = good.clone();
        trailing.push(0);
        assert_eq!(sniff_image(&trailing), None, "bytes after IEND");
        let no_ihdr = png(&[(b"IDAT", &[1]), (b"IEND", &[])]);
        assert_eq!(sniff_image(&no_ihdr), None);
        let jpeg = [0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, 0xFF, 0xD9];
        assert_eq!(sniff_image(&jpeg), Some("image/jpeg"));
        assert_eq!(sniff_image(&jpeg[..6]), None, "no EOI");
        assert_eq!(sniff_image(b"GIF89a...."), None);
        assert_eq!(sniff_image(b""), None);
    }
}
