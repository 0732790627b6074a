//! Both sides are told, history stays, owners withdraw applications, manual review with an ID photo.
use crate::helpers::*;
use renche::domain::PlateType;
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn qr_application(app: &TestApp, owner: &Client, binder: &Client, plate: &str) -> String {
    let id = app.vehicle_id(PlateType::SmallNewEnergy, plate).await;
    let qr = owner
        .post(&format!("/api/v1/vehicles/{id}/qr-codes"), json!({}))
        .await;
    assert_eq!(qr.status, StatusCode::CREATED, "{:?}", qr.body);
    let opened = binder
        .post(
            "/api/v1/bindings/qr/redeem",
            json!({ "qrText": qr.body["qrText"] }),
        )
        .await;
    assert_eq!(opened.status, StatusCode::CREATED, "{:?}", opened.body);
    opened.body["applicationId"].as_str().unwrap().to_owned()
}

fn kinds(notes: &Value) -> Vec<String> {
    notes["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn both_sides_are_told_and_history_keeps_the_binding_and_handled_violations() {
    let app = spawn_app().await;
    let owner = app.signed_in(OWNER).await;
    let binder = app.signed_in(NEWCOMER).await;
    let app_id = qr_application(&app, &owner, &binder, "粤SD12345").await;
    let done = binder
        .commit_verified(&app_id, json!({ "relationship": "child" }), "pass")
        .await;
    assert_eq!(done.status, StatusCode::CREATED, "{:?}", done.body);
    let binding_id = done.body["binding"]["id"].as_str().unwrap().to_owned();

    // The binder gets a receipt, the owner is told who (masked) and how.
    let b_notes = binder.get("/api/v1/notifications").await;
    assert_eq!(kinds(&b_notes.body), ["binding_created"]);
    assert_eq!(b_notes.body["unreadCount"], 1);
    let o_notes = owner.get("/api/v1/notifications").await;
    assert_eq!(o_notes.body["notifications"][0]["kind"], "binding_created");
    let text = o_notes.body["notifications"][0]["message"]["zh"]
        .as_str()
        .unwrap();
    assert!(text.contains("赵*") && !text.contains("赵新人"), "{text}");
    assert!(text.contains("扫码绑定"), "{text}");
    assert_eq!(o_notes.body["notifications"][0]["read"], false);

    // Read one, then all; someone else's is not there.
    let nid = o_notes.body["notifications"][0]["id"].as_str().unwrap();
    let other = binder
        .post(&format!("/api/v1/notifications/{nid}/read"), json!({}))
        .await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
    let read = owner
        .post(&format!("/api/v1/notifications/{nid}/read"), json!({}))
        .await;
    assert_eq!(read.status, StatusCode::OK, "{:?}", read.body);
    let o_notes = owner.get("/api/v1/notifications").await;
    assert_eq!(o_notes.body["notifications"][0]["read"], true);
    let all = binder.post("/api/v1/notifications/read", json!({})).await;
    assert_eq!(all.body["unreadCount"], 0);

    // The binder removes it: both are told, and both histories keep it, with who removed it.
    let removed = binder
        .delete(&format!("/api/v1/bindings/{binding_id}"))
        .await;
    assert_eq!(removed.status, StatusCode::OK, "{:?}", removed.body);
    assert_eq!(
        kinds(&binder.get("/api/v1/notifications").await.body)[0],
        "binding_removed"
    );
    assert_eq!(
        kinds(&owner.get("/api/v1/notifications").await.body)[0],
        "binding_removed"
    );
    let h = binder.get("/api/v1/history").await;
    assert_eq!(h.status, StatusCode::OK);
    let mine = &h.body["asBinder"][0];
    assert_eq!(mine["bindingId"], binding_id.as_str());
    assert_eq!(mine["method"], "qr");
    assert_eq!(mine["active"], false);
    assert_eq!(mine["removed"]["role"], "binder");
    let h = owner.get("/api/v1/history").await;
    let theirs = h.body["asOwner"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["bindingId"] == binding_id.as_str())
        .unwrap();
    assert_eq!(theirs["binderNameMasked"], "赵**");
    assert_eq!(theirs["removed"]["byNameMasked"], "赵**");
}

#[tokio::test]
async fn handled_violations_stay_with_the_binder_after_unbinding() {
    let app = spawn_app().await;
    let binder = app.signed_in(BINDER).await;
    let list = binder.get("/api/v1/violations").await;
    let car = list.body["vehicles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["vehicle"]["plateNumber"] == "粤S12345")
        .unwrap()
        .clone();
    let v = car["violations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["code"] == "1625" && v["state"] == "unhandled")
        .unwrap()
        .clone();
    let id = v["id"].as_str().unwrap();
    app.set_payment("succeed").await;
    let done = binder
        .post(
            &format!("/api/v1/violations/{id}/handle"),
            json!({ "expectedOwedFen": 20000 }),
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{:?}", done.body);
    let bindings = binder.get("/api/v1/bindings").await;
    let b = bindings.body["bindings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["vehicle"]["plateNumber"] == "粤S12345")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = binder.delete(&format!("/api/v1/bindings/{b}")).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let h = binder.get("/api/v1/history").await;
    let handled = h.body["handledViolations"].as_array().unwrap();
    let kept = handled.iter().find(|x| x["id"] == id).unwrap();
    assert_eq!(kept["state"], "paid");
    assert_eq!(kept["paidFen"], 20000);
    assert!(kept["decisionNumber"].as_str().is_some());
}

#[tokio::test]
async fn an_owner_who_is_not_registered_gets_an_sms_for_binding_and_removal() {
    let app = spawn_app().await;
    let person = app.signed_in(NEWCOMER).await;
    let person_id = person.me_id().await;
    let vehicle_id = app.add_vehicle("粤S2Q468").await.to_string();
    let officer = app.signed_in(OFFICER).await;
    let done = officer
        .post("/api/v1/window/bindings", json!({ "personId": person_id, "vehicleId": vehicle_id,
               "documentsChecked": ["driving_licence", "id_card", "vehicle_licence"], "relationship": "friend" }))
        .await;
    assert_eq!(done.status, StatusCode::CREATED, "{:?}", done.body);
    let texts = app.sms_notices("13500000000", 1).await;
    assert_eq!(texts.len(), 1, "{texts:?}");
    assert!(
        texts[0].contains("粤S·2**68") || texts[0].contains("粤S2**68"),
        "{}",
        texts[0]
    );
    assert!(
        texts[0].contains("赵*") && texts[0].contains("窗口办理"),
        "{}",
        texts[0]
    );
    assert!(texts[0].contains("如非您本人同意"), "{}", texts[0]);
    // The binder, registered, hears in the inbox.
    assert_eq!(
        kinds(&person.get("/api/v1/notifications").await.body),
        ["binding_created"]
    );
    let binding_id = done.body["binding"]["id"].as_str().unwrap();
    let r = officer
        .delete(&format!("/api/v1/bindings/{binding_id}"))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let texts = app.sms_notices("13500000000", 2).await;
    assert_eq!(texts.len(), 2, "{texts:?}");
    assert!(
        texts[0].contains("解除") && texts[0].contains("窗口民警"),
        "{}",
        texts[0]
    );
    let notes = person.get("/api/v1/notifications").await;
    assert_eq!(kinds(&notes.body)[0], "binding_removed");
    assert!(notes.body["notifications"][0]["message"]["zh"]
        .as_str()
        .unwrap()
        .contains("窗口民警"));
}

#[tokio::test]
async fn the_owner_sees_and_withdraws_a_pending_application() {
    let app = spawn_app().await;
    let owner = app.signed_in(OWNER).await;
    let binder = app.signed_in(NEWCOMER).await;
    let app_id = qr_application(&app, &owner, &binder, "粤SD12345").await;
    let pending = owner.get("/api/v1/owner/applications").await;
    let listed = pending.body["applications"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == app_id.as_str())
        .unwrap()
        .clone();
    assert_eq!(listed["binderNameMasked"], "赵**");
    assert_eq!(listed["method"], "qr");
    // Nobody else can withdraw it, and the binder cannot see other owners' lists.
    let stranger = app.signed_in(BINDER).await;
    let r = stranger
        .post(
            &format!("/api/v1/owner/applications/{app_id}/withdraw"),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = owner
        .post(
            &format!("/api/v1/owner/applications/{app_id}/withdraw"),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["application"]["status"], "withdrawn");
    let again = owner
        .post(
            &format!("/api/v1/owner/applications/{app_id}/withdraw"),
            json!({}),
        )
        .await;
    assert_eq!(again.code(), "APPLICATION_WITHDRAWN");
    assert!(
        !owner.get("/api/v1/owner/applications").await.body["applications"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["id"] == app_id.as_str())
    );
    // The binder is told, and a later commit is refused with its code.
    assert_eq!(
        kinds(&binder.get("/api/v1/notifications").await.body)[0],
        "application_withdrawn"
    );
    // Neither a face check nor a commit is taken for it.
    let check = binder
        .start_verification(json!({ "purpose": "application", "applicationId": app_id }))
        .await;
    assert_eq!(check.code(), "APPLICATION_WITHDRAWN");
    let commit = binder
        .post(
            &format!("/api/v1/binding-applications/{app_id}/commit"),
            json!({ "relationship": "child" }),
        )
        .await;
    assert_eq!(commit.status, StatusCode::CONFLICT);
    assert_eq!(commit.code(), "APPLICATION_WITHDRAWN");
    assert!(binder.get("/api/v1/bindings").await.body["bindings"]
        .as_array()
        .unwrap()
        .is_empty());
}

fn photos_kept(app: &TestApp) -> i64 {
    app.db()
        .query_row("SELECT COUNT(*) FROM review_photos", [], |r| r.get(0))
        .unwrap()
}

#[tokio::test]
async fn bad_uploads_are_refused_with_a_code_and_leave_nothing_behind() {
    let app = spawn_app().await;
    let owner = app.signed_in(OWNER).await;
    let binder = app.signed_in(NEWCOMER).await;
    let app_id = qr_application(&app, &owner, &binder, "粤SD12345").await;
    let path = format!("/api/v1/binding-applications/{app_id}/review-photo");
    // Before verification failed there is nothing to review.
    let early = binder.put_raw(&path, "image/png", small_png()).await;
    assert_eq!(early.code(), "MANUAL_REVIEW_NOT_AVAILABLE");
    let failed = binder
        .commit_verified(&app_id, json!({ "relationship": "child" }), "fail")
        .await;
    assert_eq!(failed.code(), "REAL_PERSON_VERIFICATION_FAILED");

    let not_image = binder.put_raw(&path, "text/plain", b"hello".to_vec()).await;
    assert_eq!(not_image.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(not_image.code(), "UNSUPPORTED_MEDIA_TYPE");
    let lying = binder
        .put_raw(&path, "image/png", b"GIF89a not a png".to_vec())
        .await;
    assert_eq!(lying.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(lying.code(), "PHOTO_UNREADABLE");
    let jpeg = small_jpeg();
    let cut = binder
        .put_raw(&path, "image/jpeg", jpeg[..jpeg.len() - 2].to_vec())
        .await;
    assert_eq!(
        cut.code(),
        "PHOTO_UNREADABLE",
        "a JPEG without its end marker"
    );
    let png = small_png();
    let no_iend = binder
        .put_raw(&path, "image/png", png[..png.len() - 12].to_vec())
        .await;
    assert_eq!(no_iend.code(), "PHOTO_UNREADABLE", "a PNG without IEND");
    let mut big = small_jpeg();
    big.splice(4..4, vec![0u8; 2 * 1024 * 1024]);
    let too_big = binder.put_raw(&path, "image/jpeg", big).await;
    assert_eq!(too_big.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(too_big.code(), "PHOTO_TOO_LARGE");
    assert_eq!(
        too_big.body["error"]["params"]["limitKb"], 2048,
        "{:?}",
        too_big.body
    );
    let huge = binder
        .put_raw(&path, "image/jpeg", vec![0u8; 3 * 1024 * 1024])
        .await;
    assert_eq!(huge.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(photos_kept(&app), 0);
    // The application is still where it was: a good photo goes through.
    let ok = binder.put_raw(&path, "image/png", small_png()).await;
    assert_eq!(ok.status, StatusCode::CREATED, "{:?}", ok.body);
    assert_eq!(ok.body["photo"]["contentType"], "image/png");
    assert_eq!(photos_kept(&app), 1);
}

async fn in_review_with_photo(app: &TestApp, owner: &Client, binder: &Client) -> String {
    let app_id = qr_application(app, owner, binder, "粤SD12345").await;
    let failed = binder
        .commit_verified(&app_id, json!({ "relationship": "child" }), "fail")
        .await;
    assert_eq!(failed.code(), "REAL_PERSON_VERIFICATION_FAILED");
    // Declared PNG, but the bytes are a JPEG: the bytes decide.
    let up = binder
        .put_raw(
            &format!("/api/v1/binding-applications/{app_id}/review-photo"),
            "image/png",
            small_jpeg(),
        )
        .await;
    assert_eq!(up.status, StatusCode::CREATED, "{:?}", up.body);
    assert_eq!(up.body["photo"]["contentType"], "image/jpeg");
    let review = binder
        .post(
            &format!("/api/v1/binding-applications/{app_id}/manual-review"),
            json!({ "relationship": "child", "note": "我是车主的儿子" }),
        )
        .await;
    assert_eq!(review.status, StatusCode::ACCEPTED, "{:?}", review.body);
    app_id
}

fn audited(app: &TestApp, action: &str) -> i64 {
    app.db()
        .query_row(
            "SELECT COUNT(*) FROM audit_log WHERE action = ?1",
            [action],
            |r| r.get(0),
        )
        .unwrap()
}

#[tokio::test]
async fn an_officer_sees_the_photo_unmasked_every_view_audited_and_approves() {
    let app = spawn_app().await;
    let owner = app.signed_in(OWNER).await;
    let binder = app.signed_in(NEWCOMER).await;
    let app_id = in_review_with_photo(&app, &owner, &binder).await;
    // Only officers see it.
    let r = binder
        .get(&format!("/api/v1/window/reviews/{app_id}"))
        .await;
    assert_eq!(r.code(), "NOT_AN_OFFICER");
    let (status, _, _) = binder
        .get_bytes(&format!("/api/v1/window/reviews/{app_id}/photo"))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(audited(&app, "binding_application.review_viewed"), 0);

    let officer = app.signed_in(OFFICER).await;
    let case = officer
        .get(&format!("/api/v1/window/reviews/{app_id}"))
        .await;
    assert_eq!(case.status, StatusCode::OK, "{:?}", case.body);
    assert_eq!(case.body["binder"]["name"], "赵新人");
    let rid = case.body["binder"]["residentId"].as_str().unwrap();
    assert_eq!(rid.len(), 18, "the full resident ID: {rid}");
    assert!(!rid.contains('*'));
    assert_eq!(case.body["note"], "我是车主的儿子");
    assert_eq!(case.headers["cache-control"], "no-store");
    let url = case.body["photo"]["url"].as_str().unwrap();
    let (status, headers, bytes) = officer.get_bytes(url).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "image/jpeg");
    assert_eq!(bytes, small_jpeg());
    officer
        .get(&format!("/api/v1/window/reviews/{app_id}"))
        .await;
    assert_eq!(audited(&app, "binding_application.review_viewed"), 2);
    assert_eq!(audited(&app, "binding_application.photo_viewed"), 1);

    let approved = officer
        .post(
            &format!("/api/v1/window/reviews/{app_id}/approve"),
            json!({}),
        )
        .await;
    assert_eq!(approved.status, StatusCode::CREATED, "{:?}", approved.body);
    let mine = binder.get("/api/v1/binding-applications").await;
    let a = mine.body["applications"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == app_id.as_str())
        .unwrap()
        .clone();
    assert_eq!(a["status"], "committed");
    assert_eq!(
        binder.get("/api/v1/bindings").await.body["bindings"][0]["vehicle"]["plateNumber"],
        "粤SD12345"
    );
    // Once decided, the photo is no longer shown.
    let gone = officer
        .get(&format!("/api/v1/window/reviews/{app_id}"))
        .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_officer_rejects_with_a_reason_from_the_list_and_the_applicant_is_told() {
    let app = spawn_app().await;
    let owner = app.signed_in(OWNER).await;
    let binder = app.signed_in(NEWCOMER).await;
    let app_id = in_review_with_photo(&app, &owner, &binder).await;
    let officer = app.signed_in(OFFICER).await;
    let reasons = officer.get("/api/v1/window/review-reasons").await;
    let codes: Vec<&str> = reasons.body["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        ["photo_unclear", "face_mismatch", "id_invalid", "other"]
    );
    let path = format!("/api/v1/window/reviews/{app_id}/reject");
    let unknown = officer.post(&path, json!({ "reasonCode": "bored" })).await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    let bare_other = officer.post(&path, json!({ "reasonCode": "other" })).await;
    assert_eq!(bare_other.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bare_other.body["error"]["field"], "reason");
    let r = officer
        .post(
            &path,
            json!({ "reasonCode": "face_mismatch", "reason": "照片中的人与证件不是同一人" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let notes = binder.get("/api/v1/notifications").await;
    assert_eq!(notes.body["notifications"][0]["kind"], "review_rejected");
    let zh = notes.body["notifications"][0]["message"]["zh"]
        .as_str()
        .unwrap();
    assert!(zh.contains("人证不符") && zh.contains("不是同一人"), "{zh}");
    let mine = binder.get("/api/v1/binding-applications").await;
    let a = &mine.body["applications"][0];
    assert_eq!(a["status"], "rejected");
    assert_eq!(a["rejectCode"], "face_mismatch");
    assert_eq!(a["reviewReason"], "照片中的人与证件不是同一人");
}
