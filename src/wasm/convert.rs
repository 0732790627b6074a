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

// errors.js: the error class, its own so that a caller can tell it from a bug of theirs with `instanceof`
// (the package's entry exports it), and `nonFinitePath`, the path of the first NaN or infinity in a value
// (JSON.stringify writes them as null, which would read as "no value" or as a wrong type).
#[wasm_bindgen(module = "/src/wasm/errors.js")]
extern "C" {
    #[wasm_bindgen(js_name = inputError)]
    fn new_input_error(
        message: &str,
        field: &str,
        code: &str,
        line: usize,
        column: usize,
    ) -> JsValue;
    #[wasm_bindgen(js_name = nonFinitePath)]
    fn non_finite_path(value: &JsValue) -> Option<String>;
}

/// A `RencheInputError` (src/wasm/errors.js) for input that is not a valid call. `field` is the JSON path
/// of the culprit (empty for the whole value), also its `field` property so callers can highlight it.
pub fn input_error(what: &str, field: &str, problem: &str) -> JsValue {
    located_input_error(what, field, problem, None)
}

/// The same, for JSON text that is not JSON: `line` and `column` say where reading stopped.
pub fn located_input_error(
    what: &str,
    field: &str,
    problem: &str,
    position: Option<(usize, usize)>,
) -> JsValue {
    let message = if field.is_empty() {
        format!("{what}: {problem}")
    } else {
        format!("{what}: field `{field}`: {problem}")
    };
    let code = if position.is_some() {
        "INVALID_JSON"
    } else if problem.starts_with("missing field") {
        "MISSING_FIELD"
    } else if problem.starts_with("unknown field") {
        "UNKNOWN_FIELD"
    } else {
        "INVALID_VALUE"
    };
    let (line, column) = position.unwrap_or((0, 0));
    new_input_error(&message, field, code, line, column)
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
    let text = JsValue::from(text)
        .as_string()
        .ok_or_else(|| input_error(what, "", "expected an object, got undefined"))?;
    // JSON writes NaN and the infinities as null; a text without null has none, so only then is the
    // value walked to tell a NaN from a null the caller meant.
    if text.contains("null") {
        if let Some(field) = non_finite_path(value) {
            return Err(not_a_number(what, &field));
        }
    }
    Ok(text)
}

fn not_a_number(what: &str, field: &str) -> JsValue {
    input_error(
        what,
        field,
        "expected a finite number, got NaN or an infinity",
    )
}

/// Reads a contract value from a JS value; errors name `what` (the export) and the field.
pub fn from_js<T: DeserializeOwned>(value: &JsValue, what: &str) -> Result<T, JsValue> {
    decode(&stringify(value, what)?).map_err(|e| input_error(what, &e.path, &e.problem))
}

/// Reads one plain argument of an export; errors name the argument.
pub fn arg<T: DeserializeOwned>(value: &JsValue, what: &str, name: &str) -> Result<T, JsValue> {
    if value.as_f64().is_some_and(|n| !n.is_finite()) {
        return Err(not_a_number(what, name));
    }
    decode(&stringify(value, what)?).map_err(|e| input_error(what, name, &e.problem))
}

/// Writes a contract value as a plain JS object (no Maps, no BigInts).
pub fn to_js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, JsValue> {
    let text = serde_json::to_string(value)
        .map_err(|e| js_sys::Error::new(&format!("cannot encode answer: {e}")))?;
    js_sys::JSON::parse(&text)
}
