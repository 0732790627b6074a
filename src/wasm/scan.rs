//! Reading QR codes from camera frames in the browser: `qrScanRgba` and `qrScanGrey`.
//!
//! The npm package builds these alone (feature `scan` without `api`) as its second module,
//! `scan/renche_scan.js`, which only the pages that scan load; in other builds `wasm::qr` re-exports them.
//! "Nothing found" comes back as data (`{ ok: false, error }`), because a camera loop meets it on most
//! frames; a buffer that does not match its size throws a JS `Error` carrying `code` and `reason`.

use crate::message::Reason;
use crate::qr::{scan, QrScanError};
use serde::Serialize;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const SCAN_TYPES: &str = r#"
/** The texts of every symbol read, or why none was (`error` has the shape of `QrError`). */
export type QrScan =
  | { ok: true; texts: string[] }
  | { ok: false; error: { code: string; params: { [name: string]: string | number }; message: { zh: string; en: string } } };
"#;

#[derive(Serialize)]
#[serde(untagged)]
enum ScanAnswer {
    Found { ok: bool, texts: Vec<String> },
    NotFound { ok: bool, error: Reason },
}

fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsValue> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| js_sys::Error::new(&format!("cannot encode answer: {e}")).into())
}

fn scan_answer(result: Result<Vec<String>, QrScanError>) -> Result<JsValue, JsValue> {
    match result {
        Ok(texts) => to_js(&ScanAnswer::Found { ok: true, texts }),
        Err(e @ (QrScanError::NoSymbol | QrScanError::DecodeFailed { .. })) => {
            to_js(&ScanAnswer::NotFound {
                ok: false,
                error: Reason::of(&e),
            })
        }
        // A buffer that does not match its size is a bug in the caller, not a bad frame.
        Err(e) => {
            let reason = Reason::of(&e);
            let error = js_sys::Error::new(&format!("{}: {}", reason.code, reason.message.en));
            // Plain data properties on a fresh Error: setting them cannot fail, so failures are ignored.
            let _ = js_sys::Reflect::set(&error, &"code".into(), &reason.code.into());
            if let Ok(value) = to_js(&reason) {
                let _ = js_sys::Reflect::set(&error, &"reason".into(), &value);
            }
            Err(error.into())
        }
    }
}

/// Reads QR codes from RGBA pixels (a canvas `ImageData`'s `data`, `width`, `height`).
#[wasm_bindgen(js_name = qrScanRgba, unchecked_return_type = "QrScan")]
pub fn qr_scan_rgba(
    #[wasm_bindgen(unchecked_param_type = "Uint8Array | Uint8ClampedArray")] data: &[u8],
    width: u32,
    height: u32,
) -> Result<JsValue, JsValue> {
    scan_answer(scan::scan_rgba(data, width as usize, height as usize))
}

/// Reads QR codes from greyscale pixels, one byte each (0 = black).
#[wasm_bindgen(js_name = qrScanGrey, unchecked_return_type = "QrScan")]
pub fn qr_scan_grey(
    #[wasm_bindgen(unchecked_param_type = "Uint8Array | Uint8ClampedArray")] data: &[u8],
    width: u32,
    height: u32,
) -> Result<JsValue, JsValue> {
    scan_answer(scan::scan_grey(data, width as usize, height as usize))
}
