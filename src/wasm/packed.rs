//! Route answers written with each distinct reason once.
//!
//! In a list of thousands of violations most reasons repeat (the same "fine above ¥200" with its two
//! messages), and decoding and `JSON.parse`-ing those repeats was most of the cost of a large
//! `routeViolations` call. The answer text carries a table of the distinct reasons and each route refers
//! to them by index; a few lines of JS put the (frozen, shared) reason objects back in place, so callers
//! see exactly the `RouteAnswer` shape.

use crate::contract::{Route, RouteAnswer, ViolationRoute};
use crate::domain::{Document, Fen, Points};
use crate::message::Reason;
use crate::time::CstDate;
use serde::Serialize;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use wasm_bindgen::prelude::*;

#[wasm_bindgen(inline_js = r#"
export function inflateRoutes(text) {
  const { reasons, answers } = JSON.parse(text);
  for (const r of reasons) {
    Object.freeze(r.params);
    Object.freeze(r.message);
    Object.freeze(r);
  }
  for (const answer of answers) {
    for (const route of answer.routes) {
      const ids = route.reasons;
      for (let i = 0; i < ids.length; i++) ids[i] = reasons[ids[i]];
    }
  }
  return answers;
}
"#)]
extern "C" {
    #[wasm_bindgen(js_name = inflateRoutes, catch)]
    fn inflate_routes(text: &str) -> Result<js_sys::Array, JsValue>;
}

/// Compares and hashes a reason by content.
struct ByContent<'a>(&'a Reason);

impl PartialEq for ByContent<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}
impl Eq for ByContent<'_> {}
impl Hash for ByContent<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // The messages carry the parameters, so code and messages tell reasons apart well enough to hash.
        self.0.code.hash(state);
        self.0.message.en.hash(state);
    }
}

#[derive(Serialize)]
struct Packed<'a> {
    reasons: Vec<&'a Reason>,
    answers: Vec<PackedAnswer<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PackedAnswer<'a> {
    routes: Vec<PackedRoute<'a>>,
    policy_version: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PackedRoute<'a> {
    violation_id: &'a str,
    route: Route,
    reasons: Vec<u32>,
    documents: &'a [Document],
    points: Points,
    fine_fen: Fen,
    late_fee_fen: Fen,
    owed_fen: Fen,
    due_date: Option<CstDate>,
}

/// The answers as JS objects of the `RouteAnswer` shape.
pub fn routes_to_js(answers: &[RouteAnswer]) -> Result<js_sys::Array, JsValue> {
    let mut table: HashMap<ByContent<'_>, u32> = HashMap::new();
    let mut reasons: Vec<&Reason> = Vec::new();
    let mut packed = Vec::with_capacity(answers.len());
    for answer in answers {
        let RouteAnswer {
            routes: answer_routes,
            policy_version,
        } = answer;
        let mut routes = Vec::with_capacity(answer_routes.len());
        for r in answer_routes {
            // Naming every field makes this stop compiling when the contract gains one.
            let ViolationRoute {
                violation_id,
                route,
                reasons: route_reasons,
                documents,
                points,
                fine_fen,
                late_fee_fen,
                owed_fen,
                due_date,
            } = r;
            let ids = route_reasons
                .iter()
                .map(|reason| {
                    *table.entry(ByContent(reason)).or_insert_with(|| {
                        reasons.push(reason);
                        u32::try_from(reasons.len() - 1).unwrap_or(u32::MAX)
                    })
                })
                .collect();
            routes.push(PackedRoute {
                violation_id,
                route: *route,
                reasons: ids,
                documents,
                points: *points,
                fine_fen: *fine_fen,
                late_fee_fen: *late_fee_fen,
                owed_fen: *owed_fen,
                due_date: *due_date,
            });
        }
        packed.push(PackedAnswer {
            routes,
            policy_version,
        });
    }
    let text = serde_json::to_string(&Packed {
        reasons,
        answers: packed,
    })
    .map_err(|e| js_sys::Error::new(&format!("cannot encode answer: {e}")))?;
    inflate_routes(&text)
}
