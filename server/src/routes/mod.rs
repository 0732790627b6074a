//! The HTTP handlers, grouped by what a person does, and what they share: running store jobs, turning
//! rows into the core's facts, and the JSON views.

pub mod accounts;
pub mod bindings;
pub mod dev;
pub mod policy;
pub mod vehicles;
pub mod violations;
pub mod window;

use crate::app::{AppState, SharedState};
use crate::error::{ApiError, ApiResult, ClientExpectation, Decision};
use crate::store::{
    ApplicationRow, ApplicationStatus, AuditEntry, BindingRow, LicenceRow, NewBinding, Outcome,
    PersonRow, Role, Tx, VehicleRow, ViolationRow,
};
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use renche::domain::{BindingMethod, Channel, Document, Relationship};
use renche::{
    BindingCall, BindingFacts, CstDate, LicenceFacts, PersonFacts, Stage, Timestamp, VehicleFacts,
    ViolationFacts, ViolationRoute,
};
use serde::Serialize;
use serde_json::json;
use tokio::sync::oneshot;

pub fn api_routes() -> Router<SharedState> {
    Router::new()
        .route("/policy", get(policy::get_policy))
        .route("/policy/cities", get(policy::list_cities))
        .route("/session", get(accounts::get_session))
        .route("/auth/sms-code", post(accounts::send_sms_code))
        .route("/auth/register", post(accounts::register))
        .route("/auth/sign-in", post(accounts::sign_in))
        .route("/auth/sign-out", post(accounts::sign_out))
        .route("/me", get(accounts::me))
        .route("/notifications", get(accounts::notifications))
        .route("/vehicles", get(vehicles::my_vehicles))
        .route("/vehicles/{id}/qr-codes", post(vehicles::make_qr_code))
        .route("/bindings", get(bindings::my_bindings))
        .route("/bindings/{id}", delete(bindings::remove_binding))
        .route("/bindings/qr/redeem", post(bindings::redeem_qr))
        .route(
            "/bindings/sms/challenges",
            post(bindings::start_sms_challenge),
        )
        .route(
            "/bindings/sms/challenges/{id}/confirm",
            post(bindings::confirm_sms_challenge),
        )
        .route("/binding-applications/{id}", get(bindings::get_application))
        .route(
            "/binding-applications/{id}/commit",
            post(bindings::commit_application),
        )
        .route(
            "/binding-applications/{id}/manual-review",
            post(bindings::request_manual_review),
        )
        .route("/violations", get(violations::my_violations))
        .route(
            "/violations/{id}/handle",
            post(violations::handle_violation),
        )
        .route("/window/people", get(window::find_person))
        .route("/window/vehicles", get(window::find_vehicle))
        .route("/window/bindings", post(window::bind_for_person))
        .route("/window/violations", get(window::violations_for_person))
        .route(
            "/window/violations/{id}/handle",
            post(window::handle_for_person),
        )
        .route("/window/reviews", get(window::reviews))
        .route("/window/reviews/{id}/approve", post(window::approve_review))
        .route("/window/reviews/{id}/reject", post(window::reject_review))
        .fallback(api_not_found)
}

async fn api_not_found() -> ApiError {
    ApiError::not_found()
}

pub async fn health(State(state): State<SharedState>) -> impl IntoResponse {
    match read(&state, |tx| Ok(tx.count_people()?)).await {
        Ok(_) => (
            StatusCode::OK,
            Json(json!({ "status": "ok", "store": state.store.backend() })),
        ),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "unavailable" })),
        ),
    }
}

fn job<T, F>(f: F) -> (crate::store::Job, oneshot::Receiver<ApiResult<T>>)
where
    F: FnOnce(&mut dyn Tx) -> ApiResult<T> + Send + 'static,
    T: Send + 'static,
{
    let (send, recv) = oneshot::channel();
    let job: crate::store::Job = Box::new(move |tx: &mut dyn Tx| {
        let result = f(tx);
        let outcome = if result.is_ok() {
            Outcome::Commit
        } else {
            Outcome::Rollback
        };
        let _ = send.send(result);
        outcome
    });
    (job, recv)
}

/// Runs `f` in one write transaction; an `Err` rolls everything back.
pub async fn write<T, F>(state: &AppState, f: F) -> ApiResult<T>
where
    F: FnOnce(&mut dyn Tx) -> ApiResult<T> + Send + 'static,
    T: Send + 'static,
{
    let (job, recv) = job(f);
    state.store.write(job).await?;
    recv.await
        .map_err(|_| ApiError::internal("write job ended without an answer"))?
}

/// A handler's answer, made inside its write transaction so that it can be stored there with the work.
pub struct Answer {
    status: StatusCode,
    body: Vec<u8>,
    /// The error this answer renders, logged once the transaction is over.
    error: Option<ApiError>,
}

impl Answer {
    pub fn json(status: StatusCode, value: &impl Serialize) -> ApiResult<Answer> {
        let body = serde_json::to_vec(value)
            .map_err(|e| ApiError::internal(format!("answer body: {e}")))?;
        Ok(Answer {
            status,
            body,
            error: None,
        })
    }

    /// An error answer whose transaction is still committed (a refusal that is audited, a wrong code that
    /// is counted).
    pub fn error(e: ApiError) -> Answer {
        Answer {
            status: e.status(),
            body: e.body_bytes(),
            error: Some(e),
        }
    }

    fn into_response(self) -> Response {
        if let Some(e) = &self.error {
            e.log();
        }
        let mut resp = (self.status, self.body).into_response();
        resp.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        resp
    }
}

/// Settles the request's idempotency key inside the transaction: stores the answer, or releases the key
/// after a fault of ours (as the guard would, but atomically with the work).
fn settle_key(
    tx: &mut dyn Tx,
    key: &crate::guard::PendingKey,
    answer: &Answer,
    now: Timestamp,
) -> ApiResult<()> {
    if answer.status.is_server_error() {
        tx.idempotency_forget(&key.scope, &key.key)?;
    } else if answer.body.len() > crate::guard::RESPONSE_LIMIT {
        return Err(ApiError::internal("answer too large to store"));
    } else {
        tx.idempotency_finish(
            &key.scope,
            &key.key,
            answer.status.as_u16(),
            &answer.body,
            now,
        )?;
    }
    Ok(())
}

/// `write_answer` for a handler that also needs something out of the transaction once it has committed
/// (an SMS code to deliver).
pub async fn write_answer_with<T, F>(
    state: &AppState,
    key: &crate::guard::AnswerKey,
    f: F,
) -> ApiResult<(Response, T)>
where
    F: FnOnce(&mut dyn Tx) -> ApiResult<(Answer, T)> + Send + 'static,
    T: Send + 'static,
{
    let pending = key.0.clone();
    let now = state.now();
    let (answer, extra) = write(state, move |tx| {
        let (answer, extra) = f(tx)?;
        if let Some(k) = &pending {
            settle_key(tx, k, &answer, now)?;
        }
        Ok((answer, extra))
    })
    .await?;
    if let Some(k) = &key.0 {
        k.mark_settled();
    }
    Ok((answer.into_response(), extra))
}

/// Runs `f` in one write transaction and stores the answer it makes under the request's idempotency key
/// in that same transaction: after a crash either both the work and its stored answer exist or neither
/// does, so a retry never runs committed work again. An `Err` rolls everything back and leaves the key
/// to the guard (stored for a client error, released for a fault of ours), as for any handler.
///
/// Every state change answers this way except registration, sign-in and sign-out: their answers set a
/// cookie, which a stored answer does not carry, and they end the session their key is scoped to, so no
/// retry reaches that key; the guard stores their answers afterwards.
pub async fn write_answer<F>(
    state: &AppState,
    key: &crate::guard::AnswerKey,
    f: F,
) -> ApiResult<Response>
where
    F: FnOnce(&mut dyn Tx) -> ApiResult<Answer> + Send + 'static,
{
    write_answer_with(state, key, move |tx| f(tx).map(|a| (a, ())))
        .await
        .map(|(resp, ())| resp)
}

/// Runs `f` in one read snapshot.
pub async fn read<T, F>(state: &AppState, f: F) -> ApiResult<T>
where
    F: FnOnce(&mut dyn Tx) -> ApiResult<T> + Send + 'static,
    T: Send + 'static,
{
    let (job, recv) = job(f);
    state.store.read(job).await?;
    recv.await
        .map_err(|_| ApiError::internal("read job ended without an answer"))?
}

pub fn id_string(id: i64) -> String {
    id.to_string()
}

/// Adds whole years to an instant's China-Standard-Time date (29 February falls back to the 28th).
fn plus_one_year(t: Timestamp) -> Timestamp {
    let (y, m, d) = t.cst_date().ymd();
    let day = CstDate::from_ymd(y + 1, m, d).or_else(|| CstDate::from_ymd(y + 1, m, d - 1));
    match day {
        Some(day) => Timestamp::from_millis(
            day.start().millis() + (t.millis() - t.cst_date().start().millis()),
        ),
        None => Timestamp::from_millis(t.millis() + 365 * 86_400_000),
    }
}

/// Points and cycle start as of `now`: a 12-month scoring cycle that has ended starts again at zero.
pub fn current_cycle(l: &LicenceRow, now: Timestamp) -> (u32, Option<Timestamp>) {
    let Some(mut start) = l.cycle_start else {
        return (l.points, None);
    };
    let mut points = l.points;
    let mut guard = 0;
    while plus_one_year(start) <= now && guard < 200 {
        start = plus_one_year(start);
        points = 0;
        guard += 1;
    }
    (points, Some(start))
}

pub fn person_facts(p: &PersonRow, now: Timestamp, identity_verified: bool) -> PersonFacts {
    PersonFacts {
        id: id_string(p.id),
        identity_verified,
        licence: p.licence.as_ref().map(|l| LicenceFacts {
            class: l.class,
            status: l.status,
            points: current_cycle(l, now).0,
        }),
    }
}

pub fn vehicle_facts(v: &VehicleRow) -> VehicleFacts {
    VehicleFacts {
        id: id_string(v.id),
        plate_type: v.plate_type(),
        plate_number: v.plate_number.clone(),
        owner_kind: v.owner_kind,
        use_nature: v.use_nature,
        owner_id: v.owner_person_id.map(id_string),
        city: Some(v.city.clone()),
    }
}

pub fn binding_facts(b: &BindingRow) -> BindingFacts {
    BindingFacts {
        binder_id: id_string(b.binder_id),
        vehicle_id: id_string(b.vehicle_id),
        created_at: b.created_at,
        removed_at: b.removed_at,
    }
}

pub fn violation_facts(v: &ViolationRow) -> ViolationFacts {
    ViolationFacts {
        id: id_string(v.id),
        vehicle_id: id_string(v.vehicle_id),
        occurred_at: v.occurred_at,
        points: v.points,
        fine_fen: v.fine_fen,
        source: v.source,
        state: v.state,
        decided_at: v.decided_at,
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LicenceView {
    pub class: &'static str,
    pub status: &'static str,
    pub points: u32,
    pub cycle_start: Option<CstDate>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PersonView {
    pub id: String,
    pub name: String,
    pub resident_id_masked: String,
    pub phone_masked: String,
    pub role: &'static str,
    pub identity_verified: bool,
    pub licence: Option<LicenceView>,
}

impl PersonView {
    pub fn of(p: &PersonRow, now: Timestamp) -> PersonView {
        PersonView {
            id: id_string(p.id),
            name: p.name.clone(),
            resident_id_masked: p.resident_id.masked(),
            phone_masked: p.phone.masked(),
            role: p.role.code(),
            identity_verified: p.identity_verified,
            licence: p.licence.as_ref().map(|l| {
                let (points, start) = current_cycle(l, now);
                LicenceView {
                    class: l.class.code(),
                    status: l.status.code(),
                    points,
                    cycle_start: start.map(|s| s.cst_date()),
                }
            }),
        }
    }
}

/// A name as shown to someone else: the family name and stars.
pub fn mask_name(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => {
            let rest = chars.count().max(1);
            format!("{first}{}", "*".repeat(rest))
        }
        None => String::new(),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VehicleView {
    pub id: String,
    pub plate_type: &'static str,
    pub plate_number: String,
    pub plate_display: String,
    pub use_nature: &'static str,
    pub owner_kind: &'static str,
    pub city: String,
}

impl VehicleView {
    pub fn of(v: &VehicleRow) -> VehicleView {
        VehicleView {
            id: id_string(v.id),
            plate_type: v.plate_type().code(),
            plate_number: v.plate_number.as_str().to_owned(),
            plate_display: v.plate_number.display(),
            use_nature: v.use_nature.code(),
            owner_kind: v.owner_kind.code(),
            city: v.city.clone(),
        }
    }
}

/// What a binder sees of a vehicle before the binding exists.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MaskedVehicleView {
    pub plate_type: &'static str,
    pub plate_masked: String,
    pub city: String,
}

impl MaskedVehicleView {
    pub fn of(v: &VehicleRow) -> MaskedVehicleView {
        MaskedVehicleView {
            plate_type: v.plate_type().code(),
            plate_masked: v.plate_number.masked(),
            city: v.city.clone(),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BindingView {
    pub id: String,
    pub vehicle_id: String,
    pub binder_id: String,
    pub relationship: Relationship,
    pub method: BindingMethod,
    pub created_at: Timestamp,
    pub removed_at: Option<Timestamp>,
    pub removed_role: Option<renche::domain::ActorRole>,
}

impl BindingView {
    pub fn of(b: &BindingRow) -> BindingView {
        BindingView {
            id: id_string(b.id),
            vehicle_id: id_string(b.vehicle_id),
            binder_id: id_string(b.binder_id),
            relationship: b.relationship,
            method: b.method,
            created_at: b.created_at,
            removed_at: b.removed_at,
            removed_role: b.removed_role,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ViolationView {
    pub id: String,
    pub vehicle_id: String,
    pub occurred_at: Timestamp,
    pub code: String,
    pub description: String,
    pub place: String,
    pub points: u8,
    pub fine_fen: u64,
    pub source: &'static str,
    pub state: &'static str,
    pub decision_number: Option<String>,
    pub decided_at: Option<Timestamp>,
    pub paid_at: Option<Timestamp>,
    pub paid_fen: Option<u64>,
    pub route: ViolationRoute,
}

impl ViolationView {
    pub fn of(v: &ViolationRow, route: ViolationRoute) -> ViolationView {
        ViolationView {
            id: id_string(v.id),
            vehicle_id: id_string(v.vehicle_id),
            occurred_at: v.occurred_at,
            code: v.code.clone(),
            description: v.description.clone(),
            place: v.place.clone(),
            points: v.points.value(),
            fine_fen: v.fine_fen.value(),
            source: v.source.code(),
            state: v.state.code(),
            decision_number: v.decision_number.clone(),
            decided_at: v.decided_at,
            paid_at: v.paid_at,
            paid_fen: v.paid_fen.map(|f| f.value()),
            route,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationView {
    pub id: String,
    pub method: BindingMethod,
    pub status: &'static str,
    pub vehicle: MaskedVehicleView,
    pub relationship: Option<Relationship>,
    pub verification: Option<&'static str>,
    pub binding_id: Option<String>,
    pub created_at: Timestamp,
    pub review_reason: Option<String>,
}

impl ApplicationView {
    pub fn of(a: &ApplicationRow, v: &VehicleRow) -> ApplicationView {
        ApplicationView {
            id: a.id.clone(),
            method: a.method,
            status: a.status.code(),
            vehicle: MaskedVehicleView::of(v),
            relationship: a.relationship,
            verification: a.verification.map(|v| v.code()),
            binding_id: a.binding_id.map(id_string),
            created_at: a.created_at,
            review_reason: a.review_reason.clone(),
        }
    }
}

pub fn audit(
    tx: &mut dyn Tx,
    at: Timestamp,
    actor_id: Option<i64>,
    action: &'static str,
    subject: String,
    detail: serde_json::Value,
) -> ApiResult<()> {
    tx.append_audit(&AuditEntry {
        at,
        actor_id,
        action,
        subject,
        detail,
    })?;
    Ok(())
}

/// Everything a binding commit needs besides the facts in the database.
pub struct BindingCommit {
    pub binder_id: i64,
    pub vehicle_id: i64,
    pub method: BindingMethod,
    pub relationship: Relationship,
    pub channel: Channel,
    /// Real-person verification passed (or an officer checked the person) for this application.
    pub identity_verified: bool,
    pub documents_checked: Vec<Document>,
    pub application_id: Option<String>,
    /// Who makes the commit: the binder, or the officer at the window or in review.
    pub actor_id: i64,
    pub expectation: ClientExpectation,
}

/// Loads the facts, asks the core at the commit stage and writes the binding, in the caller's transaction.
/// A refusal comes back as `Ok(Err(..))` so that its audit entry is kept.
pub fn commit_binding(
    tx: &mut dyn Tx,
    state_policies: &crate::policies::Policies,
    now: Timestamp,
    c: BindingCommit,
) -> ApiResult<Result<(BindingRow, Decision), ApiError>> {
    tx.lock_for_binding(c.binder_id, c.vehicle_id)?;
    let binder = tx.person(c.binder_id)?.ok_or_else(ApiError::not_found)?;
    let vehicle = tx.vehicle(c.vehicle_id)?.ok_or_else(ApiError::not_found)?;
    let binder_bindings: Vec<BindingFacts> = tx
        .active_bindings_of_binder(c.binder_id)?
        .iter()
        .map(binding_facts)
        .collect();
    let vehicle_bindings: Vec<BindingFacts> = tx
        .active_bindings_of_vehicle(c.vehicle_id)?
        .iter()
        .map(binding_facts)
        .collect();
    // The application being committed is not one of the "earlier" applications the caps count.
    let applications: Vec<Timestamp> = tx
        .submitted_applications(c.binder_id)?
        .into_iter()
        .filter(|(id, _)| c.application_id.as_deref() != Some(id.as_str()))
        .map(|(_, at)| at)
        .collect();
    let policy = state_policies.for_city(&vehicle.city);
    let call = BindingCall {
        binder: person_facts(&binder, now, c.identity_verified),
        vehicle: vehicle_facts(&vehicle),
        binder_bindings,
        vehicle_bindings,
        applications,
        method: c.method,
        channel: c.channel,
        stage: Stage::Commit,
        documents_checked: c.documents_checked.clone(),
        now,
    };
    let answer = policy.rules.check_binding(&call);
    let decision = Decision::new(
        answer.allowed,
        answer.reasons,
        &answer.policy_version,
        &c.expectation,
    );
    let subject = format!("vehicle:{}/binder:{}", c.vehicle_id, c.binder_id);
    if !decision.allowed {
        let codes: Vec<&str> = decision.reasons.iter().map(|r| r.code).collect();
        audit(
            tx,
            now,
            Some(c.actor_id),
            "binding.refused",
            subject,
            json!({ "method": c.method, "channel": c.channel, "reasons": codes, "policyVersion": decision.policy_version,
                    "application": c.application_id }),
        )?;
        return Ok(Err(ApiError::refused(decision)));
    }
    let id = tx.insert_binding(&NewBinding {
        binder_id: c.binder_id,
        vehicle_id: c.vehicle_id,
        relationship: c.relationship,
        method: c.method,
        application_id: c.application_id.clone(),
        created_at: now,
    })?;
    if let Some(app_id) = &c.application_id {
        if let Some(mut a) = tx.application(app_id)? {
            a.status = ApplicationStatus::Committed;
            a.binding_id = Some(id);
            a.relationship = Some(c.relationship);
            a.submitted_at = Some(now);
            tx.update_application(&a)?;
        }
    }
    audit(
        tx,
        now,
        Some(c.actor_id),
        "binding.created",
        subject,
        json!({ "binding": id, "method": c.method, "channel": c.channel, "relationship": c.relationship,
                "policyVersion": decision.policy_version, "application": c.application_id,
                "documentsChecked": c.documents_checked }),
    )?;
    if let Some(owner) = vehicle.owner_person_id {
        let plate = vehicle.plate_number.display();
        let name = mask_name(&binder.name);
        tx.insert_notification(
            owner,
            "binding_created",
            &format!("{name}已绑定您的机动车{plate}。如非本人授权,可在“我的机动车”中解除。"),
            &format!("{name} has bound your vehicle {plate}. If you did not agree, remove the binding under My vehicles."),
            now,
        )?;
    }
    let row = tx
        .binding(id)?
        .ok_or_else(|| ApiError::internal("binding vanished after insert"))?;
    Ok(Ok((row, decision)))
}

/// Whether a person is an officer (for the window endpoints).
pub fn require_officer(tx: &mut dyn Tx, person_id: i64) -> ApiResult<PersonRow> {
    let p = tx
        .person(person_id)?
        .ok_or_else(ApiError::unauthenticated)?;
    if p.role != Role::Officer {
        return Err(ApiError::not_an_officer());
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        Timestamp::parse_rfc3339(s).unwrap()
    }

    #[test]
    fn scoring_cycle_rolls_over_after_twelve_months() {
        let l = LicenceRow {
            class: renche::domain::LicenceClass::C1,
            status: renche::domain::LicenceStatus::Normal,
            points: 9,
            cycle_start: Some(at("2025-03-01T00:00:00+08:00")),
        };
        assert_eq!(current_cycle(&l, at("2026-02-28T23:59:59+08:00")).0, 9);
        let (points, start) = current_cycle(&l, at("2026-03-01T00:00:00+08:00"));
        assert_eq!(points, 0);
        assert_eq!(start.unwrap().cst_date().to_string(), "2026-03-01");
        let leap = LicenceRow {
            cycle_start: Some(at("2024-02-29T00:00:00+08:00")),
            ..l
        };
        assert_eq!(current_cycle(&leap, at("2025-02-28T12:00:00+08:00")).0, 0);
    }

    #[test]
    fn names_are_masked_after_the_first_character() {
        assert_eq!(mask_name("王车主"), "王**");
        assert_eq!(mask_name("李"), "李*");
        assert_eq!(mask_name(""), "");
    }
}
