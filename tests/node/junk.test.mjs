// Whatever JavaScript passes in, every export answers or throws a plain Error: never a WebAssembly trap
// (a Rust panic would surface as "RuntimeError: unreachable" and leave the module unusable).
import { test } from "node:test";
import assert from "node:assert/strict";
import { renche } from "./pkg.mjs";
import { okBinding, okRoute, unbindCall } from "./cases.mjs";

let seed = 20260901;
const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
const pick = (xs) => xs[Math.floor(random() * xs.length)];

const atoms = [
  undefined, null, true, false, 0, -1, 1.5, 2 ** 53, -(2 ** 63), NaN, Infinity, "", "02", "粤S12345", "x".repeat(1000),
  "2026-09-01T07:00:00Z", "2026-02-30T00:00:00Z", "\u0000", "\ud800", "١٢٣", [], {}, 1n,
];

function junk(depth = 0) {
  const r = random();
  if (depth > 3 || r < 0.5) return pick(atoms);
  if (r < 0.7) return Array.from({ length: Math.floor(random() * 4) }, () => junk(depth + 1));
  return Object.fromEntries(Array.from({ length: Math.floor(random() * 4) }, () => [pick(["id", "plateType", "now", "x", "violations", "binder", "__proto__"]), junk(depth + 1)]));
}

/** A valid call with one field (at any depth) replaced by junk. */
function mutate(value) {
  const copy = structuredClone(value);
  const paths = [];
  (function walk(v, path) {
    if (v && typeof v === "object") for (const k of Object.keys(v)) { paths.push([...path, k]); walk(v[k], [...path, k]); }
  })(copy, []);
  const path = pick(paths);
  let target = copy;
  for (const k of path.slice(0, -1)) target = target[k];
  target[path.at(-1)] = junk();
  return copy;
}

test("junk in, answers or Errors out, never a trap", () => {
  const rules = renche.Rules.default();
  const calls = [
    (v) => rules.checkBinding(v), (v) => rules.routeViolations(v), (v) => rules.checkUnbind(v),
    (v) => rules.checkBindingBatch([v]), (v) => rules.routeViolationsBatch([v]), (v) => renche.Rules.fromPolicy(v),
    (v) => rules.lateFee(v, v, v), (v) => renche.parsePlate(String(v), String(v)),
  ];
  const valid = [okBinding, okRoute, unbindCall, rules.policy()];
  let errors = 0;
  for (let i = 0; i < 3000; i++) {
    const input = random() < 0.5 ? junk() : mutate(pick(valid));
    const call = pick(calls);
    try {
      call(input);
    } catch (e) {
      errors++;
      assert.ok(e instanceof Error && !(e instanceof WebAssembly.RuntimeError), `${e?.stack ?? e}`);
      assert.equal(typeof e.message, "string");
    }
  }
  assert.ok(errors > 100);
  assert.equal(rules.checkBinding(okBinding).allowed, true, "still works");
});
