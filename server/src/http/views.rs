//! The JSON views of rows that more than one resource answers with.

use crate::flows::facts::id_string;
use crate::store::{
    AccountRow, ApplicationRow, BindingRow, PersonRow, VehicleRow, VerificationRow, ViolationRow,
};
use renche::domain::{offence_name_en, BindingMethod, Relationship, ScoringCycle};
use renche::{CstDate, Timestamp, ViolationRoute};
use serde::Serialize;

#[derive(Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LicenceView {
    pub class: &'static str,
    pub status: &'static str,
    pub points: u32,
    /// The cycle's points have reached 12: the licence is suspended and self-service stops (the record's
    /// `status` may not say so yet).
    pub full_points: bool,
    #[schemars(with = "Option<String>")]
    pub cycle_start: Option<CstDate>,
}

#[derive(Serialize, schemars::JsonSchema)]
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
                let cycle = ScoringCycle::at(l.points, l.cycle_start, now);
                LicenceView {
                    class: l.class.code(),
                    status: l.status.code(),
                    points: cycle.points,
                    full_points: cycle.points >= renche::domain::licence::FULL_POINTS,
                    cycle_start: cycle.start.map(|s| s.cst_date()),
                }
            }),
        }
    }
}

#[derive(Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountView {
    pub id: String,
    pub phone_masked: String,
    pub verified: bool,
}

impl AccountView {
    pub fn of(a: &AccountRow) -> AccountView {
        AccountView {
            id: id_string(a.id),
            phone_masked: a.phone.masked(),
            verified: a.person_id.is_some(),
        }
    }
}

/// What a session is: its CSRF token, its account and person, and what the holder should do next.
#[derive(Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionView {
    pub csrf_token: String,
    pub account: Option<AccountView>,
    pub person: Option<PersonView>,
    /// `sign_in` without an account, `verify_identity` for an account not linked to a person, else null.
    pub next_step: Option<&'static str>,
}

impl SessionView {
    pub fn of(
        csrf_token: String,
        account: Option<&AccountRow>,
        person: Option<&PersonRow>,
        now: Timestamp,
    ) -> SessionView {
        let next_step = match (account, person) {
            // A kiosk's session: a person the kiosk signed in, with no account.
            (None, Some(_)) => None,
            (None, None) => Some("sign_in"),
            (Some(_), None) => Some("verify_identity"),
            (Some(_), Some(_)) => None,
        };
        SessionView {
            csrf_token,
            account: account.map(AccountView::of),
            person: person.map(|p| PersonView::of(p, now)),
            next_step,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VerificationView {
    pub id: String,
    pub purpose: &'static str,
    pub application_id: Option<String>,
    pub status: &'static str,
    pub provider_url: Option<String>,
    pub expires_at: Timestamp,
}

impl VerificationView {
    pub fn of(v: &VerificationRow) -> VerificationView {
        VerificationView {
            id: v.id.clone(),
            purpose: v.purpose.code(),
            application_id: v.application_id.clone(),
            status: v.status.code(),
            provider_url: v.provider_url.clone(),
            expires_at: Timestamp::from_millis(
                v.created_at.millis() + crate::flows::identity::RESULT_MAX_AGE_MS,
            ),
        }
    }
}

#[derive(Serialize, schemars::JsonSchema)]
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

#[derive(Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BindingView {
    pub id: String,
    pub vehicle_id: String,
    pub binder_id: String,
    #[schemars(with = "crate::http::schema::Codes<Relationship>")]
    pub relationship: Relationship,
    #[schemars(with = "crate::http::schema::Codes<BindingMethod>")]
    pub method: BindingMethod,
    #[schemars(with = "crate::http::schema::Instant")]
    pub created_at: Timestamp,
    #[schemars(with = "Option<crate::http::schema::Instant>")]
    pub removed_at: Option<Timestamp>,
    #[schemars(with = "Option<crate::http::schema::Codes<renche::domain::ActorRole>>")]
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
    /// The offence's English name from the core's code table; null for a code not in it (the page then
    /// shows `description`, the record's Chinese wording).
    pub offence_en: Option<&'static str>,
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
            offence_en: offence_name_en(&v.code),
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
    /// Until when an application awaiting verification may be committed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
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
            expires_at: None,
        }
    }
}

/// A started SMS challenge: its id, when its code expires and when another may be asked for.
#[derive(Serialize, Clone)]
#[serde(rename_all = "camelCase")]
pub struct ChallengeView {
    pub challenge_id: String,
    pub expires_at: Timestamp,
    pub resend_after: Timestamp,
}

impl ChallengeView {
    pub fn of(c: &crate::store::SmsChallengeRow, sms: &renche::policy::SmsPolicy) -> ChallengeView {
        ChallengeView {
            challenge_id: c.id.clone(),
            expires_at: c.expires_at,
            resend_after: c
                .created_at
                .plus_seconds(i64::from(sms.resend_cooldown_seconds)),
        }
    }
}

/// What a binder sees of an application just opened: its id, the masked vehicle and the precheck.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OpenedView {
    application_id: String,
    vehicle: MaskedVehicleView,
    precheck: renche::BindingAnswer,
    expires_at: Timestamp,
}

impl OpenedView {
    pub fn of(opened: crate::flows::binding::Opened) -> OpenedView {
        OpenedView {
            application_id: opened.application.id,
            vehicle: MaskedVehicleView::of(&opened.vehicle),
            precheck: opened.precheck,
            expires_at: opened.expires_at,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BoundView<'a> {
    binding: BindingView,
    decision: &'a crate::flows::decision::Decision,
}

/// The answer to a binding commit or removal: `status` with the binding and the decision, or the rules'
/// refusal (kept with its audit entry).
pub fn bound_answer(
    status: axum::http::StatusCode,
    decided: crate::error::Verdict<crate::flows::binding::Bound>,
) -> crate::error::ServerResult<crate::http::idempotency::Answer> {
    use crate::error::Verdict;
    use crate::http::idempotency::Answer;
    match decided {
        Verdict::Done(bound) => Answer::json(
            status,
            &BoundView {
                binding: BindingView::of(&bound.binding),
                decision: &bound.decision,
            },
        ),
        Verdict::Refused(refused) => Ok(Answer::error(refused)),
    }
}

/// The answer that carries one application as it now stands: `{ "application": ... }`.
pub fn application_answer(
    status: axum::http::StatusCode,
    a: &crate::store::ApplicationRow,
    v: &crate::store::VehicleRow,
) -> crate::error::ServerResult<crate::http::idempotency::Answer> {
    let view = serde_json::json!({ "application": ApplicationView::of(a, v) });
    crate::http::idempotency::Answer::json(status, &view)
}

/// A list answer, `{ "<name>": [views] }`.
pub fn list_of<V: Serialize>(
    name: &str,
    views: impl Iterator<Item = V>,
) -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({ name: views.collect::<Vec<V>>() }))
}
