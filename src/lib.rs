//! renche (人车): the rules for binding a vehicle that is not in your own name and handling its traffic
//! violations online, as one pure core that compiles natively (for the backend) and to WebAssembly (for the
//! browser). Nothing here knows about HTTP, SQL or the DOM; the `wasm` module at the edge is the only place
//! that knows about JavaScript.

pub mod contract;
pub mod domain;
pub mod json;
pub mod message;
pub mod policy;
pub mod qr;
pub mod rules;
pub mod time;

#[cfg(all(target_arch = "wasm32", feature = "api"))]
pub mod wasm;
/// The QR scanner's exports alone: with only the `scan` feature this is the npm package's second module.
#[cfg(all(target_arch = "wasm32", feature = "scan"))]
#[path = "wasm/scan.rs"]
pub mod wasm_scan;

pub use contract::*;
pub use message::{Explain, Message, Reason};
pub use policy::{Policy, PolicyError, PolicySchedule};
pub use rules::{Refusal, Rules};
pub use time::{CstDate, Timestamp};
