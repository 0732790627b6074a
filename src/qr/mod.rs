//! Vehicle QR codes: the compact signed payload, rendering and scanning.

pub mod payload;
pub mod render;
pub mod scan;

pub use payload::{QrPayload, QrPayloadError, LIFETIME_SECONDS};
pub use render::{QrMatrix, QrRenderError};
pub use scan::{scan_grey, scan_rgba, QrScanError};
