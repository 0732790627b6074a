// The article's cases through the WebAssembly package (nodejs build): refusals come back as data.
import { test } from "node:test";
import assert from "node:assert/strict";
import { renche } from "./pkg.mjs";
import { bindingCases, routeCases, okBinding, okRoute, routeCall, violation, unbindCall, NOW } from "./cases.mjs";

const { Rules, reasonCatalogue, plateTypes, relationships, documents } = renche;
const rules = Rules.default();

for (const [name, { call, code, params }] of Object.entries(bindingCases)) {
  test(`binding refused: ${name} → ${code}`, () => {
    const answer = rules.checkBinding(call);
    assert.equal(answer.allowed, false);
    const reason = answer.reasons.find((r) => r.code === code);
    assert.ok(reason, `${code} in ${JSON.stringify(answer.reasons.map((r) => r.code))}`);
    assert.deepEqual(reason.params, params);
    assert.ok(reason.message.zh.length > 0 && reason.message.en.length > 0);
    assert.equal(answer.policyVersion, rules.policyVersion);
  });
}

test("binding answers are the same by the packed path and by JSON, one call or many", () => {
  // An object whose prototype is not Object's is not of the plain shape: it takes the JSON path.
  const viaJson = (value) => Object.assign(Object.create({ kind: "call" }), value);
  const calls = [okBinding, ...Object.values(bindingCases).map((c) => c.call),
    { ...okBinding, binder: { id: "u9" }, stage: "precheck" }, { ...okBinding, stage: "commit", binder: { id: "u9" } },
    { ...okBinding, applications: ["2026-09-01T01:00:00Z"], documentsChecked: ["id_card"],
      vehicle: { ...okBinding.vehicle, city: "441900", ownerId: null } }];
  for (const call of calls) {
    assert.deepEqual(rules.checkBinding(call), rules.checkBinding(viaJson(call)), JSON.stringify(call));
  }
  assert.deepEqual(rules.checkBindingBatch(calls), calls.map((c) => rules.checkBinding(viaJson(c))));
  // A getter that checks another binding while the first is being packed gets its own answer, and
  // leaves the first one whole.
  let inner;
  const reentrant = { ...okBinding, binder: { ...okBinding.binder, get id() {
    inner = rules.checkBindingBatch([bindingCases.fourthBinding.call]);
    return okBinding.binder.id;
  } } };
  assert.deepEqual(rules.checkBinding(reentrant), rules.checkBinding(okBinding));
  assert.deepEqual(inner, [rules.checkBinding(bindingCases.fourthBinding.call)]);
  // A lone surrogate is refused naming its field by both paths, where a real U+FFFD and a full-width
  // character are taken by both. The embassy plate type keeps any non-ASCII character.
  const outcome = (call) => {
    try {
      return rules.checkBinding(call);
    } catch (e) {
      return { threw: e.message, field: e.field };
    }
  };
  for (const odd of ["\ud800", "\udc00x", "\ufffd", "Ａ"]) {
    const embassy = { ...okBinding.vehicle, plateType: "03", plateNumber: `使${odd}1234` };
    for (const call of [{ ...okBinding, binder: { ...okBinding.binder, id: `u${odd}` } },
      { ...okBinding, vehicle: { ...okBinding.vehicle, id: odd, ownerId: `o${odd}`, city: odd } },
      { ...okBinding, vehicle: embassy },
      { ...okBinding, binderBindings: [{ binderId: odd, vehicleId: "veh-2", createdAt: "2026-08-01T00:00:00Z" }] }]) {
      const packed = outcome(call);
      assert.deepEqual(packed, outcome(viaJson(call)), JSON.stringify(call));
      assert.equal("threw" in packed, /[\ud800-\udfff]/.test(odd), JSON.stringify(call));
    }
  }
  // Reasons are shared between answers, and frozen so that one answer cannot change another.
  const [a, b] = rules.checkBindingBatch([bindingCases.fourthBinding.call, bindingCases.fourthBinding.call]);
  assert.equal(a.reasons[0], b.reasons[0]);
  assert.ok(Object.isFrozen(a.reasons[0]) && Object.isFrozen(a.reasons[0].message));
  // Many distinct reasons (each limit a new message) start the shared table again without mixing them up.
  for (let n = 0; n < 300; n++) {
    const [limit, current] = [1 + (n % 90), 1 + (n % 90) + (n % 7)];
    const limited = Rules.fromPolicy({ extends: "default", version: `p${n}`, maxBindingsPerUser: limit });
    const bound = Array.from({ length: current }, (_, i) => ({ binderId: okBinding.binder.id, vehicleId: `x${i}`, createdAt: "2026-08-01T00:00:00Z" }));
    const answer = limited.checkBinding({ ...okBinding, binderBindings: bound });
    const [reason] = answer.reasons;
    assert.deepEqual([reason.code, reason.params, answer.policyVersion], ["USER_BINDING_LIMIT_REACHED", { limit, current }, `p${n}`]);
  }
});

test("route answers are the same by the packed path and by JSON, one call or many", () => {
  const viaJson = (value) => Object.assign(Object.create({ kind: "call" }), value);
  const outcome = (f) => {
    try {
      return f();
    } catch (e) {
      return { threw: e.message, field: e.field, code: e.code };
    }
  };
  const mixed = Array.from({ length: 40 }, (_, i) => violation(`v${i}`, {
    occurredAt: i % 10 === 0 ? "2026-07-15T03:00:00Z" : "2026-08-20T03:00:00.250+08:00",
    points: [3, 6, 1, 0, 12, 9][i % 6], fineFen: i % 7 === 0 ? 50_000 : 20_000 + i, source: i % 5 === 0 ? "on_site" : "device",
    ...(i % 4 === 1 ? { state: "handled", decidedAt: "2026-06-01T00:00:00Z" } : i % 4 === 2 ? { state: "paid" } : {}),
  }));
  const calls = [okRoute, ...Object.values(routeCases).map((c) => c.call), routeCall(mixed),
    routeCall(mixed, { binding: undefined, person: { id: "user-2", licence: null } }),
    routeCall(mixed, { vehicle: { ...okRoute.vehicle, ownerId: "user-1" }, channel: "window" }),
    routeCall([], { binding: { ...okRoute.binding, removedAt: "2026-08-25T00:00:00Z" } })];
  for (const call of calls) {
    assert.deepEqual(rules.routeViolations(call), rules.routeViolations(viaJson(call)), JSON.stringify(call).slice(0, 200));
  }
  assert.deepEqual(rules.routeViolationsBatch(calls), calls.map((c) => rules.routeViolations(viaJson(c))));
  // What the JSON path refuses, naming the field, is refused the same way whichever path a call starts on.
  const bad = [
    routeCall([violation("v1", { decidedAt: "2026-08-21T00:00:00Z" })]),
    routeCall([violation("v1", { points: 2 })]), routeCall([violation("v1", { points: NaN })]),
    routeCall([violation("v1", { fineFen: 1.5 })]), routeCall([violation("v1", { fineFen: 2e9 })]),
    routeCall([violation("v1", { id: "" })]), routeCall([violation("v1", { state: "lost" })]),
    routeCall([violation("v1", { occurredAt: "2026-02-30T00:00:00Z" })]), routeCall([violation("v1", { id: "a\ud800" })]),
    routeCall([violation("v1")], { violations: undefined }), routeCall([violation("v1", { extra: 1 })]),
  ];
  for (const call of bad) {
    const packed = outcome(() => rules.routeViolations(call));
    assert.ok("threw" in packed, JSON.stringify(call).slice(0, 200));
    assert.deepEqual(packed, outcome(() => rules.routeViolations(viaJson(call))), JSON.stringify(call).slice(0, 200));
  }
});

test("a plain binding is allowed and answers are plain objects", () => {
  const answer = rules.checkBinding(okBinding);
  assert.deepEqual(answer, { allowed: true, reasons: [], nextSteps: [], policyVersion: rules.policyVersion });
  assert.equal(Object.getPrototypeOf(answer), Object.prototype);
});

test("the 4th binding gives the article's message in both languages", () => {
  const [reason] = rules.checkBinding(bindingCases.fourthBinding.call).reasons;
  assert.equal(reason.code, "USER_BINDING_LIMIT_REACHED");
  assert.match(reason.message.zh, /3/);
  assert.match(reason.message.en, /at most 3/);
});

test("every failing rule is listed, not the first only", () => {
  const call = { ...bindingCases.taxi.call, vehicle: { ...bindingCases.taxi.call.vehicle, plateType: "01", plateNumber: "粤S12345" } };
  const codes = rules.checkBinding(call).reasons.map((r) => r.code);
  assert.deepEqual(codes.sort(), ["PLATE_TYPE_NOT_BINDABLE", "USE_NATURE_NOT_BINDABLE"]);
});

for (const [name, { call, code }] of Object.entries(routeCases)) {
  test(`violation goes to the window: ${name} → ${code}`, () => {
    const [route] = rules.routeViolations(call).routes;
    assert.equal(route.route, "window");
    assert.ok(route.reasons.some((r) => r.code === code), JSON.stringify(route.reasons));
    assert.ok(route.documents.includes("driving_licence"));
  });
}

test("a bound driver handles a scored camera violation ≤ 200 yuan online", () => {
  const { routes, policyVersion } = rules.routeViolations(okRoute);
  assert.equal(policyVersion, rules.policyVersion);
  assert.deepEqual(routes[0], {
    violationId: "v1", route: "online", reasons: [], documents: [], points: 3, fineFen: 20000, lateFeeFen: 0,
    owedFen: 20000, dueDate: null,
  });
});

test("binding day is the China Standard Time calendar day, whatever the zone", () => {
  // Bound at 2026-08-31 16:30 UTC = 2026-09-01 00:30 in Beijing: the violation at 2026-08-31 16:10 UTC
  // (00:10 Beijing, same CST day) counts; one at 15:50 UTC (23:50 the day before) does not.
  const binding = { binderId: "user-1", vehicleId: "veh-1", createdAt: "2026-08-31T16:30:00Z" };
  const { routes } = rules.routeViolations(routeCall(
    [violation("same-day", { occurredAt: "2026-08-31T16:10:00Z" }), violation("day-before", { occurredAt: "2026-08-31T15:50:00Z" })],
    { binding },
  ));
  assert.equal(routes[0].route, "online");
  assert.equal(routes[1].route, "window");
  assert.deepEqual(routes[1].reasons[0].params, { effective: "2026-09-01" });
});

test("10,000 violations in one call", () => {
  const violations = Array.from({ length: 10_000 }, (_, i) => violation(`v${i}`, { points: i % 2 ? 3 : 0 }));
  const { routes } = rules.routeViolations(routeCall(violations));
  assert.equal(routes.length, 10_000);
  assert.equal(routes[9_999].violationId, "v9999");
  assert.equal(routes.filter((r) => r.route === "online").length, 5_000);
});

test("batch forms answer in order", () => {
  const answers = rules.checkBindingBatch([okBinding, bindingCases.taxi.call]);
  assert.deepEqual(answers.map((a) => a.allowed), [true, false]);
  const routes = rules.routeViolationsBatch([okRoute, routeCases.unbound.call]);
  assert.deepEqual(routes.map((a) => a.routes[0].route), ["online", "window"]);
});

test("unbinding", () => {
  assert.deepEqual(rules.checkUnbind(unbindCall), { allowed: true, role: "binder", reasons: [], policyVersion: rules.policyVersion });
  const other = rules.checkUnbind({ ...unbindCall, actorId: "stranger" });
  assert.equal(other.allowed, false);
  assert.equal(other.reasons[0].code, "NOT_ALLOWED_TO_REMOVE_BINDING");
});

test("late fee: 3% a day after 15 days, capped at the fine", () => {
  assert.equal(rules.lateFee(20_000, "2026-09-01T02:00:00Z", "2026-09-16T02:00:00Z"), 0);
  assert.equal(rules.lateFee(20_000, "2026-09-01T02:00:00Z", "2026-09-17T02:00:00Z"), 600);
  assert.equal(rules.lateFee(20_000, Date.parse("2026-01-01T00:00:00Z"), NOW), 20_000);
});

test("the reason catalogue has every refusal in both languages", () => {
  const catalogue = reasonCatalogue();
  assert.equal(catalogue.length, 30);
  assert.equal(new Set(catalogue.map((r) => r.code)).size, catalogue.length);
  for (const r of catalogue) {
    assert.match(r.code, /^[A-Z_]+$/);
    assert.ok(/[\u4e00-\u9fff]/.test(r.message.zh), `${r.code} zh`);
    assert.ok(/^[\x20-\x7e¥]+$/.test(r.message.en), `${r.code} en: ${r.message.en}`);
  }
  for (const code of Object.values(bindingCases).map((c) => c.code).concat(Object.values(routeCases).map((c) => c.code))) {
    assert.ok(catalogue.some((r) => r.code === code), code);
  }
});

test("plate types: the whole GA 24.7 table", () => {
  const table = plateTypes();
  assert.equal(table.length, 35);
  assert.deepEqual(table.find((t) => t.code === "52"), { code: "52", zh: "小型新能源汽车", en: "Small new-energy car" });
});

test("relationships and documents: the core's tables with both names", () => {
  assert.deepEqual(relationships().map((r) => r.code),
    ["parent", "spouse", "child", "sibling", "relative", "friend", "colleague", "other"]);
  assert.deepEqual(relationships().find((r) => r.code === "relative"), { code: "relative", zh: "其他亲属", en: "Other relative" });
  assert.deepEqual(documents(), [
    { code: "driving_licence", zh: "驾驶证原件", en: "Driving licence (original)" },
    { code: "id_card", zh: "身份证原件", en: "Resident ID card (original)" },
    { code: "vehicle_licence", zh: "机动车行驶证原件", en: "Vehicle licence (original)" },
  ]);
  for (const entry of [...relationships(), ...documents()]) {
    assert.ok(/[\u4e00-\u9fff]/.test(entry.zh), `${entry.code} zh`);
    assert.match(entry.en, /^[A-Z][\x20-\x7e]+$/, `${entry.code} en`);
  }
  // A window route names the originals to bring with the same codes.
  const windowRoutes = Object.values(routeCases).flatMap(({ call }) => rules.routeViolations(call).routes);
  const named = new Set(documents().map((d) => d.code));
  assert.ok(windowRoutes.length > 0);
  for (const r of windowRoutes) for (const d of r.documents) assert.ok(named.has(d), d);
});

test("policies: fromPolicy takes text or an object, and names a bad field", () => {
  const strict = Rules.fromPolicy({ extends: "default", version: "t-1", maxBindingsPerUser: 2 });
  assert.equal(strict.policyVersion, "t-1");
  assert.equal(strict.policy().maxBindingsPerUser, 2);
  const answer = strict.checkBinding({ ...okBinding, binderBindings: bindingCases.fourthBinding.call.binderBindings.slice(0, 2) });
  assert.deepEqual(answer.reasons[0].params, { limit: 2, current: 2 });
  assert.equal(Rules.fromPolicy(JSON.stringify(rules.policy())).policyVersion, rules.policyVersion);
  assert.throws(() => Rules.fromPolicy({ extends: "default", lateFee: { dueDays: "x" } }),
    (e) => e instanceof Error && e.field === "lateFee.dueDays" && e.message.includes("lateFee.dueDays"));
  assert.throws(() => Rules.fromPolicy("{"), (e) => e instanceof Error && /JSON/.test(e.message));
  assert.throws(() => Rules.fromPolicy({ extends: "default", pointsCeiling: 0 }), (e) => e.field === "pointsCeiling");
});

test("the same answers whatever the process time zone", async () => {
  const { execFileSync } = await import("node:child_process");
  const script = `
    const { Rules } = require(${JSON.stringify(new URL("../../pkg-node/renche.js", import.meta.url).pathname)});
    const call = ${JSON.stringify(routeCall(
      [violation("a", { occurredAt: "2026-08-31T16:10:00Z" }), violation("b", { occurredAt: "2026-08-31T15:50:00Z" })],
      { binding: { binderId: "user-1", vehicleId: "veh-1", createdAt: "2026-08-31T16:30:00Z" } },
    ))};
    const rules = Rules.default();
    process.stdout.write(JSON.stringify([rules.routeViolations(call), rules.lateFee(10000, "2026-09-01T15:59:00Z", "2026-09-17T16:01:00Z")]));`;
  const run = (TZ) => execFileSync(process.execPath, ["-e", script], { env: { ...process.env, TZ }, encoding: "utf8" });
  const answers = ["Asia/Shanghai", "America/Los_Angeles", "UTC", "Pacific/Kiritimati"].map(run);
  for (const a of answers) assert.equal(a, answers[0]);
  const [route, fee] = JSON.parse(answers[0]);
  assert.deepEqual(route.routes.map((r) => r.route), ["online", "window"]);
  // Decided on 1 Sept (CST, 23:59), now 18 Sept 00:01 CST: 17 days, 2 late → 6% of ¥100.
  assert.equal(fee, 600);
});
