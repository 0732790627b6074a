//! The QR exports of the WebAssembly module, called as JavaScript calls them. Runs in Node
//! (`wasm-pack test --node`); `qr_wasm_browser.rs` runs the same cases in Chromium.
#![cfg(target_arch = "wasm32")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use renche::qr::QrPayload;
use renche::time::Timestamp;
use renche::wasm::qr::{
    qr_decode_payload, qr_matrix, qr_paint_rgba, qr_scan_grey, qr_scan_rgba, qr_seconds_left,
    qr_svg,
};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::wasm_bindgen_test;

const KEY: &[u8] = b"server secret for tests, 32 byte";
/// 2026-09-01T07:00:00Z
const T0: Timestamp = Timestamp::from_millis(1_788_246_000_000);

fn get(o: &JsValue, key: &str) -> JsValue {
    js_sys::Reflect::get(o, &JsValue::from_str(key)).unwrap()
}

fn vehicle_code() -> String {
    QrPayload::issue([0x42; 16], T0, "粤S·D1**45")
        .unwrap()
        .encode(KEY)
}

/// The thrown value is a real JS Error with the stable code first in its message.
fn assert_error(e: JsValue, code: &str) {
    let error: js_sys::Error = e.dyn_into().expect("a JS Error");
    let message = String::from(error.message());
    assert!(message.starts_with(&format!("{code}: ")), "{message}");
    assert_eq!(get(&error, "code").as_string().unwrap(), code);
    let reason = get(&error, "reason");
    assert_eq!(get(&reason, "code").as_string().unwrap(), code);
    assert!(!get(&get(&reason, "message"), "zh")
        .as_string()
        .unwrap()
        .is_empty());
}

#[wasm_bindgen_test]
fn render_paint_scan_round_trip() {
    let text = vehicle_code();
    let svg = qr_svg(&text).unwrap();
    assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 41 41\""));

    let m = qr_matrix(&text).unwrap();
    assert_eq!(get(&m, "size").as_f64(), Some(33.0));
    assert_eq!(get(&m, "version").as_f64(), Some(4.0));
    let modules: js_sys::Uint8Array = get(&m, "modules").dyn_into().unwrap();
    assert_eq!(modules.length(), 33 * 33);

    let image = qr_paint_rgba(&text, 4).unwrap();
    let (w, h) = (
        get(&image, "width").as_f64().unwrap() as u32,
        get(&image, "height").as_f64().unwrap() as u32,
    );
    assert_eq!((w, h), (164, 164));
    let data: js_sys::Uint8ClampedArray = get(&image, "data").dyn_into().unwrap();
    let scan = qr_scan_rgba(&data.to_vec(), w, h).unwrap();
    assert_eq!(get(&scan, "ok").as_bool(), Some(true));
    let texts: js_sys::Array = get(&scan, "texts").dyn_into().unwrap();
    assert_eq!(texts.length(), 1);
    assert_eq!(texts.get(0).as_string().unwrap(), text);

    let info = qr_decode_payload(&texts.get(0).as_string().unwrap()).unwrap();
    assert_eq!(get(&info, "version").as_f64(), Some(1.0));
    assert_eq!(get(&info, "maskedPlate").as_string().unwrap(), "粤S·D1**45");
    assert_eq!(
        get(&info, "expiresAt").as_string().unwrap(),
        "2026-09-01T07:03:00.000Z"
    );
    assert_eq!(
        get(&info, "expiresAtMs").as_f64(),
        Some(T0.plus_seconds(180).millis() as f64)
    );
    let now = T0.millis() as f64;
    assert_eq!(qr_seconds_left(&text, now).unwrap(), 180);
    assert_eq!(qr_seconds_left(&text, now + 179_000.0).unwrap(), 1);
    assert_eq!(qr_seconds_left(&text, now + 180_000.0).unwrap(), 0);
}

#[wasm_bindgen_test]
fn nothing_found_is_data_not_an_exception() {
    let blank = vec![255u8; 64 * 48];
    let scan = qr_scan_grey(&blank, 64, 48).unwrap();
    assert_eq!(get(&scan, "ok").as_bool(), Some(false));
    assert_eq!(
        get(&get(&scan, "error"), "code").as_string().unwrap(),
        "QR_NO_SYMBOL"
    );
}

#[wasm_bindgen_test]
fn failures_are_js_errors_with_codes() {
    let text = vehicle_code();
    // Any changed character of the body: the browser cannot check the MAC, but a changed layout is caught.
    let tampered = text.replacen("RC1:18", "RC1:99", 1);
    assert_error(qr_decode_payload(&tampered).unwrap_err(), "QR_MALFORMED");
    assert_error(
        qr_decode_payload("https://example.com/").unwrap_err(),
        "QR_NOT_VEHICLE_CODE",
    );
    assert_error(
        qr_seconds_left(&text[..40], 0.0).unwrap_err(),
        "QR_MALFORMED",
    );
    assert_error(
        qr_scan_rgba(&[0; 10], 3, 3).unwrap_err(),
        "QR_IMAGE_BAD_DIMENSIONS",
    );
    assert_error(
        qr_paint_rgba(&text, 0).unwrap_err(),
        "QR_SCALE_OUT_OF_RANGE",
    );
    assert_error(qr_svg(&"x".repeat(5000)).unwrap_err(), "QR_TEXT_TOO_LONG");
    assert!(qr_seconds_left(&text, f64::NAN).is_err());
}
