//! Kiosks as enrolled devices. An officer enrols a kiosk for a city and a place with the public half of a
//! key pair the kiosk made and keeps; the kiosk signs every request (method, path, time, a nonce and the
//! body's hash) and the server decides on the kiosk channel only for requests whose signature holds.
//! Nothing a client merely says (a header, a field, a query) makes a request a kiosk's.

use crate::error::{KioskProblem, KioskSignInProblem, ServerError, ServerErrorCode, ServerResult};
use crate::flows::audit::Audit;
use crate::flows::consent::{suffix_matches, NamedVehicle};
use crate::flows::officer::require_officer;
use crate::flows::sessions;
use crate::flows::violations::{active_binding, routed, Routed};
use crate::flows::OrNotFound;
use crate::policies::Policies;
use crate::store::{KioskRow, PersonRow, Tx, VehicleRow};
use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use renche::domain::{Channel, ResidentId};
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

/// The enrolled kiosks, for the officers who run them.
pub fn list(tx: &mut dyn Tx, officer: i64) -> ServerResult<Vec<KioskRow>> {
    require_officer(tx, officer)?;
    Ok(tx.kiosks()?)
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

/// The lowest face-check score (0 to 1, the kiosk's comparison of the live face with the card's chip photo)
/// the server accepts; the kiosk's own "matched" is not taken on trust, its score is.
pub const FACE_MATCH_MIN_SCORE: f64 = 0.80;

/// What the kiosk's ID-card reader read off the card's chip.
pub struct CardRead {
    pub resident_id: ResidentId,
    pub name: String,
}

/// What the kiosk's face check found: the live face against the card's photo.
pub struct FaceCheck {
    pub score: f64,
    pub live: bool,
}

/// A kiosk session: the person signed in, its token and CSRF token.
pub struct KioskSignIn {
    pub person: PersonRow,
    pub token: String,
    pub csrf_token: String,
}

fn sign_in_refused(problem: KioskSignInProblem) -> ServerError {
    ServerError::of(ServerErrorCode::KioskSignInRefused(problem))
}

/// Signs a person in at a kiosk from its card reader and face check. Only a kiosk's signed request comes
/// here; the session opened is honoured only on that kiosk's requests. Refusals are audited too, so that
/// repeated tries with other people's cards show up.
pub fn sign_in(
    tx: &mut dyn Tx,
    kiosk: i64,
    card: &CardRead,
    face: &FaceCheck,
    now: Timestamp,
) -> ServerResult<Result<KioskSignIn, ServerError>> {
    let subject = format!("kiosk:{kiosk}");
    let refuse =
        |tx: &mut dyn Tx, by: Option<i64>, problem: KioskSignInProblem| -> ServerResult<_> {
            let mut audit = Audit::of("kiosk.sign_in_refused", subject.clone())
                .detail(json!({ "problem": problem.code(), "faceScore": face.score }));
            if let Some(person) = by {
                audit = audit.by(person);
            }
            audit.write(tx, now)?;
            Ok(Err(sign_in_refused(problem)))
        };
    let person = tx
        .person_by_resident_id(card.resident_id.as_str())?
        .filter(|p| p.name == card.name);
    let Some(person) = person else {
        return refuse(tx, None, KioskSignInProblem::CardNotOnRecord);
    };
    // The handler refuses a score that is not a number from 0 to 1, so `<` is total here.
    if !face.live || face.score < FACE_MATCH_MIN_SCORE {
        return refuse(tx, Some(person.id), KioskSignInProblem::FaceNotMatched);
    }
    let (token, csrf_token) = sessions::open_at_kiosk(tx, person.id, kiosk, now)?;
    Audit::of("kiosk.signed_in", subject)
        .by(person.id)
        .detail(json!({ "faceScore": face.score }))
        .write(tx, now)?;
    Ok(Ok(KioskSignIn {
        person,
        token,
        csrf_token,
    }))
}

/// A vehicle looked up at a kiosk by its plate and engine-number suffix (what the vehicle licence shows),
/// with its violations routed for the person on the kiosk channel.
pub struct LookedUp {
    pub vehicle: VehicleRow,
    pub own: bool,
    pub binding_id: Option<i64>,
    pub routed: Routed,
}

/// Wrong engine-number suffixes (lookups that found nothing, handlings whose suffix did not match) a person
/// may give in an hour: the suffix is a short secret, not to be guessed.
pub const MAX_FAILED_LOOKUPS_PER_HOUR: u32 = 5;
const HOUR_MS: i64 = 3_600_000;

fn failed_proofs(person_id: i64, now: Timestamp) -> (String, Timestamp) {
    let window = Timestamp::from_millis(now.millis() - now.millis().rem_euclid(HOUR_MS));
    (format!("kiosk-lookup-fail:p:{person_id}"), window)
}

/// Whether the person has given as many wrong suffixes this hour as they may.
pub fn vehicle_proofs_exhausted(
    tx: &mut dyn Tx,
    person_id: i64,
    now: Timestamp,
) -> ServerResult<bool> {
    let (key, window) = failed_proofs(person_id, now);
    Ok(tx.counter(&key, window)? >= MAX_FAILED_LOOKUPS_PER_HOUR)
}

/// Counts a wrong suffix against the person's hour.
pub fn record_failed_vehicle_proof(
    tx: &mut dyn Tx,
    person_id: i64,
    now: Timestamp,
) -> ServerResult<()> {
    let (key, window) = failed_proofs(person_id, now);
    tx.bump_counter(&key, window)?;
    Ok(())
}

/// Looks a vehicle up at a kiosk: its violations as the core routes them for this person here. Whether an
/// unbound vehicle that is not theirs may be handled is the city's kiosk rule (Dongguan: not from
/// 2026-09-01). A wrong suffix and an unknown plate get the same answer, and count against the person's
/// hourly allowance of failed lookups. The inner error is a refusal to commit with its audit entry.
pub fn look_up_vehicle(
    tx: &mut dyn Tx,
    policies: &Policies,
    person_id: i64,
    kiosk: i64,
    named: &NamedVehicle,
    now: Timestamp,
) -> ServerResult<Result<LookedUp, ServerError>> {
    let person = tx
        .person(person_id)?
        .ok_or_else(ServerError::unauthenticated)?;
    if vehicle_proofs_exhausted(tx, person_id, now)? {
        return Ok(Err(ServerError::of(ServerErrorCode::TooManyFailures)));
    }
    let vehicle = tx
        .vehicle_by_plate(named.plate_type, named.plate.as_str())?
        .filter(|v| suffix_matches(v, &named.engine_suffix));
    let plate = json!({ "plateType": named.plate_type.code(), "plate": named.plate.as_str() });
    let Some(vehicle) = vehicle else {
        Audit::of("kiosk.vehicle_looked_up", format!("kiosk:{kiosk}"))
            .by(person_id)
            .detail(json!({ "vehicle": plate, "found": false }))
            .write(tx, now)?;
        record_failed_vehicle_proof(tx, person_id, now)?;
        return Ok(Err(ServerError::not_found()));
    };
    let own = vehicle.owner_person_id == Some(person_id);
    let binding = active_binding(tx, person_id, vehicle.id)?;
    let routed = routed(
        tx,
        policies,
        &person,
        &vehicle,
        binding.as_ref(),
        Channel::Kiosk,
        now,
    )?;
    // With the version that routed it, as every decision is recorded.
    Audit::of("kiosk.vehicle_looked_up", format!("kiosk:{kiosk}"))
        .by(person_id)
        .detail(json!({
            "vehicle": plate,
            "found": true,
            "vehicleId": vehicle.id,
            "policyVersion": routed.policy_version,
        }))
        .write(tx, now)?;
    Ok(Ok(LookedUp {
        vehicle,
        own,
        binding_id: binding.map(|b| b.id),
        routed,
    }))
}
