//! Kiosks as enrolled devices. An officer enrols a kiosk for a city and a place with the public half of a
//! key pair the kiosk made and keeps; the kiosk signs every request (method, path, time, a nonce and the
//! body's hash) and the server decides on the kiosk channel only for requests whose signature holds.
//! Nothing a client merely says (a header, a field, a query) makes a request a kiosk's.

use crate::error::{KioskProblem, ServerError, ServerErrorCode, ServerResult};
use crate::flows::audit::Audit;
use crate::flows::officer::require_officer;
use crate::flows::OrNotFound;
use crate::store::{KioskRow, Tx};
use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use renche::Timestamp;
use serde_json::json;
use sha2::{Digest, Sha256};

/// How far a signed time may be from the server's, either way.
pub const SIGNATURE_WINDOW_MS: i64 = 60_000;

/// What a kiosk's request carries to prove it is the kiosk's, and what was signed.
pub struct KioskProof {
    pub kiosk_id: i64,
    pub timestamp_ms: i64,
    pub nonce: String,
    pub signature: [u8; 64],
    pub method: String,
    pub path_and_query: String,
    pub body: Vec<u8>,
}

/// The text a kiosk signs: the request and its body's hash, so that neither can be changed in transit.
pub fn signed_text(
    method: &str,
    path_and_query: &str,
    timestamp_ms: i64,
    nonce: &str,
    body: &[u8],
) -> String {
    let body_hash: String = Sha256::digest(body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("renche-kiosk-v1\n{method}\n{path_and_query}\n{timestamp_ms}\n{nonce}\n{body_hash}")
}

fn refused(problem: KioskProblem) -> ServerError {
    ServerError::of(ServerErrorCode::KioskNotRecognised(problem))
}

/// Enrols a kiosk: `public_key` is the 32-byte Ed25519 key the kiosk signs with.
pub fn enrol(
    tx: &mut dyn Tx,
    officer: i64,
    city: &str,
    place: &str,
    public_key: &[u8; 32],
    now: Timestamp,
) -> ServerResult<KioskRow> {
    require_officer(tx, officer)?;
    VerifyingKey::from_bytes(public_key)
        .map_err(|_| ServerError::invalid_value("publicKey", "not an Ed25519 public key"))?;
    let id = tx.insert_kiosk(city, place, public_key, officer, now)?;
    Audit::of("kiosk.enrolled", format!("kiosk:{id}"))
        .by(officer)
        .detail(json!({ "city": city, "place": place }))
        .write(tx, now)?;
    tx.kiosk(id).or_not_found()
}

/// Disables a kiosk at once: its next request, however well signed, is refused.
pub fn disable(tx: &mut dyn Tx, officer: i64, id: i64, now: Timestamp) -> ServerResult<KioskRow> {
    require_officer(tx, officer)?;
    tx.kiosk(id).or_not_found()?;
    tx.disable_kiosk(id, now)?;
    Audit::of("kiosk.disabled", format!("kiosk:{id}"))
        .by(officer)
        .write(tx, now)?;
    tx.kiosk(id).or_not_found()
}

/// Checks a signed request: an enrolled kiosk, not disabled, a time within the window, a nonce it has not
/// used, and a signature over exactly this request. The request is audited with the device.
pub fn verify(tx: &mut dyn Tx, proof: &KioskProof, now: Timestamp) -> ServerResult<KioskRow> {
    let kiosk = tx
        .kiosk(proof.kiosk_id)?
        .ok_or_else(|| refused(KioskProblem::Unknown))?;
    if kiosk.disabled_at.is_some() {
        return Err(refused(KioskProblem::Disabled));
    }
    if (now.millis() - proof.timestamp_ms).abs() > SIGNATURE_WINDOW_MS {
        return Err(refused(KioskProblem::Stale));
    }
    let key: [u8; 32] = kiosk
        .public_key
        .as_slice()
        .try_into()
        .map_err(|_| ServerError::internal("a stored kiosk key is not 32 bytes"))?;
    let key = VerifyingKey::from_bytes(&key)
        .map_err(|_| ServerError::internal("a stored kiosk key is not an Ed25519 key"))?;
    let text = signed_text(
        &proof.method,
        &proof.path_and_query,
        proof.timestamp_ms,
        &proof.nonce,
        &proof.body,
    );
    key.verify(text.as_bytes(), &Signature::from_bytes(&proof.signature))
        .map_err(|_| refused(KioskProblem::BadSignature))?;
    // Last, so that a forged request cannot use up a nonce the kiosk is about to send.
    if !tx.use_kiosk_nonce(kiosk.id, &proof.nonce, now)? {
        return Err(refused(KioskProblem::Replayed));
    }
    Audit::of("kiosk.request", format!("kiosk:{}", kiosk.id))
        .detail(json!({ "method": proof.method, "path": proof.path_and_query, "city": kiosk.city, "place": kiosk.place }))
        .write(tx, now)?;
    Ok(kiosk)
}
