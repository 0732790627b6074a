//! A preview before a switch: what a draft policy would change against today's facts, compared with the
//! version in force. Active bindings are asked again as if made now (with the other active bindings
//! counted), and each open violation is routed for the people who look at it, on the app and the kiosk,
//! under both policies. The caller streams the facts in, vehicle by vehicle; what is kept is counts and a
//! bounded sample, so that a million violations cost no more memory than ten.

use super::{Decided, Rules};
use crate::contract::{
    BindingCall, BindingFacts, PersonFacts, Route, Stage, VehicleFacts, ViolationFacts,
};
use crate::domain::{BindingMethod, Channel, Document, LicenceClass, LicenceStatus};
use crate::message::Explain;
use crate::time::Timestamp;
use crate::LicenceFacts;
use serde::Serialize;
use std::collections::BTreeMap;

/// Rows kept as examples of each kind of change.
pub const SAMPLE_LIMIT: usize = 10;

/// The channels a preview routes on: where a person handles a violation by self-service. At the window
/// the officer checks the originals instead, which no policy switch changes as much.
pub const CHANNELS: [Channel; 2] = [Channel::App, Channel::Kiosk];

/// The city code of the national default policy, which decides for every city without its own.
pub const DEFAULT_CITY: &str = "000000";

/// How a person stands to the vehicle whose violations are routed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Viewer {
    Owner,
    Binder,
    /// A licensed driver who neither owns nor has bound the vehicle: who `kioskRequiresBinding` is about.
    OtherDriver,
}

/// One person looking at a vehicle's violations.
#[derive(Clone, Debug)]
pub struct Onlooker {
    pub viewer: Viewer,
    pub person: PersonFacts,
    /// The person's active binding of the vehicle (binders).
    pub binding: Option<BindingFacts>,
}

impl Onlooker {
    /// A driver with a valid C1 licence and no points in the cycle, unrelated to the vehicle: the person a
    /// kiosk serves when it does not ask for a binding. Their id matches no record.
    pub fn other_driver() -> Onlooker {
        Onlooker {
            viewer: Viewer::OtherDriver,
            person: PersonFacts {
                id: "other-driver".into(),
                identity_verified: false,
                licence: Some(LicenceFacts {
                    class: LicenceClass::C1,
                    status: LicenceStatus::Normal,
                    points: 0,
                }),
            },
            binding: None,
        }
    }
}

/// The call that asks whether an existing binding could be made now: on its own channel (the window for a
/// window binding, the app otherwise), with the originals a window checked, the binder's and the vehicle's
/// other active bindings counted, and no earlier applications (the caps limit filing, which this binding
/// is past). It is a precheck: real-person verification belongs to the act of binding, passed once.
pub fn existing_binding_call(
    binder: PersonFacts,
    vehicle: VehicleFacts,
    binding: &BindingFacts,
    method: BindingMethod,
    binder_bindings: &[BindingFacts],
    vehicle_bindings: &[BindingFacts],
    now: Timestamp,
) -> BindingCall {
    let others = |list: &[BindingFacts]| -> Vec<BindingFacts> {
        list.iter()
            .filter(|b| !(b.binder_id == binding.binder_id && b.vehicle_id == binding.vehicle_id))
            .cloned()
            .collect()
    };
    let window = method == BindingMethod::Window;
    BindingCall {
        binder,
        vehicle,
        binder_bindings: others(binder_bindings),
        vehicle_bindings: others(vehicle_bindings),
        applications: vec![],
        method,
        channel: if window {
            Channel::Window
        } else {
            Channel::App
        },
        stage: Stage::Precheck,
        documents_checked: if window {
            Document::ALL.to_vec()
        } else {
            vec![]
        },
        now,
    }
}

/// Whether the draft decides for a vehicle registered in `city`: its own city's vehicles, or, for a
/// draft of the default, the vehicles of every city without a policy of its own.
pub fn draft_applies(draft: &Rules, city: &str, city_has_own_policy: bool) -> bool {
    let code = draft.policy().city.code.as_str();
    if code == DEFAULT_CITY {
        !city_has_own_policy
    } else {
        code == city
    }
}

/// A reason the draft brings (`added`) or drops (`removed`) in a changed route.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ReasonChange {
    Added,
    Removed,
}

/// One binding the draft would no longer allow.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BindingSample {
    pub binding_id: String,
    pub binder_id: String,
    pub vehicle_id: String,
    /// The draft's refusal codes.
    pub reasons: Vec<&'static str>,
}

/// One refusal code and how many times it was counted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CodeCount {
    pub code: &'static str,
    pub count: u64,
}

/// One route that changes: which violation, for whom, where.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteSample {
    pub violation_id: String,
    pub vehicle_id: String,
    pub viewer: Viewer,
    /// The owner's or binder's id; none for another driver.
    pub person_id: Option<String>,
    pub channel: Channel,
}

/// Routes that go from one route to another, whatever the reason.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Transition {
    pub from: Route,
    pub to: Route,
    pub count: u64,
}

/// Routes that go from one route to another with one reason brought or dropped by the draft. A change
/// with two new reasons counts under each; one whose reasons differ only in their parameters is counted
/// with no reason.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteChange {
    pub from: Route,
    pub to: Route,
    pub reason: Option<&'static str>,
    pub change: Option<ReasonChange>,
    pub count: u64,
    /// At most `SAMPLE_LIMIT`.
    pub samples: Vec<RouteSample>,
}

/// What the draft changes in one city.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CityPreview {
    pub city: String,
    /// The version in force for the city at the preview's instant.
    pub current_version: String,
    pub draft_version: String,
    /// Active bindings of the city's vehicles, each asked again.
    pub active_bindings: u64,
    /// Allowed by the version in force, refused by the draft.
    pub bindings_no_longer_allowed: u64,
    /// Refused by both (over a limit lowered before, say): not the draft's doing.
    pub bindings_already_refused: u64,
    /// The draft's refusal codes of the bindings no longer allowed, each counted.
    pub binding_reasons: Vec<CodeCount>,
    /// At most `SAMPLE_LIMIT`.
    pub binding_samples: Vec<BindingSample>,
    /// Open violations (unhandled, or handled and unpaid) of the city's vehicles.
    pub violations: u64,
    /// (violation, person, channel) routes compared.
    pub routes_compared: u64,
    pub routes_changed: u64,
    pub transitions: Vec<Transition>,
    pub route_changes: Vec<RouteChange>,
}

/// What the draft would change, city by city.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PreviewSummary {
    pub draft_version: String,
    pub draft_city: String,
    pub draft_effective_from: Option<Timestamp>,
    /// The instant the facts and the version in force are taken at.
    pub at: Timestamp,
    pub sample_limit: usize,
    pub cities: Vec<CityPreview>,
}

type ChangeKey = (Route, Route, Option<&'static str>, Option<ReasonChange>);

#[derive(Default)]
struct CityTally {
    current_version: String,
    active_bindings: u64,
    no_longer_allowed: u64,
    already_refused: u64,
    binding_reasons: BTreeMap<&'static str, u64>,
    binding_samples: Vec<BindingSample>,
    violations: u64,
    compared: u64,
    changed: u64,
    transitions: BTreeMap<(Route, Route), u64>,
    changes: BTreeMap<ChangeKey, (u64, Vec<RouteSample>)>,
}

/// Accumulates the preview of one draft; feed it bindings and vehicles, then `finish`.
pub struct Preview {
    draft: Rules,
    at: Timestamp,
    cities: BTreeMap<String, CityTally>,
}

/// The city's tally, made on first use with the version in force there.
fn city<'a>(
    cities: &'a mut BTreeMap<String, CityTally>,
    city: Option<&str>,
    current: &Rules,
) -> &'a mut CityTally {
    let tally = cities
        .entry(city.unwrap_or(DEFAULT_CITY).to_owned())
        .or_default();
    if tally.current_version.is_empty() {
        tally.current_version.clone_from(&current.policy().version);
    }
    tally
}

fn codes(refusals: &[(Route, crate::rules::Refusal)]) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = refusals.iter().map(|(_, r)| r.code()).collect();
    out.sort_unstable();
    out.dedup();
    out
}

impl Preview {
    pub fn new(draft: Rules, at: Timestamp) -> Preview {
        Preview {
            draft,
            at,
            cities: BTreeMap::new(),
        }
    }

    pub fn draft(&self) -> &Rules {
        &self.draft
    }

    /// Asks an active binding again under both policies (`existing_binding_call` builds the call).
    pub fn binding(&mut self, current: &Rules, binding_id: &str, call: &BindingCall) {
        let now_refused = !current.binding_refusals(call).is_empty();
        let draft_refusals = self.draft.binding_refusals(call);
        let tally = city(&mut self.cities, call.vehicle.city.as_deref(), current);
        tally.active_bindings += 1;
        if draft_refusals.is_empty() {
            return;
        }
        if now_refused {
            tally.already_refused += 1;
            return;
        }
        tally.no_longer_allowed += 1;
        let mut reasons: Vec<&'static str> = draft_refusals.iter().map(|r| r.code()).collect();
        reasons.dedup();
        for code in &reasons {
            *tally.binding_reasons.entry(code).or_default() += 1;
        }
        if tally.binding_samples.len() < SAMPLE_LIMIT {
            tally.binding_samples.push(BindingSample {
                binding_id: binding_id.to_owned(),
                binder_id: call.binder.id.clone(),
                vehicle_id: call.vehicle.id.clone(),
                reasons,
            });
        }
    }

    /// Routes one vehicle's open violations for each onlooker on each channel under both policies. The
    /// vehicle's facts and its onlookers are worked out once by the caller, not per violation.
    pub fn vehicle(
        &mut self,
        current: &Rules,
        vehicle: &VehicleFacts,
        onlookers: &[Onlooker],
        violations: &[ViolationFacts],
    ) {
        let Preview { draft, at, cities } = self;
        let at = *at;
        let tally = city(cities, vehicle.city.as_deref(), current);
        tally.violations += violations.len() as u64;
        for o in onlookers {
            for channel in CHANNELS {
                for v in violations {
                    let before =
                        current.decide(&o.person, vehicle, o.binding.as_ref(), v, channel, at);
                    let after =
                        draft.decide(&o.person, vehicle, o.binding.as_ref(), v, channel, at);
                    tally.compared += 1;
                    if before.route != after.route {
                        tally.record(o, vehicle, v, channel, &before, &after);
                    }
                }
            }
        }
    }

    pub fn finish(self) -> PreviewSummary {
        let policy = self.draft.policy();
        let cities = self
            .cities
            .into_iter()
            .map(|(city, t)| CityPreview {
                city,
                current_version: t.current_version,
                draft_version: policy.version.clone(),
                active_bindings: t.active_bindings,
                bindings_no_longer_allowed: t.no_longer_allowed,
                bindings_already_refused: t.already_refused,
                binding_reasons: t
                    .binding_reasons
                    .into_iter()
                    .map(|(code, count)| CodeCount { code, count })
                    .collect(),
                binding_samples: t.binding_samples,
                violations: t.violations,
                routes_compared: t.compared,
                routes_changed: t.changed,
                transitions: t
                    .transitions
                    .into_iter()
                    .map(|((from, to), count)| Transition { from, to, count })
                    .collect(),
                route_changes: t
                    .changes
                    .into_iter()
                    .map(
                        |((from, to, reason, change), (count, samples))| RouteChange {
                            from,
                            to,
                            reason,
                            change,
                            count,
                            samples,
                        },
                    )
                    .collect(),
            })
            .collect();
        PreviewSummary {
            draft_version: policy.version.clone(),
            draft_city: policy.city.code.clone(),
            draft_effective_from: policy.effective_from,
            at: self.at,
            sample_limit: SAMPLE_LIMIT,
            cities,
        }
    }
}

impl CityTally {
    fn record(
        &mut self,
        o: &Onlooker,
        vehicle: &VehicleFacts,
        v: &ViolationFacts,
        channel: Channel,
        before: &Decided,
        after: &Decided,
    ) {
        self.changed += 1;
        let (from, to) = (before.route, after.route);
        *self.transitions.entry((from, to)).or_default() += 1;
        let (was, now) = (codes(&before.refusals), codes(&after.refusals));
        let mut keys: Vec<ChangeKey> = Vec::new();
        keys.extend(
            now.iter()
                .filter(|c| !was.contains(c))
                .map(|c| (from, to, Some(*c), Some(ReasonChange::Added))),
        );
        keys.extend(
            was.iter()
                .filter(|c| !now.contains(c))
                .map(|c| (from, to, Some(*c), Some(ReasonChange::Removed))),
        );
        if keys.is_empty() {
            keys.push((from, to, None, None));
        }
        for key in keys {
            let (count, samples) = self.changes.entry(key).or_default();
            *count += 1;
            if samples.len() < SAMPLE_LIMIT {
                samples.push(RouteSample {
                    violation_id: v.id.clone(),
                    vehicle_id: vehicle.id.clone(),
                    viewer: o.viewer,
                    person_id: (o.viewer != Viewer::OtherDriver).then(|| o.person.id.clone()),
                    channel,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{
        Fen, OwnerKind, PlateNumber, PlateType, Points, UseNature, ViolationSource, ViolationState,
    };
    use crate::Policy;

    const DONGGUAN: &str = include_str!("../../policies/cities/441900.json");
    const DONGGUAN_SEPTEMBER: &str = include_str!("../../policies/cities/441900-2026-09-01.json");

    fn at(s: &str) -> Timestamp {
        Timestamp::parse_rfc3339(s).unwrap()
    }

    fn city(json: &str) -> Rules {
        Rules::new(Policy::parse_with_base(json, &Policy::default_policy()).unwrap())
    }

    /// The Dongguan version in force with some fields changed, as a draft.
    fn dongguan_with(fields: &str) -> Rules {
        let json = format!(
            r#"{{"extends":"default","version":"441900-draft","city":{{"code":"441900","nameZh":"东莞","nameEn":"Dongguan"}},"platePrefixes":["粤S"],{fields}}}"#
        );
        city(&json)
    }

    fn now() -> Timestamp {
        at("2026-08-31T12:00:00+08:00")
    }

    fn person(id: &str) -> PersonFacts {
        PersonFacts {
            id: id.into(),
            identity_verified: true,
            licence: Some(LicenceFacts {
                class: LicenceClass::C1,
                status: LicenceStatus::Normal,
                points: 0,
            }),
        }
    }

    fn car(id: &str, owner: Option<&str>) -> VehicleFacts {
        VehicleFacts {
            id: id.into(),
            plate_type: PlateType::SmallCar,
            plate_number: PlateNumber::parse("粤S12345", PlateType::SmallCar).unwrap(),
            owner_kind: OwnerKind::Individual,
            use_nature: UseNature::NonCommercial,
            owner_id: owner.map(str::to_owned),
            city: Some("441900".into()),
        }
    }

    fn binding(binder: &str, vehicle: &str) -> BindingFacts {
        BindingFacts {
            binder_id: binder.into(),
            vehicle_id: vehicle.into(),
            created_at: at("2026-07-01T10:00:00+08:00"),
            removed_at: None,
        }
    }

    fn red_light(id: &str, vehicle: &str) -> ViolationFacts {
        ViolationFacts {
            id: id.into(),
            vehicle_id: vehicle.into(),
            occurred_at: at("2026-08-20T09:00:00+08:00"),
            points: Points::new(6).unwrap(),
            fine_fen: Fen::from_yuan(200),
            source: ViolationSource::Device,
            state: ViolationState::Unhandled,
            decided_at: None,
        }
    }

    fn onlookers(vehicle: &VehicleFacts, binder: &str) -> Vec<Onlooker> {
        vec![
            Onlooker {
                viewer: Viewer::Owner,
                person: person(vehicle.owner_id.as_deref().unwrap()),
                binding: None,
            },
            Onlooker {
                viewer: Viewer::Binder,
                person: person(binder),
                binding: Some(binding(binder, &vehicle.id)),
            },
            Onlooker::other_driver(),
        ]
    }

    #[test]
    fn the_dongguan_kiosk_draft_sends_an_unbound_driver_at_the_kiosk_to_the_window() {
        let current = city(DONGGUAN);
        let mut preview = Preview::new(city(DONGGUAN_SEPTEMBER), now());
        let v = car("7", Some("1"));
        preview.vehicle(&current, &v, &onlookers(&v, "2"), &[red_light("70", "7")]);
        let summary = preview.finish();
        assert_eq!(summary.draft_version, "441900-2026-09-01.1");
        let [c] = summary.cities.as_slice() else {
            panic!("one city: {:?}", summary.cities)
        };
        assert_eq!(c.city, "441900");
        assert_eq!(c.current_version, "441900-2025-01-01.1");
        assert_eq!(c.violations, 1);
        // Three people on two channels.
        assert_eq!(c.routes_compared, 6);
        // Only the other driver at the kiosk: the owner and the binder keep their routes, and on the app
        // an unbound driver went to the window already.
        assert_eq!(c.routes_changed, 1);
        assert_eq!(
            c.transitions,
            vec![Transition {
                from: Route::Online,
                to: Route::Window,
                count: 1
            }]
        );
        assert_eq!(
            c.route_changes,
            vec![RouteChange {
                from: Route::Online,
                to: Route::Window,
                reason: Some("KIOSK_NEEDS_BINDING"),
                change: Some(ReasonChange::Added),
                count: 1,
                samples: vec![RouteSample {
                    violation_id: "70".into(),
                    vehicle_id: "7".into(),
                    viewer: Viewer::OtherDriver,
                    person_id: None,
                    channel: Channel::Kiosk,
                }],
            }]
        );
    }

    #[test]
    fn the_same_policy_changes_nothing() {
        let current = city(DONGGUAN);
        let mut preview = Preview::new(city(DONGGUAN), now());
        let v = car("7", Some("1"));
        preview.vehicle(&current, &v, &onlookers(&v, "2"), &[red_light("70", "7")]);
        let b = binding("2", "7");
        let call = existing_binding_call(
            person("2"),
            v.clone(),
            &b,
            BindingMethod::Qr,
            std::slice::from_ref(&b),
            std::slice::from_ref(&b),
            now(),
        );
        preview.binding(&current, "9", &call);
        let c = &preview.finish().cities[0];
        assert_eq!((c.routes_compared, c.routes_changed), (6, 0));
        assert_eq!((c.active_bindings, c.bindings_no_longer_allowed), (1, 0));
        assert_eq!(c.bindings_already_refused, 0);
    }

    #[test]
    fn switching_the_feature_off_disallows_active_bindings_and_sends_binders_to_the_window() {
        let current = city(DONGGUAN);
        let mut preview = Preview::new(dongguan_with(r#""featureEnabled":false"#), now());
        let v = car("7", Some("1"));
        let b = binding("2", "7");
        let call = existing_binding_call(
            person("2"),
            v.clone(),
            &b,
            BindingMethod::Qr,
            std::slice::from_ref(&b),
            std::slice::from_ref(&b),
            now(),
        );
        preview.binding(&current, "9", &call);
        // A window binding is made at the counter, where the switch does not reach.
        let w = binding("3", "7");
        let window_call = existing_binding_call(
            person("3"),
            v.clone(),
            &w,
            BindingMethod::Window,
            std::slice::from_ref(&w),
            &[b.clone(), w.clone()],
            now(),
        );
        preview.binding(&current, "10", &window_call);
        preview.vehicle(&current, &v, &onlookers(&v, "2"), &[red_light("70", "7")]);
        let c = &preview.finish().cities[0];
        assert_eq!(c.active_bindings, 2);
        assert_eq!(c.bindings_no_longer_allowed, 1);
        assert_eq!(
            c.binding_samples,
            vec![BindingSample {
                binding_id: "9".into(),
                binder_id: "2".into(),
                vehicle_id: "7".into(),
                reasons: vec!["FEATURE_NOT_AVAILABLE_IN_CITY"],
            }]
        );
        // The binder loses self-service on both channels; the owner keeps it.
        assert_eq!(c.routes_changed, 2);
        let change = &c.route_changes[0];
        assert_eq!(
            (change.from, change.to, change.reason, change.count),
            (
                Route::Online,
                Route::Window,
                Some("FEATURE_NOT_AVAILABLE_IN_CITY"),
                2
            )
        );
        assert!(change
            .samples
            .iter()
            .all(|s| s.viewer == Viewer::Binder && s.person_id.as_deref() == Some("2")));
    }

    #[test]
    fn a_lowered_per_person_limit_counts_the_other_bindings_not_the_binding_itself() {
        let current = city(DONGGUAN);
        let vehicles = [
            car("7", Some("1")),
            car("8", Some("1")),
            car("9", Some("1")),
        ];
        let mine: Vec<BindingFacts> = vehicles.iter().map(|v| binding("2", &v.id)).collect();
        let run = |draft: Rules| {
            let mut preview = Preview::new(draft, now());
            for (v, b) in vehicles.iter().zip(&mine) {
                let call = existing_binding_call(
                    person("2"),
                    v.clone(),
                    b,
                    BindingMethod::Qr,
                    &mine,
                    std::slice::from_ref(b),
                    now(),
                );
                preview.binding(&current, &format!("b{}", v.id), &call);
            }
            preview.finish().cities.remove(0)
        };
        // Three bindings under a limit of three: each is allowed with the two others counted.
        let same = run(dongguan_with(r#""maxBindingsPerUser":3"#));
        assert_eq!(
            (same.active_bindings, same.bindings_no_longer_allowed),
            (3, 0)
        );
        let lowered = run(dongguan_with(r#""maxBindingsPerUser":2"#));
        assert_eq!(lowered.bindings_no_longer_allowed, 3);
        assert_eq!(
            lowered.binding_reasons,
            vec![CodeCount {
                code: "USER_BINDING_LIMIT_REACHED",
                count: 3
            }]
        );
    }

    #[test]
    fn a_vehicle_kind_no_longer_allowed_is_reported_with_its_reason() {
        let current = city(DONGGUAN);
        let mut preview = Preview::new(dongguan_with(r#""bindablePlateTypes":["52"]"#), now());
        let v = car("7", Some("1"));
        let b = binding("2", "7");
        let call = existing_binding_call(
            person("2"),
            v.clone(),
            &b,
            BindingMethod::Sms,
            std::slice::from_ref(&b),
            std::slice::from_ref(&b),
            now(),
        );
        preview.binding(&current, "9", &call);
        let c = &preview.finish().cities[0];
        assert_eq!(
            c.binding_samples[0].reasons,
            vec!["PLATE_TYPE_NOT_BINDABLE"]
        );
    }

    #[test]
    fn samples_are_bounded_and_counts_are_not() {
        let current = city(DONGGUAN);
        let mut preview = Preview::new(city(DONGGUAN_SEPTEMBER), now());
        let v = car("7", None);
        let violations: Vec<ViolationFacts> =
            (0..25).map(|i| red_light(&format!("v{i}"), "7")).collect();
        preview.vehicle(&current, &v, &[Onlooker::other_driver()], &violations);
        let c = &preview.finish().cities[0];
        assert_eq!(c.routes_changed, 25);
        assert_eq!(c.route_changes[0].count, 25);
        assert_eq!(c.route_changes[0].samples.len(), SAMPLE_LIMIT);
    }

    #[test]
    fn a_default_draft_decides_only_for_cities_without_their_own_policy() {
        let default = Rules::new(Policy::default_policy());
        assert!(draft_applies(&default, "110000", false));
        assert!(!draft_applies(&default, "441900", true));
        let dongguan = city(DONGGUAN_SEPTEMBER);
        assert!(draft_applies(&dongguan, "441900", true));
        assert!(!draft_applies(&dongguan, "533300", true));
    }
}
