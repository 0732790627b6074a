//! The WebAssembly boundary: thin wrappers that take and return the contract types.

pub mod qr;
