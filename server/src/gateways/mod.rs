//! Outside services behind traits: SMS delivery, real-person verification and payment. Each has a clearly
//! named development implementation that never pretends to be the real thing (the development identity
//! provider is a provider of its own, in `dev_identity`, reached over HTTP like a real one).

pub mod identity;
pub mod payment;
pub mod sms;

pub use identity::{
    HttpProvider, IdentityProvider, ProviderError, ProviderSession, ResultClaims, ResultOutcome,
    StartRequest, UnconfiguredProvider,
};
pub use payment::{
    DevPaymentProvider, PaymentError, PaymentProvider, PaymentReceipt, PaymentRequest,
};
pub use sms::{DevSmsOutbox, OutboxMessage, SmsGateway};
