//! The policy: a versioned JSON document per city with every knob the rules read.
//!
//! The defaults are the article's rules. A city file may `"extends": "default"` and give only what differs.

use crate::domain::{Channel, OwnerKind, PlateType, UseNature};
use crate::message::{Explain, Message};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The default (national) policy document, as shipped.
pub const DEFAULT_POLICY_JSON: &str = include_str!("../policies/default.json");

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct City {
    /// Six-digit administrative division code (e.g. `441900`); `000000` for the national default.
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
}

/// "From the binding date": the calendar day in China Standard Time, or the exact instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum BindingEffectiveFrom {
    Day,
    Instant,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApplicationCaps {
    /// Binding applications a person may file per China-Standard-Time day; `null` for no cap.
    pub per_day: Option<u32>,
    /// Binding applications per calendar year; `null` for no cap.
    pub per_year: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LateFee {
    /// Days after the decision within which the fine is due (行政处罚法 art. 72: 15).
    pub due_days: u32,
    /// Extra per day late, in basis points of the fine (3% = 300).
    pub daily_rate_basis_points: u32,
    /// The extra never exceeds the fine itself.
    pub cap_at_fine: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SmsPolicy {
    pub code_lifetime_seconds: u32,
    pub max_wrong_tries: u32,
    pub resend_cooldown_seconds: u32,
    pub daily_cap_per_phone: u32,
    pub daily_cap_per_plate: u32,
    /// Codes one browser session may ask for (anti-automation: a script that keeps its cookie).
    pub per_session: WindowCaps,
    /// Codes one signed-in person may ask for, from any number of sessions and addresses.
    pub per_account: WindowCaps,
    /// Codes asked for from one client address, over all its sessions and accounts.
    pub per_address: WindowCaps,
    /// Codes the whole service sends per purpose and China-Standard-Time day (the SMS bill's ceiling).
    pub daily_budget: SmsBudget,
}

/// How many codes may be asked for in a clock hour and in a China-Standard-Time day.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WindowCaps {
    pub per_hour: u32,
    pub per_day: u32,
}

/// The service's daily SMS budget, per purpose.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SmsBudget {
    pub register: u32,
    pub sign_in: u32,
    pub binding: u32,
}

/// Every knob the rules read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Policy {
    pub version: String,
    /// The instant this version takes over from the city's previous one (written with its offset,
    /// China Standard Time in the documents); none for a city's first version, in force from the start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_from: Option<Timestamp>,
    pub city: City,
    /// Whether binding non-owned vehicles is switched on in this city (FAQ 8).
    pub feature_enabled: bool,
    pub max_bindings_per_user: u32,
    pub max_binders_per_vehicle: u32,
    pub bindable_plate_types: Vec<PlateType>,
    pub bindable_owner_kinds: Vec<OwnerKind>,
    pub bindable_use_natures: Vec<UseNature>,
    /// Channels on which a binding may be made (the article: the app and the window).
    pub binding_channels: Vec<Channel>,
    /// Highest single fine a person may handle by self-service, in fen (200 yuan).
    pub max_online_fine_fen: u64,
    /// Whether a binder may handle unscored (0-point) violations of a bound vehicle.
    pub binder_handles_unscored: bool,
    pub binding_effective_from: BindingEffectiveFrom,
    /// Current points plus this violation's must stay below this for self-service handling.
    pub points_ceiling: u32,
    /// Whether real-person verification (实人认证) is required to commit a binding.
    pub require_real_person_verification: bool,
    pub application_caps: ApplicationCaps,
    pub qr_code_lifetime_seconds: u32,
    /// How long a binding application opened by the owner's QR code or SMS code may wait for its commit:
    /// the owner's consent is for that moment, not for days later.
    pub application_lifetime_seconds: u32,
    /// Plate prefixes (province character and authority letter, e.g. `粤S`) registered in this city: the
    /// city whose rules apply to a plate before its record is looked up.
    pub plate_prefixes: Vec<String>,
    /// Whether a kiosk handles only own and bound vehicles (Dongguan, from 1 September).
    pub kiosk_requires_binding: bool,
    pub late_fee: LateFee,
    pub sms: SmsPolicy,
}

/// A policy document that cannot be used, naming the field at fault.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyError {
    /// JSON path of the bad field, e.g. `lateFee.dueDays`; empty for the whole document.
    pub path: String,
    pub problem: String,
    /// Line and column (from 1) when the text is not JSON at all.
    pub position: Option<(usize, usize)>,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "policy: {}", self.problem)
        } else {
            write!(f, "policy field `{}`: {}", self.path, self.problem)
        }
    }
}
impl std::error::Error for PolicyError {}

impl Explain for PolicyError {
    fn code(&self) -> &'static str {
        "INVALID_POLICY"
    }
    fn params(&self) -> crate::message::Params {
        crate::params![field = self.path.as_str()]
    }
    fn message(&self) -> Message {
        Message::new(
            format!("策略文件字段 {} 无效:{}", self.path, self.problem),
            self.to_string(),
        )
    }
}

fn err(path: &str, problem: impl Into<String>) -> PolicyError {
    PolicyError {
        path: path.to_owned(),
        problem: problem.into(),
        position: None,
    }
}

impl Policy {
    /// The built-in national default: the article's rules.
    pub fn default_policy() -> Policy {
        // The shipped document is checked by a unit test; fall back to the same values in code.
        Policy::parse(DEFAULT_POLICY_JSON).unwrap_or_else(|_| Policy::article_rules())
    }

    /// The article's rules, in code.
    pub fn article_rules() -> Policy {
        Policy {
            version: "default-1".into(),
            effective_from: None,
            city: City {
                code: "000000".into(),
                name_zh: "全国默认".into(),
                name_en: "National default".into(),
            },
            feature_enabled: true,
            max_bindings_per_user: 3,
            max_binders_per_vehicle: 3,
            bindable_plate_types: vec![PlateType::SmallCar, PlateType::SmallNewEnergy],
            bindable_owner_kinds: vec![OwnerKind::Individual],
            bindable_use_natures: vec![UseNature::NonCommercial],
            binding_channels: vec![Channel::App, Channel::Window],
            max_online_fine_fen: 20_000,
            binder_handles_unscored: false,
            binding_effective_from: BindingEffectiveFrom::Day,
            points_ceiling: 12,
            require_real_person_verification: true,
            application_caps: ApplicationCaps {
                per_day: None,
                per_year: None,
            },
            qr_code_lifetime_seconds: 180,
            application_lifetime_seconds: 600,
            plate_prefixes: vec![],
            kiosk_requires_binding: false,
            late_fee: LateFee {
                due_days: 15,
                daily_rate_basis_points: 300,
                cap_at_fine: true,
            },
            sms: SmsPolicy {
                code_lifetime_seconds: 300,
                max_wrong_tries: 5,
                resend_cooldown_seconds: 60,
                daily_cap_per_phone: 10,
                daily_cap_per_plate: 10,
                per_session: WindowCaps {
                    per_hour: 5,
                    per_day: 10,
                },
                per_account: WindowCaps {
                    per_hour: 10,
                    per_day: 20,
                },
                per_address: WindowCaps {
                    per_hour: 30,
                    per_day: 200,
                },
                daily_budget: SmsBudget {
                    register: 50_000,
                    sign_in: 100_000,
                    binding: 20_000,
                },
            },
        }
    }

    /// Parses a complete policy document.
    pub fn parse(json: &str) -> Result<Policy, PolicyError> {
        Self::read(json, None)
    }

    /// Parses a document that may `"extends": "default"` (or any base given) and override some fields.
    pub fn parse_with_base(json: &str, base: &Policy) -> Result<Policy, PolicyError> {
        Self::read(json, Some(base))
    }

    fn read(json: &str, base: Option<&Policy>) -> Result<Policy, PolicyError> {
        // Read as a patch of optional fields: one typed pass names the bad field (crate::json) and merges
        // without an intermediate JSON tree, which keeps the WebAssembly module small.
        let patch: PolicyPatch = crate::json::decode(json).map_err(|e| PolicyError {
            position: e.position,
            ..err(&e.path, e.problem)
        })?;
        let base = match patch.extends.as_deref() {
            None => None,
            Some("default") => {
                Some(base.ok_or_else(|| err("extends", "no base policy is available to extend"))?)
            }
            Some(_) => return Err(err("extends", "only \"default\" can be extended")),
        };
        let policy = patch.apply(base, "")?;
        policy.validate()?;
        Ok(policy)
    }

    fn validate(&self) -> Result<(), PolicyError> {
        if self.version.trim().is_empty() || self.version.len() > 64 {
            return Err(err("version", "a version is 1 to 64 characters"));
        }
        if self.city.code.len() != 6 || !self.city.code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err("city.code", "a city code is six digits"));
        }
        if !(1..=100).contains(&self.max_bindings_per_user) {
            return Err(err("maxBindingsPerUser", "must be from 1 to 100"));
        }
        if !(1..=100).contains(&self.max_binders_per_vehicle) {
            return Err(err("maxBindersPerVehicle", "must be from 1 to 100"));
        }
        if self.max_online_fine_fen > crate::domain::Fen::MAX {
            return Err(err("maxOnlineFineFen", "is above the largest amount"));
        }
        if !(1..=12).contains(&self.points_ceiling) {
            return Err(err("pointsCeiling", "must be from 1 to 12"));
        }
        if !(30..=3600).contains(&self.qr_code_lifetime_seconds) {
            return Err(err("qrCodeLifetimeSeconds", "must be from 30 to 3600"));
        }
        if self.late_fee.due_days > 365 {
            return Err(err("lateFee.dueDays", "must be at most 365"));
        }
        if self.late_fee.daily_rate_basis_points > 10_000 {
            return Err(err(
                "lateFee.dailyRateBasisPoints",
                "must be at most 10000 (100% a day)",
            ));
        }
        if !(60..=600).contains(&self.sms.code_lifetime_seconds) {
            return Err(err(
                "sms.codeLifetimeSeconds",
                "must be from 60 to 600 (codes live at most 10 minutes)",
            ));
        }
        if !(1..=5).contains(&self.sms.max_wrong_tries) {
            return Err(err("sms.maxWrongTries", "must be from 1 to 5"));
        }
        if self.sms.daily_cap_per_phone == 0 || self.sms.daily_cap_per_plate == 0 {
            return Err(err("sms", "daily caps must be at least 1"));
        }
        for (name, caps) in [
            ("perSession", &self.sms.per_session),
            ("perAccount", &self.sms.per_account),
            ("perAddress", &self.sms.per_address),
        ] {
            if caps.per_hour == 0 || caps.per_day < caps.per_hour {
                return Err(err(
                    &format!("sms.{name}"),
                    "perHour must be at least 1 and perDay at least perHour",
                ));
            }
        }
        let b = &self.sms.daily_budget;
        if b.register == 0 || b.sign_in == 0 || b.binding == 0 {
            return Err(err("sms.dailyBudget", "each budget must be at least 1"));
        }
        if !(60..=3600).contains(&self.application_lifetime_seconds) {
            return Err(err("applicationLifetimeSeconds", "must be from 60 to 3600"));
        }
        if let Some(bad) = self.plate_prefixes.iter().find(|p| {
            p.chars().count() != 2 || !p.chars().nth(1).is_some_and(|c| c.is_ascii_uppercase())
        }) {
            return Err(err(
                "platePrefixes",
                format!("{bad:?} is not a province character and an authority letter"),
            ));
        }
        Ok(())
    }
}

/// One city's policy versions, each deciding from its `effectiveFrom` until the next one's: the core picks
/// the version in force at the instant it decides for, in the browser as on the server, so both switch at
/// the same instant.
///
/// Each version is a `Policy` or anything built from one (`T: AsRef<Policy>`, such as the server's rules
/// for it), so that a caller keeps one copy of each version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicySchedule<T = Policy> {
    /// In force from the start (no `effectiveFrom`).
    first: T,
    /// By instant.
    later: Vec<T>,
}

impl AsRef<Policy> for Policy {
    fn as_ref(&self) -> &Policy {
        self
    }
}

impl<T: AsRef<Policy>> PolicySchedule<T> {
    /// The versions of one city, in any order: exactly one without `effectiveFrom`, no two at the same
    /// instant or with the same version string, all of the same city.
    pub fn new(versions: Vec<T>) -> Result<PolicySchedule<T>, PolicyError> {
        if versions.is_empty() {
            return Err(err("", "a city needs at least one policy version"));
        }
        let (mut first, mut later): (Vec<T>, Vec<T>) = versions
            .into_iter()
            .partition(|p| p.as_ref().effective_from.is_none());
        let first = match (first.pop(), first.pop()) {
            (Some(p), None) => p,
            (Some(a), Some(b)) => {
                return Err(err(
                    "effectiveFrom",
                    format!(
                        "{} and {} both have no effectiveFrom",
                        b.as_ref().version,
                        a.as_ref().version
                    ),
                ))
            }
            (None, _) => {
                return Err(err(
                    "effectiveFrom",
                    "one version must have no effectiveFrom: something must decide before the first instant",
                ))
            }
        };
        later.sort_by_key(|p| p.as_ref().effective_from.map(|t| t.millis()));
        for pair in later.windows(2) {
            if let [a, b] = pair {
                let (a, b) = (a.as_ref(), b.as_ref());
                if a.effective_from == b.effective_from {
                    return Err(err(
                        "effectiveFrom",
                        format!(
                            "{} and {} take effect at the same instant",
                            a.version, b.version
                        ),
                    ));
                }
            }
        }
        let all: Vec<&Policy> = std::iter::once(&first)
            .chain(&later)
            .map(AsRef::as_ref)
            .collect();
        for (i, p) in all.iter().enumerate() {
            if p.city.code != first.as_ref().city.code {
                return Err(err("city.code", format!("{} is another city's", p.version)));
            }
            if all.iter().skip(i + 1).any(|q| q.version == p.version) {
                return Err(err("version", format!("{} is given twice", p.version)));
            }
        }
        Ok(PolicySchedule { first, later })
    }

    /// The version that decides at `now`: the last whose instant has come.
    pub fn in_force(&self, now: Timestamp) -> &T {
        self.later
            .iter()
            .rev()
            .find(|p| p.as_ref().effective_from.is_some_and(|at| at <= now))
            .unwrap_or(&self.first)
    }

    /// The version that takes over after `now`, if one is scheduled.
    pub fn next_after(&self, now: Timestamp) -> Option<&T> {
        self.later
            .iter()
            .find(|p| p.as_ref().effective_from.is_some_and(|at| at > now))
    }

    /// Every version, the first and then by instant.
    pub fn versions(&self) -> impl Iterator<Item = &T> {
        std::iter::once(&self.first).chain(&self.later)
    }
}

/// A field given in a policy document, or left out (`null` is a value, not "left out").
fn present<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

/// The path of `field` inside the part at `at` (`""` for the document itself).
fn field_path(at: &str, field: &str) -> String {
    if at.is_empty() {
        field.to_owned()
    } else {
        format!("{at}.{field}")
    }
}

fn missing(at: &str, field: &str) -> PolicyError {
    err(&field_path(at, field), format!("missing field `{field}`"))
}

/// For each part of the policy, a patch type with every field optional, and how it applies over a base:
/// a field given replaces the base's, a nested part merges field by field, and without a base every field
/// must be given.
macro_rules! policy_patch {
    ($(
        $patch:ident for $target:ident {
            $($field:ident ($name:literal): $ty:ty,)*
        } nested {
            $($nfield:ident ($nname:literal): $npatch:ident,)*
        } document {
            $($efield:ident: $ety:ty,)*
        } own {
            $($ofield:ident: $oty:ty,)*
        }
    )*) => {$(
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase", deny_unknown_fields)]
        struct $patch {
            $(#[serde(default, deserialize_with = "present")] $field: Option<$ty>,)*
            $(#[serde(default, deserialize_with = "present")] $nfield: Option<$npatch>,)*
            $(#[serde(default)] $efield: Option<$ety>,)*
            $(#[serde(default)] $ofield: Option<$oty>,)*
        }

        impl $patch {
            fn apply(self, base: Option<&$target>, at: &str) -> Result<$target, PolicyError> {
                Ok($target {
                    $($field: match (self.$field, base) {
                        (Some(value), _) => value,
                        (None, Some(base)) => base.$field.clone(),
                        (None, None) => return Err(missing(at, $name)),
                    },)*
                    $($nfield: match (self.$nfield, base) {
                        (Some(patch), base) => {
                            patch.apply(base.map(|b| &b.$nfield), &field_path(at, $nname))?
                        }
                        (None, Some(base)) => base.$nfield.clone(),
                        (None, None) => return Err(missing(at, $nname)),
                    },)*
                    $($ofield: self.$ofield,)*
                })
            }
        }
    )*};
}

policy_patch! {
    CityPatch for City {
        code ("code"): String,
        name_zh ("nameZh"): String,
        name_en ("nameEn"): String,
    } nested {} document {} own {}
    CapsPatch for ApplicationCaps {
        per_day ("perDay"): Option<u32>,
        per_year ("perYear"): Option<u32>,
    } nested {} document {} own {}
    LateFeePatch for LateFee {
        due_days ("dueDays"): u32,
        daily_rate_basis_points ("dailyRateBasisPoints"): u32,
        cap_at_fine ("capAtFine"): bool,
    } nested {} document {} own {}
    SmsPatch for SmsPolicy {
        code_lifetime_seconds ("codeLifetimeSeconds"): u32,
        max_wrong_tries ("maxWrongTries"): u32,
        resend_cooldown_seconds ("resendCooldownSeconds"): u32,
        daily_cap_per_phone ("dailyCapPerPhone"): u32,
        daily_cap_per_plate ("dailyCapPerPlate"): u32,
    } nested {
        per_session ("perSession"): WindowCapsPatch,
        per_account ("perAccount"): WindowCapsPatch,
        per_address ("perAddress"): WindowCapsPatch,
        daily_budget ("dailyBudget"): BudgetPatch,
    } document {} own {}
    WindowCapsPatch for WindowCaps {
        per_hour ("perHour"): u32,
        per_day ("perDay"): u32,
    } nested {} document {} own {}
    BudgetPatch for SmsBudget {
        register ("register"): u32,
        sign_in ("signIn"): u32,
        binding ("binding"): u32,
    } nested {} document {} own {}
    PolicyPatch for Policy {
        version ("version"): String,
        feature_enabled ("featureEnabled"): bool,
        max_bindings_per_user ("maxBindingsPerUser"): u32,
        max_binders_per_vehicle ("maxBindersPerVehicle"): u32,
        bindable_plate_types ("bindablePlateTypes"): Vec<PlateType>,
        bindable_owner_kinds ("bindableOwnerKinds"): Vec<OwnerKind>,
        bindable_use_natures ("bindableUseNatures"): Vec<UseNature>,
        binding_channels ("bindingChannels"): Vec<Channel>,
        max_online_fine_fen ("maxOnlineFineFen"): u64,
        binder_handles_unscored ("binderHandlesUnscored"): bool,
        binding_effective_from ("bindingEffectiveFrom"): BindingEffectiveFrom,
        points_ceiling ("pointsCeiling"): u32,
        require_real_person_verification ("requireRealPersonVerification"): bool,
        qr_code_lifetime_seconds ("qrCodeLifetimeSeconds"): u32,
        application_lifetime_seconds ("applicationLifetimeSeconds"): u32,
        plate_prefixes ("platePrefixes"): Vec<String>,
        kiosk_requires_binding ("kioskRequiresBinding"): bool,
    } nested {
        city ("city"): CityPatch,
        application_caps ("applicationCaps"): CapsPatch,
        late_fee ("lateFee"): LateFeePatch,
        sms ("sms"): SmsPatch,
    } document {
        // What the document extends; read by `Policy::read`, not a field of the policy.
        extends: String,
    } own {
        // The version's own instant, never merged from the base.
        effective_from: Timestamp,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_default_is_the_article() {
        let p = Policy::parse(DEFAULT_POLICY_JSON).unwrap();
        let mut code = Policy::article_rules();
        code.version = p.version.clone();
        assert_eq!(p, code);
    }

    fn at(s: &str) -> Timestamp {
        Timestamp::parse_rfc3339(s).unwrap()
    }

    #[test]
    fn dongguan_switches_the_kiosk_rule_on_at_midnight_on_1_september_china_time() {
        let base = Policy::default_policy();
        let versions = [
            include_str!("../policies/cities/441900.json"),
            include_str!("../policies/cities/441900-2026-09-01.json"),
        ]
        .map(|text| Policy::parse_with_base(text, &base).unwrap());
        assert_eq!(
            versions[1].effective_from,
            Some(at("2026-08-31T16:00:00Z")),
            "the document's +08:00 instant, in UTC inside"
        );
        let schedule = PolicySchedule::new(versions.to_vec()).unwrap();
        let before = schedule.in_force(at("2026-08-31T23:59:59+08:00"));
        let after = schedule.in_force(at("2026-09-01T00:00:00+08:00"));
        assert!(!before.kiosk_requires_binding);
        assert!(after.kiosk_requires_binding);
        assert_eq!(after.version, "441900-2026-09-01.1");
        assert_eq!(
            schedule
                .next_after(at("2026-08-31T23:59:59+08:00"))
                .map(|p| p.version.as_str()),
            Some("441900-2026-09-01.1")
        );
        assert_eq!(schedule.next_after(at("2026-09-01T00:00:00+08:00")), None);
        // Serialised for the browser with its instant, and read back the same.
        let json = serde_json::to_string(after).unwrap();
        assert!(
            json.contains("\"effectiveFrom\":\"2026-08-31T16:00:00"),
            "{json}"
        );
        assert_eq!(&Policy::parse(&json).unwrap(), after);
    }

    #[test]
    fn a_schedule_refuses_versions_that_cannot_be_ordered() {
        let base = Policy::default_policy();
        let version = |v: &str, from: Option<&str>| {
            let mut p = base.clone();
            p.version = v.into();
            p.effective_from = from.map(at);
            p
        };
        let field = |vs: Vec<Policy>| PolicySchedule::new(vs).unwrap_err().path;
        assert_eq!(field(vec![]), "");
        assert_eq!(
            field(vec![version("a", Some("2026-09-01T00:00:00Z"))]),
            "effectiveFrom"
        );
        assert_eq!(
            field(vec![version("a", None), version("b", None)]),
            "effectiveFrom"
        );
        let t = Some("2026-09-01T00:00:00Z");
        assert_eq!(
            field(vec![version("a", None), version("b", t), version("c", t)]),
            "effectiveFrom"
        );
        assert_eq!(field(vec![version("a", None), version("a", t)]), "version");
        let mut other = version("b", t);
        other.city.code = "110000".into();
        assert_eq!(field(vec![version("a", None), other]), "city.code");
        // A version does not inherit its base's instant.
        let later = version("b", t);
        let text = r#"{ "extends": "default", "version": "c" }"#;
        assert_eq!(
            Policy::parse_with_base(text, &later)
                .unwrap()
                .effective_from,
            None
        );
        let bad = r#"{ "extends": "default", "version": "c", "effectiveFrom": "1 September" }"#;
        assert_eq!(
            Policy::parse_with_base(bad, &base).unwrap_err().path,
            "effectiveFrom"
        );
    }

    #[test]
    fn shipped_city_files_load() {
        let base = Policy::default_policy();
        let dg = Policy::parse_with_base(
            include_str!("../policies/cities/441900-2026-09-01.json"),
            &base,
        )
        .unwrap();
        assert!(dg.kiosk_requires_binding);
        assert_eq!(dg.max_bindings_per_user, 3);
        let off =
            Policy::parse_with_base(include_str!("../policies/cities/533300.json"), &base).unwrap();
        assert!(!off.feature_enabled);
        assert_eq!(dg.plate_prefixes, vec!["粤S".to_owned()]);
        assert_eq!(dg.sms.per_address, base.sms.per_address);
    }

    #[test]
    fn sms_caps_merge_and_are_checked() {
        let base = Policy::default_policy();
        let p = Policy::parse_with_base(
            r#"{"extends":"default","sms":{"perAddress":{"perDay":500},"dailyBudget":{"binding":7}}}"#,
            &base,
        )
        .unwrap();
        assert_eq!(p.sms.per_address.per_day, 500);
        assert_eq!(p.sms.per_address.per_hour, base.sms.per_address.per_hour);
        assert_eq!(p.sms.daily_budget.binding, 7);
        assert_eq!(p.sms.daily_budget.register, base.sms.daily_budget.register);
        let e = Policy::parse_with_base(
            r#"{"extends":"default","sms":{"perSession":{"perHour":20,"perDay":10}}}"#,
            &base,
        )
        .unwrap_err();
        assert_eq!(e.path, "sms.perSession");
        let e = Policy::parse_with_base(
            r#"{"extends":"default","sms":{"dailyBudget":{"signIn":0}}}"#,
            &base,
        )
        .unwrap_err();
        assert_eq!(e.path, "sms.dailyBudget");
        let e = Policy::parse_with_base(
            r#"{"extends":"default","applicationLifetimeSeconds":5}"#,
            &base,
        )
        .unwrap_err();
        assert_eq!(e.path, "applicationLifetimeSeconds");
        let e = Policy::parse_with_base(r#"{"extends":"default","platePrefixes":["粤"]}"#, &base)
            .unwrap_err();
        assert_eq!(e.path, "platePrefixes");
    }

    #[test]
    fn bad_fields_are_named() {
        let base = Policy::default_policy();
        let e =
            Policy::parse_with_base(r#"{"extends":"default","lateFee":{"dueDays":"x"}}"#, &base)
                .unwrap_err();
        assert_eq!(e.path, "lateFee.dueDays");
        let e = Policy::parse_with_base(r#"{"extends":"default","maxBindingsPerUsr":3}"#, &base)
            .unwrap_err();
        assert!(e.problem.contains("maxBindingsPerUsr"), "{e}");
        let e = Policy::parse_with_base(
            r#"{"extends":"default","bindablePlateTypes":["02","77"]}"#,
            &base,
        )
        .unwrap_err();
        assert_eq!(e.path, "bindablePlateTypes[1]");
        let e = Policy::parse_with_base(r#"{"extends":"default","pointsCeiling":0}"#, &base)
            .unwrap_err();
        assert_eq!(e.path, "pointsCeiling");
        assert!(Policy::parse("[]").is_err());
        assert!(Policy::parse("{").is_err());
    }

    #[test]
    fn overrides_merge_field_by_field() {
        let base = Policy::default_policy();
        let p = Policy::parse_with_base(
            r#"{"extends":"default","lateFee":{"dueDays":20},"applicationCaps":{"perDay":2}}"#,
            &base,
        )
        .unwrap();
        assert_eq!(p.late_fee.due_days, 20);
        assert_eq!(
            p.late_fee.daily_rate_basis_points, 300,
            "siblings come from the base"
        );
        assert_eq!(p.application_caps.per_day, Some(2));
        assert_eq!(p.version, base.version);
        // `null` is a value: it lifts a cap the base sets.
        let capped = Policy::parse_with_base(
            r#"{"extends":"default","applicationCaps":{"perYear":5}}"#,
            &base,
        )
        .unwrap();
        let lifted = Policy::parse_with_base(
            r#"{"extends":"default","applicationCaps":{"perYear":null}}"#,
            &capped,
        )
        .unwrap();
        assert_eq!(lifted.application_caps.per_year, None);
        // Without `extends` the document must be whole, even when a base is at hand.
        let e = Policy::parse_with_base(r#"{"version":"x"}"#, &base).unwrap_err();
        assert_eq!(e.path, "featureEnabled");
        let e = Policy::parse_with_base(r#"{"extends":"city-9"}"#, &base).unwrap_err();
        assert_eq!(e.path, "extends");
    }

    #[test]
    fn missing_fields_are_named_with_their_path() {
        let mut doc: serde_json::Value = serde_json::from_str(DEFAULT_POLICY_JSON).unwrap();
        doc["lateFee"].as_object_mut().unwrap().remove("capAtFine");
        let e = Policy::parse(&doc.to_string()).unwrap_err();
        assert_eq!(
            (e.path.as_str(), e.problem.as_str()),
            ("lateFee.capAtFine", "missing field `capAtFine`")
        );
        let e = Policy::parse(r#"{"extends":"default"}"#).unwrap_err();
        assert_eq!(e.path, "extends");
        let e = Policy::parse(r#"{"version":null}"#).unwrap_err();
        assert_eq!(e.path, "version");
    }
}
