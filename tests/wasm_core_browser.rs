//! The same suite as `wasm_core.rs`, configured for the browser: wasm-bindgen's runner runs a suite in one
//! place only (Node by default, the browser with `run_in_browser`) and skips it elsewhere, so
//! `wasm-pack test --node` runs `wasm_core` and `wasm-pack test --headless --chrome` runs this one.
#![cfg(target_arch = "wasm32")]

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

#[path = "wasm_core.rs"]
mod wasm_core;
