//! renche-server: the authoritative backend. Every decision is made here by the rules core from facts in
//! the database; the browser's own evaluation is only an expectation to compare with.

pub mod app;
pub mod clock;
pub mod demo;
pub mod error;
pub mod extract;
pub mod gateways;
pub mod guard;
pub mod import;
pub mod policies;
pub mod routes;
pub mod secrets;
pub mod store;

pub use app::{build, router, App, AppState, Config};
