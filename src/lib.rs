//! renche (人车): the rules for binding a vehicle that is not in your own name and handling its traffic
//! violations online, as one pure core that compiles natively (for the backend) and to WebAssembly (for the
//! browser). Nothing here knows about HTTP, SQL or the DOM; the `wasm` module at the edge is the only place
//! that knows about JavaScript.

pub mod contract;
pub mod domain;
pub mod message;
pub mod policy;
pub mod qr;
pub mod rules;
pub mod time;

#[cfg(target_arch = "wasm32")]
pub mod wasm;

pub use contract::*;
pub use message::{Explain, Message, Reason};
pub use policy::{Policy, PolicyError};
pub use rules::{Refusal, Rules};
pub use time::{CstDate, Timestamp};
