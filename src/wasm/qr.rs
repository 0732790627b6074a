//! Vehicle QR codes for the browser: draw the owner's code (into a canvas, or as SVG or pixels for workers
//! and Node), show what a scanned code says and how long it has left. Reading camera frames is `wasm/scan.rs`. Making and verifying codes needs the server's key and
//! stays there.
//!
//! What fails throws a JS `Error` whose message starts with the stable code and which carries `code` and
//! `reason` (`{code, params, message: {zh, en}}`) properties.

use crate::message::{Explain, Message, Reason};
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
  | "QR_IMAGE_BAD_DIMENSIONS" | "QR_IMAGE_TOO_LARGE" | "QR_NO_SYMBOL" | "QR_DECODE_FAILED"
  | "QR_CANVAS_UNAVAILABLE";
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
/**
 * What `qrPaintCanvas` paints into: an `HTMLCanvasElement`, described by its shape so that the package's
 * types need no DOM library.
 */
export interface QrCanvas {
  width: number;
  height: number;
  getContext(contextId: "2d"): object | null;
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

/// The side in pixels (at most `MAX_PAINT_SIDE`, so it fits a u32) and the RGBA pixels of the code of
/// `text`: one copy for `qrPaintRgba` and `qrPaintCanvas`.
#[inline(never)]
fn rgba(text: &str, scale: u32) -> Result<(u32, Vec<u8>), JsValue> {
    let m = matrix(text)?;
    let scale = scale as usize;
    let side = m.painted_side(scale).map_err(|e| js_error(&e))?;
    let pixels = m.paint_rgba(scale).map_err(|e| js_error(&e))?;
    Ok((side as u32, pixels))
}

/// The QR code of `text` as RGBA pixels, `scale` pixels per module, quiet zone included.
#[wasm_bindgen(js_name = qrPaintRgba, unchecked_return_type = "QrImage")]
pub fn qr_paint_rgba(text: &str, scale: u32) -> Result<JsValue, JsValue> {
    let (side, pixels) = rgba(text, scale)?;
    Ok(object(&[
        ("width", JsValue::from(side)),
        ("height", JsValue::from(side)),
        (
            "data",
            js_sys::Uint8ClampedArray::from(pixels.as_slice()).into(),
        ),
    ]))
}

/// `qrPaintCanvas` got something that is not a canvas, or a canvas that already has another kind of
/// context (WebGL) and so cannot give a 2D one.
struct CanvasUnavailable;

impl Explain for CanvasUnavailable {
    fn code(&self) -> &'static str {
        "QR_CANVAS_UNAVAILABLE"
    }
    fn message(&self) -> Message {
        Message::new(
            "无法在该画布上绘制:需要一个可提供 2D 上下文的 <canvas> 元素",
            "Cannot paint on this canvas: it must be a <canvas> element that gives a 2D context",
        )
    }
}

/// Paints the QR code of `text` into `canvas`, `scale` pixels per module, quiet zone included: the canvas
/// is resized to the code's side, so size it on the page with CSS (`image-rendering: pixelated` keeps the
/// modules sharp). Throws like the other QR functions, before touching the canvas.
#[wasm_bindgen(js_name = qrPaintCanvas)]
pub fn qr_paint_canvas(
    #[wasm_bindgen(unchecked_param_type = "QrCanvas")] canvas: &JsValue,
    text: &str,
    scale: u32,
) -> Result<(), JsValue> {
    let (side, pixels) = rgba(text, scale)?;
    let unavailable = || js_error(&CanvasUnavailable);
    let canvas = canvas
        .dyn_ref::<web_sys::HtmlCanvasElement>()
        .ok_or_else(unavailable)?;
    let context = canvas
        .get_context("2d")
        .ok()
        .flatten()
        .ok_or_else(unavailable)?
        .unchecked_into::<web_sys::CanvasRenderingContext2d>();
    let image = web_sys::ImageData::new_with_u8_clamped_array_and_sh(
        wasm_bindgen::Clamped(pixels.as_slice()),
        side,
        side,
    )?;
    canvas.set_width(side);
    canvas.set_height(side);
    context.put_image_data(&image, 0.0, 0.0)
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
