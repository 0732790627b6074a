//! Vehicle QR codes for the browser: draw the owner's code, show what a scanned code says and how long it
//! has left. Reading camera frames is `wasm/scan.rs`. Making and verifying codes needs the server's key and
//! stays there.
//!
//! What fails throws a JS `Error` whose message starts with the stable code and which carries `code` and
//! `reason` (`{code, params, message: {zh, en}}`) properties.

use crate::message::{Explain, Reason};
use crate::qr::{QrMatrix, QrPayload};
use crate::time::Timestamp;
// JSON text like every other answer: one serializer in the module instead of two.
use super::convert::to_js;
use serde::Serialize;
use wasm_bindgen::prelude::*;

// The scanner lives in its own module for the npm package (see `wasm/scan.rs`); builds with both features
// keep it here too.
#[cfg(feature = "scan")]
pub use crate::wasm_scan::{qr_scan_grey, qr_scan_rgba};

#[wasm_bindgen(typescript_custom_section)]
const QR_TYPES: &str = r#"
/** Stable codes of the errors the QR functions report. */
export type QrErrorCode =
  | "QR_NOT_VEHICLE_CODE" | "QR_UNKNOWN_VERSION" | "QR_MALFORMED" | "QR_BAD_SIGNATURE" | "QR_EXPIRED"
  | "QR_PLATE_NOT_ENCODABLE" | "QR_EXPIRY_OUT_OF_RANGE" | "QR_TEXT_TOO_LONG" | "QR_SCALE_OUT_OF_RANGE"
  | "QR_IMAGE_BAD_DIMENSIONS" | "QR_IMAGE_TOO_LARGE" | "QR_NO_SYMBOL" | "QR_DECODE_FAILED";
export interface QrError {
  code: QrErrorCode;
  params: { [name: string]: string | number };
  message: { zh: string; en: string };
}
/** A JS Error thrown by the QR functions: `message` is "CODE: English text". */
export interface QrThrown extends Error {
  code: QrErrorCode;
  reason: QrError;
}
/** The modules of a symbol without its quiet zone: `size × size`, row-major, 1 = dark. */
export interface QrModules {
  size: number;
  version: number;
  modules: Uint8Array;
}
/** Opaque black-on-white pixels with the 4-module quiet zone, ready for `new ImageData(data, width, height)`. */
export interface QrImage {
  width: number;
  height: number;
  data: Uint8ClampedArray;
}
/** What a vehicle code says, unverified: only the server can tell whether it is genuine and unused. */
export interface QrPayloadInfo {
  version: number;
  /** RFC 3339, UTC, with milliseconds. */
  expiresAt: string;
  expiresAtMs: number;
  /** For example `粤S·1**45`. */
  maskedPlate: string;
}
"#;

/// A JS `Error` carrying the stable code and the full reason.
fn js_error<E: Explain>(e: &E) -> JsValue {
    let reason = Reason::of(e);
    let error = js_sys::Error::new(&format!("{}: {}", reason.code, reason.message.en));
    // Plain data properties on a fresh Error: setting them cannot fail, so failures are ignored.
    let _ = js_sys::Reflect::set(&error, &"code".into(), &reason.code.into());
    if let Ok(value) = to_js(&reason) {
        let _ = js_sys::Reflect::set(&error, &"reason".into(), &value);
    }
    error.into()
}

fn object(fields: &[(&str, JsValue)]) -> JsValue {
    let o = js_sys::Object::new();
    for (k, v) in fields {
        let _ = js_sys::Reflect::set(&o, &JsValue::from_str(k), v);
    }
    o.into()
}

fn matrix(text: &str) -> Result<QrMatrix, JsValue> {
    QrMatrix::encode(text).map_err(|e| js_error(&e))
}

/// The QR code of `text` as an SVG document (level M, 4-module quiet zone, one unit per module).
#[wasm_bindgen(js_name = qrSvg)]
pub fn qr_svg(text: &str) -> Result<String, JsValue> {
    Ok(matrix(text)?.to_svg())
}

/// The module matrix of `text`, to paint on a canvas yourself.
#[wasm_bindgen(js_name = qrMatrix, unchecked_return_type = "QrModules")]
pub fn qr_matrix(text: &str) -> Result<JsValue, JsValue> {
    let m = matrix(text)?;
    Ok(object(&[
        ("size", JsValue::from(m.size() as u32)),
        ("version", JsValue::from(m.version())),
        ("modules", js_sys::Uint8Array::from(m.modules()).into()),
    ]))
}

/// The QR code of `text` as RGBA pixels, `scale` pixels per module, quiet zone included.
#[wasm_bindgen(js_name = qrPaintRgba, unchecked_return_type = "QrImage")]
pub fn qr_paint_rgba(text: &str, scale: u32) -> Result<JsValue, JsValue> {
    let m = matrix(text)?;
    let scale = scale as usize;
    let side = m.painted_side(scale).map_err(|e| js_error(&e))?;
    let pixels = m.paint_rgba(scale).map_err(|e| js_error(&e))?;
    Ok(object(&[
        ("width", JsValue::from(side as u32)),
        ("height", JsValue::from(side as u32)),
        (
            "data",
            js_sys::Uint8ClampedArray::from(pixels.as_slice()).into(),
        ),
    ]))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PayloadInfo {
    version: u8,
    expires_at: String,
    expires_at_ms: i64,
    masked_plate: String,
}

/// What a scanned vehicle code says (plate, expiry), without checking its signature: for showing the binder
/// the plate and a countdown before asking the server.
#[wasm_bindgen(js_name = qrDecodePayload, unchecked_return_type = "QrPayloadInfo")]
pub fn qr_decode_payload(text: &str) -> Result<JsValue, JsValue> {
    let p = QrPayload::decode_unverified(text).map_err(|e| js_error(&e))?;
    to_js(&PayloadInfo {
        version: p.version(),
        expires_at: p.expires_at().to_rfc3339(),
        expires_at_ms: p.expires_at().millis(),
        masked_plate: p.masked_plate().to_owned(),
    })
}

/// Whole seconds a vehicle code has left at `nowMs` (epoch milliseconds), rounded up; 0 once expired.
#[wasm_bindgen(js_name = qrSecondsLeft)]
pub fn qr_seconds_left(
    text: &str,
    #[wasm_bindgen(js_name = nowMs)] now_ms: f64,
) -> Result<u32, JsValue> {
    let p = QrPayload::decode_unverified(text).map_err(|e| js_error(&e))?;
    if !now_ms.is_finite() {
        return Err(js_sys::Error::new(
            "qrSecondsLeft: nowMs must be a finite number of milliseconds",
        )
        .into());
    }
    // `as` saturates for out-of-range floats, which is what a clock far in the future or past should mean.
    Ok(p.seconds_left(Timestamp::from_millis(now_ms.floor() as i64)))
}
