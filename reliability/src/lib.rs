//! Reliability tooling for the renche backend: start and kill real server processes, seed people and
//! vehicles, drive many concurrent clients over HTTP, record what each one saw, and check the record
//! against the database and its audit log.

pub mod client;
pub mod history;
pub mod seed;
pub mod server;
pub mod stats;

/// A boxed error with a message, for the tools' results.
pub type Error = Box<dyn std::error::Error + Send + Sync>;
pub type Result<T> = std::result::Result<T, Error>;

/// Turns any message into an [`Error`].
pub fn err(msg: impl Into<String>) -> Error {
    msg.into().into()
}
