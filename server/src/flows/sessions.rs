//! Sessions: a random token in the browser's cookie, only its hash in the store. A session belongs to an
//! account (or to nobody yet); its person is the account's linked person, read whenever it is loaded, so a
//! takeover or an unlinking takes effect on the next request.

use crate::error::ServerResult;
use crate::secrets::{random_hex, sha256};
use crate::store::{SessionRow, StoreResult, StoredKey, Tx};
use renche::Timestamp;

/// Sessions last 12 hours.
pub const SESSION_LIFETIME_MS: i64 = 12 * 3_600_000;

/// The session of a request, when it has a valid one.
#[derive(Clone, Debug)]
pub struct Session {
    pub token_hash: Vec<u8>,
    pub account_id: Option<i64>,
    /// The person the account is linked to by a passed verification.
    pub person_id: Option<i64>,
    pub csrf_token: String,
    /// Set for a session opened at a kiosk: it is honoured only on requests that kiosk signs.
    pub kiosk_id: Option<i64>,
}

impl Session {
    /// Whether this session may be used on a request signed by `kiosk` (or by no kiosk): a kiosk's session
    /// only on that kiosk's signed requests, so that a cookie taken off the device is worth nothing; a
    /// person's app session on no kiosk, since a kiosk signs people in with their ID card. A session with
    /// nobody in it yet carries no authority and fits anywhere (the kiosk's sign-in starts from one).
    pub fn fits(&self, kiosk: Option<i64>) -> bool {
        self.kiosk_id == kiosk || (self.account_id.is_none() && self.person_id.is_none())
    }

    /// Whose idempotency keys and SMS counters these are: the person, the account before it is verified,
    /// or the anonymous session before sign-in.
    pub fn scope(&self) -> String {
        match (self.person_id, self.account_id) {
            (Some(p), _) => format!("p:{p}"),
            (None, Some(a)) => format!("a:{a}"),
            (None, None) => format!("s:{}", hex::encode(&self.token_hash)),
        }
    }
}

pub fn token_hash(token: &str) -> Vec<u8> {
    sha256(&[b"session:", token.as_bytes()])
}

/// A session token and its CSRF token, both random.
fn new_tokens() -> (String, String) {
    (random_hex(32), random_hex(32))
}

/// A new session row; returns (token, CSRF token). The token itself is never stored.
pub fn open(
    tx: &mut dyn Tx,
    account_id: Option<i64>,
    now: Timestamp,
) -> ServerResult<(String, String)> {
    let (token, csrf) = new_tokens();
    let expires = Timestamp::from_millis(now.millis() + SESSION_LIFETIME_MS);
    tx.insert_session(&token_hash(&token), account_id, &csrf, now, expires)?;
    Ok((token, csrf))
}

/// Kiosk sessions last 15 minutes at most; the kiosk's page signs out well before, after inactivity.
pub const KIOSK_SESSION_LIFETIME_MS: i64 = 15 * 60_000;

/// A new session at a kiosk for the person its card reader and face check named; returns (token, CSRF).
pub fn open_at_kiosk(
    tx: &mut dyn Tx,
    person_id: i64,
    kiosk_id: i64,
    now: Timestamp,
) -> ServerResult<(String, String)> {
    let (token, csrf) = new_tokens();
    let expires = Timestamp::from_millis(now.millis() + KIOSK_SESSION_LIFETIME_MS);
    tx.insert_kiosk_session(
        &token_hash(&token),
        person_id,
        kiosk_id,
        &csrf,
        now,
        expires,
    )?;
    Ok((token, csrf))
}

/// The session of this token, unless there is none or it has expired.
pub fn live(tx: &mut dyn Tx, token: &str, now: Timestamp) -> StoreResult<Option<Session>> {
    let hash = token_hash(token);
    let row = tx.session(&hash)?;
    Ok(live_from(hash, row, now))
}

fn live_from(hash: Vec<u8>, row: Option<SessionRow>, now: Timestamp) -> Option<Session> {
    row.filter(|s| s.expires_at > now).map(|s| Session {
        token_hash: hash,
        account_id: s.account_id,
        person_id: s.person_id,
        csrf_token: s.csrf_token,
        kiosk_id: s.kiosk_id,
    })
}

/// `live` as the job's only step (`Tx::session_alone`).
pub fn live_alone(tx: &mut dyn Tx, token: &str, now: Timestamp) -> StoreResult<Option<Session>> {
    let hash = token_hash(token);
    let row = tx.session_alone(&hash)?;
    Ok(live_from(hash, row, now))
}

/// `live`, with `key` as stored under the session's scope (`Tx::session_with_key`).
pub fn live_with_key(
    tx: &mut dyn Tx,
    token: &str,
    key: &str,
    now: Timestamp,
) -> StoreResult<(Option<Session>, Option<StoredKey>)> {
    let hash = token_hash(token);
    let (row, key) = tx.session_with_key(&hash, key)?;
    let session = live_from(hash, row, now);
    let key = key.filter(|_| session.is_some());
    Ok((session, key))
}

/// `live`, with `key` claimed under the session's scope when the session is live (`Tx::session_with_claim`,
/// the job's last step): the session, and whether the claim is made under its scope. A claim made under
/// another scope (the account was linked between the two statements) is released, and reported as not made.
pub fn live_with_claim(
    tx: &mut dyn Tx,
    token: &str,
    key: &str,
    fingerprint: &[u8],
    now: Timestamp,
) -> StoreResult<(Option<Session>, bool)> {
    let hash = token_hash(token);
    let (row, claimed) = tx.session_with_claim(&hash, key, fingerprint, now)?;
    let session = live_from(hash, row, now);
    let ours = match (&session, claimed) {
        (Some(s), Some(scope)) if scope == s.scope() => true,
        (_, Some(scope)) => {
            tx.idempotency_forget_claim(&scope, key, fingerprint, now)?;
            false
        }
        (_, None) => false,
    };
    Ok((session, ours))
}
