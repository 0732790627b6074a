// Times the WebAssembly decisions in Node, and Cedar-wasm on the same binding rule, in one run:
// checkBinding one per call and batched, Cedar's statefulIsAuthorized, the ratios, then routeViolations
// with many violations in one call. Build first (scripts/build-pkg.sh), then:
//
//   cd benches && npm ci && cd .. && node benches/decisions.mjs [--violations 10000] [--rounds 20]
//
// Prints µs per decision. PKG=/path/to/renche.js times another nodejs build.
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { parseArgs } from "node:util";

const require = createRequire(import.meta.url);
const { Rules } = require(process.env.PKG ?? "../pkg-node/renche.js");
const cedar = require("@cedar-policy/cedar-wasm/nodejs");

const { values } = parseArgs({
  options: {
    violations: { type: "string", default: "10000" },
    rounds: { type: "string", default: "20" },
  },
});
const N = Number(values.violations);
const ROUNDS = Number(values.rounds);
const rules = Rules.default();

const vehicle = {
  id: "veh-1", plateType: "02", plateNumber: "粤S12345", ownerKind: "individual", useNature: "A", ownerId: "owner-1",
};
const binder = { id: "user-1", identityVerified: true, licence: { class: "C1", status: "normal", points: 0 } };
const bound = (i) => ({ binderId: "user-1", vehicleId: `veh-${i}`, createdAt: "2026-08-01T02:00:00Z" });

// Two binding calls: allowed, and refused for two reasons (a fourth vehicle, at the commit, unverified).
const bindingCalls = {
  allowed: {
    binder, vehicle, method: "sms", channel: "app", now: "2026-09-01T07:00:00Z",
    binderBindings: [bound(2), bound(3)],
    vehicleBindings: [{ binderId: "user-9", vehicleId: "veh-1", createdAt: "2026-08-01T02:00:00Z" }],
  },
  refused: {
    binder: { ...binder, identityVerified: false }, vehicle, method: "sms", channel: "app", stage: "commit",
    now: "2026-09-01T07:00:00Z", binderBindings: [bound(2), bound(3), bound(4)],
    vehicleBindings: [{ binderId: "user-9", vehicleId: "veh-1", createdAt: "2026-08-01T02:00:00Z" }],
  },
};

// The same rule in Cedar (the default policy's knobs written in): one permit, and one forbid per reason,
// named by its code, so that Cedar's diagnostics list every failing rule as our reasons do. Cedar is
// given the counts of active bindings ready-made, which only helps it.
const cedarPolicies = {
  permit: `permit(principal, action == Action::"bind", resource);`,
  BINDING_CHANNEL_NOT_SUPPORTED: `forbid(principal, action, resource) when { !(["app", "window"].contains(context.channel)) };`,
  BINDING_METHOD_NOT_ON_CHANNEL: `forbid(principal, action, resource) when { (context.method == "window") != (context.channel == "window") };`,
  VEHICLE_IS_YOUR_OWN: `forbid(principal, action, resource) when { resource.owner == principal };`,
  VEHICLE_NOT_INDIVIDUAL_OWNED: `forbid(principal, action, resource) when { resource.ownerKind != "individual" };`,
  PLATE_TYPE_NOT_BINDABLE: `forbid(principal, action, resource) when { !(["02", "52"].contains(resource.plateType)) };`,
  USE_NATURE_NOT_BINDABLE: `forbid(principal, action, resource) when { resource.useNature != "A" };`,
  ALREADY_BOUND: `forbid(principal, action, resource) when { principal.bound.contains(resource) };`,
  USER_BINDING_LIMIT_REACHED: `forbid(principal, action, resource) when { !principal.bound.contains(resource) && principal.boundCount >= 3 };`,
  VEHICLE_BINDER_LIMIT_REACHED: `forbid(principal, action, resource) when { !principal.bound.contains(resource) && resource.binderCount >= 3 };`,
  WINDOW_DOCUMENTS_NOT_CHECKED: `forbid(principal, action, resource) when { context.method == "window" && !context.documentsChecked.containsAll(["driving_licence", "id_card", "vehicle_licence"]) };`,
  REAL_PERSON_VERIFICATION_REQUIRED: `forbid(principal, action, resource) when { context.stage == "commit" && context.method != "window" && !principal.identityVerified };`,
};
const parsed = cedar.preparsePolicySet("binding", { staticPolicies: cedarPolicies });
assert.equal(parsed.type, "success", JSON.stringify(parsed));

/** The Cedar request for a binding call: the same facts, as entities and context. */
function cedarCall(call) {
  const user = { type: "User", id: call.binder.id };
  const car = { type: "Vehicle", id: call.vehicle.id };
  const mine = call.binderBindings.filter((b) => b.binderId === call.binder.id && !b.removedAt);
  const theirs = call.vehicleBindings.filter((b) => b.vehicleId === call.vehicle.id && !b.removedAt);
  return {
    principal: user, action: { type: "Action", id: "bind" }, resource: car,
    context: { method: call.method, channel: call.channel, stage: call.stage ?? "precheck", documentsChecked: call.documentsChecked ?? [] },
    preparsedPolicySetId: "binding",
    entities: [
      { uid: user, parents: [], attrs: {
        identityVerified: call.binder.identityVerified ?? false, boundCount: mine.length,
        bound: mine.map((b) => ({ __entity: { type: "Vehicle", id: b.vehicleId } })),
      } },
      { uid: car, parents: [], attrs: {
        owner: { __entity: { type: "User", id: call.vehicle.ownerId ?? "" } }, ownerKind: call.vehicle.ownerKind,
        plateType: call.vehicle.plateType, useNature: call.vehicle.useNature, binderCount: theirs.length,
      } },
    ],
  };
}
const cedarDecide = (request) => cedar.statefulIsAuthorized(request);

// Both must say the same thing before their times mean anything.
for (const [name, call] of Object.entries(bindingCalls)) {
  const ours = rules.checkBinding(call);
  const theirs = cedarDecide(cedarCall(call));
  assert.equal(theirs.type, "success", JSON.stringify(theirs));
  assert.equal(theirs.response.decision === "allow", ours.allowed, name);
  const forbids = theirs.response.diagnostics.reason.filter((id) => id !== "permit").sort();
  assert.deepEqual(forbids, ours.reasons.map((r) => r.code).sort(), name);
}

// A realistic mix: most online, some before the binding, some over 200 yuan, some unscored, some paid.
const violations = Array.from({ length: N }, (_, i) => ({
  id: `v${i}`, vehicleId: "veh-1",
  occurredAt: i % 10 === 0 ? "2026-07-15T03:00:00Z" : "2026-08-20T03:00:00Z",
  points: [3, 6, 1, 0, 3][i % 5], fineFen: i % 7 === 0 ? 50_000 : 20_000, source: "device",
  state: i % 13 === 0 ? "paid" : "unhandled",
}));
const routeCall = {
  person: binder, vehicle, channel: "app", now: "2026-09-01T07:00:00Z",
  binding: { binderId: "user-1", vehicleId: "veh-1", createdAt: "2026-08-01T02:00:00Z" }, violations,
};

// The machine is shared, so wall time is noisy: count this thread's CPU time (process.cpuUsage) over
// rounds of calls and report the median round.
function time(label, decisionsPerCall, fn, rounds = ROUNDS) {
  for (let i = 0; i < 3; i++) fn(); // warm up the JIT and the allocator
  let perCall = 1;
  for (let t = cpu(); cpu() - t < 20_000; perCall *= 2) for (let i = 0; i < perCall; i++) fn();
  const samples = [];
  for (let r = 0; r < rounds; r++) {
    const t = cpu();
    for (let i = 0; i < perCall; i++) fn();
    samples.push((cpu() - t) / (perCall * decisionsPerCall));
  }
  samples.sort((a, b) => a - b);
  const us = samples[Math.floor(samples.length / 2)];
  console.log(`${label.padEnd(44)} ${us.toFixed(2).padStart(8)} µs per decision (median of ${rounds} rounds, min ${samples[0].toFixed(2)})`);
  return us;
}

function cpu() {
  const u = process.cpuUsage();
  return u.user + u.system;
}

const answer = rules.routeViolations(routeCall);
if (answer.routes.length !== N) throw new Error("wrong number of routes");
console.log(`node ${process.version}, Cedar ${cedar.getCedarVersion()}, ${N} violations per route call, policy ${rules.policyVersion}`);
const BATCH = 1000;
const ratios = [];
for (const [name, call] of Object.entries(bindingCalls)) {
  const request = cedarCall(call);
  const batch = Array.from({ length: BATCH }, () => call);
  const theirs = time(`cedar statefulIsAuthorized, ${name}`, 1, () => cedarDecide(request));
  const one = time(`checkBinding, ${name} (one per call)`, 1, () => rules.checkBinding(call));
  const batched = time(`checkBindingBatch, ${name} (${BATCH} per call)`, BATCH, () => rules.checkBindingBatch(batch));
  ratios.push(`${name}: ${(theirs / one).toFixed(1)}× Cedar one per call, ${(theirs / batched).toFixed(1)}× batched`);
}
for (const line of ratios) console.log(line);
time(`routeViolations (${N} per call)`, N, () => rules.routeViolations(routeCall));
time("routeViolations (1 per call)", 1, () => rules.routeViolations({ ...routeCall, violations: violations.slice(0, 1) }));
