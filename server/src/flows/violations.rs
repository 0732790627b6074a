//! Violations: which a person may see and handle where (the core's routes), and handling one: the
//! decision, the points and the payment.

use crate::error::{ServerError, ServerErrorCode, ServerResult};
use crate::flows::audit::Audit;
use crate::flows::consent::suffix_matches;
use crate::flows::decision::{ClientExpectation, Decision};
use crate::flows::facts::{binding_facts, person_facts, vehicle_facts, violation_facts};
use crate::flows::OrNotFound;
use crate::policies::Policies;
use crate::store::{BindingRow, PersonRow, Tx, VehicleRow, ViolationRow};
use renche::domain::{Channel, Document, EngineSuffix, Fen, ScoringCycle, ViolationState};
use renche::{Reason, Refusal, Route, RouteCall, Timestamp, ViolationRoute};
use serde_json::json;

/// Most violations listed per vehicle (newest first).
const LIST_LIMIT: u32 = 200;

/// A vehicle's violations routed for a person, without those that are not theirs to see.
pub struct Routed {
    pub violations: Vec<(ViolationRow, ViolationRoute)>,
    pub policy_version: String,
}

/// Routes a vehicle's violations for a person on a channel; drops what is not theirs to see.
pub fn routed(
    tx: &mut dyn Tx,
    policies: &Policies,
    person: &PersonRow,
    vehicle: &VehicleRow,
    binding: Option<&BindingRow>,
    channel: Channel,
    now: Timestamp,
) -> ServerResult<Routed> {
    let rows = tx.violations_of_vehicle(vehicle.id, LIST_LIMIT)?;
    let policy = policies.for_city(&vehicle.city, now);
    let call = RouteCall {
        person: person_facts(person, now, false),
        vehicle: vehicle_facts(vehicle),
        binding: binding.map(binding_facts),
        violations: rows.iter().map(violation_facts).collect(),
        channel,
        now,
    };
    let answer = policy.rules.route_violations(&call);
    let violations = rows
        .into_iter()
        .zip(answer.routes)
        .filter(|(_, r)| r.route != Route::NotTheirs)
        .collect();
    Ok(Routed {
        violations,
        policy_version: answer.policy_version,
    })
}

/// How a person stands to a vehicle whose violations they see.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Relation {
    Owner,
    Binder,
}

impl Relation {
    pub fn code(self) -> &'static str {
        match self {
            Relation::Owner => "owner",
            Relation::Binder => "binder",
        }
    }
}

/// One vehicle's violations as a person sees them.
pub struct VehicleViolations {
    pub vehicle: VehicleRow,
    pub relation: Relation,
    pub binding_id: Option<i64>,
    pub routed: Routed,
}

/// The violations of the person's own vehicles and of the vehicles they have bound, routed for the
/// channel they ask by (the app, or an enrolled kiosk).
pub fn of_person(
    tx: &mut dyn Tx,
    policies: &Policies,
    person_id: i64,
    channel: Channel,
    now: Timestamp,
) -> ServerResult<Vec<VehicleViolations>> {
    let person = tx
        .person(person_id)?
        .ok_or_else(ServerError::unauthenticated)?;
    let mut out = Vec::new();
    for v in tx.vehicles_owned_by(person_id)? {
        let routed = routed(tx, policies, &person, &v, None, channel, now)?;
        out.push(VehicleViolations {
            vehicle: v,
            relation: Relation::Owner,
            binding_id: None,
            routed,
        });
    }
    for b in tx.active_bindings_of_binder(person_id)? {
        let Some(v) = tx.vehicle(b.vehicle_id)? else {
            continue;
        };
        let routed = routed(tx, policies, &person, &v, Some(&b), channel, now)?;
        out.push(VehicleViolations {
            vehicle: v,
            relation: Relation::Binder,
            binding_id: Some(b.id),
            routed,
        });
    }
    Ok(out)
}

/// The person's active binding of the vehicle, if they have bound it.
pub fn active_binding(
    tx: &mut dyn Tx,
    person_id: i64,
    vehicle_id: i64,
) -> ServerResult<Option<BindingRow>> {
    Ok(tx
        .active_bindings_of_binder(person_id)?
        .into_iter()
        .find(|b| b.vehicle_id == vehicle_id))
}

/// A vehicle's violations as an officer at the window sees them for a person.
pub fn at_window(
    tx: &mut dyn Tx,
    policies: &Policies,
    person_id: i64,
    vehicle_id: i64,
    now: Timestamp,
) -> ServerResult<Routed> {
    let person = tx.person(person_id).or_not_found()?;
    let vehicle = tx.vehicle(vehicle_id).or_not_found()?;
    let binding = active_binding(tx, person_id, vehicle_id)?;
    routed(
        tx,
        policies,
        &person,
        &vehicle,
        binding.as_ref(),
        Channel::Window,
        now,
    )
}

/// Who handles which violation, where.
pub struct HandleCase {
    pub person_id: i64,
    pub actor_id: i64,
    pub channel: Channel,
    pub violation_id: i64,
    pub documents_checked: Vec<Document>,
    pub expectation: ClientExpectation,
    pub expected_owed: Option<Fen>,
    /// At a kiosk, the engine-number suffix of a vehicle that is neither the person's nor bound: what the
    /// kiosk's lookup asked for, so that only someone with the vehicle licence in hand reaches its
    /// violations (the city's kiosk rule then decides).
    pub vehicle_proof: Option<EngineSuffix>,
}

/// The route of one violation for the case, from the facts in the database; not found when it is not
/// theirs.
fn route_one(
    tx: &mut dyn Tx,
    policies: &Policies,
    case: &HandleCase,
    now: Timestamp,
) -> ServerResult<(ViolationRow, VehicleRow, ViolationRoute, String)> {
    let v = tx.violation(case.violation_id).or_not_found()?;
    let vehicle = tx.vehicle(v.vehicle_id).or_not_found()?;
    let person = tx.person(case.person_id).or_not_found()?;
    let own = vehicle.owner_person_id == Some(person.id);
    let binding = active_binding(tx, person.id, vehicle.id)?;
    let unrelated = !own && binding.is_none();
    // At a kiosk, a vehicle neither theirs nor bound is reached by its engine-number suffix, as the kiosk's
    // lookup reaches it; the suffixes given count against the same hourly allowance.
    let proof = case
        .vehicle_proof
        .as_ref()
        .filter(|_| case.channel == Channel::Kiosk && unrelated);
    if proof.is_some() && crate::flows::kiosks::vehicle_proofs_exhausted(tx, person.id, now)? {
        return Err(ServerError::of(ServerErrorCode::TooManyFailures));
    }
    let proven = proof.is_some_and(|suffix| suffix_matches(&vehicle, suffix));
    if case.channel != Channel::Window && unrelated && !proven {
        return Err(ServerError::not_found());
    }
    let policy = policies.for_city(&vehicle.city, now);
    let route = policy.rules.route_violation(
        &person_facts(&person, now, false),
        &vehicle_facts(&vehicle),
        binding.as_ref().map(binding_facts).as_ref(),
        &violation_facts(&v),
        case.channel,
        now,
    );
    if route.route == Route::NotTheirs && case.channel != Channel::Window {
        return Err(ServerError::not_found());
    }
    Ok((v, vehicle, route, policy.version().to_owned()))
}

/// The decision for the case: allowed only on the online route and, at a window, with the originals
/// checked.
fn decide(case: &HandleCase, route: &ViolationRoute, version: &str) -> Decision {
    let mut reasons: Vec<Reason> = route
        .reasons
        .iter()
        // Decided and unpaid is what paying is for, not a refusal.
        .filter(|r| r.code != "VIOLATION_AWAITING_PAYMENT")
        .cloned()
        .collect();
    // Elsewhere only the online route is handled; at the window its own route is, with nothing against
    // it (an invalid licence still stops it) and the originals it lists checked.
    let mut allowed = if case.channel == Channel::Window {
        route.route == Route::Window && reasons.is_empty()
    } else {
        route.route == Route::Online
    };
    if route.route == Route::Settled {
        allowed = false;
        reasons.push(Reason::of(&Refusal::AlreadyHandled));
    }
    if case.channel == Channel::Window && route.route == Route::Window {
        let missing: Vec<Document> = route
            .documents
            .iter()
            .copied()
            .filter(|d| !case.documents_checked.contains(d))
            .collect();
        if !missing.is_empty() {
            allowed = false;
            reasons.push(Reason::of(&Refusal::WindowDocumentsNotChecked { missing }));
        }
    }
    if !allowed && reasons.is_empty() {
        reasons = route.reasons.clone();
    }
    Decision::new(
        allowed,
        if allowed { vec![] } else { reasons },
        version,
        &case.expectation,
    )
}

/// Before payment: the amount owed when the case may be handled, or the refusal.
pub enum Checked {
    Payable(Fen),
    Refused(Decision),
}

/// Decides the case before any money moves; a changed amount is refused so that the person confirms it.
pub fn check(
    tx: &mut dyn Tx,
    policies: &Policies,
    case: &HandleCase,
    now: Timestamp,
) -> ServerResult<Checked> {
    let (_, _, route, version) = route_one(tx, policies, case, now)?;
    let decision = decide(case, &route, &version);
    if !decision.allowed {
        return Ok(Checked::Refused(decision));
    }
    let owed = route.owed_fen;
    if let Some(expected) = case.expected_owed {
        if expected != owed {
            return Err(ServerError::of(ServerErrorCode::AmountChanged { owed }));
        }
    }
    Ok(Checked::Payable(owed))
}

/// Refusals are decisions too: they go to the audit log.
pub fn audit_refusal(
    tx: &mut dyn Tx,
    case: &HandleCase,
    decision: &Decision,
    now: Timestamp,
) -> ServerResult<()> {
    let codes: Vec<&'static str> = decision.reasons.iter().map(|r| r.code).collect();
    Audit::of(
        "violation.handling_refused",
        format!("violation:{}", case.violation_id),
    )
    .by(case.actor_id)
    .detail(
        json!({ "person": case.person_id, "channel": case.channel, "reasons": codes,
                "policyVersion": decision.policy_version }),
    )
    .write(tx, now)
}

fn decision_number(city: &str, violation_id: i64, now: Timestamp) -> String {
    let (y, m, d) = now.cst_date().ymd();
    format!("{city}{y:04}{m:02}{d:02}{violation_id:08}")
}

/// A violation just handled and paid.
pub struct Handled {
    pub violation: ViolationRow,
    pub route: ViolationRoute,
    pub paid: Fen,
    pub decision: Decision,
}

/// After payment: decides again and records the decision, the points and the payment. An `Err` (the
/// facts or the amount changed since the check) leaves nothing, and the caller refunds.
pub fn record(
    tx: &mut dyn Tx,
    policies: &Policies,
    case: &HandleCase,
    paid: Fen,
    payment_ref: String,
    now: Timestamp,
) -> ServerResult<Handled> {
    let (mut v, vehicle, route, version) = route_one(tx, policies, case, now)?;
    let decision = decide(case, &route, &version);
    if !decision.allowed || route.owed_fen != paid {
        return Err(ServerError::refused(decision));
    }
    let person = tx.person(case.person_id).or_not_found()?;
    if v.state == ViolationState::Unhandled {
        v.decision_number = Some(decision_number(&vehicle.city, v.id, now));
        v.decided_at = Some(now);
        v.handled_by = Some(person.id);
        if let Some(l) = &person.licence {
            let cycle = ScoringCycle::at(l.points, l.cycle_start, now);
            tx.set_licence_points(
                person.id,
                cycle.points + u32::from(v.points.value()),
                cycle.start,
            )?;
        }
    }
    v.state = ViolationState::Paid;
    v.paid_at = Some(now);
    v.paid_fen = Some(paid);
    v.payment_ref = Some(payment_ref.clone());
    tx.update_violation(&v)?;
    Audit::of("violation.handled", format!("violation:{}", v.id))
        .by(case.actor_id)
        .detail(json!({
            "person": person.id, "channel": case.channel, "decisionNumber": v.decision_number,
            "paidFen": paid.value(), "paymentRef": payment_ref, "points": v.points.value(),
            "policyVersion": version, "documentsChecked": case.documents_checked,
        }))
        .write(tx, now)?;
    Ok(Handled {
        violation: v,
        route,
        paid,
        decision,
    })
}
