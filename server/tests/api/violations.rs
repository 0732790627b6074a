use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

fn group<'a>(list: &'a Value, plate: &str) -> &'a Value {
    list["vehicles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["vehicle"]["plateNumber"] == plate)
        .unwrap()
}

fn find<'a>(group: &'a Value, code: &str, state: &str) -> Option<&'a Value> {
    group["violations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["code"] == code && v["state"] == state)
}

#[tokio::test]
async fn each_violation_is_labelled_with_its_route() {
    let app = spawn_app().await;
    let binder = app.signed_in(BINDER).await;
    let list = binder.get("/api/v1/violations").await;
    assert_eq!(list.status, StatusCode::OK);
    let car = group(&list.body, "粤S12345");
    assert_eq!(car["relation"], "binder");
    let route = |code: &str, state: &str| {
        find(car, code, state).map(|v| v["route"]["route"].as_str().unwrap().to_owned())
    };
    assert_eq!(route("1625", "unhandled").as_deref(), Some("online"));
    assert_eq!(
        route("1636", "unhandled").as_deref(),
        Some("window"),
        "over ¥200"
    );
    assert_eq!(
        route("1039", "unhandled").as_deref(),
        Some("window"),
        "unscored"
    );
    assert_eq!(
        route("1352", "unhandled").as_deref(),
        Some("window"),
        "before the binding"
    );
    assert_eq!(
        route("1042", "unhandled"),
        None,
        "a binder does not see on-site tickets"
    );
    // Each record carries its violation code; the view names the offence in English from the core's table.
    assert_eq!(
        find(car, "1625", "unhandled").unwrap()["offenceEn"],
        "Going against a traffic signal (running a red light)"
    );
    let before = find(car, "1352", "unhandled").unwrap();
    assert!(before["offenceEn"].is_null(), "1352 is not in the table");
    assert_eq!(
        before["route"]["reasons"][0]["code"],
        "OCCURRED_BEFORE_BINDING"
    );

    let owner = app.signed_in(OWNER).await;
    let list = owner.get("/api/v1/violations").await;
    let car = group(&list.body, "粤S12345");
    assert_eq!(car["relation"], "owner");
    let on_site = find(car, "1042", "unhandled").unwrap();
    assert_eq!(on_site["route"]["route"], "window");
    assert_eq!(on_site["route"]["reasons"][0]["code"], "ON_SITE_TICKET");
    assert_eq!(
        find(car, "1039", "unhandled").unwrap()["route"]["route"],
        "online",
        "the owner handles unscored ones"
    );
    let late = find(car, "1625", "handled").unwrap();
    assert_eq!(late["route"]["route"], "online");
    assert_eq!(
        late["route"]["lateFeeFen"], 9000,
        "15 days late at 3% a day"
    );
    assert_eq!(late["route"]["owedFen"], 29000);
    for plate in ["粤ST2345", "粤SG3456", "粤SB1234"] {
        let g = group(&list.body, plate);
        assert_eq!(g["violations"][0]["route"]["route"], "window", "{plate}");
    }
}

#[tokio::test]
async fn handling_online_adds_points_pays_and_issues_a_decision() {
    let app = spawn_app().await;
    let binder = app.signed_in(BINDER).await;
    let list = binder.get("/api/v1/violations").await;
    let v = find(group(&list.body, "粤S12345"), "1625", "unhandled")
        .unwrap()
        .clone();
    let id = v["id"].as_str().unwrap();

    // A stranger cannot touch it.
    let stranger = app.signed_in(NEWCOMER).await;
    let r = stranger
        .post(&format!("/api/v1/violations/{id}/handle"), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // The payment fails: nothing changes.
    app.set_payment("fail").await;
    let r = binder
        .post(
            &format!("/api/v1/violations/{id}/handle"),
            json!({ "expectedOwedFen": 20000 }),
        )
        .await;
    assert_eq!(r.status, StatusCode::PAYMENT_REQUIRED);
    assert_eq!(r.code(), "PAYMENT_FAILED");
    app.set_payment("succeed").await;

    let wrong_amount = binder
        .post(
            &format!("/api/v1/violations/{id}/handle"),
            json!({ "expectedOwedFen": 100 }),
        )
        .await;
    assert_eq!(wrong_amount.code(), "AMOUNT_CHANGED");

    let done = binder
        .post(&format!("/api/v1/violations/{id}/handle"), json!({ "policyVersion": "441900-2026-09-01.1", "expectedAllowed": true, "expectedOwedFen": 20000 }))
        .await;
    assert_eq!(done.status, StatusCode::OK, "{:?}", done.body);
    assert_eq!(done.body["paidFen"], 20000);
    assert!(done.body["decisionNumber"]
        .as_str()
        .unwrap()
        .starts_with("44190020260901"));
    assert_eq!(done.body["violation"]["state"], "paid");
    assert_eq!(done.body["decision"]["allowed"], true);
    let me = binder.get("/api/v1/me").await;
    assert_eq!(me.body["licence"]["points"], 9, "3 before, 6 for this one");

    let twice = binder
        .post(&format!("/api/v1/violations/{id}/handle"), json!({}))
        .await;
    assert_eq!(twice.status, StatusCode::CONFLICT);
    assert_eq!(twice.code(), "VIOLATION_ALREADY_HANDLED");

    // Window-only ones are refused with their reasons.
    let over = find(group(&list.body, "粤S12345"), "1636", "unhandled").unwrap();
    let r = binder
        .post(
            &format!("/api/v1/violations/{}/handle", over["id"].as_str().unwrap()),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r
        .reason_codes()
        .contains(&"FINE_ABOVE_ONLINE_LIMIT".to_owned()));
}

#[tokio::test]
async fn owner_pays_a_late_fine_with_its_late_fee() {
    let app = spawn_app().await;
    let owner = app.signed_in(OWNER).await;
    let list = owner.get("/api/v1/violations").await;
    let late = find(group(&list.body, "粤S12345"), "1625", "handled")
        .unwrap()
        .clone();
    let r = owner
        .post(
            &format!("/api/v1/violations/{}/handle", late["id"].as_str().unwrap()),
            json!({ "expectedOwedFen": 29000 }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["paidFen"], 29000);
    let me = owner.get("/api/v1/me").await;
    assert_eq!(
        me.body["licence"]["points"], 0,
        "points were scored when it was decided, not again now"
    );
}
