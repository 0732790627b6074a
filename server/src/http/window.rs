//! The window console: finding people and vehicles, binding for a person, and the manual reviews.
//! (Handling violations at the window is with the violations.)

use crate::error::{ServerError, ServerResult};
use crate::flows::applications;
use crate::flows::decision::ClientExpectation;
use crate::flows::kiosks;
use crate::flows::preview;
use crate::flows::review::RejectReason;
use crate::flows::window::{self, PlateSearch, WindowBinding};
use crate::http::extract::{
    bad_query, parse_id, parse_plate, parse_resident_id, parse_untyped_plate, AtWindow, Change,
    Ctx, PathId, PathToken,
};
use crate::http::guard::SignedIn;
use crate::http::idempotency::{write_answer, Answer};
use crate::http::views::{
    application_answer, bound_answer, list_of, ApplicationView, BindingView, PersonView,
    VehicleView,
};
use crate::store::BindingsOf;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use renche::domain::{Document, Relationship};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct PersonQuery {
    resident_id: String,
}

/// A person as the officer at the window sees them: in full, to compare with the originals.
#[derive(Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct OfficerPersonView {
    #[serde(flatten)]
    person: PersonView,
    resident_id: String,
    phone: String,
}

pub(super) async fn find_person(w: AtWindow<PersonQuery>) -> ServerResult<Json<OfficerPersonView>> {
    let (asking, q) = (w.asking, w.query);
    let rid = parse_resident_id(&q.resident_id)?;
    let p = asking
        .write(move |tx, _, who| window::find_person(tx, who.person, &rid, who.now))
        .await?;
    Ok(Json(OfficerPersonView {
        person: PersonView::of(&p, asking.who.now),
        resident_id: p.resident_id.as_str().to_owned(),
        phone: p.phone.as_str().to_owned(),
    }))
}

/// The number off the vehicle licence; the plate type narrows it to one vehicle, and without it every
/// type with that number is listed.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct VehicleQuery {
    plate_number: String,
    plate_type: Option<String>,
}

#[derive(Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct FoundVehicleView {
    #[serde(flatten)]
    vehicle: VehicleView,
    /// In full: the officer compares it with the vehicle licence.
    owner_name: String,
    owner_registered: bool,
}

pub(super) async fn find_vehicles(w: AtWindow<VehicleQuery>) -> ServerResult<Json<Value>> {
    let (asking, q) = (w.asking, w.query);
    let search = match q.plate_type.as_deref() {
        Some(plate_type) => {
            let (plate_type, plate) = parse_plate(plate_type, &q.plate_number)?;
            PlateSearch {
                plate_type: Some(plate_type),
                number: plate.as_str().to_owned(),
            }
        }
        None => PlateSearch {
            plate_type: None,
            number: parse_untyped_plate(&q.plate_number)?,
        },
    };
    let found = asking
        .write(move |tx, _, who| window::find_vehicles(tx, who.person, &search, who.now))
        .await?;
    Ok(list_of(
        "vehicles",
        found.iter().map(|v| FoundVehicleView {
            vehicle: VehicleView::of(v),
            owner_name: v.owner_name.clone(),
            owner_registered: v.owner_person_id.is_some(),
        }),
    ))
}

/// Whose bindings: exactly one of a person and a vehicle.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct BindingsQuery {
    person_id: Option<String>,
    vehicle_id: Option<String>,
}

#[derive(Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct WindowBindingView {
    #[serde(flatten)]
    binding: BindingView,
    binder_name: String,
    vehicle: VehicleView,
}

pub(super) async fn bindings(w: AtWindow<BindingsQuery>) -> ServerResult<Json<Value>> {
    let (asking, q) = (w.asking, w.query);
    let of = match (q.person_id.as_deref(), q.vehicle_id.as_deref()) {
        (Some(p), None) => BindingsOf::Binder(parse_id("personId", p)?),
        (None, Some(v)) => BindingsOf::Vehicle(parse_id("vehicleId", v)?),
        _ => return Err(bad_query("give exactly one of personId and vehicleId")),
    };
    let listed = asking
        .write(move |tx, _, who| window::bindings(tx, who.person, of, who.now))
        .await?;
    Ok(list_of(
        "bindings",
        listed.iter().map(|l| WindowBindingView {
            binding: BindingView::of(&l.binding),
            binder_name: l.binder.name.clone(),
            vehicle: VehicleView::of(&l.vehicle),
        }),
    ))
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct WindowBindRequest {
    person_id: String,
    vehicle_id: String,
    #[serde(default)]
    #[schemars(with = "Option<crate::http::schema::Codes<Relationship>>")]
    relationship: Option<Relationship>,
    #[serde(default)]
    #[schemars(with = "Vec<crate::http::schema::Codes<Document>>")]
    documents_checked: Vec<Document>,
    #[serde(default)]
    policy_version: Option<String>,
    #[serde(default)]
    expected_allowed: Option<bool>,
}

pub(super) async fn bind_for_person(c: Change<WindowBindRequest>) -> ServerResult<Response> {
    let body = &c.body;
    let binding = WindowBinding {
        officer: c.who.person,
        person_id: parse_id("personId", &body.person_id)?,
        vehicle_id: parse_id("vehicleId", &body.vehicle_id)?,
        relationship: body.relationship.unwrap_or(Relationship::Other),
        documents_checked: body.documents_checked.clone(),
        expectation: ClientExpectation::new(body.policy_version.clone(), body.expected_allowed),
    };
    c.commit(move |tx, policies, _, who| {
        let decided = window::bind_for_person(tx, policies, who.now, binding)?;
        bound_answer(StatusCode::CREATED, decided)
    })
    .await
}

/// A kiosk to enrol: where it stands, and the public half of the Ed25519 key it made and keeps.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct EnrolKioskRequest {
    /// The six-digit code of the city whose policy decides at the kiosk.
    city: String,
    place: String,
    /// 32 bytes, base64.
    public_key: String,
}

#[derive(Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct KioskView {
    id: String,
    city: String,
    place: String,
    #[schemars(with = "crate::http::schema::Instant")]
    enrolled_at: renche::Timestamp,
    #[schemars(with = "Option<crate::http::schema::Instant>")]
    disabled_at: Option<renche::Timestamp>,
}

impl KioskView {
    fn of(k: &crate::store::KioskRow) -> KioskView {
        KioskView {
            id: k.id.to_string(),
            city: k.city.clone(),
            place: k.place.clone(),
            enrolled_at: k.enrolled_at,
            disabled_at: k.disabled_at,
        }
    }
}

pub(super) async fn enrol_kiosk(c: Change<EnrolKioskRequest>) -> ServerResult<Response> {
    use base64::Engine as _;
    let city = c.body.city.trim().to_owned();
    if city.len() != 6 || !city.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ServerError::invalid_value(
            "city",
            "a city code is six digits",
        ));
    }
    let place = c.body.place.trim().to_owned();
    if place.is_empty() || place.chars().count() > 100 {
        return Err(ServerError::invalid_value("place", "1 to 100 characters"));
    }
    let key: [u8; 32] = base64::engine::general_purpose::STANDARD
        .decode(c.body.public_key.trim())
        .ok()
        .and_then(|k| k.try_into().ok())
        .ok_or_else(|| {
            ServerError::invalid_value("publicKey", "32 bytes of an Ed25519 public key, base64")
        })?;
    c.commit(move |tx, _, _, who| {
        let kiosk = kiosks::enrol(tx, who.person, &city, &place, &key, who.now)?;
        Answer::json(StatusCode::CREATED, &KioskView::of(&kiosk))
    })
    .await
}

pub(super) async fn kiosks(State(state): Ctx, me: SignedIn) -> ServerResult<Json<Value>> {
    let rows = me.read(&state, kiosks::list).await?;
    Ok(list_of("kiosks", rows.iter().map(KioskView::of)))
}

pub(super) async fn disable_kiosk(
    PathId(id): PathId,
    c: Change<crate::http::extract::NoBody>,
) -> ServerResult<Response> {
    c.commit(move |tx, _, _, who| {
        let kiosk = kiosks::disable(tx, who.person, id, who.now)?;
        Answer::json(StatusCode::OK, &KioskView::of(&kiosk))
    })
    .await
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ReviewView {
    #[serde(flatten)]
    application: ApplicationView,
    binder: serde_json::Value,
    note: Option<String>,
}

pub(super) async fn reviews(State(state): Ctx, me: SignedIn) -> ServerResult<Json<Value>> {
    let rows = me.read(&state, applications::in_review).await?;
    Ok(list_of(
        "applications",
        rows
        .into_iter()
        .map(|(a, v, p)| ReviewView {
            application: ApplicationView::of(&a, &v),
            binder: json!({ "id": p.id.to_string(), "name": p.name, "residentIdMasked": p.resident_id.masked() }),
            note: a.note,
        })
    ))
}

#[derive(Deserialize, Default, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub(super) struct ApproveRequest {
    policy_version: Option<String>,
    expected_allowed: Option<bool>,
}

pub(super) async fn approve_review(
    PathToken(id): PathToken,
    c: Change<ApproveRequest>,
) -> ServerResult<Response> {
    c.commit(move |tx, policies, body, who| {
        let expectation = ClientExpectation::new(body.policy_version, body.expected_allowed);
        let (officer, now) = (who.person, who.now);
        let decided = applications::approve(tx, policies, now, officer, &id, expectation)?;
        bound_answer(StatusCode::CREATED, decided)
    })
    .await
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct RejectRequest {
    #[schemars(with = "crate::http::schema::Codes<RejectReason>")]
    reason_code: RejectReason,
    #[serde(default)]
    reason: Option<String>,
}

pub(super) async fn reject_review(
    PathToken(id): PathToken,
    c: Change<RejectRequest>,
) -> ServerResult<Response> {
    let body = &c.body;
    if body
        .reason
        .as_ref()
        .is_some_and(|r| r.chars().count() > 500)
    {
        return Err(ServerError::invalid_value(
            "reason",
            "at most 500 characters",
        ));
    }
    let text = body.reason.clone().filter(|r| !r.trim().is_empty());
    if body.reason_code == RejectReason::Other && text.is_none() {
        return Err(ServerError::invalid_value(
            "reason",
            "say why when the reason is “other”",
        ));
    }
    c.commit(move |tx, _, body, who| {
        let (a, v) = applications::reject(tx, who.now, who.person, &id, body.reason_code, text)?;
        application_answer(StatusCode::OK, &a, &v)
    })
    .await
}

/// A draft policy to preview against today's data.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct PolicyPreviewRequest {
    /// The draft policy document as a city file holds it (usually `"extends": "default"`).
    draft: Value,
    /// The instant to compare at (RFC 3339); the server's clock by default.
    #[serde(default)]
    at: Option<String>,
}

/// What a draft would change against today's bindings and open violations. The scan runs in a read
/// snapshot; only the audit entry and the stored answer are written.
pub(super) async fn policy_preview(c: Change<PolicyPreviewRequest>) -> ServerResult<Response> {
    let policies = c.state.policies();
    let draft = preview::parse_draft(&c.body.draft.to_string(), &policies)
        .map_err(|e| preview::draft_error("draft", &e))?;
    let at = match c.body.at.as_deref() {
        Some(text) => renche::Timestamp::parse_rfc3339(text)
            .map_err(|e| ServerError::invalid_value("at", &e.to_string()))?,
        None => c.who.now,
    };
    let (officer, now) = (c.who.person, c.who.now);
    let summary = c
        .state
        .read(move |tx| preview::for_officer(tx, &policies, officer, draft, at))
        .await?;
    write_answer(&c.state, &c.key, move |tx| {
        preview::audit(tx, officer, &summary, now)?;
        Answer::json(StatusCode::OK, &summary)
    })
    .await
}
