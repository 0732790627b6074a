//! The WebAssembly exports, called through `JsValue` as JavaScript calls them. This suite runs in Node
//! (`wasm-pack test --node`); `wasm_core_browser.rs` includes it to run the same cases in a browser
//! (`wasm-pack test --headless --chrome`).
#![cfg(target_arch = "wasm32")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use renche::wasm::{parse_plate, plate_types, reason_catalogue, Rules};
use serde_json::{json, Value};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::wasm_bindgen_test;

fn js(v: Value) -> JsValue {
    js_sys::JSON::parse(&v.to_string()).unwrap()
}

fn rs(v: JsValue) -> Value {
    serde_json::from_str(&String::from(js_sys::JSON::stringify(&v).unwrap())).unwrap()
}

const NOW: &str = "2026-09-01T07:00:00Z";

fn car() -> Value {
    json!({"id": "veh-1", "plateType": "02", "plateNumber": "粤S12345", "ownerKind": "individual",
           "useNature": "A", "ownerId": "owner-1"})
}

fn person() -> Value {
    json!({"id": "user-1", "identityVerified": true, "licence": {"class": "C1", "status": "normal", "points": 0}})
}

fn bound(binder: &str, vehicle: &str, at: &str) -> Value {
    json!({"binderId": binder, "vehicleId": vehicle, "createdAt": at})
}

fn binding_call(patch: Value) -> Value {
    let mut call = json!({"binder": person(), "vehicle": car(), "method": "sms", "channel": "app", "now": NOW});
    merge(&mut call, patch);
    call
}

fn violation(patch: Value) -> Value {
    let mut v = json!({"id": "v1", "vehicleId": "veh-1", "occurredAt": "2026-08-20T03:00:00Z", "points": 3,
                       "fineFen": 20000, "source": "device", "state": "unhandled"});
    merge(&mut v, patch);
    v
}

fn route_call(violations: Vec<Value>, patch: Value) -> Value {
    let mut call = json!({"person": person(), "vehicle": car(), "violations": violations, "channel": "app",
                          "now": NOW, "binding": bound("user-1", "veh-1", "2026-08-01T02:00:00Z")});
    merge(&mut call, patch);
    call
}

fn merge(base: &mut Value, patch: Value) {
    if let (Value::Object(b), Value::Object(p)) = (base, patch) {
        for (k, v) in p {
            match (b.get_mut(&k), v) {
                (Some(slot @ Value::Object(_)), v @ Value::Object(_)) => merge(slot, v),
                (_, v) => {
                    b.insert(k, v);
                }
            }
        }
    }
}

fn codes(reasons: &Value) -> Vec<String> {
    reasons
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap().to_owned())
        .collect()
}

fn check(call: Value) -> Value {
    rs(Rules::default_rules().check_binding(js(call)).unwrap())
}

fn route(call: Value) -> Value {
    rs(Rules::default_rules().route_violations(js(call)).unwrap())["routes"][0].clone()
}

#[wasm_bindgen_test]
fn fourth_binding_is_refused_with_limit_and_count() {
    let call = binding_call(json!({"binderBindings": [
        bound("user-1", "veh-2", NOW), bound("user-1", "veh-3", NOW), bound("user-1", "veh-4", NOW)]}));
    let answer = check(call);
    assert_eq!(answer["allowed"], false);
    assert_eq!(answer["reasons"][0]["code"], "USER_BINDING_LIMIT_REACHED");
    assert_eq!(
        answer["reasons"][0]["params"],
        json!({"limit": 3, "current": 3})
    );
    assert!(!answer["reasons"][0]["message"]["zh"]
        .as_str()
        .unwrap()
        .is_empty());
    assert!(!answer["reasons"][0]["message"]["en"]
        .as_str()
        .unwrap()
        .is_empty());
}

#[wasm_bindgen_test]
fn taxis_large_cars_and_unit_vehicles_are_refused() {
    let taxi = check(binding_call(json!({"vehicle": {"useNature": "D"}})));
    assert_eq!(codes(&taxi["reasons"]), ["USE_NATURE_NOT_BINDABLE"]);
    let large = check(binding_call(json!({"vehicle": {"plateType": "01"}})));
    assert_eq!(codes(&large["reasons"]), ["PLATE_TYPE_NOT_BINDABLE"]);
    let unit = check(binding_call(
        json!({"vehicle": {"ownerKind": "unit", "ownerId": null}}),
    ));
    assert_eq!(codes(&unit["reasons"]), ["VEHICLE_NOT_INDIVIDUAL_OWNED"]);
    assert_eq!(check(binding_call(json!({})))["allowed"], true);
}

#[wasm_bindgen_test]
fn violations_that_go_to_the_window() {
    let cases = [
        (
            violation(json!({"occurredAt": "2026-07-15T03:00:00Z"})),
            json!({}),
            "OCCURRED_BEFORE_BINDING",
        ),
        (
            violation(json!({"fineFen": 20001})),
            json!({}),
            "FINE_ABOVE_ONLINE_LIMIT",
        ),
        (
            violation(json!({"points": 0})),
            json!({}),
            "UNSCORED_NOT_FOR_BINDER",
        ),
        (
            violation(json!({})),
            json!({"binding": null}),
            "VEHICLE_NOT_BOUND",
        ),
    ];
    for (v, patch, code) in cases {
        let r = route(route_call(vec![v], patch));
        assert_eq!(r["route"], "window", "{code}");
        assert_eq!(codes(&r["reasons"]), [code]);
    }
    assert_eq!(
        route(route_call(vec![violation(json!({}))], json!({})))["route"],
        "online"
    );
}

#[wasm_bindgen_test]
fn binding_day_is_the_cst_day_whatever_the_offset_written() {
    // 2026-08-31T16:30Z is 00:30 on 1 September in Beijing. The same instants written with other offsets
    // or as epoch milliseconds give the same answers, whatever zone the browser or Node runs in.
    let created = [
        "2026-08-31T16:30:00Z",
        "2026-09-01T00:30:00+08:00",
        "2026-08-31T11:30:00-05:00",
    ];
    for at in created {
        let call = route_call(
            vec![
                violation(json!({"id": "same-day", "occurredAt": "2026-08-31T16:10:00Z"})),
                violation(json!({"id": "day-before", "occurredAt": 1_788_191_400_000_i64})), // 2026-08-31T15:50Z
            ],
            json!({"binding": bound("user-1", "veh-1", at)}),
        );
        let routes =
            rs(Rules::default_rules().route_violations(js(call)).unwrap())["routes"].clone();
        assert_eq!(routes[0]["route"], "online", "{at}");
        assert_eq!(routes[1]["route"], "window", "{at}");
        assert_eq!(routes[1]["reasons"][0]["params"]["effective"], "2026-09-01");
    }
}

fn thrown(result: Result<JsValue, JsValue>) -> (String, String) {
    let error = result.expect_err("should throw");
    let error: js_sys::Error = error.dyn_into().expect("a JS Error");
    let field = js_sys::Reflect::get(&error, &JsValue::from_str("field"))
        .unwrap()
        .as_string()
        .unwrap();
    (String::from(error.message()), field)
}

#[wasm_bindgen_test]
fn malformed_input_throws_an_error_naming_the_field() {
    let rules = Rules::default_rules();
    let cases = [
        (
            binding_call(json!({"vehicle": {"plateType": "77"}})),
            "vehicle.plateType",
        ),
        (
            binding_call(json!({"vehicle": {"plateNumber": "粤S1234"}})),
            "vehicle.plateNumber",
        ),
        (
            binding_call(json!({"binder": {"nickname": "x"}})),
            "binder.nickname",
        ),
        (binding_call(json!({"now": "tomorrow"})), "now"),
        (binding_call(json!({"channel": 3})), "channel"),
    ];
    for (call, field) in cases {
        let (message, got) = thrown(rules.check_binding(js(call)));
        assert_eq!(got, field, "{message}");
        assert!(message.contains(field), "{message}");
    }
    let (message, field) = thrown(rules.route_violations(js(route_call(
        vec![violation(json!({"points": 2}))],
        json!({}),
    ))));
    assert_eq!(field, "violations[0].points", "{message}");
    let (_, field) = thrown(rules.check_binding(JsValue::UNDEFINED));
    assert_eq!(field, "");
    // Still answers after the errors.
    assert_eq!(
        rs(rules.check_binding(js(binding_call(json!({})))).unwrap())["allowed"],
        true
    );
}

#[wasm_bindgen_test]
fn policies_parse_once_and_bad_fields_are_named() {
    let rules = Rules::from_policy(js(
        json!({"extends": "default", "version": "x-1", "maxOnlineFineFen": 50000}),
    ))
    .unwrap();
    assert_eq!(rules.policy_version(), "x-1");
    let r = rs(rules
        .route_violations(js(route_call(
            vec![violation(json!({"fineFen": 50000}))],
            json!({}),
        )))
        .unwrap());
    assert_eq!(r["routes"][0]["route"], "online");
    let error = match Rules::from_policy(JsValue::from_str(
        r#"{"extends":"default","lateFee":{"dueDays":-1}}"#,
    )) {
        Ok(_) => panic!("should throw"),
        Err(e) => e,
    };
    let (message, field) = thrown(Err(error));
    assert_eq!(field, "lateFee.dueDays", "{message}");
}

#[wasm_bindgen_test]
fn catalogue_and_parsers() {
    let catalogue = rs(reason_catalogue().unwrap());
    let catalogue = catalogue.as_array().unwrap();
    assert_eq!(catalogue.len(), renche::Refusal::examples().len());
    for r in catalogue {
        assert!(r["message"]["zh"]
            .as_str()
            .unwrap()
            .chars()
            .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)));
        assert!(
            r["message"]["en"].as_str().unwrap().is_ascii()
                || r["code"] == "FINE_ABOVE_ONLINE_LIMIT"
        );
    }
    assert_eq!(rs(plate_types().unwrap()).as_array().unwrap().len(), 35);
    let p = rs(parse_plate("02", "粤s 12345").unwrap());
    assert_eq!(
        p,
        json!({"ok": true, "normal": "粤S12345", "display": "粤S·12345", "masked": "粤S·1**45"})
    );
    let p = rs(parse_plate("52", "粤S12345").unwrap());
    assert_eq!(p["ok"], false);
    assert_eq!(p["error"]["code"], "PLATE_WRONG_LENGTH");
}

#[wasm_bindgen_test]
fn route_answers_match_the_core_field_for_field() {
    // The boundary writes each distinct reason once and puts them back in JS; the result must be exactly
    // the core's answer.
    let violations = vec![
        violation(json!({"id": "a"})),
        violation(json!({"id": "b", "fineFen": 50000})),
        violation(json!({"id": "c", "fineFen": 50000, "points": 0})),
        violation(json!({"id": "d", "occurredAt": "2026-07-15T03:00:00Z", "fineFen": 30000})),
        violation(json!({"id": "e", "state": "handled", "decidedAt": "2026-06-01T00:00:00Z"})),
        violation(json!({"id": "f", "state": "paid", "decidedAt": "2026-06-01T00:00:00Z"})),
    ];
    let calls = vec![
        route_call(violations.clone(), json!({})),
        route_call(violations, json!({"binding": null})),
    ];
    let core = renche::Rules::new(renche::Policy::default_policy());
    let expected: Vec<Value> = calls
        .iter()
        .map(|c| {
            let call: renche::RouteCall = serde_json::from_value(c.clone()).unwrap();
            serde_json::to_value(core.route_violations(&call)).unwrap()
        })
        .collect();
    let rules = Rules::default_rules();
    assert_eq!(
        rs(rules
            .route_violations_batch(js(Value::Array(calls.clone())))
            .unwrap()),
        Value::Array(expected.clone())
    );
    assert_eq!(
        rs(rules.route_violations(js(calls[1].clone())).unwrap()),
        expected[1]
    );
}
