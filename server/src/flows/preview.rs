//! A preview before a switch: a draft city policy evaluated against today's bindings and open violations,
//! compared with the version in force (the rules core's `preview` does the comparing). One read snapshot;
//! the violations stream through vehicle by vehicle, so memory holds the active bindings and one vehicle's
//! violations, not the table.

use crate::error::{ServerError, ServerResult};
use crate::flows::facts::{binding_facts, id_string, person_facts, vehicle_facts, violation_facts};
use crate::policies::Policies;
use crate::store::{ActiveBinding, OpenViolations, StoreResult, Tx};
use renche::rules::preview::{
    draft_applies, existing_binding_call, Onlooker, Preview, PreviewSummary, Viewer, DEFAULT_CITY,
};
use renche::{BindingFacts, PersonFacts, Policy, PolicyError, Rules, Timestamp, ViolationFacts};
use std::collections::HashMap;
use std::fmt::Write as _;

/// Reads a draft policy document with the parser the policy directory is read with, over the default in
/// force (`"extends": "default"`); the error names the field at fault.
pub fn parse_draft(text: &str, policies: &Policies) -> Result<Rules, PolicyError> {
    Policy::parse_with_base(text, policies.default_policy().rules.policy()).map(Rules::new)
}

/// What the draft would change against the facts in the store at `at`.
pub fn preview(
    tx: &mut dyn Tx,
    policies: &Policies,
    draft: Rules,
    at: Timestamp,
) -> ServerResult<PreviewSummary> {
    let code = draft.policy().city.code.clone();
    let applies = |city: &str| draft_applies(&draft, city, policies.city(city, at).is_some());
    let bindings = tx.active_bindings_with_parties()?;
    let mut of_binder: HashMap<i64, Vec<BindingFacts>> = HashMap::new();
    let mut of_vehicle: HashMap<i64, Vec<BindingFacts>> = HashMap::new();
    for b in &bindings {
        let facts = binding_facts(&b.binding);
        of_binder
            .entry(b.binding.binder_id)
            .or_default()
            .push(facts.clone());
        of_vehicle.entry(b.vehicle.id).or_default().push(facts);
    }
    // The binders who look at each vehicle's violations, for the vehicles the draft decides for.
    let mut binders: HashMap<i64, Vec<(PersonFacts, BindingFacts)>> = HashMap::new();
    let in_scope: Vec<&ActiveBinding> = bindings
        .iter()
        .filter(|b| applies(&b.vehicle.city))
        .collect();
    let mut run = Preview::new(draft.clone(), at);
    for b in in_scope {
        let current = &policies.for_city(&b.vehicle.city, at).rules;
        let facts = binding_facts(&b.binding);
        let call = existing_binding_call(
            // Verified when it was made; the precheck does not ask again.
            person_facts(&b.binder, at, true),
            vehicle_facts(&b.vehicle),
            &facts,
            b.binding.method,
            of_binder
                .get(&b.binding.binder_id)
                .map_or(&[], Vec::as_slice),
            of_vehicle.get(&b.vehicle.id).map_or(&[], Vec::as_slice),
            at,
        );
        run.binding(current, &id_string(b.binding.id), &call);
        binders
            .entry(b.vehicle.id)
            .or_default()
            .push((person_facts(&b.binder, at, false), facts));
    }
    drop(of_binder);
    drop(of_vehicle);
    let scope = (code != DEFAULT_CITY).then_some(code.as_str());
    let mut each = |open: OpenViolations| -> StoreResult<()> {
        if !applies(&open.vehicle.city) {
            return Ok(());
        }
        let current = &policies.for_city(&open.vehicle.city, at).rules;
        let vehicle = vehicle_facts(&open.vehicle);
        let mut onlookers: Vec<Onlooker> = Vec::new();
        if let Some(owner) = &open.owner {
            onlookers.push(Onlooker {
                viewer: Viewer::Owner,
                person: person_facts(owner, at, false),
                binding: None,
            });
        }
        for (person, binding) in binders.get(&open.vehicle.id).into_iter().flatten() {
            onlookers.push(Onlooker {
                viewer: Viewer::Binder,
                person: person.clone(),
                binding: Some(binding.clone()),
            });
        }
        onlookers.push(Onlooker::other_driver());
        let violations: Vec<ViolationFacts> = open.violations.iter().map(violation_facts).collect();
        run.vehicle(current, &vehicle, &onlookers, &violations);
        Ok(())
    };
    tx.each_vehicle_with_open_violations(scope, &mut each)?;
    Ok(run.finish())
}

/// A draft that cannot be read, as an API error naming the field inside `field` (`draft.lateFee.dueDays`).
pub fn draft_error(field: &str, e: &PolicyError) -> ServerError {
    let path = if e.path.is_empty() {
        field.to_owned()
    } else {
        format!("{field}.{}", e.path)
    };
    ServerError::invalid(&path, e)
}

/// The summary for a person reading a terminal.
pub fn render(s: &PreviewSummary) -> String {
    let mut out = String::new();
    let from = s.draft_effective_from.map_or_else(
        || "no effectiveFrom".to_owned(),
        |t| format!("effective {t}"),
    );
    let _ = writeln!(
        out,
        "Draft {} for city {} ({from}), against the data at {}",
        s.draft_version, s.draft_city, s.at
    );
    if s.cities.is_empty() {
        let _ = writeln!(out, "  no vehicles of the city: nothing to compare");
    }
    for c in &s.cities {
        let _ = writeln!(
            out,
            "\nCity {}: {} → {}",
            c.city, c.current_version, c.draft_version
        );
        let _ = writeln!(
            out,
            "  bindings: {} active, {} no longer allowed, {} refused by both",
            c.active_bindings, c.bindings_no_longer_allowed, c.bindings_already_refused
        );
        for r in &c.binding_reasons {
            let _ = writeln!(out, "    {:>8}  {}", r.count, r.code);
        }
        for b in &c.binding_samples {
            let _ = writeln!(
                out,
                "    e.g. binding {} (binder {}, vehicle {}): {}",
                b.binding_id,
                b.binder_id,
                b.vehicle_id,
                b.reasons.join(", ")
            );
        }
        let _ = writeln!(
            out,
            "  violations: {} open, {} routes compared (owner, binders and another driver; app and kiosk), {} change",
            c.violations, c.routes_compared, c.routes_changed
        );
        for t in &c.transitions {
            let _ = writeln!(
                out,
                "    {:>8}  {} → {}",
                t.count,
                route(t.from),
                route(t.to)
            );
        }
        for k in &c.route_changes {
            let reason = match (k.reason, k.change) {
                (Some(code), Some(renche::rules::preview::ReasonChange::Removed)) => {
                    format!("without {code}")
                }
                (Some(code), _) => code.to_owned(),
                (None, _) => "(same reasons, other parameters)".to_owned(),
            };
            let _ = writeln!(
                out,
                "    {:>8}  {} → {} because {reason}",
                k.count,
                route(k.from),
                route(k.to)
            );
            for e in &k.samples {
                let who = match (&e.person_id, e.viewer) {
                    (Some(id), Viewer::Owner) => format!("owner {id}"),
                    (Some(id), _) => format!("binder {id}"),
                    (None, _) => "another driver".to_owned(),
                };
                let _ = writeln!(
                    out,
                    "              e.g. violation {} of vehicle {}, {who}, on the {}",
                    e.violation_id,
                    e.vehicle_id,
                    e.channel.code()
                );
            }
        }
    }
    out
}

fn route(r: renche::Route) -> &'static str {
    match r {
        renche::Route::Online => "online",
        renche::Route::Window => "window",
        renche::Route::ViewOnly => "view_only",
        renche::Route::NotTheirs => "not_theirs",
        renche::Route::Settled => "settled",
    }
}

/// An officer's preview, in one read snapshot (a long scan holds no writer).
pub fn for_officer(
    tx: &mut dyn Tx,
    policies: &Policies,
    officer: i64,
    draft: Rules,
    at: Timestamp,
) -> ServerResult<PreviewSummary> {
    crate::flows::officer::require_officer(tx, officer)?;
    preview(tx, policies, draft, at)
}

/// Records that an officer previewed a draft, with what it found (the counts, not the rows).
pub fn audit(
    tx: &mut dyn Tx,
    officer: i64,
    summary: &PreviewSummary,
    now: Timestamp,
) -> ServerResult<()> {
    let cities: Vec<serde_json::Value> = summary
        .cities
        .iter()
        .map(|c| {
            serde_json::json!({
                "city": c.city, "currentVersion": c.current_version,
                "bindingsNoLongerAllowed": c.bindings_no_longer_allowed,
                "routesChanged": c.routes_changed,
            })
        })
        .collect();
    crate::flows::audit::Audit::of(
        "window.policy_previewed",
        format!("policy:{}", summary.draft_version),
    )
    .by(officer)
    .detail(serde_json::json!({ "at": summary.at, "cities": cities }))
    .write(tx, now)
}
