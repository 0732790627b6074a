//! The same suite as `wasm_qr.rs`, configured for the browser (`wasm-pack test --headless --chrome`):
//! wasm-bindgen's runner runs a suite either in Node or in a browser, not both.
#![cfg(target_arch = "wasm32")]

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

#[path = "wasm_qr.rs"]
mod wasm_qr;
