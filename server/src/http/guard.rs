//! What stands before every API handler: the session (cookie), the CSRF check of state changes, and
//! `Idempotency-Key` handling (IETF draft) of state changes.

use crate::error::{
    CsrfCheckFailed, ErrorKind, IdempotencyKeyInvalid, ServerError, ServerErrorCode, ServerResult,
};
use crate::flows::sessions::{self, Session, SESSION_LIFETIME_MS};
use crate::http::extract::{body_limit, Ctx};
use crate::secrets::{constant_time_eq, sha256};
use crate::state::{AppState, SharedState};
use crate::store::{IdempotencyBegin, Tx};
use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::header::{CONTENT_TYPE, COOKIE, HOST, ORIGIN};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use renche::Timestamp;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

pub const SESSION_COOKIE: &str = "renche_session";
/// Set by a state change's answer while a standby serves reads: that browser's reads go to the primary.
const RECENT_WRITE_COOKIE: &str = "renche_wrote";
/// A key still "running" after this long belongs to a request that died; a retry may take it over.
const IDEMPOTENCY_STALE_MS: i64 = 60_000;
/// Stored answers larger than this are not kept (ours are far smaller).
pub(crate) const RESPONSE_LIMIT: usize = 1024 * 1024;

/// The caller: a session (maybe anonymous) or none.
pub struct Caller(pub Option<Session>);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ServerError;
    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Caller(parts.extensions.get::<Session>().cloned()))
    }
}

/// A signed-in, verified person: a session whose account is linked to a person by a passed real-person
/// verification, or a kiosk's session for the person its card reader and face check named (no account).
/// No session → 401; an account not linked → 403 `IDENTITY_NOT_VERIFIED`.
pub struct SignedIn {
    pub person_id: i64,
    /// None for a kiosk's session.
    pub account_id: Option<i64>,
    pub session: Session,
}

impl<S: Send + Sync> FromRequestParts<S> for SignedIn {
    type Rejection = ServerError;
    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let session = parts
            .extensions
            .get::<Session>()
            .cloned()
            .ok_or_else(ServerError::unauthenticated)?;
        let person_id = match (session.person_id, session.account_id) {
            (Some(p), _) => p,
            (None, Some(_)) => return Err(ServerError::of(ServerErrorCode::IdentityNotVerified)),
            (None, None) => return Err(ServerError::unauthenticated()),
        };
        Ok(SignedIn {
            person_id,
            account_id: session.account_id,
            session,
        })
    }
}

impl SignedIn {
    /// Runs a flow that reads for this person (their own records, or an officer's lists) in one read
    /// snapshot.
    pub async fn read<T: Send + 'static>(
        &self,
        state: &AppState,
        flow: fn(&mut dyn Tx, i64) -> ServerResult<T>,
    ) -> ServerResult<T> {
        let person = self.person_id;
        state.read(move |tx| flow(tx, person)).await
    }
}

/// A signed-in account, verified or not (401 otherwise): for the few endpoints an account may use before
/// its verification (session, next step, verification, sign-out).
pub struct Account {
    pub account_id: i64,
    pub person_id: Option<i64>,
    pub session: Session,
}

fn account_of(parts: &Parts) -> Result<Account, ServerError> {
    let session = parts
        .extensions
        .get::<Session>()
        .cloned()
        .ok_or_else(ServerError::unauthenticated)?;
    let account_id = session
        .account_id
        .ok_or_else(ServerError::unauthenticated)?;
    Ok(Account {
        account_id,
        person_id: session.person_id,
        session,
    })
}

impl<S: Send + Sync> FromRequestParts<S> for Account {
    type Rejection = ServerError;
    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        account_of(parts)
    }
}

/// The values of the cookies called `name`, in the order the request sends them.
fn cookie_values<'h>(
    headers: &'h axum::http::HeaderMap,
    name: &'h str,
) -> impl Iterator<Item = &'h str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|text| text.split(';'))
        .filter_map(move |pair| match pair.trim().split_once('=') {
            Some((k, v)) if k == name => Some(v),
            _ => None,
        })
}

pub fn session_token_from(parts_headers: &axum::http::HeaderMap) -> Option<String> {
    cookie_values(parts_headers, SESSION_COOKIE)
        .find(|v| !v.is_empty() && v.len() <= 128)
        .map(str::to_owned)
}

/// Whether the request carries the recent-write cookie (`crate::replica`).
pub fn wrote_recently(headers: &axum::http::HeaderMap) -> bool {
    cookie_values(headers, RECENT_WRITE_COOKIE).next().is_some()
}

/// `Set-Cookie` for one of ours: never readable by scripts, never sent from another site.
fn cookie_header(name: &str, value: &str, max_age_secs: u64, secure: bool) -> Option<HeaderValue> {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age_secs}{secure}"
    ))
    .ok()
}

/// `Set-Cookie` for a new session token.
pub fn session_cookie(token: &str, secure: bool) -> HeaderValue {
    let max_age = (SESSION_LIFETIME_MS / 1000) as u64;
    cookie_header(SESSION_COOKIE, token, max_age, secure)
        .unwrap_or_else(|| HeaderValue::from_static("renche_session=; Path=/"))
}

/// A new session: its view, with its cookie.
pub fn session_answer(
    status: StatusCode,
    view: crate::http::views::SessionView,
    token: &str,
    secure: bool,
) -> Response {
    let mut resp = (status, axum::Json(view)).into_response();
    resp.headers_mut().insert(
        axum::http::header::SET_COOKIE,
        session_cookie(token, secure),
    );
    resp
}

pub fn clear_cookie(secure: bool) -> HeaderValue {
    if secure {
        HeaderValue::from_static(
            "renche_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0; Secure",
        )
    } else {
        HeaderValue::from_static("renche_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0")
    }
}

async fn load_session(
    state: &SharedState,
    headers: &axum::http::HeaderMap,
    now: Timestamp,
) -> Result<Option<Session>, ServerError> {
    let Some(token) = session_token_from(headers) else {
        return Ok(None);
    };
    state
        .read(move |tx| Ok(sessions::live_alone(tx, &token, now)?))
        .await
}

/// What an idempotency key is bound to: method, path and query, content type and body.
pub fn fingerprint(method: &str, target: &str, content_type: &[u8], body: &[u8]) -> Vec<u8> {
    sha256(&[
        method.as_bytes(),
        b"\n",
        target.as_bytes(),
        b"\n",
        content_type,
        b"\n",
        body,
    ])
}

fn is_state_change(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

fn csrf_failed(which: CsrfCheckFailed) -> ServerError {
    ServerError::of(ServerErrorCode::CsrfCheckFailed(which))
}

/// An origin's scheme, host and port (the scheme's default port when none is written), lower case.
fn origin_parts(scheme: &str, authority: &str) -> Option<(String, String, u16)> {
    let default_port = match scheme {
        "http" => 80,
        "https" => 443,
        _ => return None,
    };
    if authority.is_empty() || authority.contains(['/', '@', '?', '#']) {
        return None;
    }
    // A bracketed IPv6 host keeps its colons; the port follows the bracket.
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) if !port.contains(']') => (host, port.parse::<u16>().ok()?),
        _ => (authority, default_port),
    };
    Some((scheme.to_owned(), host.to_ascii_lowercase(), port))
}

fn parse_origin(origin: &str) -> Option<(String, String, u16)> {
    let (scheme, authority) = origin.split_once("://")?;
    origin_parts(&scheme.to_ascii_lowercase(), authority)
}

/// The browser's `Origin`, when sent, must be this server's own, by scheme, host and port: the public URL
/// when one is configured, else the `Host` asked for, over https when the cookies are `Secure` (a
/// browser sends those over https only) and over http otherwise.
fn origin_ok(state: &SharedState, headers: &axum::http::HeaderMap) -> bool {
    let Some(origin) = headers.get(ORIGIN) else {
        return true;
    };
    let Some(sent) = origin.to_str().ok().and_then(parse_origin) else {
        return false;
    };
    let own = match &state.public_url {
        Some(url) => parse_origin(url.trim_end_matches('/')),
        None => {
            let scheme = if state.secure_cookies {
                "https"
            } else {
                "http"
            };
            headers
                .get(HOST)
                .and_then(|h| h.to_str().ok())
                .and_then(|host| origin_parts(scheme, host))
        }
    };
    own.is_some_and(|own| own == sent)
}

/// The request's one `X-CSRF-Token`: two make it ambiguous, as two idempotency keys do.
fn csrf_token(headers: &axum::http::HeaderMap) -> Result<String, ServerError> {
    if headers.get_all("x-csrf-token").iter().count() > 1 {
        return Err(csrf_failed(CsrfCheckFailed::Repeated));
    }
    Ok(headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned())
}

pub async fn guard(State(state): Ctx, req: Request, next: Next) -> Response {
    if !is_state_change(req.method()) {
        return guard_in_task(state, req, next).await;
    }
    // A state change runs on its own task: a client that hangs up must not cancel it half-way, which
    // would leave its idempotency key "running" (409 to every retry for a minute, then a second run)
    // while its writes may already be committed.
    let span = tracing::Span::current();
    match tokio::spawn(tracing::Instrument::instrument(
        guard_in_task(state, req, next),
        span,
    ))
    .await
    {
        Ok(resp) => resp,
        Err(e) => ServerError::internal(format!("request task: {e}")).into_response(),
    }
}

async fn guard_in_task(state: SharedState, mut req: Request, next: Next) -> Response {
    let mut resp = match guarded(&state, &mut req).await {
        Ok(Guarded::Pass) => return next.run(req).await,
        Ok(Guarded::Idempotent(pending)) => run_idempotent(&state, req, next, pending).await,
        Ok(Guarded::Replay { status, body }) => replay(status, body),
        Err(e) => e.into_response(),
    };
    if state.replica.is_some() && resp.status().is_success() {
        // This browser's next reads see its change: they go to the primary while the cookie lives.
        resp.headers_mut().append(
            axum::http::header::SET_COOKIE,
            recent_write_cookie(state.secure_cookies),
        );
    }
    resp
}

/// `Set-Cookie` for the mark of a recent change (`crate::replica`); it carries nothing but its age.
fn recent_write_cookie(secure: bool) -> HeaderValue {
    cookie_header(
        RECENT_WRITE_COOKIE,
        "1",
        crate::replica::RECENT_WRITE_SECS,
        secure,
    )
    .unwrap_or_else(|| HeaderValue::from_static("renche_wrote=1; Path=/; Max-Age=10"))
}

enum Guarded {
    /// Not a state change: run it.
    Pass,
    /// A state change whose key was started: run it and store the answer.
    Idempotent(PendingKey),
    /// A finished key: answer as before.
    Replay { status: u16, body: Vec<u8> },
}

/// A started idempotency key, in the request's extensions while its handler runs. A handler that stores
/// its answer in its own write transaction (`http::idempotency::write_answer`) marks the key settled, and the guard
/// then leaves it alone; otherwise the guard stores or releases it after the handler, in a transaction
/// of its own.
#[derive(Clone, Debug)]
pub struct PendingKey {
    pub(crate) scope: String,
    pub(crate) key: String,
    /// What the request asks (`fingerprint`): stored with the key, and so that a late release removes this
    /// claim and no other.
    pub(crate) fingerprint: Vec<u8>,
    claimed_at: Timestamp,
    /// The key's row was committed as running before the handler ran. When not, the key is stored only
    /// with the answer, in the transaction of the work (`KEYED_IN_COMMIT` routes): there is nothing to
    /// release after a fault, and a second request with the key waits on the first's commit.
    pub(crate) claimed: bool,
    settled: Arc<AtomicBool>,
}

impl PendingKey {
    fn new(
        scope: String,
        key: String,
        fingerprint: Vec<u8>,
        claimed_at: Timestamp,
        claimed: bool,
    ) -> PendingKey {
        PendingKey {
            scope,
            key,
            fingerprint,
            claimed_at,
            claimed,
            settled: Arc::new(AtomicBool::new(false)),
        }
    }
    /// The answer was stored (or the key released) in the transaction that did the work.
    pub(crate) fn mark_settled(&self) {
        self.settled.store(true, Ordering::Release);
    }
    fn is_settled(&self) -> bool {
        self.settled.load(Ordering::Acquire)
    }
}

/// The request's started idempotency key, if any, for handlers that store their answer with their work.
pub struct AnswerKey(pub Option<PendingKey>);

impl AnswerKey {
    /// The key the guard started for this request, if any.
    pub fn of(parts: &Parts) -> AnswerKey {
        AnswerKey(parts.extensions.get::<PendingKey>().cloned())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for AnswerKey {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(AnswerKey::of(parts))
    }
}

/// A request whose kiosk signature holds (`flows::kiosks::verify`): decided on the kiosk channel, and
/// audited with the device. Only the guard puts it in a request's extensions.
#[derive(Clone, Debug)]
pub struct KioskChannel {
    pub kiosk_id: i64,
    pub city: String,
}

/// The request's body, read within its deadline and size limit (and left in place for the handler).
async fn take_body(req: &mut Request) -> Result<axum::body::Bytes, ServerError> {
    let body = std::mem::take(req.body_mut());
    let read = axum::body::to_bytes(body, body_limit(req.uri().path()));
    let bytes = match req.extensions().get::<crate::serve::BodyDeadline>() {
        Some(deadline) => tokio::time::timeout_at(deadline.0, read)
            .await
            .map_err(|_| ServerError::of(ServerErrorCode::BodyUnreadable))?,
        None => read.await,
    }
    .map_err(|_| crate::http::extract::too_large())?;
    *req.body_mut() = Body::from(bytes.clone());
    Ok(bytes)
}

/// The full path and query as the client sent them (inside `/api/v1` the router sees them without the
/// prefix).
fn sent_target(req: &Request) -> String {
    let uri = req
        .extensions()
        .get::<axum::extract::OriginalUri>()
        .map(|o| o.0.clone())
        .unwrap_or_else(|| req.uri().clone());
    uri.path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default()
}

/// When the request says it comes from a kiosk (`X-Kiosk-Id`), checks its signature: a request that
/// holds is marked [`KioskChannel`]; one that does not is refused (401 `KIOSK_NOT_RECOGNISED`). A request
/// without the headers is the app's.
async fn check_kiosk(
    state: &SharedState,
    req: &mut Request,
    now: Timestamp,
) -> Result<(), ServerError> {
    if req.headers().get("x-kiosk-id").is_none() {
        return Ok(());
    }
    let (kiosk_id, timestamp_ms, nonce, signature) =
        kiosk_headers(req.headers()).ok_or_else(|| {
            ServerError::of(ServerErrorCode::KioskNotRecognised(
                crate::error::KioskProblem::Incomplete,
            ))
        })?;
    let body = take_body(req).await?;
    let proof = crate::flows::kiosks::KioskProof {
        kiosk_id,
        timestamp_ms,
        nonce,
        signature,
        method: req.method().as_str().to_owned(),
        path_and_query: sent_target(req),
        body: body.to_vec(),
    };
    let kiosk = state
        .write(move |tx| crate::flows::kiosks::verify(tx, &proof, now))
        .await?;
    req.extensions_mut().insert(KioskChannel {
        kiosk_id: kiosk.id,
        city: kiosk.city,
    });
    Ok(())
}

/// The four kiosk headers, each given once and well formed: id, signed time (ms), nonce and signature.
fn kiosk_headers(headers: &axum::http::HeaderMap) -> Option<(i64, i64, String, [u8; 64])> {
    use base64::Engine as _;
    let one = |name: &str| -> Option<String> {
        let mut all = headers.get_all(name).iter();
        match (all.next(), all.next()) {
            (Some(v), None) => v.to_str().ok().map(str::to_owned),
            _ => None,
        }
    };
    let nonce = one("x-kiosk-nonce")?;
    let nonce_ok = (16..=64).contains(&nonce.len())
        && nonce
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    let signature: [u8; 64] = base64::engine::general_purpose::STANDARD
        .decode(one("x-kiosk-signature")?)
        .ok()?
        .try_into()
        .ok()?;
    Some((
        one("x-kiosk-id")?.parse().ok()?,
        one("x-kiosk-timestamp")?.parse().ok()?,
        nonce_ok.then_some(nonce)?,
        signature,
    ))
}

/// Loads the session and checks CSRF; for a state change, starts its idempotency key.
async fn guarded(state: &SharedState, req: &mut Request) -> Result<Guarded, ServerError> {
    let now = state.now();
    check_kiosk(state, req, now).await?;
    let kiosk = req.extensions().get::<KioskChannel>().map(|k| k.kiosk_id);
    if !is_state_change(req.method()) {
        if let Some(s) = load_session(state, req.headers(), now).await? {
            if s.fits(kiosk) {
                req.extensions_mut().insert(s);
            }
        }
        return Ok(Guarded::Pass);
    }
    // A state change reads its session and claims its key in one write job (one hop to the store instead
    // of two), or on a `KEYED_IN_COMMIT` route reads them and leaves the key to the handler's commit. The
    // checks are made in the order a client needs them: session, CSRF, origin, key.
    let token = session_token_from(req.headers()).ok_or_else(ServerError::unauthenticated)?;
    let sent_csrf = csrf_token(req.headers())?;
    let origin_checked = origin_ok(state, req.headers());
    let key = idempotency_key(req.headers());
    // The fingerprint covers what the request asks: method, path and query, content type and body.
    let bytes = take_body(req).await?;
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .map(|v| v.as_bytes().to_vec())
        .unwrap_or_default();
    let target = sent_target(req);
    let fingerprint = fingerprint(req.method().as_str(), &target, &content_type, &bytes);
    let keyed_in_commit = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .is_some_and(|m| crate::http::keyed_in_commit(req.method(), m.as_str()));
    let stale = stale_before(now);
    let checked = move |session: Option<Session>| session_checked(session, kiosk, &sent_csrf);
    if let (Ok(key), true, true) = (&key, origin_checked, keyed_in_commit) {
        // The key is stored with the handler's commit: here the session is only read, with the key as it
        // stands (one statement, no transaction), and a key already there is answered from that.
        let key = key.clone();
        let wanted = key.clone();
        let (session, stored) = state
            .read(move |tx| {
                Ok::<_, ServerError>(sessions::live_with_key(tx, &token, &wanted, now)?)
            })
            .await?;
        let session = checked(session)?;
        let scope = session.scope();
        req.extensions_mut().insert(session);
        return match stored.map(|k| k.standing(&fingerprint, stale)) {
            None => Ok(Guarded::Idempotent(PendingKey::new(
                scope,
                key,
                fingerprint,
                now,
                false,
            ))),
            // A claim whose request died: taken over as on any other route.
            Some(IdempotencyBegin::Started) => {
                let (within, wanted, fp) = (scope.clone(), key.clone(), fingerprint.clone());
                let begin = state
                    .write(move |tx| {
                        Ok::<_, ServerError>(
                            tx.idempotency_begin(&within, &wanted, &fp, now, stale)?,
                        )
                    })
                    .await?;
                answer_begin(begin, scope, key, fingerprint, now)
            }
            Some(begin) => answer_begin(begin, scope, key, fingerprint, now),
        };
    }
    let unsure = (
        token.clone(),
        key.as_ref().ok().cloned(),
        fingerprint.clone(),
    );
    let claimed = state
        .write(move |tx| {
            // With a usable key and origin, the session is read and the key claimed in one step (one
            // round trip on PostgreSQL); a check that then fails releases the claim, and is committed
            // so that the release is kept.
            if let (Ok(key), true) = (&key, origin_checked) {
                let (session, ours) =
                    sessions::live_with_claim(tx, &token, key, &fingerprint, now)?;
                let scope = session.as_ref().map(Session::scope);
                let session = match checked(session) {
                    Ok(s) => s,
                    Err(refusal) => {
                        if let (Some(scope), true) = (scope, ours) {
                            tx.idempotency_forget_claim(&scope, key, &fingerprint, now)?;
                        }
                        return Ok(Err(refusal));
                    }
                };
                let begin = if ours {
                    IdempotencyBegin::Started
                } else {
                    tx.idempotency_begin(&session.scope(), key, &fingerprint, now, stale)?
                };
                return Ok(Ok((session, key.clone(), begin)));
            }
            let session = checked(sessions::live(tx, &token, now)?)?;
            if !origin_checked {
                return Err(csrf_failed(CsrfCheckFailed::Origin));
            }
            let key = key?;
            let begin = tx.idempotency_begin(&session.scope(), &key, &fingerprint, now, stale)?;
            Ok(Ok((session, key, begin)))
        })
        .await
        .and_then(|refused_or_claimed| refused_or_claimed);
    let (session, key, begin) = match claimed {
        Ok(claimed) => claimed,
        Err(e) => {
            if let (ErrorKind::Unavailable, (token, Some(key), fingerprint)) = (e.kind, unsure) {
                // The claim may have been committed without our hearing of it.
                let claim = Claim {
                    owner: ClaimOwner::Token(token),
                    key,
                    fingerprint,
                    claimed_at: now,
                };
                release_claim(state, claim).await;
            }
            return Err(e);
        }
    };
    let scope = session.scope();
    req.extensions_mut().insert(session);
    answer_begin(begin, scope, key, unsure.2, now)
}

/// Before this instant a key still running belongs to a request that died.
fn stale_before(now: Timestamp) -> Timestamp {
    Timestamp::from_millis(now.millis() - IDEMPOTENCY_STALE_MS)
}

/// The session's own checks, in the order a client needs them: a session (for this kiosk or none), then
/// its CSRF token.
fn session_checked(
    session: Option<Session>,
    kiosk: Option<i64>,
    sent_csrf: &str,
) -> Result<Session, ServerError> {
    match session {
        Some(s) if !s.fits(kiosk) => Err(ServerError::unauthenticated()),
        Some(s)
            if sent_csrf.is_empty()
                || !constant_time_eq(sent_csrf.as_bytes(), s.csrf_token.as_bytes()) =>
        {
            Err(csrf_failed(CsrfCheckFailed::Token))
        }
        Some(s) => Ok(s),
        None => Err(ServerError::unauthenticated()),
    }
}

/// What the guard does with a key as it stands once claimed (or found).
fn answer_begin(
    begin: IdempotencyBegin,
    scope: String,
    key: String,
    fingerprint: Vec<u8>,
    now: Timestamp,
) -> Result<Guarded, ServerError> {
    match begin {
        IdempotencyBegin::Started => Ok(Guarded::Idempotent(PendingKey::new(
            scope,
            key,
            fingerprint,
            now,
            true,
        ))),
        IdempotencyBegin::InFlight => Err(ServerError::of(ServerErrorCode::IdempotencyKeyInUse)),
        IdempotencyBegin::Mismatch => Err(ServerError::of(ServerErrorCode::IdempotencyKeyReused)),
        IdempotencyBegin::Replay { status, body } => Ok(Guarded::Replay { status, body }),
    }
}

/// The request's one `Idempotency-Key`, or why it has none that can be used.
fn idempotency_key(headers: &axum::http::HeaderMap) -> Result<String, ServerError> {
    // Two keys make the request ambiguous: which one would a retry repeat?
    if headers.get_all("idempotency-key").iter().count() > 1 {
        return Err(ServerError::of(ServerErrorCode::IdempotencyKeyInvalid(
            IdempotencyKeyInvalid::Repeated,
        )));
    }
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .unwrap_or("");
    if key.is_empty() {
        return Err(ServerError::of(ServerErrorCode::IdempotencyKeyMissing));
    }
    if key.len() > 128 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ServerError::of(ServerErrorCode::IdempotencyKeyInvalid(
            IdempotencyKeyInvalid::Shape,
        )));
    }
    Ok(key.to_owned())
}

async fn run_idempotent(
    state: &SharedState,
    mut req: Request,
    next: Next,
    pending: PendingKey,
) -> Response {
    req.extensions_mut().insert(pending.clone());
    let response = next.run(req).await;
    if pending.is_settled() {
        return response;
    }
    let status = response.status();
    let (parts, body) = response.into_parts();
    let bytes = match axum::body::to_bytes(body, RESPONSE_LIMIT).await {
        Ok(b) => b,
        Err(e) => {
            forget(state, pending).await;
            return ServerError::internal(format!("response body: {e}")).into_response();
        }
    };
    if status.is_server_error() {
        // A fault of ours: the client may retry with the same key.
        forget(state, pending).await;
    } else {
        let now = state.now();
        let body = bytes.to_vec();
        let code = status.as_u16();
        let PendingKey {
            scope,
            key,
            fingerprint,
            claimed,
            ..
        } = pending.clone();
        let stored = state
            .write(move |tx| match claimed {
                true => tx.idempotency_finish(&scope, &key, code, &body, now),
                false => tx.idempotency_store_answer(&scope, &key, &fingerprint, code, &body, now),
            })
            .await;
        match stored {
            Ok(()) => {}
            // Another copy of the request committed its answer while this one ran: that answer is the
            // key's, and this copy's (made after it, and kept nowhere) must not contradict it.
            Err(crate::store::StoreError::KeyTaken) => {
                return answer_of_the_first(state, &pending)
                    .await
                    .unwrap_or_else(IntoResponse::into_response);
            }
            Err(e) => tracing::error!(error = %e, "could not store an idempotent response"),
        }
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// The answer to a request whose key (not claimed ahead) another copy of the request stored first while
/// this copy ran: that copy's answer, as any later retry gets it; nothing of this one is kept.
pub(crate) async fn answer_of_the_first(
    state: &AppState,
    key: &PendingKey,
) -> ServerResult<Response> {
    let (scope, wanted) = (key.scope.clone(), key.key.clone());
    let stored = state
        .read(move |tx| Ok::<_, ServerError>(tx.idempotency_key(&scope, &wanted)?))
        .await?;
    let standing = stored.map(|k| k.standing(&key.fingerprint, stale_before(state.now())));
    match standing {
        Some(IdempotencyBegin::Replay { status, body }) => Ok(replay(status, body)),
        Some(IdempotencyBegin::Mismatch) => {
            Err(ServerError::of(ServerErrorCode::IdempotencyKeyReused))
        }
        // Released again since, or claimed by a takeover: the client's retry will tell.
        _ => Err(ServerError::of(ServerErrorCode::IdempotencyKeyInUse)),
    }
}

async fn forget(state: &SharedState, pending: PendingKey) {
    if !pending.claimed {
        // Nothing was stored that a retry could meet.
        return;
    }
    let PendingKey {
        scope,
        key,
        fingerprint,
        claimed_at,
        ..
    } = pending;
    let claim = Claim {
        owner: ClaimOwner::Scope(scope),
        key,
        fingerprint,
        claimed_at,
    };
    release_claim(state, claim).await;
}

/// Whose claim it is: a known scope, or the session a token names (when the claim's outcome was not heard).
#[derive(Clone)]
enum ClaimOwner {
    Scope(String),
    Token(String),
}

/// One request's claim on its idempotency key, as it was made.
#[derive(Clone)]
struct Claim {
    owner: ClaimOwner,
    key: String,
    fingerprint: Vec<u8>,
    claimed_at: Timestamp,
}

impl Claim {
    async fn release_once(&self, state: &SharedState) -> ServerResult<()> {
        let Claim {
            owner,
            key,
            fingerprint,
            claimed_at,
        } = self.clone();
        state
            .write(move |tx| {
                let scope = match owner {
                    ClaimOwner::Scope(scope) => Some(scope),
                    ClaimOwner::Token(token) => {
                        sessions::live(tx, &token, claimed_at)?.map(|s| s.scope())
                    }
                };
                if let Some(scope) = scope {
                    tx.idempotency_forget_claim(&scope, &key, &fingerprint, claimed_at)?;
                }
                Ok::<_, ServerError>(())
            })
            .await
    }
}

/// Releases a claim whose request ended in a fault of ours, so that the client's retry runs. While the
/// database does not answer (a failover), the release is asked again in the background until it does, or
/// until the claim is stale and a retry may take it over anyway: a claim left behind would answer every
/// retry with 409 for a minute.
async fn release_claim(state: &SharedState, claim: Claim) {
    let unavailable = match claim.release_once(state).await {
        Ok(()) => return,
        Err(e) if matches!(e.kind, ErrorKind::Unavailable) => e,
        Err(e) => {
            tracing::error!(error = %e, "could not release an idempotency key");
            return;
        }
    };
    tracing::warn!(error = %unavailable, "an idempotency key's release waits for the database");
    let state = Arc::clone(state);
    tokio::spawn(async move {
        let started = std::time::Instant::now();
        let mut pause = std::time::Duration::from_millis(100);
        loop {
            tokio::time::sleep(pause).await;
            if started.elapsed().as_millis() >= IDEMPOTENCY_STALE_MS as u128 {
                tracing::error!("an idempotency key was left claimed until it went stale");
                return;
            }
            match claim.release_once(&state).await {
                Ok(()) => return,
                Err(e) if matches!(e.kind, ErrorKind::Unavailable) => {
                    pause = (pause * 2).min(std::time::Duration::from_secs(2));
                }
                Err(e) => {
                    tracing::error!(error = %e, "could not release an idempotency key");
                    return;
                }
            }
        }
    });
}

fn replay(status: u16, body: Vec<u8>) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    let mut resp = (status, body).into_response();
    if status != StatusCode::NO_CONTENT {
        resp.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    resp.headers_mut()
        .insert("idempotent-replayed", HeaderValue::from_static("true"));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderMap;

    #[test]
    fn the_recent_write_cookie_is_found_among_others_and_not_by_a_prefix() {
        let mut h = HeaderMap::new();
        h.insert(
            COOKIE,
            HeaderValue::from_static("renche_session=abc; renche_wrote=1"),
        );
        assert!(wrote_recently(&h));
        assert_eq!(session_token_from(&h).as_deref(), Some("abc"));
        h.insert(
            COOKIE,
            HeaderValue::from_static("renche_session=abc; renche_wrote_not=1"),
        );
        assert!(!wrote_recently(&h));
        assert!(!wrote_recently(&HeaderMap::new()));
    }
}
