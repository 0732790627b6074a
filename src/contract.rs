//! The call and answer types of every decision. One set serves the WebAssembly boundary and the HTTP
//! bodies, so the contract is written once. Field names are camelCase on the wire.

use crate::domain::{
    ActorRole, BindingMethod, Channel, Document, Fen, LicenceClass, LicenceStatus, OwnerKind,
    PlateNumber, PlateType, Points, UseNature, ViolationSource, ViolationState,
};
use crate::message::Reason;
use crate::time::{CstDate, Timestamp};
use serde::{Deserialize, Deserializer, Serialize};

/// An id read from a call. No record has an empty id, so an empty one is a caller's mistake (a field left
/// blank), refused rather than matched against nothing.
fn id<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let id = String::deserialize(d)?;
    if id.is_empty() {
        return Err(serde::de::Error::custom("an id cannot be empty"));
    }
    Ok(id)
}

fn optional_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    struct Id(#[serde(deserialize_with = "id")] String);
    Ok(Option::<Id>::deserialize(d)?.map(|Id(id)| id))
}

/// A driving licence as far as the rules need it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LicenceFacts {
    pub class: LicenceClass,
    pub status: LicenceStatus,
    /// Points already scored in the current 12-month cycle.
    pub points: u32,
}

/// The person asking.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PersonFacts {
    #[serde(deserialize_with = "id")]
    pub id: String,
    /// Real-person verification (实人认证) passed for this application.
    #[serde(default)]
    pub identity_verified: bool,
    /// `null` for a person without a driving licence: they may bind but handle nothing online.
    #[serde(default)]
    pub licence: Option<LicenceFacts>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct VehicleFactsWire {
    #[serde(deserialize_with = "id")]
    id: String,
    plate_type: PlateType,
    plate_number: String,
    owner_kind: OwnerKind,
    use_nature: UseNature,
    #[serde(default, deserialize_with = "optional_id")]
    owner_id: Option<String>,
    #[serde(default)]
    city: Option<String>,
}

/// A vehicle record. The plate number is checked against the plate type when it is read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", try_from = "VehicleFactsWire")]
pub struct VehicleFacts {
    pub id: String,
    pub plate_type: PlateType,
    pub plate_number: PlateNumber,
    pub owner_kind: OwnerKind,
    pub use_nature: UseNature,
    /// The registered person who owns it; `null` for a unit or an owner who is not a platform user.
    pub owner_id: Option<String>,
    /// Six-digit city code of the registering office.
    pub city: Option<String>,
}

impl TryFrom<VehicleFactsWire> for VehicleFacts {
    type Error = String;
    fn try_from(w: VehicleFactsWire) -> Result<Self, String> {
        let plate_number = PlateNumber::parse(&w.plate_number, w.plate_type)
            .map_err(|e| format!("plateNumber: {e}"))?;
        Ok(VehicleFacts {
            id: w.id,
            plate_type: w.plate_type,
            plate_number,
            owner_kind: w.owner_kind,
            use_nature: w.use_nature,
            owner_id: w.owner_id,
            city: w.city,
        })
    }
}

/// An active binding of a non-owned vehicle.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BindingFacts {
    #[serde(deserialize_with = "id")]
    pub binder_id: String,
    #[serde(deserialize_with = "id")]
    pub vehicle_id: String,
    pub created_at: Timestamp,
    #[serde(default)]
    pub removed_at: Option<Timestamp>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ViolationFactsWire {
    #[serde(deserialize_with = "id")]
    pub(crate) id: String,
    #[serde(deserialize_with = "id")]
    pub(crate) vehicle_id: String,
    pub(crate) occurred_at: Timestamp,
    pub(crate) points: Points,
    pub(crate) fine_fen: Fen,
    pub(crate) source: ViolationSource,
    pub(crate) state: ViolationState,
    #[serde(default)]
    pub(crate) decided_at: Option<Timestamp>,
}

/// A traffic violation record. An `unhandled` one with a `decidedAt` is refused when read: a decision
/// date is what handling gives, so the two contradict each other and no due date or late fee would be
/// right.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", try_from = "ViolationFactsWire")]
pub struct ViolationFacts {
    pub id: String,
    pub vehicle_id: String,
    pub occurred_at: Timestamp,
    pub points: Points,
    pub fine_fen: Fen,
    pub source: ViolationSource,
    pub state: ViolationState,
    /// When the penalty decision was made (handling); the late fee counts from it.
    pub decided_at: Option<Timestamp>,
}

impl TryFrom<ViolationFactsWire> for ViolationFacts {
    type Error = String;
    fn try_from(w: ViolationFactsWire) -> Result<Self, String> {
        if w.state == ViolationState::Unhandled && w.decided_at.is_some() {
            return Err(
                "decidedAt: an unhandled violation has no penalty decision yet; \
                        its state is handled or paid, or decidedAt is left out"
                    .to_owned(),
            );
        }
        Ok(ViolationFacts {
            id: w.id,
            vehicle_id: w.vehicle_id,
            occurred_at: w.occurred_at,
            points: w.points,
            fine_fen: w.fine_fen,
            source: w.source,
            state: w.state,
            decided_at: w.decided_at,
        })
    }
}

/// Whether the answer is an instant check before the flow's steps are done, or the commit itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum Stage {
    #[default]
    Precheck,
    Commit,
}

/// May this person bind this vehicle, by this method, on this channel?
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BindingCall {
    pub binder: PersonFacts,
    pub vehicle: VehicleFacts,
    /// The binder's active bindings of non-owned vehicles.
    #[serde(default)]
    pub binder_bindings: Vec<BindingFacts>,
    /// The vehicle's active bindings by non-owners.
    #[serde(default)]
    pub vehicle_bindings: Vec<BindingFacts>,
    /// When the binder filed earlier binding applications (for the per-day and per-year caps).
    #[serde(default)]
    pub applications: Vec<Timestamp>,
    pub method: BindingMethod,
    pub channel: Channel,
    #[serde(default)]
    pub stage: Stage,
    /// Originals a window officer has checked (window method only).
    #[serde(default)]
    pub documents_checked: Vec<Document>,
    pub now: Timestamp,
}

/// A step the person still has to take before the commit can pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum NextStep {
    RealPersonVerification,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BindingAnswer {
    pub allowed: bool,
    /// Every failing rule, not the first only.
    pub reasons: Vec<Reason>,
    pub next_steps: Vec<NextStep>,
    pub policy_version: String,
}

/// How may this person handle these violations of this vehicle?
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RouteCall {
    pub person: PersonFacts,
    pub vehicle: VehicleFacts,
    /// The person's active binding of this vehicle, if any.
    #[serde(default)]
    pub binding: Option<BindingFacts>,
    pub violations: Vec<ViolationFacts>,
    pub channel: Channel,
    pub now: Timestamp,
}

/// Where a violation can be dealt with by this person.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Route {
    /// Handle it now by self-service (app or kiosk), or at the window on the window channel.
    Online,
    /// Go to a traffic-violation window with the listed originals.
    Window,
    /// May be seen but not handled by this person.
    ViewOnly,
    /// Not this person's to see (on-site tickets of a vehicle they do not own).
    NotTheirs,
    /// Already handled and paid.
    Settled,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ViolationRoute {
    pub violation_id: String,
    pub route: Route,
    pub reasons: Vec<Reason>,
    /// Originals to bring when the route is the window.
    pub documents: Vec<Document>,
    pub points: Points,
    pub fine_fen: Fen,
    pub late_fee_fen: Fen,
    /// Fine plus late fee owed today; 0 when paid.
    pub owed_fen: Fen,
    /// The last day (China Standard Time) to pay without a late fee, once decided.
    pub due_date: Option<CstDate>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteAnswer {
    pub routes: Vec<ViolationRoute>,
    pub policy_version: String,
}

/// May this actor remove this binding?
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UnbindCall {
    #[serde(deserialize_with = "id")]
    pub actor_id: String,
    /// True for a window officer acting on the window channel.
    #[serde(default)]
    pub actor_is_officer: bool,
    pub binding: BindingFacts,
    pub vehicle: VehicleFacts,
    pub channel: Channel,
    pub now: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UnbindAnswer {
    pub allowed: bool,
    /// As whom the actor removes it.
    pub role: ActorRole,
    pub reasons: Vec<Reason>,
    pub policy_version: String,
}
