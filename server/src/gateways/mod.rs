//! Outside services behind traits: SMS delivery, real-person verification and payment. Each has a clearly
//! named development implementation that never pretends to be the real thing.

pub mod identity;
pub mod payment;
pub mod sms;

pub use identity::{DevIdentityVerifier, IdentityVerifier, VerificationOutcome};
pub use payment::{
    DevPaymentProvider, PaymentError, PaymentProvider, PaymentReceipt, PaymentRequest,
};
pub use sms::{DevSmsOutbox, OutboxMessage, SmsGateway};
