//! The window officer's console: look people and vehicles up, bind on a person's behalf after checking the
//! originals, handle violations for a person without a binding, and the manual-review queue.

use super::bindings::committed_answer;
use super::violations::{handle, routed, HandleCase};
use super::{
    audit, commit_binding, mask_name, read, require_officer, write_answer, Answer, ApplicationView,
    BindingCommit, PersonView, VehicleView,
};
use crate::app::SharedState;
use crate::error::{ApiError, ApiResult, ClientExpectation, ErrorKind};
use crate::extract::ApiQuery as Query;
use crate::extract::{ApiJson, PathId, PathToken};
use crate::guard::{AnswerKey, SignedIn};
use crate::store::ApplicationStatus;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use renche::domain::{
    BindingMethod, Channel, Document, PlateNumber, PlateType, Relationship, ResidentId,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

fn parse_id(field: &str, s: &str) -> ApiResult<i64> {
    s.trim()
        .parse::<i64>()
        .map_err(|_| ApiError::invalid_value(field, "an id is a whole number"))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PersonQuery {
    resident_id: String,
}

pub async fn find_person(
    State(state): State<SharedState>,
    me: SignedIn,
    Query(q): Query<PersonQuery>,
) -> ApiResult<Json<PersonView>> {
    let rid = ResidentId::parse(&q.resident_id).map_err(|e| ApiError::invalid("residentId", &e))?;
    let officer = me.person_id;
    let now = state.now();
    let p = read(&state, move |tx| {
        require_officer(tx, officer)?;
        tx.person_by_resident_id(rid.as_str())?
            .ok_or_else(ApiError::not_found)
    })
    .await?;
    Ok(Json(PersonView::of(&p, now)))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VehicleQuery {
    plate_type: String,
    plate_number: String,
}

pub async fn find_vehicle(
    State(state): State<SharedState>,
    me: SignedIn,
    Query(q): Query<VehicleQuery>,
) -> ApiResult<Json<serde_json::Value>> {
    let plate_type =
        PlateType::parse(&q.plate_type).map_err(|e| ApiError::invalid("plateType", &e))?;
    let plate = PlateNumber::parse(&q.plate_number, plate_type)
        .map_err(|e| ApiError::invalid("plateNumber", &e))?;
    let officer = me.person_id;
    let v = read(&state, move |tx| {
        require_officer(tx, officer)?;
        tx.vehicle_by_plate(plate_type, plate.as_str())?
            .ok_or_else(ApiError::not_found)
    })
    .await?;
    let mut value =
        serde_json::to_value(VehicleView::of(&v)).map_err(|e| ApiError::internal(e.to_string()))?;
    if let Some(obj) = value.as_object_mut() {
        obj.insert("ownerNameMasked".into(), json!(mask_name(&v.owner_name)));
        obj.insert("ownerRegistered".into(), json!(v.owner_person_id.is_some()));
    }
    Ok(Json(value))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WindowBindRequest {
    person_id: String,
    vehicle_id: String,
    #[serde(default)]
    relationship: Option<Relationship>,
    #[serde(default)]
    documents_checked: Vec<Document>,
    #[serde(default)]
    policy_version: Option<String>,
    #[serde(default)]
    expected_allowed: Option<bool>,
}

pub async fn bind_for_person(
    State(state): State<SharedState>,
    me: SignedIn,
    key: AnswerKey,
    ApiJson(body): ApiJson<WindowBindRequest>,
) -> ApiResult<Response> {
    let person_id = parse_id("personId", &body.person_id)?;
    let vehicle_id = parse_id("vehicleId", &body.vehicle_id)?;
    let officer = me.person_id;
    let now = state.now();
    let st = state.clone();
    write_answer(&state, &key, move |tx| {
        require_officer(tx, officer)?;
        tx.person(person_id)?.ok_or_else(ApiError::not_found)?;
        tx.vehicle(vehicle_id)?.ok_or_else(ApiError::not_found)?;
        let committed = commit_binding(
            tx,
            &st.policies,
            now,
            BindingCommit {
                binder_id: person_id,
                vehicle_id,
                method: BindingMethod::Window,
                relationship: body.relationship.unwrap_or(Relationship::Other),
                channel: Channel::Window,
                identity_verified: true,
                documents_checked: body.documents_checked,
                application_id: None,
                actor_id: officer,
                expectation: ClientExpectation {
                    policy_version: body.policy_version,
                    expected_allowed: body.expected_allowed,
                },
            },
        )?;
        committed_answer(committed)
    })
    .await
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WindowViolationsQuery {
    person_id: String,
    vehicle_id: String,
}

pub async fn violations_for_person(
    State(state): State<SharedState>,
    me: SignedIn,
    Query(q): Query<WindowViolationsQuery>,
) -> ApiResult<Json<serde_json::Value>> {
    let person_id = parse_id("personId", &q.person_id)?;
    let vehicle_id = parse_id("vehicleId", &q.vehicle_id)?;
    let officer = me.person_id;
    let now = state.now();
    let st = state.clone();
    let (views, version) = read(&state, move |tx| {
        require_officer(tx, officer)?;
        let person = tx.person(person_id)?.ok_or_else(ApiError::not_found)?;
        let vehicle = tx.vehicle(vehicle_id)?.ok_or_else(ApiError::not_found)?;
        let binding = tx
            .active_bindings_of_binder(person_id)?
            .into_iter()
            .find(|b| b.vehicle_id == vehicle_id);
        routed(
            tx,
            &st.policies,
            &person,
            &vehicle,
            binding.as_ref(),
            Channel::Window,
            now,
        )
    })
    .await?;
    Ok(Json(
        json!({ "policyVersion": version, "violations": views }),
    ))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WindowHandleRequest {
    person_id: String,
    #[serde(default)]
    documents_checked: Vec<Document>,
    #[serde(default)]
    policy_version: Option<String>,
    #[serde(default)]
    expected_allowed: Option<bool>,
    #[serde(default)]
    expected_owed_fen: Option<renche::domain::Fen>,
}

pub async fn handle_for_person(
    State(state): State<SharedState>,
    me: SignedIn,
    key: AnswerKey,
    PathId(violation_id): PathId,
    ApiJson(body): ApiJson<WindowHandleRequest>,
) -> ApiResult<Response> {
    let person_id = parse_id("personId", &body.person_id)?;
    let officer = me.person_id;
    read(&state, move |tx| require_officer(tx, officer).map(|_| ())).await?;
    let case = HandleCase {
        person_id,
        actor_id: officer,
        channel: Channel::Window,
        violation_id,
        documents_checked: body.documents_checked,
        expectation: ClientExpectation {
            policy_version: body.policy_version,
            expected_allowed: body.expected_allowed,
        },
        expected_owed: body.expected_owed_fen,
    };
    handle(&state, &key, case).await
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ReviewView {
    #[serde(flatten)]
    application: ApplicationView,
    binder: serde_json::Value,
    note: Option<String>,
}

pub async fn reviews(
    State(state): State<SharedState>,
    me: SignedIn,
) -> ApiResult<Json<serde_json::Value>> {
    let officer = me.person_id;
    let views = read(&state, move |tx| {
        require_officer(tx, officer)?;
        let mut out = Vec::new();
        for a in tx.applications_in_review()? {
            let (Some(v), Some(p)) = (tx.vehicle(a.vehicle_id)?, tx.person(a.binder_id)?) else { continue };
            out.push(ReviewView {
                application: ApplicationView::of(&a, &v),
                binder: json!({ "id": p.id.to_string(), "name": p.name, "residentIdMasked": p.resident_id.masked() }),
                note: a.note.clone(),
            });
        }
        Ok(out)
    })
    .await?;
    Ok(Json(json!({ "applications": views })))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApproveRequest {
    #[serde(default)]
    policy_version: Option<String>,
    #[serde(default)]
    expected_allowed: Option<bool>,
}

fn not_in_review() -> ApiError {
    ApiError::new(
        ErrorKind::Conflict,
        "APPLICATION_NOT_IN_REVIEW",
        "该申请不在人工审核中",
        "This application is not waiting for review",
    )
}

pub async fn approve_review(
    State(state): State<SharedState>,
    me: SignedIn,
    key: AnswerKey,
    PathToken(id): PathToken,
    ApiJson(body): ApiJson<ApproveRequest>,
) -> ApiResult<Response> {
    let officer = me.person_id;
    let now = state.now();
    let st = state.clone();
    write_answer(&state, &key, move |tx| {
        require_officer(tx, officer)?;
        let mut a = tx.application(&id)?.ok_or_else(ApiError::not_found)?;
        if a.status != ApplicationStatus::InReview {
            return Err(not_in_review());
        }
        a.reviewed_by = Some(officer);
        a.reviewed_at = Some(now);
        tx.update_application(&a)?;
        let committed = commit_binding(
            tx,
            &st.policies,
            now,
            BindingCommit {
                binder_id: a.binder_id,
                vehicle_id: a.vehicle_id,
                method: a.method,
                relationship: a.relationship.unwrap_or(Relationship::Other),
                channel: Channel::App,
                // The officer has checked the person in place of the failed verification.
                identity_verified: true,
                documents_checked: vec![],
                application_id: Some(a.id.clone()),
                actor_id: officer,
                expectation: ClientExpectation {
                    policy_version: body.policy_version,
                    expected_allowed: body.expected_allowed,
                },
            },
        )?;
        if committed.is_ok() {
            audit(
                tx,
                now,
                Some(officer),
                "binding_application.approved",
                format!("application:{}", a.id),
                json!({}),
            )?;
        }
        committed_answer(committed)
    })
    .await
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RejectRequest {
    #[serde(default)]
    reason: Option<String>,
}

pub async fn reject_review(
    State(state): State<SharedState>,
    me: SignedIn,
    key: AnswerKey,
    PathToken(id): PathToken,
    ApiJson(body): ApiJson<RejectRequest>,
) -> ApiResult<Response> {
    let officer = me.person_id;
    let now = state.now();
    if body
        .reason
        .as_ref()
        .is_some_and(|r| r.chars().count() > 500)
    {
        return Err(ApiError::invalid_value("reason", "at most 500 characters"));
    }
    write_answer(&state, &key, move |tx| {
        require_officer(tx, officer)?;
        let mut a = tx.application(&id)?.ok_or_else(ApiError::not_found)?;
        if a.status != ApplicationStatus::InReview {
            return Err(not_in_review());
        }
        let v = tx.vehicle(a.vehicle_id)?.ok_or_else(ApiError::not_found)?;
        a.status = ApplicationStatus::Rejected;
        a.reviewed_by = Some(officer);
        a.reviewed_at = Some(now);
        a.review_reason = body.reason;
        tx.update_application(&a)?;
        audit(
            tx,
            now,
            Some(officer),
            "binding_application.rejected",
            format!("application:{}", a.id),
            json!({ "reason": a.review_reason }),
        )?;
        let plate = v.plate_number.masked();
        tx.insert_notification(
            a.binder_id,
            "review_rejected",
            &format!("您绑定机动车{plate}的申请未通过人工审核。"),
            &format!("Your application to bind vehicle {plate} was not approved in manual review."),
            now,
        )?;
        Answer::json(
            StatusCode::OK,
            &json!({ "application": ApplicationView::of(&a, &v) }),
        )
    })
    .await
}
