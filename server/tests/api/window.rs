use crate::helpers::*;
use renche::domain::PlateType;
use reqwest::StatusCode;
use serde_json::json;

const ALL_DOCUMENTS: [&str; 3] = ["driving_licence", "id_card", "vehicle_licence"];

#[tokio::test]
async fn officer_binds_on_a_persons_behalf_after_checking_originals() {
    let app = spawn_app().await;
    let person = app.signed_in(NEWCOMER).await;
    let person_id = person.me_id().await;
    let vehicle_id = app
        .vehicle_id(PlateType::SmallCar, "粤S88888")
        .await
        .to_string();

    // Not for a person.
    let r = person.post("/api/v1/window/bindings", json!({ "personId": person_id, "vehicleId": vehicle_id, "documentsChecked": ALL_DOCUMENTS })).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.code(), "NOT_AN_OFFICER");

    let officer = app.signed_in(OFFICER).await;
    let rid = renche_server::demo::resident_id("44190019950404004").unwrap();
    let found = officer
        .get(&format!(
            "/api/v1/window/people?residentId={}",
            rid.as_str()
        ))
        .await;
    assert_eq!(found.body["id"], person_id.as_str());
    // The officer compares the originals: the person in full.
    assert_eq!(found.body["residentId"], rid.as_str());
    assert!(!found.body["phone"].as_str().unwrap().contains('*'));
    let found = officer
        .get("/api/v1/window/vehicles?plateType=02&plateNumber=%E7%B2%A4S88888")
        .await;
    assert_eq!(found.body["vehicles"][0]["id"], vehicle_id.as_str());
    assert_eq!(found.body["vehicles"][0]["ownerRegistered"], false);
    let owner = found.body["vehicles"][0]["ownerName"].as_str().unwrap();
    assert!(!owner.is_empty() && !owner.contains('*'), "{owner}");
    // By the number alone, as typed off the licence (lower case, a dot).
    let by_number = officer
        .get("/api/v1/window/vehicles?plateNumber=%E7%B2%A4s%C2%B788888")
        .await;
    assert_eq!(by_number.status, StatusCode::OK, "{:?}", by_number.body);
    assert_eq!(by_number.body["vehicles"], found.body["vehicles"]);
    let none = officer
        .get("/api/v1/window/vehicles?plateNumber=%E7%B2%A4S00001")
        .await;
    assert_eq!(none.status, StatusCode::NOT_FOUND);
    let bad = officer
        .get("/api/v1/window/vehicles?plateNumber=S88888")
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.body["error"]["field"], "plateNumber");
    // Each look at full data is in the audit log, with the officer who looked.
    let looked: i64 = app
        .db()
        .query_row(
            "SELECT COUNT(*) FROM audit_log WHERE action IN ('window.person_viewed', 'window.vehicles_viewed') AND actor_id IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        looked, 3,
        "one person and two vehicle searches that found something"
    );

    let missing = officer
        .post("/api/v1/window/bindings", json!({ "personId": person_id, "vehicleId": vehicle_id, "documentsChecked": ["id_card"] }))
        .await;
    assert_eq!(missing.status, StatusCode::CONFLICT);
    assert_eq!(missing.code(), "WINDOW_DOCUMENTS_NOT_CHECKED");
    let done = officer
        .post("/api/v1/window/bindings", json!({ "personId": person_id, "vehicleId": vehicle_id, "documentsChecked": ALL_DOCUMENTS, "relationship": "friend" }))
        .await;
    assert_eq!(done.status, StatusCode::CREATED, "{:?}", done.body);
    assert_eq!(done.body["binding"]["method"], "window");
    // Both decisions are in the append-only audit log, with the originals that were checked.
    let db = app.db();
    let (refused, created): (i64, String) = (
        db.query_row(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'binding.refused'",
            [],
            |r| r.get(0),
        )
        .unwrap(),
        db.query_row(
            "SELECT detail FROM audit_log WHERE action = 'binding.created'",
            [],
            |r| r.get(0),
        )
        .unwrap(),
    );
    assert_eq!(refused, 1);
    assert!(created.contains("vehicle_licence"), "{created}");
    assert!(db.execute("UPDATE audit_log SET action = 'x'", []).is_err());
    assert!(db.execute("DELETE FROM audit_log", []).is_err());
    let mine = person.get("/api/v1/bindings").await;
    assert_eq!(
        mine.body["bindings"][0]["vehicle"]["plateNumber"],
        "粤S88888"
    );
}

#[tokio::test]
async fn officer_handles_a_violation_without_a_binding() {
    let app = spawn_app().await;
    let person = app.signed_in(NEWCOMER).await;
    let person_id = person.me_id().await;
    let officer = app.signed_in(OFFICER).await;
    let vehicle_id = app.vehicle_id(PlateType::SmallCar, "粤SU4567").await;
    let list = officer
        .get(&format!(
            "/api/v1/window/violations?personId={person_id}&vehicleId={vehicle_id}"
        ))
        .await;
    assert_eq!(list.status, StatusCode::OK, "{:?}", list.body);
    let v = &list.body["violations"][0];
    assert_eq!(
        v["route"]["route"], "window",
        "at the window no binding is needed: it is handled there"
    );
    assert_eq!(v["route"]["reasons"], json!([]));
    assert_eq!(
        v["route"]["documents"],
        json!(["driving_licence", "id_card", "vehicle_licence"])
    );
    let id = v["id"].as_str().unwrap();
    let missing = officer
        .post(
            &format!("/api/v1/window/violations/{id}/handle"),
            json!({ "personId": person_id }),
        )
        .await;
    assert_eq!(missing.code(), "WINDOW_DOCUMENTS_NOT_CHECKED");
    let done = officer
        .post(
            &format!("/api/v1/window/violations/{id}/handle"),
            json!({ "personId": person_id, "documentsChecked": ALL_DOCUMENTS }),
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{:?}", done.body);
    assert_eq!(done.body["violation"]["state"], "paid");
    assert_eq!(person.get("/api/v1/me").await.body["licence"]["points"], 6);
}

#[tokio::test]
async fn bad_query_parameters_answer_in_the_error_shape() {
    let app = spawn_app().await;
    let officer = app.signed_in(OFFICER).await;
    let r = officer.get("/api/v1/window/people").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.code(), "INVALID_QUERY");
    let r = officer.get("/api/v1/window/people?residentId=123").await;
    assert_eq!(r.code(), "RESIDENT_ID_WRONG_LENGTH");
    assert_eq!(r.body["error"]["field"], "residentId");
}

/// With a city's cap of one application a day, the second binding that day is refused; the next day passes.
#[tokio::test]
async fn daily_application_cap_holds() {
    let app = spawn_app_with(Some(json!({
        "extends": "default",
        "version": "441900-test-caps",
        "city": { "code": "441900", "nameZh": "东莞", "nameEn": "Dongguan" },
        "applicationCaps": { "perDay": 1, "perYear": 5 }
    })))
    .await;
    let binder = app.signed_in(NEWCOMER).await;
    let bind = |binder: &Client, plate: &'static str, suffix: &'static str, owner: &'static str| {
        let app = &app;
        let binder = binder.clone_session();
        async move {
            let sent = binder
                .post(
                    "/api/v1/bindings/sms/challenges",
                    json!({ "plateType": "02", "plateNumber": plate, "engineSuffix": suffix }),
                )
                .await;
            if sent.status != StatusCode::ACCEPTED {
                // Refused before anything is texted (the cap is the binder's own).
                return sent;
            }
            let code = app.sms_code(owner).await;
            let opened = binder
                .post(
                    &format!(
                        "/api/v1/bindings/sms/challenges/{}/confirm",
                        sent.body["challengeId"].as_str().unwrap()
                    ),
                    json!({ "code": code }),
                )
                .await;
            let id = opened.body["applicationId"].as_str().unwrap().to_owned();
            binder
                .commit_verified(&id, json!({ "policyVersion": "441900-test-caps" }), "pass")
                .await
        }
    };
    let first = bind(&binder, "粤S88888", "888888", SPARE_OWNER).await;
    assert_eq!(first.status, StatusCode::CREATED, "{:?}", first.body);
    let second = bind(&binder, "粤S67890", "678901", "13900000008").await;
    assert_eq!(second.status, StatusCode::CONFLICT);
    assert_eq!(second.code(), "DAILY_APPLICATION_CAP_REACHED");
    assert_eq!(
        second.body["error"]["decision"]["policyVersion"],
        "441900-test-caps"
    );
    // The next day in China Standard Time (sessions last 12 hours: sign in again).
    app.advance(86_400);
    let binder = app.signed_in(NEWCOMER).await;
    let third = bind(&binder, "粤S67890", "678901", "13900000008").await;
    assert_eq!(third.status, StatusCode::CREATED, "{:?}", third.body);
}

/// FAQ 3: a binding can be removed at the window. The officer lists a person's bindings and a vehicle's,
/// removes one, and both sides are told.
#[tokio::test]
async fn officer_lists_a_persons_and_a_vehicles_bindings_and_removes_one() {
    let app = spawn_app().await;
    let binder = app.signed_in(BINDER).await;
    let binder_id = binder.me_id().await;
    let officer = app.signed_in(OFFICER).await;
    let car = app
        .vehicle_id(PlateType::SmallCar, "粤S12345")
        .await
        .to_string();

    // Not for a person, and exactly one of the two is asked for.
    let r = binder
        .get(&format!("/api/v1/window/bindings?personId={binder_id}"))
        .await;
    assert_eq!(r.code(), "NOT_AN_OFFICER");
    let r = officer.get("/api/v1/window/bindings").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.code(), "INVALID_QUERY");

    let mine = officer
        .get(&format!("/api/v1/window/bindings?personId={binder_id}"))
        .await;
    assert_eq!(mine.status, StatusCode::OK, "{:?}", mine.body);
    let list = mine.body["bindings"].as_array().unwrap();
    assert_eq!(list.len(), 1, "张绑定 has one binding: {list:?}");
    assert_eq!(list[0]["vehicle"]["plateNumber"], "粤S12345");
    assert_eq!(list[0]["binderName"], "张绑定");
    let binding_id = list[0]["id"].as_str().unwrap().to_owned();
    let of_car = officer
        .get(&format!("/api/v1/window/bindings?vehicleId={car}"))
        .await;
    let binders: Vec<&str> = of_car.body["bindings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["binderName"].as_str().unwrap())
        .collect();
    assert_eq!(binders.len(), 2, "李满额 and 张绑定: {binders:?}");
    assert!(binders.contains(&"张绑定"));
    let missing = officer
        .get("/api/v1/window/bindings?vehicleId=999999")
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);

    let removed = officer
        .delete(&format!("/api/v1/bindings/{binding_id}"))
        .await;
    assert_eq!(removed.status, StatusCode::OK, "{:?}", removed.body);
    assert_eq!(removed.body["binding"]["removedRole"], "officer");
    let after = officer
        .get(&format!("/api/v1/window/bindings?personId={binder_id}"))
        .await;
    assert_eq!(after.body["bindings"], json!([]));
    let inbox = binder.get("/api/v1/notifications").await;
    assert!(
        inbox.body.to_string().contains("binding_removed"),
        "{:?}",
        inbox.body
    );
    let looked: i64 = app
        .db()
        .query_row(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'window.bindings_viewed'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(looked, 3);
}
