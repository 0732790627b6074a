//! Kiosk-only endpoints: signing a person in with the kiosk's ID-card reader and face check, and looking a
//! vehicle up by its plate. Both need the request signed by an enrolled kiosk (`guard::check_kiosk`).

use crate::error::{KioskProblem, ServerError, ServerErrorCode, ServerResult};
use crate::flows::consent::NamedVehicle;
use crate::flows::kiosks::{self, CardRead, FaceCheck};
use crate::http::extract::{parse_plate, ApiJson, Change};
use crate::http::guard::{session_answer, KioskChannel};
use crate::http::idempotency::Answer;
use crate::http::views::{SessionView, VehicleView, ViolationView};
use crate::state::SharedState;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::Response;
use renche::domain::{EngineSuffix, ResidentId};
use serde::{Deserialize, Serialize};

/// The kiosk a request was signed by; anything else is refused (401 `KIOSK_NOT_RECOGNISED`, `unsigned`).
pub struct AtKiosk(pub KioskChannel);

impl<S: Send + Sync> FromRequestParts<S> for AtKiosk {
    type Rejection = ServerError;
    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<KioskChannel>()
            .cloned()
            .map(AtKiosk)
            .ok_or_else(|| {
                ServerError::of(ServerErrorCode::KioskNotRecognised(KioskProblem::Unsigned))
            })
    }
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct CardRequest {
    /// The ID number the reader read off the card's chip.
    resident_id: String,
    /// The name on the chip.
    name: String,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct FaceRequest {
    /// The kiosk's comparison of the live face with the chip's photo, 0 to 1.
    score: f64,
    /// Whether the kiosk's liveness check passed (a live face, not a photo or a screen).
    live: bool,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct KioskSignInRequest {
    card: CardRequest,
    face: FaceRequest,
}

pub(super) async fn sign_in(
    State(state): State<SharedState>,
    AtKiosk(kiosk): AtKiosk,
    ApiJson(body): ApiJson<KioskSignInRequest>,
) -> ServerResult<Response> {
    let card = CardRead {
        resident_id: ResidentId::parse(&body.card.resident_id)
            .map_err(|e| ServerError::invalid("card.residentId", &e))?,
        name: body.card.name.trim().to_owned(),
    };
    if card.name.is_empty() || card.name.chars().count() > 50 {
        return Err(ServerError::invalid_value(
            "card.name",
            "1 to 50 characters",
        ));
    }
    let score = body.face.score;
    if !score.is_finite() || !(0.0..=1.0).contains(&score) {
        return Err(ServerError::invalid_value(
            "face.score",
            "a number from 0 to 1",
        ));
    }
    let face = FaceCheck {
        score,
        live: body.face.live,
    };
    let now = state.now();
    let kiosk_id = kiosk.kiosk_id;
    let opened = state
        .write(move |tx| kiosks::sign_in(tx, kiosk_id, &card, &face, now))
        .await??;
    let view = SessionView::of(opened.csrf_token, None, Some(&opened.person), now);
    Ok(session_answer(
        StatusCode::OK,
        view,
        &opened.token,
        state.secure_cookies,
    ))
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct VehicleLookupRequest {
    plate_type: String,
    plate_number: String,
    engine_suffix: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LookedUpView {
    vehicle: VehicleView,
    /// `owner`, `binder` or `none` (neither the person's nor bound by them).
    relation: &'static str,
    binding_id: Option<String>,
    policy_version: String,
    violations: Vec<ViolationView>,
}

/// A vehicle's violations as this kiosk may handle them for the signed-in person. A POST, since it is
/// audited and carries the engine-number suffix, which is not for URLs and logs.
pub(super) async fn look_up_vehicle(
    AtKiosk(kiosk): AtKiosk,
    c: Change<VehicleLookupRequest>,
) -> ServerResult<Response> {
    let (plate_type, plate) = parse_plate(&c.body.plate_type, &c.body.plate_number)?;
    let named = NamedVehicle {
        plate_type,
        plate,
        engine_suffix: EngineSuffix::parse(&c.body.engine_suffix)
            .map_err(|e| ServerError::invalid("engineSuffix", &e))?,
    };
    c.commit(move |tx, policies, _, who| {
        let found = match kiosks::look_up_vehicle(
            tx,
            policies,
            who.person,
            kiosk.kiosk_id,
            &named,
            who.now,
        )? {
            Ok(found) => found,
            Err(refused) => return Ok(Answer::error(refused)),
        };
        let relation = match (found.own, found.binding_id) {
            (true, _) => "owner",
            (false, Some(_)) => "binder",
            (false, None) => "none",
        };
        let view = LookedUpView {
            vehicle: VehicleView::of(&found.vehicle),
            relation,
            binding_id: found.binding_id.map(|b| b.to_string()),
            policy_version: found.routed.policy_version,
            violations: found
                .routed
                .violations
                .into_iter()
                .map(|(v, route)| ViolationView::of(&v, route))
                .collect(),
        };
        Answer::json(StatusCode::OK, &view)
    })
    .await
}
