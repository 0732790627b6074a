// Times the WebAssembly decisions in Node: one checkBinding per call, and routeViolations with many
// violations in one call. Build first (scripts/build-pkg.sh), then:
//
//   node benches/decisions.mjs [--violations 10000] [--rounds 20]
//
// Prints µs per decision. Needs no npm packages. PKG=/path/to/renche.js times another nodejs build.
import { createRequire } from "node:module";
import { parseArgs } from "node:util";

const require = createRequire(import.meta.url);
const { Rules } = require(process.env.PKG ?? "../pkg-node/renche.js");

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

const bindingCall = {
  binder, vehicle, method: "sms", channel: "app", now: "2026-09-01T07:00:00Z",
  binderBindings: [bound(2), bound(3)],
  vehicleBindings: [{ binderId: "user-9", vehicleId: "veh-1", createdAt: "2026-08-01T02:00:00Z" }],
};

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
  console.log(`${label.padEnd(36)} ${us.toFixed(2).padStart(8)} µs per decision (median of ${rounds} rounds, min ${samples[0].toFixed(2)})`);
  return us;
}

function cpu() {
  const u = process.cpuUsage();
  return u.user + u.system;
}

const check = (call) => rules.checkBinding(call);
const route = (call) => rules.routeViolations(call);

const answer = route(routeCall);
if (answer.routes.length !== N) throw new Error("wrong number of routes");
console.log(`node ${process.version}, ${N} violations per route call, policy ${rules.policyVersion}`);
time("checkBinding (one per call)", 1, () => check(bindingCall));
time(`routeViolations (${N} per call)`, N, () => route(routeCall));
time("routeViolations (1 per call)", 1, () => route({ ...routeCall, violations: violations.slice(0, 1) }));
