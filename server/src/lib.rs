//! renche-server: the authoritative backend. Every decision is made here by the rules core from facts in
//! the database; the browser's own evaluation is only an expectation to compare with.
//!
//! Layers (docs/architecture.md): `http` → `flows` → `store`; `state` is shared by all and imports none.

pub mod clock;
pub mod demo;
pub mod dev_identity;
pub mod error;
pub mod flows;
pub mod gateways;
pub mod http;
pub mod import;
pub mod metrics;
pub mod netaddr;
pub mod policies;
pub mod replica;
pub mod secrets;
pub mod serve;
pub mod startup;
pub mod state;
pub mod store;

pub use startup::{build, router, App, Config};
pub use state::AppState;
