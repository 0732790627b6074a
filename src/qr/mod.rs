//! Vehicle QR codes: the compact signed payload, rendering and scanning.

pub mod payload;
pub mod render;
#[cfg(feature = "scan")]
pub mod scan;

pub use payload::{QrPayload, QrPayloadError, LIFETIME_SECONDS};
pub use render::{QrMatrix, QrRenderError};
#[cfg(feature = "scan")]
pub use scan::{scan_grey, scan_rgba, QrScanError};
