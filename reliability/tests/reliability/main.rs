//! Reliability and security tests of the backend through HTTP, against real server processes on
//! fresh databases: concurrent histories (also with SIGKILL restarts), an authorisation matrix,
//! one-time codes, sessions, enumeration timing and a catalogue of bad requests.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod bad_requests;
mod common;
mod history;
mod security;
mod slow_clients;
