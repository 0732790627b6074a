//! The WebAssembly boundary: thin wrappers that take and return the contract types.
//!
//! Expected refusals come back as data; only input that is not a valid call (wrong types, unknown fields,
//! a bad plate inside a vehicle) throws, as a JS `Error` whose message and `field` property name the field.
//! The TypeScript types of every input and output are in `types.d.ts`; the Node tests type-check real
//! answers against them so that the two cannot drift apart. The package's `Client` (the backend's HTTP
//! client) is JavaScript beside this module: `client.js`.

mod binding;
mod convert;
mod packed;
pub mod qr;

use crate::contract::{BindingCall, RouteCall, UnbindCall};
use crate::domain::{
    Document, EngineSuffix, Fen, PhoneNumber, PlateNumber, PlateType, Relationship, ResidentId,
};
use crate::message::Reason;
use crate::policy::Policy;
use crate::time::Timestamp;
use convert::{arg, from_js, located_input_error, to_js};
use serde::Serialize;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &str = include_str!("types.d.ts");

/// A parsed policy, ready to answer many calls. Parse it once and keep it.
#[wasm_bindgen]
pub struct Rules {
    inner: crate::rules::Rules,
    /// The policy version as a JS string, made once: every binding answer carries it.
    version: JsValue,
}

impl Rules {
    fn new(policy: Policy) -> Rules {
        let version = JsValue::from_str(&policy.version);
        Rules {
            inner: crate::rules::Rules::new(policy),
            version,
        }
    }
}

#[wasm_bindgen]
impl Rules {
    /// Parses a policy document (JSON text or an object). It may `"extends": "default"` and give only what
    /// differs. Throws an `Error` naming the bad field.
    #[wasm_bindgen(js_name = fromPolicy)]
    pub fn from_policy(
        #[wasm_bindgen(unchecked_param_type = "string | PolicyDocument")] policy: JsValue,
    ) -> Result<Rules, JsValue> {
        let text = match policy.as_string() {
            Some(text) => text,
            None => convert::stringify(&policy, "policy")?,
        };
        let policy = Policy::parse_with_base(&text, &Policy::default_policy())
            .map_err(|e| located_input_error("policy", &e.path, &e.problem, e.position))?;
        Ok(Rules::new(policy))
    }

    /// The built-in national default policy: the article's rules.
    #[wasm_bindgen(js_name = default)]
    pub fn default_rules() -> Rules {
        Rules::new(Policy::default_policy())
    }

    #[wasm_bindgen(getter, js_name = policyVersion)]
    pub fn policy_version(&self) -> String {
        self.inner.policy().version.clone()
    }

    /// The whole policy in force, as a plain object.
    #[wasm_bindgen(unchecked_return_type = "Policy")]
    pub fn policy(&self) -> Result<JsValue, JsValue> {
        to_js(self.inner.policy())
    }

    /// May this person bind this vehicle, by this method, on this channel? Lists every failing rule.
    #[wasm_bindgen(js_name = checkBinding, unchecked_return_type = "BindingAnswer")]
    pub fn check_binding(
        &self,
        #[wasm_bindgen(unchecked_param_type = "BindingCall")] call: JsValue,
    ) -> Result<JsValue, JsValue> {
        if let Some(answer) = binding::check_packed(&self.inner, &call, &self.version, false) {
            return Ok(answer);
        }
        let call: BindingCall = from_js(&call, "checkBinding")?;
        to_js(&self.inner.check_binding(&call))
    }

    /// Many binding checks in one crossing; answers in the order of the calls.
    #[wasm_bindgen(js_name = checkBindingBatch, unchecked_return_type = "BindingAnswer[]")]
    pub fn check_binding_batch(
        &self,
        #[wasm_bindgen(unchecked_param_type = "BindingCall[]")] calls: JsValue,
    ) -> Result<JsValue, JsValue> {
        if let Some(answers) = binding::check_packed(&self.inner, &calls, &self.version, true) {
            return Ok(answers);
        }
        let calls: Vec<BindingCall> = from_js(&calls, "checkBindingBatch")?;
        to_js(
            &calls
                .iter()
                .map(|c| self.inner.check_binding(c))
                .collect::<Vec<_>>(),
        )
    }

    /// Where may this person deal with each of these violations of one vehicle? One call labels any number
    /// of violations, so a whole list costs one boundary crossing.
    #[wasm_bindgen(js_name = routeViolations, unchecked_return_type = "RouteAnswer")]
    pub fn route_violations(
        &self,
        #[wasm_bindgen(unchecked_param_type = "RouteCall")] call: JsValue,
    ) -> Result<JsValue, JsValue> {
        let parsed: RouteCall = match binding::routes_packed(&call, false) {
            Some(mut calls) if calls.len() == 1 => calls.swap_remove(0),
            _ => from_js(&call, "routeViolations")?,
        };
        let calls = js_sys::Array::of1(&call);
        Ok(packed::routes_to_js(&[self.inner.route_violations(&parsed)], &calls)?.get(0))
    }

    /// Route calls for several vehicles in one crossing; answers in the order of the calls.
    #[wasm_bindgen(js_name = routeViolationsBatch, unchecked_return_type = "RouteAnswer[]")]
    pub fn route_violations_batch(
        &self,
        #[wasm_bindgen(unchecked_param_type = "RouteCall[]")] calls: JsValue,
    ) -> Result<JsValue, JsValue> {
        let parsed: Vec<RouteCall> = match binding::routes_packed(&calls, true) {
            Some(parsed) => parsed,
            None => from_js(&calls, "routeViolationsBatch")?,
        };
        let answers: Vec<_> = parsed
            .iter()
            .map(|c| self.inner.route_violations(c))
            .collect();
        Ok(packed::routes_to_js(&answers, &calls)?.into())
    }

    /// May this actor remove this binding?
    #[wasm_bindgen(js_name = checkUnbind, unchecked_return_type = "UnbindAnswer")]
    pub fn check_unbind(
        &self,
        #[wasm_bindgen(unchecked_param_type = "UnbindCall")] call: JsValue,
    ) -> Result<JsValue, JsValue> {
        let call: UnbindCall = from_js(&call, "checkUnbind")?;
        to_js(&self.inner.check_unbind(&call))
    }

    /// The late fee in fen owed on `now` for a fine decided at `decidedAt` (3% a day after the due days,
    /// never more than the fine). Instants are RFC 3339 strings or epoch milliseconds.
    #[wasm_bindgen(js_name = lateFee)]
    pub fn late_fee(
        &self,
        #[wasm_bindgen(js_name = fineFen)] fine_fen: f64,
        #[wasm_bindgen(js_name = decidedAt, unchecked_param_type = "Instant")] decided_at: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Instant")] now: JsValue,
    ) -> Result<f64, JsValue> {
        let fine: Fen = arg(&JsValue::from_f64(fine_fen), "lateFee", "fineFen")?;
        let decided_at: Timestamp = arg(&decided_at, "lateFee", "decidedAt")?;
        let now: Timestamp = arg(&now, "lateFee", "now")?;
        // Fen never exceeds 10^9, so the conversion to a JS number is exact.
        Ok(self.inner.late_fee(fine, decided_at, now).value() as f64)
    }
}

/// The answer of an as-you-type parser: the normal form and how to show it, or why the text is not valid.
#[derive(Serialize)]
#[serde(untagged)]
enum Parsed {
    Ok {
        ok: bool,
        normal: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        display: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        masked: Option<String>,
    },
    Err {
        ok: bool,
        error: Reason,
    },
}

fn parsed_ok(normal: &str, display: Option<String>, masked: Option<String>) -> Parsed {
    Parsed::Ok {
        ok: true,
        normal: normal.to_owned(),
        display,
        masked,
    }
}

fn parsed_err(e: &impl crate::message::Explain) -> Parsed {
    Parsed::Err {
        ok: false,
        error: Reason::of(e),
    }
}

/// Checks a typed plate number against its plate type (GA 24.7 code such as `"02"`).
#[wasm_bindgen(js_name = parsePlate, unchecked_return_type = "PlateParse")]
pub fn parse_plate(
    #[wasm_bindgen(js_name = plateType)] plate_type: &str,
    text: &str,
) -> Result<JsValue, JsValue> {
    let parsed = match PlateType::parse(plate_type) {
        Err(e) => parsed_err(&e),
        Ok(t) => match PlateNumber::parse(text, t) {
            Ok(p) => parsed_ok(p.as_str(), Some(p.display()), Some(p.masked())),
            Err(e) => parsed_err(&e),
        },
    };
    to_js(&parsed)
}

/// Checks the last six characters of an engine number.
#[wasm_bindgen(js_name = parseEngineSuffix, unchecked_return_type = "EngineSuffixParse")]
pub fn parse_engine_suffix(text: &str) -> Result<JsValue, JsValue> {
    to_js(&match EngineSuffix::parse(text) {
        Ok(s) => parsed_ok(s.as_str(), None, None),
        Err(e) => parsed_err(&e),
    })
}

/// Checks an 18-character resident ID number (check character and birth date).
#[wasm_bindgen(js_name = parseResidentId, unchecked_return_type = "MaskedParse")]
pub fn parse_resident_id(text: &str) -> Result<JsValue, JsValue> {
    to_js(&match ResidentId::parse(text) {
        Ok(id) => parsed_ok(id.as_str(), None, Some(id.masked())),
        Err(e) => parsed_err(&e),
    })
}

/// Checks a mainland mobile number.
#[wasm_bindgen(js_name = parsePhone, unchecked_return_type = "MaskedParse")]
pub fn parse_phone(text: &str) -> Result<JsValue, JsValue> {
    to_js(&match PhoneNumber::parse(text) {
        Ok(p) => parsed_ok(p.as_str(), None, Some(p.masked())),
        Err(e) => parsed_err(&e),
    })
}

/// A licence's points at an instant in its 12-month scoring cycle, as the server counts them.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CycleAnswer {
    points: u32,
    cycle_start: Option<crate::time::CstDate>,
}

/// The points of a licence at `now`: a 12-month scoring cycle that has ended starts again at zero (the
/// same count the server makes). `cycleStart` may be null when the licence has none on record.
#[wasm_bindgen(js_name = scoringCycle, unchecked_return_type = "ScoringCycle")]
pub fn scoring_cycle(
    points: f64,
    #[wasm_bindgen(js_name = cycleStart, unchecked_param_type = "Instant | null")]
    cycle_start: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Instant")] now: JsValue,
) -> Result<JsValue, JsValue> {
    let points: u32 = arg(&JsValue::from_f64(points), "scoringCycle", "points")?;
    let start: Option<Timestamp> = arg(&cycle_start, "scoringCycle", "cycleStart")?;
    let now: Timestamp = arg(&now, "scoringCycle", "now")?;
    let cycle = crate::domain::ScoringCycle::at(points, start, now);
    to_js(&CycleAnswer {
        points: cycle.points,
        cycle_start: cycle.start.map(Timestamp::cst_date),
    })
}

/// A code with its names in both languages, for pickers and labels.
#[derive(Serialize)]
struct CodeEntry {
    code: &'static str,
    zh: &'static str,
    en: &'static str,
}

/// The core's own table of a code enum, so that no page or client keeps a copy of it.
fn code_table<T: Copy>(all: &[T], entry: impl Fn(T) -> CodeEntry) -> Result<JsValue, JsValue> {
    to_js(&all.iter().copied().map(entry).collect::<Vec<_>>())
}

/// The whole GA 24.7 plate type table, in code order.
#[wasm_bindgen(js_name = plateTypes, unchecked_return_type = "PlateTypeEntry[]")]
pub fn plate_types() -> Result<JsValue, JsValue> {
    code_table(PlateType::ALL, |t| CodeEntry {
        code: t.code(),
        zh: t.name_zh(),
        en: t.name_en(),
    })
}

/// The binder's relationships to the owner, in the order a picker shows them.
#[wasm_bindgen(js_name = relationships, unchecked_return_type = "RelationshipEntry[]")]
pub fn relationships() -> Result<JsValue, JsValue> {
    code_table(Relationship::ALL, |r| CodeEntry {
        code: r.code(),
        zh: r.name_zh(),
        en: r.name_en(),
    })
}

/// The originals a window officer checks by hand, with their names.
#[wasm_bindgen(js_name = documents, unchecked_return_type = "DocumentEntry[]")]
pub fn documents() -> Result<JsValue, JsValue> {
    code_table(Document::ALL, |d| CodeEntry {
        code: d.code(),
        zh: d.name_zh(),
        en: d.name_en(),
    })
}

/// One example of every refusal a decision can give, with its code, parameters and both messages.
#[wasm_bindgen(js_name = reasonCatalogue, unchecked_return_type = "Reason[]")]
pub fn reason_catalogue() -> Result<JsValue, JsValue> {
    to_js(
        &crate::rules::Refusal::examples()
            .iter()
            .map(Reason::of)
            .collect::<Vec<_>>(),
    )
}
