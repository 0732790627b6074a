use crate::helpers::*;
use renche::domain::PlateType;
use reqwest::StatusCode;
use serde_json::json;

async fn make_qr(app: &TestApp, owner: &Client, plate_type: PlateType, plate: &str) -> String {
    let id = app.vehicle_id(plate_type, plate).await;
    let qr = owner
        .post(&format!("/api/v1/vehicles/{id}/qr-codes"), json!({}))
        .await;
    assert_eq!(qr.status, StatusCode::CREATED, "{:?}", qr.body);
    assert_eq!(qr.body["lifetimeSeconds"], 180);
    qr.body["qrText"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn qr_binding_from_scan_to_commit_notifies_the_owner() {
    let app = spawn_app().await;
    let owner = app.signed_in(OWNER).await;
    let binder = app.signed_in(NEWCOMER).await;
    let text = make_qr(&app, &owner, PlateType::SmallCar, "粤S12345").await;

    let opened = binder
        .post("/api/v1/bindings/qr/redeem", json!({ "qrText": text }))
        .await;
    assert_eq!(opened.status, StatusCode::CREATED, "{:?}", opened.body);
    assert_eq!(opened.body["vehicle"]["plateMasked"], "粤S·1**45");
    assert_eq!(opened.body["precheck"]["allowed"], true);
    assert_eq!(
        opened.body["precheck"]["nextSteps"][0],
        "realPersonVerification"
    );
    let app_id = opened.body["applicationId"].as_str().unwrap().to_owned();

    // The code is used up, for anyone.
    let other = app.signed_in(BINDER).await;
    let reused = other
        .post("/api/v1/bindings/qr/redeem", json!({ "qrText": text }))
        .await;
    assert_eq!(reused.status, StatusCode::GONE);
    assert_eq!(reused.code(), "QR_ALREADY_USED");

    // Verification pending by default: nothing is committed.
    let commit = json!({ "relationship": "spouse", "policyVersion": "441900-2026-09-01.1", "expectedAllowed": true });
    let pending = binder
        .post(
            &format!("/api/v1/binding-applications/{app_id}/commit"),
            commit.clone(),
        )
        .await;
    assert_eq!(pending.status, StatusCode::ACCEPTED, "{:?}", pending.body);
    assert_eq!(pending.body["application"]["verification"], "pending");

    // QR binding needs a relationship.
    let missing = binder
        .post(
            &format!("/api/v1/binding-applications/{app_id}/commit"),
            json!({}),
        )
        .await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(missing.body["error"]["field"], "relationship");

    let done = binder
        .commit_verified(&app_id, commit.clone(), "pass")
        .await;
    assert_eq!(done.status, StatusCode::CREATED, "{:?}", done.body);
    assert_eq!(done.body["binding"]["relationship"], "spouse");
    assert_eq!(done.body["binding"]["method"], "qr");
    assert_eq!(done.body["decision"]["allowed"], true);
    assert_eq!(done.body["decision"]["refreshPolicy"], false);

    let again = binder
        .post(
            &format!("/api/v1/binding-applications/{app_id}/commit"),
            commit,
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(again.code(), "APPLICATION_ALREADY_COMMITTED");

    let notes = owner.get("/api/v1/notifications").await;
    assert_eq!(notes.body["notifications"][0]["kind"], "binding_created");
    let mine = binder.get("/api/v1/bindings").await;
    assert_eq!(mine.body["bindings"].as_array().unwrap().len(), 1);
    assert_eq!(
        mine.body["bindings"][0]["vehicle"]["plateNumber"],
        "粤S12345"
    );
    // The owner sees three binders now (the vehicle is full).
    let vehicles = owner.get("/api/v1/vehicles").await;
    let car = vehicles.body["vehicles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["plateNumber"] == "粤S12345")
        .unwrap()
        .clone();
    assert_eq!(car["binders"].as_array().unwrap().len(), 3);
    assert_eq!(car["binders"][0]["binderNameMasked"], "李**");
}

#[tokio::test]
async fn qr_code_lives_180_seconds_and_a_new_one_voids_the_old() {
    let app = spawn_app().await;
    let owner = app.signed_in(OWNER).await;
    let binder = app.signed_in(NEWCOMER).await;

    let text = make_qr(&app, &owner, PlateType::SmallCar, "粤S12345").await;
    app.advance(179);
    let ok = binder
        .post("/api/v1/bindings/qr/redeem", json!({ "qrText": text }))
        .await;
    assert_eq!(
        ok.status,
        StatusCode::CREATED,
        "valid at 179 s: {:?}",
        ok.body
    );

    let text = make_qr(&app, &owner, PlateType::SmallNewEnergy, "粤SD12345").await;
    app.advance(180);
    let late = binder
        .post("/api/v1/bindings/qr/redeem", json!({ "qrText": text }))
        .await;
    assert_eq!(late.status, StatusCode::GONE);
    assert_eq!(late.code(), "QR_EXPIRED");

    let first = make_qr(&app, &owner, PlateType::SmallNewEnergy, "粤SD12345").await;
    let _second = make_qr(&app, &owner, PlateType::SmallNewEnergy, "粤SD12345").await;
    let voided = binder
        .post("/api/v1/bindings/qr/redeem", json!({ "qrText": first }))
        .await;
    assert_eq!(voided.status, StatusCode::GONE);
    assert_eq!(voided.code(), "QR_REPLACED");

    let forged = binder
        .post(
            "/api/v1/bindings/qr/redeem",
            json!({ "qrText": "not a code" }),
        )
        .await;
    assert_eq!(forged.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(forged.body["error"]["field"], "qrText");
}

#[tokio::test]
async fn only_the_owner_makes_a_vehicle_code() {
    let app = spawn_app().await;
    let stranger = app.signed_in(NEWCOMER).await;
    let id = app.vehicle_id(PlateType::SmallCar, "粤S12345").await;
    let r = stranger
        .post(&format!("/api/v1/vehicles/{id}/qr-codes"), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // The owner scanning their own code is refused without using it up.
    let owner = app.signed_in(OWNER).await;
    let text = make_qr(&app, &owner, PlateType::SmallCar, "粤S12345").await;
    let own = owner
        .post("/api/v1/bindings/qr/redeem", json!({ "qrText": text }))
        .await;
    assert_eq!(own.status, StatusCode::CONFLICT);
    assert_eq!(own.code(), "VEHICLE_IS_YOUR_OWN");
}

#[tokio::test]
async fn fourth_binding_is_refused_with_every_reason() {
    let app = spawn_app().await;
    let owner = app.signed_in(OWNER).await;
    let full = app.signed_in(FULL_BINDER).await;

    // A bindable vehicle: the only reason is the person's limit.
    let text = make_qr(&app, &owner, PlateType::SmallCar, "粤S12345").await;
    let opened = full
        .post("/api/v1/bindings/qr/redeem", json!({ "qrText": text }))
        .await;
    // 李满额 already binds 粤S12345, so the precheck says so.
    assert_eq!(opened.body["precheck"]["allowed"], false);
    assert_eq!(
        opened.body["precheck"]["reasons"][0]["code"],
        "ALREADY_BOUND"
    );

    // SMS to the spare vehicle's (unregistered) owner: refused before anything is texted.
    let refused = full
        .post(
            "/api/v1/bindings/sms/challenges",
            json!({ "plateType": "02", "plateNumber": "粤S 88888", "engineSuffix": "888888" }),
        )
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{:?}", refused.body);
    assert_eq!(refused.code(), "USER_BINDING_LIMIT_REACHED");
    assert_eq!(refused.body["error"]["params"]["limit"], 3);
    assert_eq!(refused.body["error"]["params"]["current"], 3);
    assert!(!refused.body["error"]["message"]["en"]
        .as_str()
        .unwrap()
        .is_empty());
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert!(app.outbox(SPARE_OWNER).await.is_empty());

    // A taxi at the limit: every failing rule is listed.
    let text = make_qr(&app, &owner, PlateType::SmallCar, "粤ST2345").await;
    let opened = full
        .post("/api/v1/bindings/qr/redeem", json!({ "qrText": text }))
        .await;
    let app_id = opened.body["applicationId"].as_str().unwrap();
    let refused = full
        .commit_verified(
            app_id,
            json!({ "relationship": "friend", "policyVersion": "old-version", "expectedAllowed": true }),
            "pass",
        )
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert_eq!(refused.body["error"]["decision"]["refreshPolicy"], true);
    assert_eq!(refused.body["error"]["decision"]["agreed"], false);
    let codes = refused.reason_codes();
    assert!(
        codes.contains(&"USE_NATURE_NOT_BINDABLE".to_owned()),
        "{codes:?}"
    );
    assert!(
        codes.contains(&"USER_BINDING_LIMIT_REACHED".to_owned()),
        "{codes:?}"
    );
}

#[tokio::test]
async fn taxi_is_refused() {
    let app = spawn_app().await;
    let owner = app.signed_in(OWNER).await;
    let binder = app.signed_in(NEWCOMER).await;
    let text = make_qr(&app, &owner, PlateType::SmallCar, "粤ST2345").await;
    let opened = binder
        .post("/api/v1/bindings/qr/redeem", json!({ "qrText": text }))
        .await;
    assert_eq!(opened.body["precheck"]["allowed"], false);
    let app_id = opened.body["applicationId"].as_str().unwrap();
    let refused = binder
        .commit_verified(app_id, json!({ "relationship": "friend" }), "pass")
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert_eq!(refused.code(), "USE_NATURE_NOT_BINDABLE");
    assert_eq!(
        refused.reason_codes(),
        vec!["USE_NATURE_NOT_BINDABLE".to_owned()]
    );
}

#[tokio::test]
async fn unknown_plate_and_wrong_engine_suffix_answer_alike() {
    // Twelve starts from one session within the hour: above the session's and account's SMS caps.
    let lifted = json!({ "perHour": 1000, "perDay": 1000 });
    let app = spawn_app_behind(
        &[],
        Some(json!({ "sms": { "perSession": lifted, "perAccount": lifted } })),
    )
    .await;
    let binder = app.signed_in(NEWCOMER).await;
    let unknown = binder
        .post(
            "/api/v1/bindings/sms/challenges",
            json!({ "plateType": "02", "plateNumber": "粤S99999", "engineSuffix": "123456" }),
        )
        .await;
    let wrong = binder
        .post(
            "/api/v1/bindings/sms/challenges",
            json!({ "plateType": "02", "plateNumber": "粤S88888", "engineSuffix": "000000" }),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::ACCEPTED);
    assert_eq!(unknown.status, wrong.status);
    let shape = |v: &serde_json::Value| {
        v.as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().map(str::len)))
            .collect::<Vec<_>>()
    };
    assert_eq!(shape(&unknown.body), shape(&wrong.body));
    assert_eq!(unknown.body["expiresAt"], wrong.body["expiresAt"]);
    assert_eq!(unknown.body["resendAfter"], wrong.body["resendAfter"]);
    assert_ne!(unknown.body["challengeId"], wrong.body["challengeId"]);
    let mut headers_a: Vec<_> = unknown
        .headers
        .keys()
        .map(|k| k.as_str().to_owned())
        .collect();
    let mut headers_b: Vec<_> = wrong
        .headers
        .keys()
        .map(|k| k.as_str().to_owned())
        .collect();
    headers_a.sort();
    headers_b.sort();
    assert_eq!(headers_a, headers_b);
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert!(
        app.outbox(SPARE_OWNER).await.is_empty(),
        "a wrong suffix sends nothing"
    );
    // Confirming either answers "wrong code" the same way.
    for id in [&unknown.body["challengeId"], &wrong.body["challengeId"]] {
        let r = binder
            .post(
                &format!(
                    "/api/v1/bindings/sms/challenges/{}/confirm",
                    id.as_str().unwrap()
                ),
                json!({ "code": "123456" }),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(r.code(), "SMS_CODE_WRONG");
        assert_eq!(r.body["error"]["params"]["triesLeft"], 4);
    }
    // About the same time: compare the median of a few rounds of each (after the cool-down).
    let mut times = (Vec::new(), Vec::new());
    for round in 0..5 {
        app.advance(61);
        for (plate, suffix, bucket) in [("粤S99999", "123456", 0), ("粤S88888", "000000", 1)] {
            let t = std::time::Instant::now();
            let r = binder
                .post(
                    "/api/v1/bindings/sms/challenges",
                    json!({ "plateType": "02", "plateNumber": plate, "engineSuffix": suffix }),
                )
                .await;
            assert_eq!(
                r.status,
                StatusCode::ACCEPTED,
                "round {round}: {:?}",
                r.body
            );
            if bucket == 0 {
                times.0.push(t.elapsed())
            } else {
                times.1.push(t.elapsed())
            }
        }
    }
    times.0.sort();
    times.1.sort();
    let (a, b) = (times.0[2].as_secs_f64(), times.1[2].as_secs_f64());
    assert!((a - b).abs() < 0.05, "medians {a} vs {b}");
}

#[tokio::test]
async fn sms_code_allows_five_wrong_tries() {
    let app = spawn_app().await;
    let binder = app.signed_in(NEWCOMER).await;
    let sent = binder
        .post(
            "/api/v1/bindings/sms/challenges",
            json!({ "plateType": "02", "plateNumber": "粤S88888", "engineSuffix": "888888" }),
        )
        .await;
    let id = sent.body["challengeId"].as_str().unwrap().to_owned();
    let code = app.sms_code(SPARE_OWNER).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for left in (1..=4).rev() {
        let r = binder
            .post(
                &format!("/api/v1/bindings/sms/challenges/{id}/confirm"),
                json!({ "code": wrong }),
            )
            .await;
        assert_eq!(r.code(), "SMS_CODE_WRONG");
        assert_eq!(r.body["error"]["params"]["triesLeft"], left);
    }
    let fifth = binder
        .post(
            &format!("/api/v1/bindings/sms/challenges/{id}/confirm"),
            json!({ "code": wrong }),
        )
        .await;
    assert_eq!(fifth.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fifth.code(), "SMS_CODE_LOCKED");
    let right = binder
        .post(
            &format!("/api/v1/bindings/sms/challenges/{id}/confirm"),
            json!({ "code": code }),
        )
        .await;
    assert_eq!(
        right.code(),
        "SMS_CODE_LOCKED",
        "the right code no longer works either"
    );

    // A new challenge after the cool-down; codes expire after 5 minutes.
    let soon = binder
        .post(
            "/api/v1/bindings/sms/challenges",
            json!({ "plateType": "02", "plateNumber": "粤S88888", "engineSuffix": "888888" }),
        )
        .await;
    assert_eq!(soon.code(), "SMS_RESEND_TOO_SOON");
    app.advance(60);
    let sent = binder
        .post(
            "/api/v1/bindings/sms/challenges",
            json!({ "plateType": "02", "plateNumber": "粤S88888", "engineSuffix": "888888" }),
        )
        .await;
    assert_eq!(sent.status, StatusCode::ACCEPTED, "{:?}", sent.body);
    let code = app.sms_code(SPARE_OWNER).await;
    app.advance(300);
    let id = sent.body["challengeId"].as_str().unwrap();
    let late = binder
        .post(
            &format!("/api/v1/bindings/sms/challenges/{id}/confirm"),
            json!({ "code": code }),
        )
        .await;
    assert_eq!(late.status, StatusCode::GONE);
    assert_eq!(late.code(), "SMS_CODE_EXPIRED");
    // Someone else cannot use another person's challenge.
    let other = app.signed_in(BINDER).await;
    let theirs = other
        .post(
            &format!("/api/v1/bindings/sms/challenges/{id}/confirm"),
            json!({ "code": code }),
        )
        .await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn sms_binding_and_removal_by_binder_owner_and_officer() {
    let app = spawn_app().await;
    let binder = app.signed_in(NEWCOMER).await;
    let sent = binder
        .post(
            "/api/v1/bindings/sms/challenges",
            json!({ "plateType": "02", "plateNumber": "粤s88888", "engineSuffix": "888888" }),
        )
        .await;
    let code = app.sms_code(SPARE_OWNER).await;
    let opened = binder
        .post(
            &format!(
                "/api/v1/bindings/sms/challenges/{}/confirm",
                sent.body["challengeId"].as_str().unwrap()
            ),
            json!({ "code": code }),
        )
        .await;
    assert_eq!(opened.status, StatusCode::CREATED);
    let app_id = opened.body["applicationId"].as_str().unwrap();
    let done = binder.commit_verified(app_id, json!({}), "pass").await;
    assert_eq!(done.status, StatusCode::CREATED, "{:?}", done.body);
    assert_eq!(done.body["binding"]["relationship"], "other");
    let binding_id = done.body["binding"]["id"].as_str().unwrap().to_owned();

    // A stranger cannot remove it.
    let stranger = app.signed_in(BINDER).await;
    assert_eq!(
        stranger
            .delete(&format!("/api/v1/bindings/{binding_id}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // The binder removes it.
    let removed = binder
        .delete(&format!("/api/v1/bindings/{binding_id}"))
        .await;
    assert_eq!(removed.status, StatusCode::OK, "{:?}", removed.body);
    assert_eq!(removed.body["binding"]["removedRole"], "binder");
    let twice = binder
        .delete(&format!("/api/v1/bindings/{binding_id}"))
        .await;
    assert_eq!(twice.status, StatusCode::CONFLICT);
    assert_eq!(twice.code(), "BINDING_ALREADY_REMOVED");

    // The owner removes one of the binders of 粤S12345.
    let owner = app.signed_in(OWNER).await;
    let vehicles = owner.get("/api/v1/vehicles").await;
    let car = vehicles.body["vehicles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["plateNumber"] == "粤S12345")
        .unwrap()
        .clone();
    let first = car["binders"][0]["bindingId"].as_str().unwrap().to_owned();
    let second = car["binders"][1]["bindingId"].as_str().unwrap().to_owned();
    let r = owner.delete(&format!("/api/v1/bindings/{first}")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["binding"]["removedRole"], "owner");
    // The officer removes the other.
    let officer = app.signed_in(OFFICER).await;
    let r = officer.delete(&format!("/api/v1/bindings/{second}")).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["binding"]["removedRole"], "officer");
    let notes = stranger.get("/api/v1/notifications").await;
    assert_eq!(notes.body["notifications"][0]["kind"], "binding_removed");
}

#[tokio::test]
async fn failed_verification_goes_to_manual_review() {
    let app = spawn_app().await;
    let owner = app.signed_in(OWNER).await;
    let binder = app.signed_in(NEWCOMER).await;
    let text = make_qr(&app, &owner, PlateType::SmallNewEnergy, "粤SD12345").await;
    let opened = binder
        .post("/api/v1/bindings/qr/redeem", json!({ "qrText": text }))
        .await;
    let app_id = opened.body["applicationId"].as_str().unwrap().to_owned();
    let early = binder
        .post(
            &format!("/api/v1/binding-applications/{app_id}/manual-review"),
            json!({ "relationship": "child" }),
        )
        .await;
    assert_eq!(early.code(), "MANUAL_REVIEW_NOT_AVAILABLE");
    let failed = binder
        .commit_verified(&app_id, json!({ "relationship": "child" }), "fail")
        .await;
    assert_eq!(failed.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(failed.code(), "REAL_PERSON_VERIFICATION_FAILED");
    let no_photo = binder
        .post(
            &format!("/api/v1/binding-applications/{app_id}/manual-review"),
            json!({ "relationship": "child" }),
        )
        .await;
    assert_eq!(no_photo.code(), "REVIEW_PHOTO_MISSING");
    let photo = binder
        .put_raw(
            &format!("/api/v1/binding-applications/{app_id}/review-photo"),
            "image/png",
            small_png(),
        )
        .await;
    assert_eq!(photo.status, StatusCode::CREATED, "{:?}", photo.body);
    let review = binder
        .post(
            &format!("/api/v1/binding-applications/{app_id}/manual-review"),
            json!({ "relationship": "child", "note": "照片已上传" }),
        )
        .await;
    assert_eq!(review.status, StatusCode::ACCEPTED, "{:?}", review.body);
    assert_eq!(review.body["application"]["status"], "in_review");

    // Not for a person.
    assert_eq!(
        binder.get("/api/v1/window/reviews").await.code(),
        "NOT_AN_OFFICER"
    );
    let officer = app.signed_in(OFFICER).await;
    let queue = officer.get("/api/v1/window/reviews").await;
    assert_eq!(queue.body["applications"][0]["id"], app_id.as_str());
    assert_eq!(queue.body["applications"][0]["binder"]["name"], "赵新人");
    let approved = officer
        .post(
            &format!("/api/v1/window/reviews/{app_id}/approve"),
            json!({}),
        )
        .await;
    assert_eq!(approved.status, StatusCode::CREATED, "{:?}", approved.body);
    assert_eq!(approved.body["binding"]["relationship"], "child");
    let status = binder
        .get(&format!("/api/v1/binding-applications/{app_id}"))
        .await;
    assert_eq!(status.body["status"], "committed");
    let again = officer
        .post(
            &format!("/api/v1/window/reviews/{app_id}/approve"),
            json!({}),
        )
        .await;
    assert_eq!(again.code(), "APPLICATION_NOT_IN_REVIEW");
}

#[tokio::test]
async fn officer_rejects_a_review_and_the_binder_is_told() {
    // The provider cannot be reached: verification is unavailable and manual review is the way on.
    let app = spawn_app_tweaked(|config| {
        config.identity_provider = Some(renche_server::startup::IdentityProviderConfig {
            url: "http://127.0.0.1:9/unreachable".into(),
            public_key: hex::encode(
                ed25519_dalek::SigningKey::from_bytes(&[1u8; 32])
                    .verifying_key()
                    .to_bytes(),
            ),
            credential: None,
        });
    })
    .await;
    let owner = app.signed_in(OWNER).await;
    let binder = app.signed_in(NEWCOMER).await;
    let text = make_qr(&app, &owner, PlateType::SmallNewEnergy, "粤SD12345").await;
    let opened = binder
        .post("/api/v1/bindings/qr/redeem", json!({ "qrText": text }))
        .await;
    let app_id = opened.body["applicationId"].as_str().unwrap().to_owned();
    let unavailable = binder
        .start_verification(json!({ "purpose": "application", "applicationId": app_id }))
        .await;
    assert_eq!(unavailable.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(unavailable.code(), "REAL_PERSON_VERIFICATION_UNAVAILABLE");
    assert_eq!(
        unavailable.body["error"]["params"]["manualReview"],
        "available"
    );
    let photo = binder
        .put_raw(
            &format!("/api/v1/binding-applications/{app_id}/review-photo"),
            "image/jpeg",
            small_jpeg(),
        )
        .await;
    assert_eq!(photo.status, StatusCode::CREATED, "{:?}", photo.body);
    let review = binder
        .post(
            &format!("/api/v1/binding-applications/{app_id}/manual-review"),
            json!({ "relationship": "parent" }),
        )
        .await;
    assert_eq!(review.status, StatusCode::ACCEPTED, "{:?}", review.body);
    let officer = app.signed_in(OFFICER).await;
    let rejected = officer
        .post(
            &format!("/api/v1/window/reviews/{app_id}/reject"),
            json!({ "reasonCode": "photo_unclear" }),
        )
        .await;
    assert_eq!(rejected.status, StatusCode::OK, "{:?}", rejected.body);
    assert_eq!(rejected.body["application"]["status"], "rejected");
    let notes = binder.get("/api/v1/notifications").await;
    assert_eq!(notes.body["notifications"][0]["kind"], "review_rejected");
    assert!(binder.get("/api/v1/bindings").await.body["bindings"]
        .as_array()
        .unwrap()
        .is_empty());
}
