//! Moving contract values across the boundary.
//!
//! Inputs go through `JSON.stringify` and `serde_json`, outputs through `serde_json` and `JSON.parse`. For
//! a 10,000-violation route call this measured as fast as, or faster than, walking the JS objects field by
//! field with `serde-wasm-bindgen` (docs/benchmarks.md), with less code. Route answers add one step of
//! their own (`packed.rs`).

use crate::json::decode;
use serde::de::DeserializeOwned;
use serde::Serialize;
use wasm_bindgen::prelude::*;

/// A JS `Error` for input that is not a valid call. `field` is the JSON path of the culprit (empty for the
/// whole value), also set as the error's `field` property so callers can highlight it.
pub fn input_error(what: &str, field: &str, problem: &str) -> JsValue {
    let message = if field.is_empty() {
        format!("{what}: {problem}")
    } else {
        format!("{what}: field `{field}`: {problem}")
    };
    let error = js_sys::Error::new(&message);
    // Setting a plain data property on a fresh Error cannot fail; ignore the impossible case.
    let _ = js_sys::Reflect::set(
        &error,
        &JsValue::from_str("field"),
        &JsValue::from_str(field),
    );
    error.into()
}

/// `JSON.stringify(value)`, or an error naming `what` when the value has no JSON form.
pub fn stringify(value: &JsValue, what: &str) -> Result<String, JsValue> {
    let text = js_sys::JSON::stringify(value).map_err(|e| {
        let problem = e
            .dyn_ref::<js_sys::Error>()
            .map(|e| String::from(e.message()))
            .unwrap_or_default();
        input_error(what, "", &format!("not convertible to JSON ({problem})"))
    })?;
    // `JSON.stringify(undefined)` (and of a function) answers `undefined`, not a string.
    JsValue::from(text)
        .as_string()
        .ok_or_else(|| input_error(what, "", "expected an object, got undefined"))
}

/// Reads a contract value from a JS value; errors name `what` (the export) and the field.
pub fn from_js<T: DeserializeOwned>(value: &JsValue, what: &str) -> Result<T, JsValue> {
    decode(&stringify(value, what)?).map_err(|e| input_error(what, &e.path, &e.problem))
}

/// Reads one plain argument of an export; errors name the argument.
pub fn arg<T: DeserializeOwned>(value: &JsValue, what: &str, name: &str) -> Result<T, JsValue> {
    decode(&stringify(value, what)?).map_err(|e| input_error(what, name, &e.problem))
}

/// Writes a contract value as a plain JS object (no Maps, no BigInts).
pub fn to_js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, JsValue> {
    let text = serde_json::to_string(value)
        .map_err(|e| js_sys::Error::new(&format!("cannot encode answer: {e}")))?;
    js_sys::JSON::parse(&text)
}
