//! Binding calls across the boundary without JSON on the common path.
//!
//! A binding call is small, so its price was the crossing, not the rules: `JSON.stringify`, encoding the
//! text, `serde_json`, and on the way back writing, decoding and `JSON.parse`-ing the reasons with both
//! messages (docs/benchmarks.md). Here a few lines of JS read the call's fields into one string of parts
//! in a fixed order, and the answers come back as numbers indexing a table of reason objects the JS side
//! keeps: each distinct reason crosses as JSON once, then is shared (frozen) by every answer that gives it.
//!
//! The packed path only takes calls of the plain shape, every value of its expected JS type. Anything
//! else (a missing or unknown field, a number for a date, a bad code, an empty id) makes either side give
//! up, and the call is read as JSON as before, which accepts the same calls and names what is wrong.

use crate::contract::{
    BindingCall, BindingFacts, LicenceFacts, NextStep, PersonFacts, RouteCall, Stage, VehicleFacts,
    ViolationFacts, ViolationFactsWire,
};
use crate::domain::{
    BindingMethod, Channel, Document, Fen, LicenceClass, LicenceStatus, OwnerKind, PlateNumber,
    PlateType, Points, UseNature, ViolationSource, ViolationState,
};
use crate::message::Reason;
use crate::rules::{Refusal, Rules};
use crate::time::Timestamp;
use serde::Serialize;
use std::cell::RefCell;
use wasm_bindgen::prelude::*;

// The JS side writes the parts straight into bytes, as UTF-8, each after a U+0001 byte: no strings are
// built, so nothing is left for the collector and nothing is encoded again when the bytes cross (one copy
// into the module's memory). `text`: a string as JSON would carry it; a lone surrogate (which JSON escapes
// and serde_json refuses) or the separator inside it gives up, so the bytes are always valid UTF-8 and
// split where the JS side meant. `raw`: the same without the separator before it. `object`: a plain
// object (a literal or from JSON.parse), no class whose getters or toJSON JSON would see differently.
// `plain`: exactly `n` fields, all known, so that JSON.stringify would write no others (counted with
// for-in, which allocates nothing; a prototype with enumerable fields would only make the count differ and
// the call go the JSON way). `optional`: "" when absent or null, "=value" when given; answers 1 when the
// field is there. `nested`: an optional object, "" when absent or null, else "=" and its parts; answers as
// `optional`. `packBindings`, `packRoutes`: the parts of one call (or of a list of calls) without the
// first separator, or undefined when not of the plain shape. One buffer serves every call; a getter that calls
// back in while it is being written gets undefined (the JSON path) rather than a share of it.
// `inflateBindings`: per answer, allowed (0 or 1), the count of reasons and their indexes in `table`, then
// the same for next steps; `columns[0]` is 1 when the table starts again, `fresh` the JSON of the values
// added to it by this call ("" for none). Comments stay out of the JS itself: it ships in the package.
#[wasm_bindgen(inline_js = r#"
const GIVE_UP = new Error("not of the plain shape");
const SMALL = 1 << 16;
let buf = new Uint8Array(SMALL);
let at = 0;
let busy = false;
function room(n) {
  if (at + n <= buf.length) return;
  const bigger = new Uint8Array(Math.max(2 * buf.length, at + n));
  bigger.set(buf.subarray(0, at));
  buf = bigger;
}
function sep() {
  room(1);
  buf[at++] = 1;
}
function raw(v) {
  if (typeof v !== "string") throw GIVE_UP;
  const n = v.length;
  room(3 * n);
  const b = buf;
  let i = at;
  for (let k = 0; k < n; k++) {
    const c = v.charCodeAt(k);
    if (c < 0x80) {
      if (c === 1) throw GIVE_UP;
      b[i++] = c;
    } else if (c < 0x800) {
      b[i++] = 0xc0 | (c >> 6);
      b[i++] = 0x80 | (c & 63);
    } else if (c < 0xd800 || c >= 0xe000) {
      b[i++] = 0xe0 | (c >> 12);
      b[i++] = 0x80 | ((c >> 6) & 63);
      b[i++] = 0x80 | (c & 63);
    } else {
      const d = v.charCodeAt(k + 1);
      if (c >= 0xdc00 || !(d >= 0xdc00 && d < 0xe000)) throw GIVE_UP;
      k++;
      const u = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
      b[i++] = 0xf0 | (u >> 18);
      b[i++] = 0x80 | ((u >> 12) & 63);
      b[i++] = 0x80 | ((u >> 6) & 63);
      b[i++] = 0x80 | (u & 63);
    }
  }
  at = i;
}
function text(v) {
  sep();
  raw(v);
}
function plain(o, n) {
  let k = 0;
  for (const _ in o) k++;
  if (k !== n) throw GIVE_UP;
}
function object(o) {
  if (typeof o !== "object" || o === null) throw GIVE_UP;
  const proto = Object.getPrototypeOf(o);
  if ((proto !== Object.prototype && proto !== null) || o.toJSON !== undefined) throw GIVE_UP;
  return o;
}
function optional(v) {
  sep();
  if (v === undefined) return 0;
  if (v === null) return 1;
  room(1);
  buf[at++] = 61;
  raw(v);
  return 1;
}
function flag(v) {
  if (v === undefined) return sep(), 0;
  if (typeof v !== "boolean") throw GIVE_UP;
  return text(v ? "1" : "0"), 1;
}
function list(v, each) {
  if (v === undefined) return text("0"), 0;
  if (!Array.isArray(v)) throw GIVE_UP;
  text("" + v.length);
  for (let i = 0; i < v.length; i++) each(v[i]);
  return 1;
}
function nested(v, each) {
  if (v === undefined || v === null) return sep(), v === null ? 1 : 0;
  text("=");
  each(v);
  return 1;
}
function whole(v) {
  if (typeof v !== "number" || !(v >= 0 && v <= 4294967295) || v % 1 !== 0) throw GIVE_UP;
  text("" + v);
}
function licence(l) {
  object(l);
  plain(l, 3);
  text(l.class);
  text(l.status);
  whole(l.points);
}
function person(p) {
  object(p);
  text(p.id);
  const n = 1 + flag(p.identityVerified);
  plain(p, n + nested(p.licence, licence));
}
function vehicle(v) {
  object(v);
  text(v.id);
  text(v.plateType);
  text(v.plateNumber);
  text(v.ownerKind);
  text(v.useNature);
  plain(v, 5 + optional(v.ownerId) + optional(v.city));
}
function binding(b) {
  object(b);
  text(b.binderId);
  text(b.vehicleId);
  text(b.createdAt);
  plain(b, 3 + optional(b.removedAt));
}
function call(c) {
  object(c);
  person(c.binder);
  vehicle(c.vehicle);
  let n = 5 + list(c.binderBindings, binding) + list(c.vehicleBindings, binding) +
    list(c.applications, text);
  text(c.method);
  text(c.channel);
  if (c.stage === undefined) sep();
  else if (typeof c.stage !== "string") throw GIVE_UP;
  else text("=" + c.stage), n++;
  n += list(c.documentsChecked, text);
  text(c.now);
  plain(c, n);
}
function violation(v) {
  object(v);
  text(v.id);
  text(v.vehicleId);
  text(v.occurredAt);
  whole(v.points);
  whole(v.fineFen);
  text(v.source);
  text(v.state);
  plain(v, 7 + optional(v.decidedAt));
}
function route(c) {
  object(c);
  person(c.person);
  vehicle(c.vehicle);
  const n = 5 + nested(c.binding, binding);
  if (c.violations === undefined) throw GIVE_UP;
  list(c.violations, violation);
  text(c.channel);
  text(c.now);
  plain(c, n);
}
export function packBindings(value, batch) {
  return pack(value, batch, call);
}
export function packRoutes(value, batch) {
  return pack(value, batch, route);
}
function pack(value, batch, each) {
  if (busy) return undefined;
  busy = true;
  at = 0;
  try {
    if (batch) list(value, each);
    else each(value);
    return buf.subarray(1, at);
  } catch (e) {
    if (e === GIVE_UP) return undefined;
    throw e;
  } finally {
    busy = false;
    if (buf.length > 16 * SMALL) buf = new Uint8Array(SMALL);
  }
}

const table = [];
export function inflateBindings(columns, fresh, policyVersion, batch) {
  if (columns[0] === 1) table.length = 0;
  if (fresh !== "") {
    for (const value of JSON.parse(fresh)) {
      if (typeof value === "object") {
        Object.freeze(value.params);
        Object.freeze(value.message);
      }
      table.push(Object.freeze(value));
    }
  }
  const answers = [];
  for (let at = 1; at < columns.length;) {
    const allowed = columns[at++] === 1;
    const reasons = new Array(columns[at++]);
    for (let j = 0; j < reasons.length; j++) reasons[j] = table[columns[at++]];
    const nextSteps = new Array(columns[at++]);
    for (let j = 0; j < nextSteps.length; j++) nextSteps[j] = table[columns[at++]];
    answers.push({ allowed, reasons, nextSteps, policyVersion });
  }
  return batch ? answers : answers[0];
}
"#)]
extern "C" {
    #[wasm_bindgen(js_name = packBindings)]
    fn pack_bindings(value: &JsValue, batch: bool) -> Option<Vec<u8>>;
    #[wasm_bindgen(js_name = packRoutes)]
    fn pack_routes(value: &JsValue, batch: bool) -> Option<Vec<u8>>;
    #[wasm_bindgen(js_name = inflateBindings)]
    fn inflate_bindings(
        columns: &[u32],
        fresh: &str,
        policy_version: &JsValue,
        batch: bool,
    ) -> JsValue;
}

/// Reads the packed parts of one call; `None` when any part is not what the JSON path would accept.
/// Holds what is left of the text, `None` once the last part has been read.
struct Parts<'a>(Option<&'a str>);

impl<'a> Parts<'a> {
    /// The next part. A plain byte loop rather than `str::split` or an iterator: parts are a few bytes
    /// long, split's search (memchr) costs more to start than it saves on them, and the module is built
    /// for size, which leaves iterator adapters as calls.
    fn next(&mut self) -> Option<&'a str> {
        let rest = self.0?;
        let bytes = rest.as_bytes();
        let mut at = 0;
        while bytes.get(at).is_some_and(|&b| b != 1) {
            at += 1;
        }
        if at == bytes.len() {
            self.0 = None;
            return Some(rest);
        }
        // U+0001 is one byte, so both sides of it are on character boundaries.
        let (part, tail) = rest.split_at_checked(at)?;
        self.0 = tail.get(1..);
        Some(part)
    }
    /// A code, read by the same parser as the JSON path's (one per type, not one serde copy each).
    fn code<T, E>(&mut self, parse: fn(&str) -> Result<T, E>) -> Option<T> {
        parse(self.next()?).ok()
    }
    fn id(&mut self) -> Option<String> {
        self.next().filter(|s| !s.is_empty()).map(str::to_owned)
    }
    /// "" absent or null, "=value" given.
    fn optional(&mut self) -> Option<Option<&'a str>> {
        let part = self.next()?;
        if part.is_empty() {
            return Some(None);
        }
        Some(Some(part.strip_prefix('=')?))
    }
    fn optional_id(&mut self) -> Option<Option<String>> {
        match self.optional()? {
            None => Some(None),
            Some("") => None,
            Some(id) => Some(Some(id.to_owned())),
        }
    }
    fn flag(&mut self) -> Option<bool> {
        match self.next()? {
            "" | "0" => Some(false),
            "1" => Some(true),
            _ => None,
        }
    }
    fn count(&mut self) -> Option<usize> {
        self.next()?.parse().ok()
    }
    fn list<T>(&mut self, mut each: impl FnMut(&mut Self) -> Option<T>) -> Option<Vec<T>> {
        let n = self.count()?;
        // Each element takes at least one part, so a count larger than the text is not trusted.
        let mut out = Vec::with_capacity(n.min(64));
        for _ in 0..n {
            out.push(each(self)?);
        }
        Some(out)
    }
    fn optional_instant(&mut self) -> Option<Option<Timestamp>> {
        match self.optional()? {
            None => Some(None),
            Some(t) => Some(Some(Timestamp::parse_rfc3339(t).ok()?)),
        }
    }
    /// An optional object: "" absent or null, else "=" and its parts, read by `each`.
    fn nested<T>(&mut self, each: impl FnOnce(&mut Self) -> Option<T>) -> Option<Option<T>> {
        match self.optional()? {
            None => Some(None),
            Some("") => Some(Some(each(self)?)),
            Some(_) => None,
        }
    }
    fn instant(&mut self) -> Option<Timestamp> {
        // Most instants are written `2026-09-01T07:00:00Z`, 20 bytes: when the separator (or the end)
        // comes right after them, they are read in place instead of being scanned for it first.
        const COMMON: usize = "2026-09-01T07:00:00Z".len();
        let rest = self.0?;
        match rest.as_bytes().get(COMMON) {
            Some(1) => {
                self.0 = rest.get(COMMON + 1..);
                Timestamp::parse_rfc3339(rest.get(..COMMON)?).ok()
            }
            None if rest.len() == COMMON => {
                self.0 = None;
                Timestamp::parse_rfc3339(rest).ok()
            }
            _ => self.code(Timestamp::parse_rfc3339),
        }
    }

    fn person(&mut self) -> Option<PersonFacts> {
        let id = self.id()?;
        let identity_verified = self.flag()?;
        let licence = self.nested(|p| {
            Some(LicenceFacts {
                class: p.code(LicenceClass::parse)?,
                status: p.code(LicenceStatus::parse)?,
                points: p.next()?.parse().ok()?,
            })
        })?;
        Some(PersonFacts {
            id,
            identity_verified,
            licence,
        })
    }
    fn vehicle(&mut self) -> Option<VehicleFacts> {
        let id = self.id()?;
        let plate_type = self.code(PlateType::parse)?;
        let plate_number = PlateNumber::parse(self.next()?, plate_type).ok()?;
        Some(VehicleFacts {
            id,
            plate_type,
            plate_number,
            owner_kind: self.code(OwnerKind::parse)?,
            use_nature: self.code(UseNature::parse)?,
            owner_id: self.optional_id()?,
            city: self.optional()?.map(str::to_owned),
        })
    }
    fn binding(&mut self) -> Option<BindingFacts> {
        Some(BindingFacts {
            binder_id: self.id()?,
            vehicle_id: self.id()?,
            created_at: self.instant()?,
            removed_at: self.optional_instant()?,
        })
    }
    fn violation(&mut self) -> Option<ViolationFacts> {
        let wire = ViolationFactsWire {
            id: self.id()?,
            vehicle_id: self.id()?,
            occurred_at: self.instant()?,
            points: Points::new(self.next()?.parse::<u32>().ok()?.into()).ok()?,
            fine_fen: Fen::new(self.next()?.parse().ok()?)?,
            source: self.code(ViolationSource::parse)?,
            state: self.code(ViolationState::parse)?,
            decided_at: self.optional_instant()?,
        };
        // The JSON path's own check (an unhandled violation with a decision date is refused there).
        ViolationFacts::try_from(wire).ok()
    }
    fn route(&mut self) -> Option<RouteCall> {
        Some(RouteCall {
            person: self.person()?,
            vehicle: self.vehicle()?,
            binding: self.nested(Self::binding)?,
            violations: self.list(Self::violation)?,
            channel: self.code(Channel::parse)?,
            now: self.instant()?,
        })
    }
    fn call(&mut self) -> Option<BindingCall> {
        Some(BindingCall {
            binder: self.person()?,
            vehicle: self.vehicle()?,
            binder_bindings: self.list(Self::binding)?,
            vehicle_bindings: self.list(Self::binding)?,
            applications: self.list(Self::instant)?,
            method: self.code(BindingMethod::parse)?,
            channel: self.code(Channel::parse)?,
            stage: match self.optional()? {
                None => Stage::default(),
                Some("precheck") => Stage::Precheck,
                Some("commit") => Stage::Commit,
                Some(_) => return None,
            },
            documents_checked: self.list(|p| p.code(Document::parse))?,
            now: self.instant()?,
        })
    }
}

/// A refusal's reasons and the next steps, for one call.
type Answer = (Vec<Refusal>, Vec<NextStep>);

/// The calls of a packed text, each read by `each`, or `None` to read them as JSON instead.
fn unpack<'a, T>(
    bytes: &'a [u8],
    batch: bool,
    mut each: impl FnMut(&mut Parts<'a>) -> Option<T>,
) -> Option<Vec<T>> {
    // Valid UTF-8 as the JS side writes it; checked all the same, in one pass.
    let mut parts = Parts(Some(std::str::from_utf8(bytes).ok()?));
    let calls = if batch {
        parts.list(&mut each)?
    } else {
        vec![each(&mut parts)?]
    };
    // Every part read: a string holding the separator would have been refused by the JS side.
    parts.next().is_none().then_some(calls)
}

/// Route calls by the packed path (the violation lists as packed fields instead of JSON text): `None`
/// when it does not apply, and the call is to be read as JSON.
pub fn routes_packed(value: &JsValue, batch: bool) -> Option<Vec<RouteCall>> {
    unpack(&pack_routes(value, batch)?, batch, Parts::route)
}

/// What the JS table holds, in the order it was sent.
#[derive(Clone, PartialEq)]
enum Shared {
    Refusal(Refusal),
    Step(NextStep),
}

#[derive(Serialize)]
#[serde(untagged)]
enum SharedJs {
    Reason(Reason),
    Step(NextStep),
}

/// Kept small: found by a linear search, and a page meets only a handful of distinct reasons.
const TABLE_LIMIT: usize = 128;

thread_local! {
    /// The values the JS table holds, index for index.
    static SENT: RefCell<Vec<Shared>> = const { RefCell::new(Vec::new()) };
}

/// The answers as columns, with the values new to the JS table.
struct Columns<'a> {
    sent: &'a mut Vec<Shared>,
    columns: Vec<u32>,
    fresh: Vec<SharedJs>,
}

impl Columns<'_> {
    /// Writes the index of `value`, sending it when new; false when the table is full.
    fn push(&mut self, value: Shared) -> bool {
        let at = match self.sent.iter().position(|s| *s == value) {
            Some(at) => at,
            None if self.sent.len() == TABLE_LIMIT => return false,
            None => {
                self.fresh.push(match &value {
                    Shared::Refusal(r) => SharedJs::Reason(Reason::of(r)),
                    Shared::Step(s) => SharedJs::Step(*s),
                });
                self.sent.push(value);
                self.sent.len() - 1
            }
        };
        self.columns.push(at as u32);
        true
    }

    fn write(&mut self, answers: &[Answer]) -> bool {
        for (refusals, steps) in answers {
            self.columns.push(u32::from(refusals.is_empty()));
            self.columns.push(refusals.len() as u32);
            for r in refusals {
                if !self.push(Shared::Refusal(r.clone())) {
                    return false;
                }
            }
            self.columns.push(steps.len() as u32);
            for s in steps {
                if !self.push(Shared::Step(*s)) {
                    return false;
                }
            }
        }
        true
    }
}

/// Answers a call (or a list of calls) by the packed path: `None` when it does not apply, and the call
/// is to be read as JSON.
pub fn check_packed(
    rules: &Rules,
    value: &JsValue,
    policy_version: &JsValue,
    batch: bool,
) -> Option<JsValue> {
    // All calls read first, then all decided: measured faster than deciding each as it is read.
    let calls = unpack(&pack_bindings(value, batch)?, batch, Parts::call)?;
    let answers: Vec<Answer> = calls
        .iter()
        .map(|c| (rules.binding_refusals(c), rules.binding_next_steps(c)))
        .collect();
    SENT.with(|sent| {
        let mut sent = sent.borrow_mut();
        let mut out = Columns {
            sent: &mut sent,
            columns: vec![0],
            fresh: Vec::new(),
        };
        if !out.write(&answers) {
            // The table is full: start it again, on both sides.
            out.sent.clear();
            out.columns = vec![1];
            out.fresh.clear();
            if !out.write(&answers) {
                // More distinct reasons in one batch than the table holds.
                out.sent.clear();
                return None;
            }
        }
        let fresh = if out.fresh.is_empty() {
            String::new()
        } else {
            serde_json::to_string(&out.fresh).ok()?
        };
        Some(inflate_bindings(
            &out.columns,
            &fresh,
            policy_version,
            batch,
        ))
    })
}
