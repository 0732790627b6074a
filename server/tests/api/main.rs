//! The API walked through HTTP against the real server (port 0, fresh SQLite database, demo data).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod accounts;
mod binding;
mod concurrency;
mod conventions;
mod crash;
mod helpers;
mod identity;
mod import;
mod kiosk;
mod notices;
mod operations;
mod perf;
mod preview;
mod sms_economy;
mod violations;
mod window;
