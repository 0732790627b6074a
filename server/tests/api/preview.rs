//! The preview of a draft policy before its switch: what it would change against the demo data.

use crate::helpers::*;
use renche::domain::PlateType;
use reqwest::StatusCode;
use serde_json::{json, Value};

const DONGGUAN_SEPTEMBER: &str = include_str!("../../../policies/cities/441900-2026-09-01.json");
/// The evening before the Dongguan kiosk rule switches on.
const EVE: &str = "2026-08-31T12:00:00+08:00";
const PREVIEW: &str = "/api/v1/window/policy-preview";

fn draft(fields: Value) -> Value {
    let mut d: Value = serde_json::from_str(DONGGUAN_SEPTEMBER).unwrap();
    for (k, v) in fields.as_object().unwrap() {
        d[k] = v.clone();
    }
    d
}

#[tokio::test]
async fn the_dongguan_kiosk_draft_sends_unbound_drivers_at_kiosks_to_the_window() {
    let app = spawn_app().await;
    let officer = app.signed_in(OFFICER).await;
    let r = officer
        .post(PREVIEW, json!({ "draft": draft(json!({})), "at": EVE }))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["draftVersion"], "441900-2026-09-01.1");
    let cities = r.body["cities"].as_array().unwrap();
    assert_eq!(cities.len(), 1);
    let c = &cities[0];
    assert_eq!(c["city"], "441900");
    assert_eq!(c["currentVersion"], "441900-2025-01-01.1");
    assert_eq!(c["activeBindings"], 4);
    assert_eq!(c["bindingsNoLongerAllowed"], 0);
    assert!(c["violations"].as_u64().unwrap() > 0);
    let changes = c["routeChanges"].as_array().unwrap();
    let kiosk = changes
        .iter()
        .find(|k| k["reason"] == "KIOSK_NEEDS_BINDING")
        .unwrap_or_else(|| panic!("no kiosk change in {changes:?}"));
    assert_eq!(
        (&kiosk["from"], &kiosk["to"]),
        (&json!("online"), &json!("window"))
    );
    assert_eq!(kiosk["change"], "added");
    assert!(kiosk["count"].as_u64().unwrap() >= 1);
    // Only a driver who neither owns nor has bound the vehicle, and only at the kiosk: the app, the
    // owners and the binders keep their routes.
    let samples = kiosk["samples"].as_array().unwrap();
    assert!(samples
        .iter()
        .all(|s| s["viewer"] == "otherDriver" && s["channel"] == "kiosk"));
    assert_eq!(c["routesChanged"], kiosk["count"]);
    // The unregistered owner's car, which 李满额 handles online today, is among them.
    let unregistered = app
        .vehicle_id(PlateType::SmallCar, "粤S67890")
        .await
        .to_string();
    assert!(samples
        .iter()
        .any(|s| s["vehicleId"] == unregistered.as_str()));
    assert_eq!(app.audit_entries("window.policy_previewed").len(), 1);
}

#[tokio::test]
async fn switching_the_feature_off_reports_every_active_binding() {
    let app = spawn_app().await;
    let officer = app.signed_in(OFFICER).await;
    let r = officer
        .post(
            PREVIEW,
            json!({ "draft": draft(json!({ "featureEnabled": false })), "at": EVE }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let c = &r.body["cities"][0];
    assert_eq!(c["bindingsNoLongerAllowed"], 4);
    assert_eq!(
        c["bindingReasons"],
        json!([{ "code": "FEATURE_NOT_AVAILABLE_IN_CITY", "count": 4 }])
    );
    assert!(c["routeChanges"]
        .as_array()
        .unwrap()
        .iter()
        .any(|k| k["reason"] == "FEATURE_NOT_AVAILABLE_IN_CITY"
            && k["samples"][0]["viewer"] == "binder"));
}

#[tokio::test]
async fn a_draft_with_a_bad_field_is_refused_naming_it() {
    let app = spawn_app().await;
    let officer = app.signed_in(OFFICER).await;
    let r = officer
        .post(
            PREVIEW,
            json!({ "draft": draft(json!({ "maxBindingsPerUser": "two" })), "at": EVE }),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.code(), "INVALID_POLICY");
    assert_eq!(r.body["error"]["field"], "draft.maxBindingsPerUser");

    let r = officer
        .post(
            PREVIEW,
            json!({ "draft": draft(json!({})), "at": "31 August" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.body["error"]["field"], "at");
}

#[tokio::test]
async fn only_an_officer_previews() {
    let app = spawn_app().await;
    let person = app.signed_in(OWNER).await;
    let r = person
        .post(PREVIEW, json!({ "draft": draft(json!({})) }))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.code(), "NOT_AN_OFFICER");
}
