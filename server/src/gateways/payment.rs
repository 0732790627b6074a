//! Paying fines.

use crate::store::BoxFuture;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

#[derive(Clone, Debug)]
pub struct PaymentRequest {
    /// Our reference, unique per attempt, so that a provider can refuse a double charge.
    pub reference: String,
    pub payer_id: i64,
    pub violation_id: i64,
    pub amount_fen: u64,
}

#[derive(Clone, Debug)]
pub struct PaymentReceipt {
    pub payment_ref: String,
}

#[derive(Clone, Debug, thiserror::Error)]
pub enum PaymentError {
    #[error("the payment was declined: {0}")]
    Declined(String),
    #[error("the payment service is unavailable: {0}")]
    Unavailable(String),
}

pub trait PaymentProvider: Send + Sync + 'static {
    fn pay(&self, request: PaymentRequest) -> BoxFuture<'_, Result<PaymentReceipt, PaymentError>>;
    /// Gives back a payment whose commit could not be recorded.
    fn refund(&self, payment_ref: String) -> BoxFuture<'_, Result<(), PaymentError>>;
}

/// Development provider: pays at once, or declines every payment while told to fail
/// (`POST /api/v1/dev/payment`). Moves no money.
#[derive(Default)]
pub struct DevPaymentProvider {
    fail: AtomicBool,
    counter: AtomicU64,
}

impl DevPaymentProvider {
    pub fn set_failing(&self, fail: bool) {
        self.fail.store(fail, Ordering::Relaxed);
    }
}

impl PaymentProvider for DevPaymentProvider {
    fn pay(&self, request: PaymentRequest) -> BoxFuture<'_, Result<PaymentReceipt, PaymentError>> {
        Box::pin(async move {
            if self.fail.load(Ordering::Relaxed) {
                return Err(PaymentError::Declined(
                    "development provider set to fail".into(),
                ));
            }
            let n = self.counter.fetch_add(1, Ordering::Relaxed) + 1;
            tracing::info!(reference = %request.reference, amount_fen = request.amount_fen, "payment (development provider, no money moved)");
            Ok(PaymentReceipt {
                payment_ref: format!("DEVPAY-{n:08}-{}", request.reference),
            })
        })
    }
    fn refund(&self, payment_ref: String) -> BoxFuture<'_, Result<(), PaymentError>> {
        Box::pin(async move {
            tracing::info!(%payment_ref, "refund (development provider)");
            Ok(())
        })
    }
}
