//! Building the application: configuration, the store and the outside services, housekeeping, the
//! router and the listener.

use crate::clock::{Clock, OffsetClock, SystemClock};
use crate::dev_identity::DevIdentityProvider;
use crate::gateways::{
    DevPaymentProvider, DevSmsOutbox, HttpProvider, IdentityProvider, OutboxMessage, PaymentError,
    PaymentProvider, PaymentReceipt, PaymentRequest, SmsGateway, UnconfiguredProvider,
};
use crate::http;
use crate::policies::Policies;
use crate::state::{AppState, DevServices, SharedState};
use crate::store::sqlite::{path_of_url, SqliteStore};
use crate::store::{BoxFuture, Store};
use axum::routing::get;
use axum::Router;
use renche::Timestamp;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tower_http::services::ServeDir;

#[derive(Clone)]
pub struct Config {
    pub listen: String,
    pub database: String,
    pub policy_dir: PathBuf,
    pub dev: bool,
    pub demo: bool,
    pub www: PathBuf,
    pub pkg: PathBuf,
    /// A clock to use instead of the system's (tests); development mode otherwise gets a movable one.
    pub clock: Option<Arc<dyn Clock>>,
    /// Proxies whose forwarding headers name the client; without any, the socket's peer is the client.
    pub trusted_proxies: Vec<crate::netaddr::TrustedProxy>,
    /// The real-person verification provider; without one, `--dev` uses the development provider and
    /// otherwise verification is unavailable (manual review).
    pub identity_provider: Option<IdentityProviderConfig>,
    /// The server's public origin, for the provider's return URLs (`RENCHE_PUBLIC_URL`).
    pub public_url: Option<String>,
    /// Deadlines for what clients send and the connection cap.
    pub limits: crate::serve::ConnectionLimits,
    /// Where `/metrics` is served, apart from the public listener; none: not served.
    pub metrics_listen: Option<String>,
    /// A hot standby that serves reads which may lag (PostgreSQL only).
    pub replica: Option<ReplicaConfig>,
}

/// A hot standby's URL and how stale a read from it may be.
#[derive(Clone, Debug)]
pub struct ReplicaConfig {
    pub url: String,
    pub max_lag: Duration,
}

/// Where the identity provider (or the adapter in front of it) is, the key its results are signed with, and
/// the credential the server presents to it.
#[derive(Clone, Debug)]
pub struct IdentityProviderConfig {
    pub url: String,
    /// The provider's Ed25519 public key, 64 hex digits.
    pub public_key: String,
    /// Sent as `Authorization: Bearer …` on the server's calls to the provider.
    pub credential: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8080".into(),
            database: "sqlite://data/renche.sqlite3".into(),
            policy_dir: PathBuf::from("policies"),
            dev: false,
            demo: false,
            www: PathBuf::from("www"),
            pkg: PathBuf::from("pkg-web"),
            clock: None,
            trusted_proxies: Vec::new(),
            identity_provider: None,
            public_url: None,
            limits: crate::serve::ConnectionLimits::default(),
            metrics_listen: None,
            replica: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("policy: {0}")]
    Policy(String),
    #[error("database: {0}")]
    Store(#[from] crate::store::StoreError),
    #[error("unsupported database URL {0} (use sqlite://PATH or postgres://…)")]
    DatabaseUrl(String),
    #[error("listen on {0}: {1}")]
    Listen(String, std::io::Error),
    #[error("demo data: {0}")]
    Demo(String),
    #[error("identity provider: {0}")]
    IdentityProvider(String),
    #[error("replica database: {0}")]
    Replica(String),
}

pub struct App {
    listener: TcpListener,
    router: Router,
    limits: crate::serve::ConnectionLimits,
    metrics_listener: Option<TcpListener>,
    pub state: SharedState,
    pub addr: SocketAddr,
    /// Where `/metrics` answers, when a metrics address was given.
    pub metrics_addr: Option<SocketAddr>,
}

impl App {
    /// The URL to open in a browser.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// Serves until `shutdown` resolves, then finishes the requests in flight.
    pub async fn run_until(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        if let Some(listener) = self.metrics_listener {
            let metrics = crate::http::metrics::router(Arc::clone(&self.state));
            tokio::spawn(async move {
                if let Err(e) = axum::serve(listener, metrics).await {
                    tracing::error!(error = %e, "metrics listener stopped");
                }
            });
        }
        crate::serve::serve(self.listener, self.router, self.limits, shutdown).await
    }
}

/// The outside services, and their development handles when they are the development ones.
type Gateways = (
    Arc<dyn SmsGateway>,
    Arc<dyn PaymentProvider>,
    Option<DevServices>,
);

/// Production stand-ins where no real service is configured: they refuse rather than pretend.
struct UnconfiguredSms;
impl SmsGateway for UnconfiguredSms {
    fn send(&self, _message: OutboxMessage) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async {
            Err(
                "no SMS gateway is configured (run with --dev for the development outbox)"
                    .to_owned(),
            )
        })
    }
    fn configured(&self) -> bool {
        false
    }
}
struct UnconfiguredPayment;
impl PaymentProvider for UnconfiguredPayment {
    fn pay(&self, _request: PaymentRequest) -> BoxFuture<'_, Result<PaymentReceipt, PaymentError>> {
        Box::pin(async {
            Err(PaymentError::Unavailable(
                "no payment provider is configured".into(),
            ))
        })
    }
    fn refund(&self, _payment_ref: String) -> BoxFuture<'_, Result<(), PaymentError>> {
        Box::pin(async {
            Err(PaymentError::Unavailable(
                "no payment provider is configured".into(),
            ))
        })
    }
}

pub fn open_store(database: &str, now: Timestamp) -> Result<Arc<dyn Store>, BuildError> {
    if database.starts_with("sqlite:") || !database.contains("://") {
        Ok(Arc::new(SqliteStore::open(&path_of_url(database), now)?))
    } else if database.starts_with("postgres://") || database.starts_with("postgresql://") {
        Ok(Arc::new(crate::store::postgres::PgStore::open(
            database, now,
        )?))
    } else {
        Err(BuildError::DatabaseUrl(database.to_owned()))
    }
}

/// The standby to read from, followed against the primary `store`: PostgreSQL on both sides.
fn open_replica(
    store: &Arc<dyn Store>,
    config: &ReplicaConfig,
) -> Result<Arc<crate::replica::Replica>, BuildError> {
    let is_postgres =
        config.url.starts_with("postgres://") || config.url.starts_with("postgresql://");
    if !is_postgres || store.backend() != "postgres" {
        return Err(BuildError::Replica(
            "a replica is a PostgreSQL hot standby of a PostgreSQL database (postgres://…)".into(),
        ));
    }
    let standby: Arc<dyn Store> =
        Arc::new(crate::store::postgres::PgStore::open_replica(&config.url)?);
    let replica = crate::replica::Replica::new(standby, config.max_lag);
    replica.spawn_tracker(Arc::clone(store));
    tracing::info!(
        max_lag_ms = replica.max_lag().as_millis() as u64,
        "violation lists may be read from the standby"
    );
    Ok(replica)
}

/// Opens the store (migrating it), loads the policies, seeds demo data when asked, and binds the listener.
pub async fn build(config: Config) -> Result<App, BuildError> {
    build_wrapped(config, |store| store).await
}

/// `build`, with the opened store passed through `wrap` first (tests wrap it to count or cut off its
/// transactions).
pub async fn build_wrapped(
    config: Config,
    wrap: impl FnOnce(Arc<dyn Store>) -> Arc<dyn Store>,
) -> Result<App, BuildError> {
    let clock: Arc<dyn Clock> = match (&config.clock, config.dev) {
        (Some(c), _) => Arc::clone(c),
        (None, true) => Arc::new(OffsetClock::default()),
        (None, false) => Arc::new(SystemClock),
    };
    let policies = Arc::new(Policies::load(&config.policy_dir).map_err(BuildError::Policy)?);
    let store = wrap(open_store(&config.database, clock.now())?);
    if config.demo {
        crate::demo::seed_if_empty(&store, clock.now())
            .await
            .map_err(|e| BuildError::Demo(e.to_string()))?;
    }
    let listener = crate::serve::listen(&config.listen)
        .await
        .map_err(|e| BuildError::Listen(config.listen.clone(), e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| BuildError::Listen(config.listen.clone(), e))?;
    let metrics_listener = match &config.metrics_listen {
        Some(at) => Some(
            crate::serve::listen(at)
                .await
                .map_err(|e| BuildError::Listen(at.clone(), e))?,
        ),
        None => None,
    };
    let metrics_addr = match &metrics_listener {
        Some(l) => Some(
            l.local_addr()
                .map_err(|e| BuildError::Listen(config.listen.clone(), e))?,
        ),
        None => None,
    };
    let (sms, payment, dev): Gateways = if config.dev {
        let outbox = Arc::new(DevSmsOutbox::default());
        let pay = Arc::new(DevPaymentProvider::default());
        (
            outbox.clone(),
            pay.clone(),
            Some(DevServices {
                outbox,
                payment: pay,
            }),
        )
    } else {
        (
            Arc::new(UnconfiguredSms),
            Arc::new(UnconfiguredPayment),
            None,
        )
    };
    // The development provider is mounted only with --dev; the server then reaches it over HTTP on its own
    // listener, as it would reach a real provider.
    let dev_identity = if config.dev {
        let secret = server_key(&store, "dev-identity-ed25519", clock.now()).await?;
        Some(Arc::new(DevIdentityProvider::new(
            &secret,
            Arc::clone(&clock),
        )))
    } else {
        None
    };
    let identity: Arc<dyn IdentityProvider> = match (&config.identity_provider, &dev_identity) {
        (Some(p), _) => {
            let key = crate::gateways::identity::parse_public_key(&p.public_key)
                .map_err(BuildError::IdentityProvider)?;
            Arc::new(HttpProvider::new(&p.url, key, p.credential.clone()))
        }
        (None, Some(dev)) => {
            let mut own = addr;
            if own.ip().is_unspecified() {
                own.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
            }
            let url = format!("http://{own}{}", crate::dev_identity::MOUNT);
            Arc::new(HttpProvider::new(&url, dev.public_key(), None))
        }
        (None, None) => Arc::new(UnconfiguredProvider),
    };
    // Browsers drop `Secure` cookies over plain http, which is what development and a loopback listener
    // serve; behind a TLS proxy on loopback, set RENCHE_COOKIE_SECURE=always.
    let secure_cookies = match std::env::var("RENCHE_COOKIE_SECURE").as_deref() {
        Ok("always") => true,
        Ok("never") => false,
        _ => !config.dev && !addr.ip().is_loopback(),
    };
    let qr_key = server_key(&store, "qr-hmac", clock.now()).await?;
    let replica = match &config.replica {
        Some(r) => Some(open_replica(&store, r)?),
        None => None,
    };
    let state = Arc::new(AppState {
        store,
        replica,
        published_policies: std::sync::RwLock::new(policies),
        clock,
        sms,
        identity,
        public_url: config.public_url.clone(),
        payment,
        dev,
        secure_cookies,
        qr_key,
        www: config.www.clone(),
        pkg: config.pkg.clone(),
        trusted_proxies: config.trusted_proxies.clone(),
    });
    spawn_housekeeping(Arc::clone(&state));
    spawn_sms_notices(Arc::clone(&state));
    spawn_policy_reload(Arc::clone(&state), config.policy_dir.clone());
    let mut router = router(Arc::clone(&state));
    if let Some(dev) = dev_identity {
        router = router.nest(
            crate::dev_identity::MOUNT,
            crate::dev_identity::router::<()>(dev),
        );
    }
    Ok(App {
        listener,
        router,
        limits: config.limits,
        metrics_listener,
        state,
        addr,
        metrics_addr,
    })
}

/// The named signing key, made from the OS CSPRNG the first time.
async fn server_key(
    store: &Arc<dyn Store>,
    name: &'static str,
    now: Timestamp,
) -> Result<Vec<u8>, BuildError> {
    let key = crate::store::write(store.as_ref(), move |tx| match tx.server_key(name)? {
        Some(k) => Ok(k),
        None => {
            let k = crate::secrets::random_bytes(32);
            tx.insert_server_key(name, &k, now).map(|_| k)
        }
    })
    .await?;
    Ok(key)
}

/// Runs `work` on the state and the server's time every `period`, for as long as the server runs.
fn every<F>(state: SharedState, period: Duration, work: fn(SharedState, Timestamp) -> F)
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(period);
        loop {
            tick.tick().await;
            let now = state.now();
            work(Arc::clone(&state), now).await;
        }
    });
}

/// Publishing policy versions without a restart: on SIGHUP the policy directory is read again and, when
/// every document in it is good, replaces the policies in force (the next request decides with them). A
/// bad document is logged with its file and field, and the versions in force keep deciding. With several
/// instances, each is sent the signal (`systemctl reload`, `kill -HUP`); each reads the same files.
fn spawn_policy_reload(state: SharedState, dir: PathBuf) {
    #[cfg(unix)]
    tokio::spawn(async move {
        use tokio::signal::unix::{signal, SignalKind};
        let mut hangups = match signal(SignalKind::hangup()) {
            Ok(s) => s,
            Err(e) => {
                return tracing::warn!(error = %e, "no SIGHUP handler: policies load only at start")
            }
        };
        while hangups.recv().await.is_some() {
            match Policies::load(&dir) {
                Ok(policies) => {
                    let now = state.now();
                    let versions: Vec<String> = policies
                        .cities(now)
                        .map(|c| c.version().to_owned())
                        .collect();
                    state.publish_policies(policies);
                    tracing::info!(dir = %dir.display(), ?versions, "policies published");
                    crate::metrics::count(
                        "renche_policy_reloads_total",
                        &[("outcome", "published")],
                    );
                }
                Err(e) => {
                    tracing::error!(dir = %dir.display(), error = %e, "policy documents refused; the versions in force keep deciding");
                    crate::metrics::count("renche_policy_reloads_total", &[("outcome", "refused")]);
                }
            }
        }
    });
    #[cfg(not(unix))]
    let _ = (state, dir);
}

/// Drops expired idempotency keys (kept 48 h, beyond the 24 h promised), sessions and counters, hourly.
fn spawn_housekeeping(state: SharedState) {
    every(state, Duration::from_secs(3600), |state, now| async move {
        let before = Timestamp::from_millis(now.millis() - 48 * 3_600_000);
        match state.write(move |tx| tx.purge_expired(before, now)).await {
            Ok(n) => tracing::debug!(rows = n, "housekeeping"),
            Err(e) => tracing::warn!(error = %e, "housekeeping failed"),
        }
    });
}

/// Hands the SMS notices that committed transactions left (to owners who are not registered) to the
/// gateway, every second. Each is claimed before it is sent, so it goes at most once across instances.
fn spawn_sms_notices(state: SharedState) {
    every(state, Duration::from_secs(1), |state, now| async move {
        let notices = match state.write(move |tx| tx.claim_sms_notices(now, 50)).await {
            Ok(notices) => notices,
            Err(e) => return tracing::warn!(error = %e, "SMS notices not claimed"),
        };
        for n in notices {
            let message = crate::gateways::OutboxMessage {
                phone: n.phone,
                text: n.text,
                code: String::new(),
                sent_at: now,
            };
            let outcome = match state.sms.send(message).await {
                Ok(()) => "sent",
                Err(e) => {
                    tracing::warn!(notice = n.id, error = %e, "SMS notice not sent");
                    "failed"
                }
            };
            crate::metrics::count(
                "renche_sms_sent_total",
                &[("purpose", "notice"), ("outcome", outcome)],
            );
        }
    });
}

/// The whole HTTP surface.
pub fn router(state: SharedState) -> Router {
    let api = http::dev::router(&state).merge(http::api_router().layer(
        axum::middleware::from_fn_with_state(Arc::clone(&state), http::guard::guard),
    ));
    Router::new()
        .route("/healthz", get(http::health))
        .nest("/api/v1", api)
        .nest_service("/pkg", ServeDir::new(&state.pkg))
        .fallback_service(ServeDir::new(&state.www).append_index_html_on_directories(true))
        .layer(axum::extract::DefaultBodyLimit::max(
            http::extract::BODY_LIMIT,
        ))
        .layer(axum::middleware::from_fn(http::headers::security_headers))
        .layer(axum::middleware::from_fn(http::observe::observe))
        .with_state(state)
}
