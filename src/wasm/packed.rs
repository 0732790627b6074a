//! Route answers as columns of numbers plus one small table of the distinct values.
//!
//! In a list of thousands of violations most values repeat (the same "fine above ¥200" with its two
//! messages, the same route, the same due date). Writing each route as JSON text and `JSON.parse`-ing it
//! was most of the cost of a large `routeViolations` call, so the answer crosses as a `Float64Array` of
//! numbers (indexes into the table, points and amounts) and a JSON table of the distinct reasons, routes,
//! documents and dates. A few lines of JS build the routes from them, with the violation ids taken from the
//! call the page passed in, so callers see exactly the `RouteAnswer` shape and the shared reason objects
//! are frozen.

use crate::contract::{Route, RouteAnswer, ViolationRoute};
use crate::domain::Document;
use crate::message::Reason;
use crate::time::CstDate;
use serde::Serialize;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use wasm_bindgen::prelude::*;

#[wasm_bindgen(inline_js = r#"
export function inflateRoutes(text, columns, calls) {
  const { reasons, routes, documents, dates, policyVersion } = JSON.parse(text);
  for (const r of reasons) {
    Object.freeze(r.params);
    Object.freeze(r.message);
    Object.freeze(r);
  }
  const answers = new Array(calls.length);
  let at = 0;
  for (let c = 0; c < calls.length; c++) {
    const violations = calls[c].violations;
    const list = new Array(violations.length);
    for (let i = 0; i < violations.length; i++) {
      const route = routes[columns[at++]];
      const routeReasons = new Array(columns[at++]);
      for (let j = 0; j < routeReasons.length; j++) routeReasons[j] = reasons[columns[at++]];
      const routeDocuments = new Array(columns[at++]);
      for (let j = 0; j < routeDocuments.length; j++) routeDocuments[j] = documents[columns[at++]];
      const points = columns[at++];
      const fineFen = columns[at++];
      const lateFeeFen = columns[at++];
      const owedFen = columns[at++];
      const date = columns[at++];
      list[i] = {
        violationId: violations[i].id, route, reasons: routeReasons, documents: routeDocuments,
        points, fineFen, lateFeeFen, owedFen, dueDate: date < 0 ? null : dates[date],
      };
    }
    answers[c] = { routes: list, policyVersion };
  }
  return answers;
}
"#)]
extern "C" {
    #[wasm_bindgen(js_name = inflateRoutes, catch)]
    fn inflate_routes(
        text: &str,
        columns: &[f64],
        calls: &JsValue,
    ) -> Result<js_sys::Array, JsValue>;
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

/// The distinct values the columns refer to.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Table<'a> {
    reasons: Vec<&'a Reason>,
    routes: Vec<Route>,
    documents: Vec<Document>,
    dates: Vec<CstDate>,
    policy_version: &'a str,
}

/// The index of `value` in `list` through `ids`, added when new: for the many reasons and dates.
fn intern<K: Hash + Eq, V>(ids: &mut HashMap<K, f64>, list: &mut Vec<V>, key: K, value: V) -> f64 {
    *ids.entry(key).or_insert_with(|| {
        list.push(value);
        (list.len() - 1) as f64
    })
}

/// The index of `value` in `list`, added when new: for the handful of routes and documents.
fn index_of<T: PartialEq + Copy>(list: &mut Vec<T>, value: T) -> f64 {
    let i = list.iter().position(|v| *v == value).unwrap_or_else(|| {
        list.push(value);
        list.len() - 1
    });
    i as f64
}

/// The answers to `calls` (a JS array of the route calls, in order) as JS objects of the `RouteAnswer`
/// shape. Each answer holds one route per violation of its call, in the call's order.
pub fn routes_to_js(answers: &[RouteAnswer], calls: &JsValue) -> Result<js_sys::Array, JsValue> {
    let mut reason_ids: HashMap<ByContent<'_>, f64> = HashMap::new();
    let mut date_ids: HashMap<CstDate, f64> = HashMap::new();
    let mut table = Table {
        reasons: Vec::new(),
        routes: Vec::new(),
        documents: Vec::new(),
        dates: Vec::new(),
        policy_version: answers.first().map_or("", |a| a.policy_version.as_str()),
    };
    let mut columns: Vec<f64> =
        Vec::with_capacity(answers.iter().map(|a| a.routes.len() * 10).sum());
    for answer in answers {
        for r in &answer.routes {
            // Naming every field makes this stop compiling when the contract gains one; the id comes back
            // from the call itself.
            let ViolationRoute {
                violation_id: _,
                route,
                reasons,
                documents,
                points,
                fine_fen,
                late_fee_fen,
                owed_fen,
                due_date,
            } = r;
            columns.push(index_of(&mut table.routes, *route));
            columns.push(reasons.len() as f64);
            for reason in reasons {
                columns.push(intern(
                    &mut reason_ids,
                    &mut table.reasons,
                    ByContent(reason),
                    reason,
                ));
            }
            columns.push(documents.len() as f64);
            for d in documents {
                columns.push(index_of(&mut table.documents, *d));
            }
            columns.push(f64::from(points.value()));
            columns.push(fine_fen.value() as f64);
            columns.push(late_fee_fen.value() as f64);
            columns.push(owed_fen.value() as f64);
            columns.push(match due_date {
                Some(date) => intern(&mut date_ids, &mut table.dates, *date, *date),
                None => -1.0,
            });
        }
    }
    let text = serde_json::to_string(&table)
        .map_err(|e| js_sys::Error::new(&format!("cannot encode answer: {e}")))?;
    inflate_routes(&text, &columns, calls)
}
