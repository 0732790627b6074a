//! The decisions: pure functions of (policy, facts, now).

pub mod preview;
mod refusal;

pub use refusal::Refusal;

use crate::contract::{
    BindingAnswer, BindingCall, BindingFacts, NextStep, PersonFacts, Route, RouteAnswer, RouteCall,
    Stage, UnbindAnswer, UnbindCall, VehicleFacts, ViolationFacts, ViolationRoute,
};
use crate::domain::{
    ActorRole, BindingMethod, Channel, Document, Fen, OwnerKind, ViolationSource, ViolationState,
};
use crate::message::Reason;
use crate::policy::{BindingEffectiveFrom, Policy};
use crate::time::{CstDate, Timestamp};

/// One violation's route for one person, with the rules behind it, not yet formatted.
struct Decided {
    route: Route,
    refusals: Vec<(Route, Refusal)>,
    late_fee: Fen,
    owed: Fen,
    due_date: Option<CstDate>,
    own: bool,
    bound: bool,
}

/// A parsed policy, ready to answer many calls.
#[derive(Clone, Debug)]
pub struct Rules {
    policy: Policy,
}

fn reasons(refusals: &[Refusal]) -> Vec<Reason> {
    refusals.iter().map(Reason::of).collect()
}

impl Rules {
    pub fn new(policy: Policy) -> Self {
        Self { policy }
    }
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Every rule that stops this binding (empty when it may go ahead).
    pub fn binding_refusals(&self, call: &BindingCall) -> Vec<Refusal> {
        let p = &self.policy;
        let v = &call.vehicle;
        let mut out = Vec::new();
        if !p.feature_enabled && call.channel != Channel::Window {
            out.push(Refusal::FeatureNotAvailableInCity {
                city_zh: p.city.name_zh.clone(),
                city_en: p.city.name_en.clone(),
            });
        }
        if !p.binding_channels.contains(&call.channel) {
            out.push(Refusal::BindingChannelNotSupported {
                channel: call.channel,
            });
        }
        let on_window = call.channel == Channel::Window;
        if (call.method == BindingMethod::Window) != on_window {
            out.push(Refusal::MethodNotOnChannel {
                method: call.method,
                channel: call.channel,
            });
        }
        if v.owner_id.as_deref() == Some(call.binder.id.as_str()) {
            out.push(Refusal::VehicleIsYourOwn);
        }
        if !p.bindable_owner_kinds.contains(&v.owner_kind) {
            out.push(Refusal::VehicleNotIndividual {
                owner_kind: v.owner_kind,
            });
        }
        if !p.bindable_plate_types.contains(&v.plate_type) {
            out.push(Refusal::PlateTypeNotBindable {
                plate_type: v.plate_type,
            });
        }
        if !p.bindable_use_natures.contains(&v.use_nature) {
            out.push(Refusal::UseNatureNotBindable {
                use_nature: v.use_nature,
            });
        }
        let binder_active = active_ids(
            &call.binder_bindings,
            |b| b.binder_id == call.binder.id,
            |b| &b.vehicle_id,
        );
        let vehicle_active = active_ids(
            &call.vehicle_bindings,
            |b| b.vehicle_id == v.id && v.owner_id.as_deref() != Some(b.binder_id.as_str()),
            |b| &b.binder_id,
        );
        let already = binder_active.iter().any(|id| **id == v.id)
            || vehicle_active.iter().any(|id| **id == call.binder.id);
        if already {
            out.push(Refusal::AlreadyBound);
        } else {
            let current = count(binder_active.len());
            if current >= p.max_bindings_per_user {
                out.push(Refusal::UserBindingLimitReached {
                    limit: p.max_bindings_per_user,
                    current,
                });
            }
            let current = count(vehicle_active.len());
            if current >= p.max_binders_per_vehicle {
                out.push(Refusal::VehicleBinderLimitReached {
                    limit: p.max_binders_per_vehicle,
                    current,
                });
            }
        }
        let today = call.now.cst_date();
        if let Some(limit) = p.application_caps.per_day {
            let current = count(
                call.applications
                    .iter()
                    .filter(|t| t.cst_date() == today)
                    .count(),
            );
            if current >= limit {
                out.push(Refusal::DailyApplicationCapReached { limit, current });
            }
        }
        if let Some(limit) = p.application_caps.per_year {
            let current = count(
                call.applications
                    .iter()
                    .filter(|t| t.cst_date().year() == today.year())
                    .count(),
            );
            if current >= limit {
                out.push(Refusal::YearlyApplicationCapReached { limit, current });
            }
        }
        if call.method == BindingMethod::Window {
            let missing: Vec<Document> = Document::ALL
                .iter()
                .copied()
                .filter(|d| !call.documents_checked.contains(d))
                .collect();
            if !missing.is_empty() {
                out.push(Refusal::WindowDocumentsNotChecked { missing });
            }
        }
        if call.stage == Stage::Commit && self.needs_verification(call) {
            out.push(Refusal::RealPersonVerificationRequired);
        }
        out
    }

    fn needs_verification(&self, call: &BindingCall) -> bool {
        self.policy.require_real_person_verification
            && call.method != BindingMethod::Window
            && !call.binder.identity_verified
    }

    /// The steps the person still has to take before the commit can pass.
    pub fn binding_next_steps(&self, call: &BindingCall) -> Vec<NextStep> {
        if call.stage == Stage::Precheck && self.needs_verification(call) {
            vec![NextStep::RealPersonVerification]
        } else {
            vec![]
        }
    }

    /// May this user bind this vehicle, by this method, on this channel? Lists every failing rule.
    pub fn check_binding(&self, call: &BindingCall) -> BindingAnswer {
        let refusals = self.binding_refusals(call);
        let next_steps = self.binding_next_steps(call);
        BindingAnswer {
            allowed: refusals.is_empty(),
            reasons: reasons(&refusals),
            next_steps,
            policy_version: self.policy.version.clone(),
        }
    }

    /// The first day (or instant) from which a binding's violations may be handled.
    pub fn binding_effective_from(&self, created_at: Timestamp) -> Timestamp {
        match self.policy.binding_effective_from {
            BindingEffectiveFrom::Day => created_at.cst_date().start(),
            BindingEffectiveFrom::Instant => created_at,
        }
    }

    /// Late fee owed on `now` for a fine decided at `decided_at`: 3% a day after the due days, at most the fine.
    pub fn late_fee(&self, fine: Fen, decided_at: Timestamp, now: Timestamp) -> Fen {
        let lf = &self.policy.late_fee;
        let late_days = decided_at.cst_date().days_until(now.cst_date()) - i64::from(lf.due_days);
        if late_days <= 0 {
            return Fen::default();
        }
        let raw =
            u128::from(fine.value()) * u128::from(lf.daily_rate_basis_points) * late_days as u128
                / 10_000;
        let capped = if lf.cap_at_fine {
            raw.min(u128::from(fine.value()))
        } else {
            raw
        };
        Fen::new(u64::try_from(capped).unwrap_or(Fen::MAX).min(Fen::MAX)).unwrap_or_default()
    }

    /// The last day to pay without a late fee.
    pub fn due_date(&self, decided_at: Timestamp) -> CstDate {
        let d = decided_at.cst_date();
        CstDate::from_days(d.days_since_epoch() + i64::from(self.policy.late_fee.due_days))
    }

    fn is_self_service_vehicle(&self, v: &VehicleFacts) -> bool {
        let p = &self.policy;
        v.owner_kind == OwnerKind::Individual
            && p.bindable_plate_types.contains(&v.plate_type)
            && p.bindable_use_natures.contains(&v.use_nature)
    }

    /// How may this person deal with one violation of this vehicle?
    pub fn route_violation(
        &self,
        person: &PersonFacts,
        vehicle: &VehicleFacts,
        binding: Option<&BindingFacts>,
        v: &ViolationFacts,
        channel: Channel,
        now: Timestamp,
    ) -> ViolationRoute {
        self.route_with(person, vehicle, binding, v, channel, now, &mut |r| {
            Reason::of(r)
        })
    }

    /// The route of one violation and every rule behind it, before anything is formatted: what both the
    /// answers and the preview of a draft (`preview`) compare.
    fn decide(
        &self,
        person: &PersonFacts,
        vehicle: &VehicleFacts,
        binding: Option<&BindingFacts>,
        v: &ViolationFacts,
        channel: Channel,
        now: Timestamp,
    ) -> Decided {
        let p = &self.policy;
        let own = vehicle.owner_id.as_deref() == Some(person.id.as_str());
        let binding = binding.filter(|b| {
            b.removed_at.is_none() && b.binder_id == person.id && b.vehicle_id == vehicle.id
        });
        let late_fee = match (v.state, v.decided_at) {
            (ViolationState::Handled, Some(at)) => self.late_fee(v.fine_fen, at, now),
            _ => Fen::default(),
        };
        let owed = match v.state {
            ViolationState::Paid => Fen::default(),
            _ => v.fine_fen.saturating_add(late_fee),
        };
        let due_date = v.decided_at.map(|at| self.due_date(at));
        let mut refusals: Vec<(Route, Refusal)> = Vec::new();
        let mut settled = false;
        match v.state {
            ViolationState::Paid => settled = true,
            ViolationState::Handled => refusals.push((
                Route::Online,
                Refusal::AwaitingPayment {
                    due_date,
                    late_fee_fen: late_fee.value(),
                },
            )),
            ViolationState::Unhandled => {}
        }
        if !own {
            if v.source != ViolationSource::Device {
                refusals.push((Route::NotTheirs, Refusal::NotDeviceRecorded));
            }
            match binding {
                // At the window the officer checks the originals instead: no binding rule applies.
                _ if channel == Channel::Window => {}
                None if channel == Channel::Kiosk && !p.kiosk_requires_binding => {}
                None if channel == Channel::Kiosk => {
                    refusals.push((Route::Window, Refusal::KioskNeedsBinding))
                }
                None => refusals.push((Route::Window, Refusal::VehicleNotBound)),
                Some(b) => {
                    if !p.feature_enabled {
                        refusals.push((
                            Route::Window,
                            Refusal::FeatureNotAvailableInCity {
                                city_zh: p.city.name_zh.clone(),
                                city_en: p.city.name_en.clone(),
                            },
                        ));
                    }
                    let from = self.binding_effective_from(b.created_at);
                    if v.occurred_at < from {
                        refusals.push((
                            Route::Window,
                            Refusal::OccurredBeforeBinding {
                                effective: from.cst_date(),
                            },
                        ));
                    }
                    if v.points.value() == 0 && !p.binder_handles_unscored {
                        refusals.push((Route::Window, Refusal::UnscoredNotForBinder));
                    }
                }
            }
        }
        if channel != Channel::Window && v.state == ViolationState::Unhandled {
            if !self.is_self_service_vehicle(vehicle) {
                refusals.push((
                    Route::Window,
                    Refusal::VehicleNotSelfService {
                        plate_type: vehicle.plate_type,
                        owner_kind: vehicle.owner_kind,
                        use_nature: vehicle.use_nature,
                    },
                ));
            }
            if own && v.source == ViolationSource::OnSite {
                refusals.push((Route::Window, Refusal::OnSiteTicket));
            }
            if v.fine_fen.value() > p.max_online_fine_fen {
                refusals.push((
                    Route::Window,
                    Refusal::FineAboveOnlineLimit {
                        limit_fen: p.max_online_fine_fen,
                        fine_fen: v.fine_fen.value(),
                    },
                ));
            }
        }
        if v.state == ViolationState::Unhandled {
            match &person.licence {
                None => refusals.push((Route::ViewOnly, Refusal::NoDrivingLicence)),
                Some(l) => {
                    // Self-service stops at 12 points in the cycle (the licence is suspended from
                    // then); at the window the officer handles what remains with the driver present.
                    let status = if channel == Channel::Window {
                        l.status
                    } else {
                        l.status.with_points(l.points)
                    };
                    if status != crate::domain::LicenceStatus::Normal {
                        refusals.push((Route::Window, Refusal::LicenceNotValid { status }));
                    }
                    if channel != Channel::Window
                        && l.points + u32::from(v.points.value()) >= p.points_ceiling
                    {
                        refusals.push((
                            Route::Window,
                            Refusal::PointsCeilingReached {
                                current: l.points,
                                points: v.points.value(),
                                ceiling: p.points_ceiling,
                            },
                        ));
                    }
                    if !l.class.covers_small_car()
                        && matches!(
                            vehicle.plate_type,
                            crate::domain::PlateType::SmallCar
                                | crate::domain::PlateType::SmallNewEnergy
                        )
                    {
                        refusals.push((
                            Route::ViewOnly,
                            Refusal::LicenceClassNotCovering { class: l.class },
                        ));
                    }
                }
            }
        }
        let route = if settled {
            if refusals.iter().any(|(r, _)| *r == Route::NotTheirs) {
                Route::NotTheirs
            } else {
                Route::Settled
            }
        } else {
            let strongest = refusals
                .iter()
                .map(|(r, _)| *r)
                .max()
                .unwrap_or(Route::Online);
            // On the window channel what could be handled is handled there, at the counter.
            if channel == Channel::Window && strongest == Route::Online {
                Route::Window
            } else {
                strongest
            }
        };
        Decided {
            route,
            refusals,
            late_fee,
            owed,
            due_date,
            own,
            bound: binding.is_some(),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn route_with(
        &self,
        person: &PersonFacts,
        vehicle: &VehicleFacts,
        binding: Option<&BindingFacts>,
        v: &ViolationFacts,
        channel: Channel,
        now: Timestamp,
        explain: &mut dyn FnMut(&Refusal) -> Reason,
    ) -> ViolationRoute {
        let Decided {
            route,
            refusals,
            late_fee,
            owed,
            due_date,
            own,
            bound,
        } = self.decide(person, vehicle, binding, v, channel, now);
        let documents = if route == Route::Window {
            let mut d = vec![Document::DrivingLicence, Document::IdCard];
            // The vehicle licence shows the tie to a vehicle the person neither owns nor, at the window,
            // has bound (FAQ 7); a binder elsewhere is sent with it too, since the window does not rely
            // on the binding.
            if !own && (channel != Channel::Window || !bound) {
                d.push(Document::VehicleLicence);
            }
            d
        } else {
            vec![]
        };
        ViolationRoute {
            violation_id: v.id.clone(),
            route,
            reasons: refusals.iter().map(|(_, r)| explain(r)).collect(),
            documents,
            points: v.points,
            fine_fen: v.fine_fen,
            late_fee_fen: late_fee,
            owed_fen: owed,
            due_date,
        }
    }

    /// Labels a whole list of violations of one vehicle at once.
    pub fn route_violations(&self, call: &RouteCall) -> RouteAnswer {
        // A list repeats the same few reasons; their messages are formatted once per call.
        let mut seen: Vec<(Refusal, Reason)> = Vec::new();
        let mut explain = |r: &Refusal| -> Reason {
            if let Some((_, reason)) = seen.iter().find(|(k, _)| k == r) {
                return reason.clone();
            }
            let reason = Reason::of(r);
            if seen.len() < 64 {
                seen.push((r.clone(), reason.clone()));
            }
            reason
        };
        RouteAnswer {
            routes: call
                .violations
                .iter()
                .map(|v| {
                    self.route_with(
                        &call.person,
                        &call.vehicle,
                        call.binding.as_ref(),
                        v,
                        call.channel,
                        call.now,
                        &mut explain,
                    )
                })
                .collect(),
            policy_version: self.policy.version.clone(),
        }
    }

    /// May this actor remove this binding?
    pub fn check_unbind(&self, call: &UnbindCall) -> UnbindAnswer {
        let mut refusals = Vec::new();
        let role = if call.actor_id == call.binding.binder_id {
            ActorRole::Binder
        } else if call.vehicle.owner_id.as_deref() == Some(call.actor_id.as_str())
            && call.vehicle.id == call.binding.vehicle_id
        {
            ActorRole::Owner
        } else if call.actor_is_officer && call.channel == Channel::Window {
            ActorRole::Officer
        } else {
            refusals.push(Refusal::NotAllowedToRemoveBinding);
            ActorRole::Other
        };
        if call.binding.removed_at.is_some() {
            refusals.push(Refusal::BindingAlreadyRemoved);
        }
        UnbindAnswer {
            allowed: refusals.is_empty(),
            role,
            reasons: reasons(&refusals),
            policy_version: self.policy.version.clone(),
        }
    }
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The distinct ids (by `key`) of the active bindings that pass `keep`.
fn active_ids<'a>(
    list: &'a [BindingFacts],
    keep: impl Fn(&BindingFacts) -> bool,
    key: impl Fn(&'a BindingFacts) -> &'a String,
) -> Vec<&'a String> {
    // Kept sorted by inserting each id in its place: the lists are a few bindings long, and this is far
    // less code in the WebAssembly module than a sort (4.6 KB) for the same answer.
    let mut ids: Vec<&String> = Vec::new();
    for id in list
        .iter()
        .filter(|b| b.removed_at.is_none() && keep(b))
        .map(key)
    {
        if let Err(at) = ids.binary_search(&id) {
            ids.insert(at, id);
        }
    }
    ids
}
