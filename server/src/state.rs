//! What every request and every background task shares: the store, the policies, the clock, the outside
//! services. A leaf: it imports nothing from `http` or `flows`.

use crate::clock::Clock;
use crate::gateways::{
    DevPaymentProvider, DevSmsOutbox, IdentityProvider, PaymentProvider, SmsGateway,
};
use crate::policies::Policies;
use crate::store::{Store, TxError, TxFn};
use renche::Timestamp;
use std::path::PathBuf;
use std::sync::Arc;

/// The development services, reachable through `/api/v1/dev/*` in development mode only. (The development
/// identity provider is not among them: the server reaches it only as a provider, by URL.)
pub struct DevServices {
    pub outbox: Arc<DevSmsOutbox>,
    pub payment: Arc<DevPaymentProvider>,
}

pub struct AppState {
    pub store: Arc<dyn Store>,
    /// A hot standby for reads that may lag a little (`read_may_lag`).
    pub replica: Option<Arc<crate::replica::Replica>>,
    /// The policies in force, replaced whole when new versions are published (`publish_policies`).
    pub published_policies: std::sync::RwLock<Arc<Policies>>,
    pub clock: Arc<dyn Clock>,
    pub sms: Arc<dyn SmsGateway>,
    /// The real-person verification provider.
    pub identity: Arc<dyn IdentityProvider>,
    /// The server's public origin (`https://renche.example`), for the provider's return URLs; without it
    /// return URLs are paths on the provider's own origin (the development provider shares ours).
    pub public_url: Option<String>,
    pub payment: Arc<dyn PaymentProvider>,
    pub dev: Option<DevServices>,
    /// Whether the session cookie carries `Secure` (not in development or on a loopback-only listener,
    /// where browsers would drop it over plain http).
    pub secure_cookies: bool,
    /// The HMAC key of the vehicle QR codes.
    pub qr_key: Vec<u8>,
    /// Static files served at `/` and the WebAssembly package served at `/pkg/`.
    pub www: PathBuf,
    pub pkg: PathBuf,
    /// Proxies whose `Forwarded` / `X-Forwarded-For` name the client (the SMS caps count by address).
    pub trusted_proxies: Vec<crate::netaddr::TrustedProxy>,
}

pub type SharedState = Arc<AppState>;

impl AppState {
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// The policies as published now; a request keeps the ones it started with to its end.
    pub fn policies(&self) -> Arc<Policies> {
        let published = self
            .published_policies
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Arc::clone(&published)
    }

    /// Replaces the policies in force: the next request decides with these.
    pub fn publish_policies(&self, policies: Policies) {
        let mut published = self
            .published_policies
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *published = Arc::new(policies);
    }

    /// Runs `f` in one write transaction of the store; an `Err` rolls everything back.
    pub async fn write<T: Send + 'static, E: TxError>(&self, f: impl TxFn<T, E>) -> Result<T, E> {
        crate::store::write(self.store.as_ref(), f).await
    }

    /// Runs `f` in one read snapshot of the standby while it is within its bound and the caller has made
    /// no change of late (`wrote_recently`), otherwise of the store.
    pub async fn read_may_lag<T: Send + 'static, E: TxError>(
        &self,
        wrote_recently: bool,
        f: impl TxFn<T, E>,
    ) -> Result<T, E> {
        let Some(replica) = &self.replica else {
            return self.read(f).await;
        };
        if !wrote_recently && replica.usable() {
            crate::metrics::count("renche_replica_reads_total", &[("served_by", "standby")]);
            crate::store::read(replica.store().as_ref(), f).await
        } else {
            crate::metrics::count("renche_replica_reads_total", &[("served_by", "primary")]);
            self.read(f).await
        }
    }

    /// Runs `f` in one read snapshot of the store.
    pub async fn read<T: Send + 'static, E: TxError>(&self, f: impl TxFn<T, E>) -> Result<T, E> {
        crate::store::read(self.store.as_ref(), f).await
    }
}
