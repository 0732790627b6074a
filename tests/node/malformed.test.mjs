// Input that is not a valid call throws an Error naming the field; it never panics or answers wrongly.
import { test } from "node:test";
import assert from "node:assert/strict";
import { renche } from "./pkg.mjs";
import { okBinding, okRoute, unbindCall, car, violation } from "./cases.mjs";

const rules = renche.Rules.default();

const cases = [
  ["unknown field", () => rules.checkBinding({ ...okBinding, colour: "red" }), "colour"],
  ["unknown nested field", () => rules.checkBinding({ ...okBinding, binder: { id: "u", nickname: "x" } }), "binder.nickname"],
  ["wrong type", () => rules.checkBinding({ ...okBinding, binder: { id: 7 } }), "binder.id"],
  ["missing field", () => rules.checkBinding({ ...okBinding, channel: undefined }), "channel"],
  ["bad plate type", () => rules.checkBinding({ ...okBinding, vehicle: car("v", { plateType: "77" }) }), "vehicle.plateType"],
  ["bad plate in a vehicle", () => rules.checkBinding({ ...okBinding, vehicle: car("v", { plateNumber: "粤S1234" }) }), "vehicle.plateNumber"],
  ["bad instant", () => rules.checkBinding({ ...okBinding, now: "yesterday" }), "now"],
  ["bad points", () => rules.routeViolations({ ...okRoute, violations: [violation("a"), violation("b", { points: 2 })] }), "violations[1].points"],
  ["negative fine", () => rules.routeViolations({ ...okRoute, violations: [violation("a", { fineFen: -1 })] }), "violations[0].fineFen"],
  ["fractional fine", () => rules.routeViolations({ ...okRoute, violations: [violation("a", { fineFen: 1.5 })] }), "violations[0].fineFen"],
  ["bad channel", () => rules.checkUnbind({ ...unbindCall, channel: "fax" }), "channel"],
  ["not an object", () => rules.checkBinding("hello"), ""],
  ["undefined", () => rules.checkBinding(undefined), ""],
  ["null", () => rules.routeViolations(null), ""],
  ["BigInt", () => rules.checkBinding({ ...okBinding, now: 1n }), ""],
  ["late fee argument", () => rules.lateFee(-5, 0, 0), "fineFen"],
  ["late fee instant", () => rules.lateFee(100, "soon", 0), "decidedAt"],
  ["batch element", () => rules.checkBindingBatch([okBinding, { ...okBinding, method: "pigeon" }]), "[1].method"],
  // serde_json places some errors after the enclosing object when the bad member is its last one.
  ["bad code, last member", () => rules.checkBinding(last(okBinding, "channel", "fax")), "channel"],
  ["bad code, not last", () => rules.checkBinding({ channel: "fax", ...okBinding, channel: "fax" }), "channel"],
  ["bad plate, vehicle last", () => rules.checkBinding(last(okBinding, "vehicle", car("v", { plateNumber: "粤S1" }))), "vehicle.plateNumber"],
  ["bad plate, vehicle first", () => rules.checkBinding({ vehicle: car("v", { plateNumber: "粤S1" }), ...okBinding, vehicle: car("v", { plateNumber: "粤S1" }) }), "vehicle.plateNumber"],
  ["bad amount, last member of the last element", () => rules.routeViolations(last(okRoute, "violations", [violation("a"), last(violation("b"), "fineFen", 0.5)])), "violations[1].fineFen"],
  ["bad amount, last member, more elements follow", () => rules.routeViolations({ ...okRoute, violations: [last(violation("a"), "fineFen", 0.5), violation("b")] }), "violations[0].fineFen"],
  ["bad document, last element", () => rules.checkBinding({ ...okBinding, channel: "window", method: "window", documentsChecked: ["id_card", "passport"] }), "documentsChecked[1]"],
  ["bad document, first element", () => rules.checkBinding({ ...okBinding, documentsChecked: ["passport", "id_card"], now: okBinding.now }), "documentsChecked[0]"],
  ["missing field, nested last", () => rules.routeViolations({ ...okRoute, violations: [violation("a"), { id: "b" }] }), "violations[1].vehicleId"],
  ["missing field, nested first", () => rules.routeViolations({ ...okRoute, violations: [{ id: "b" }, violation("a")] }), "violations[0].vehicleId"],
  ["bad timestamp in a list", () => rules.checkBinding({ ...okBinding, applications: ["2026-01-01T00:00:00Z", "soon", "2026-01-02T00:00:00Z"] }), "applications[1]"],
  ["bad code in the middle of a list", () => rules.checkBinding({ ...okBinding, documentsChecked: ["id_card", "passport", "driving_licence"] }), "documentsChecked[1]"],
  ["missing field in the last member object", () => rules.checkBinding(last(okBinding, "binder", {})), "binder.id"],
  ["unknown field, last", () => rules.checkUnbind(last(unbindCall, "extra", 1)), "extra"],
  // JSON writes these as null, which must not read as "no value".
  ["NaN instant", () => rules.checkBinding({ ...okBinding, now: NaN }), "now"],
  ["infinite points", () => rules.checkBinding({ ...okBinding, binder: { id: "u", licence: { class: "C1", status: "normal", points: Infinity } } }), "binder.licence.points"],
  ["NaN decidedAt (optional)", () => rules.routeViolations({ ...okRoute, violations: [violation("a"), violation("b", { state: "handled", decidedAt: NaN })] }), "violations[1].decidedAt"],
  ["NaN argument", () => rules.lateFee(NaN, 0, 0), "fineFen"],
  ["-Infinity argument", () => rules.lateFee(100, 0, -Infinity), "now"],
  ["empty binder id", () => rules.checkBinding({ ...okBinding, binder: { ...okBinding.binder, id: "" } }), "binder.id"],
  ["empty vehicle id", () => rules.checkBinding({ ...okBinding, vehicle: car("") }), "vehicle.id"],
  ["empty id of a binding", () => rules.checkBinding({ ...okBinding, binderBindings: [{ binderId: "", vehicleId: "v", createdAt: 0 }] }), "binderBindings[0].binderId"],
  ["unhandled with a decision date", () => rules.routeViolations({ ...okRoute, violations: [violation("a", { decidedAt: "2026-08-02T00:00:00Z" })] }), "violations[0].decidedAt"],
  ["points, last member of a nested object", () => rules.checkBinding(last(okBinding, "binder", { id: "u", licence: { class: "C1", status: "normal", points: -1 } })), "binder.licence.points"],
];

/** A copy of `value` with `key` set to `v` as its last member. */
function last(value, key, v) {
  const { [key]: _, ...rest } = value;
  return { ...rest, [key]: v };
}

for (const [name, call, field] of cases) {
  test(`throws naming the field: ${name}`, () => {
    assert.throws(call, (e) => {
      assert.ok(e instanceof Error, `an Error, got ${e}`);
      assert.ok(e instanceof renche.RencheInputError, `a RencheInputError, got ${e?.constructor?.name}`);
      assert.equal(e.name, "RencheInputError");
      assert.match(e.code, /^(INVALID_JSON|MISSING_FIELD|UNKNOWN_FIELD|INVALID_VALUE)$/);
      assert.equal(e.field, field, e.message);
      if (field) assert.ok(e.message.includes(`\`${field}\``), e.message);
      assert.doesNotMatch(e.message, /unreachable|panicked|RuntimeError/);
      return true;
    });
  });
}

test("input error codes: missing, unknown, bad value, and JSON text with its line and column", () => {
  const code = (f) => { try { f(); } catch (e) { return [e.code, e.line, e.column]; } return "no error"; };
  assert.deepEqual(code(() => rules.checkBinding({ ...okBinding, channel: undefined })), ["MISSING_FIELD", undefined, undefined]);
  assert.deepEqual(code(() => rules.checkBinding({ ...okBinding, colour: 1 })), ["UNKNOWN_FIELD", undefined, undefined]);
  assert.deepEqual(code(() => rules.checkBinding({ ...okBinding, now: NaN })), ["INVALID_VALUE", undefined, undefined]);
  assert.deepEqual(code(() => renche.Rules.fromPolicy('{\n  "extends": "default",\n  "version": "人车" 1}')), ["INVALID_JSON", 3, 19]);
  assert.throws(() => renche.Rules.fromPolicy("{"), /line 1, column 1/);
});

test("a null the caller meant is still no value, not a NaN", () => {
  const owned = { ...okBinding, vehicle: { ...okBinding.vehicle, ownerId: null }, binder: { ...okBinding.binder, licence: null } };
  assert.equal(rules.checkBinding(owned).allowed, rules.checkBinding(okBinding).allowed);
});

test("the module still works after every error", () => {
  assert.equal(rules.checkBinding(okBinding).allowed, true);
});

test("as-you-type parsers answer data, never throw", () => {
  const { parsePlate, parseEngineSuffix, parseResidentId, parsePhone } = renche;
  assert.deepEqual(parsePlate("02", " 粤s·１２3 45 "), { ok: true, normal: "粤S12345", display: "粤S·12345", masked: "粤S·1**45" });
  assert.equal(parsePlate("52", "粤SD12345").ok, true);
  const bad = parsePlate("02", "粤S1234");
  assert.equal(bad.ok, false);
  assert.equal(bad.error.code, "PLATE_WRONG_LENGTH");
  assert.deepEqual(bad.error.params, { plateType: "02", expected: 7, found: 6 });
  assert.ok(bad.error.message.zh && bad.error.message.en);
  assert.equal(parsePlate("77", "粤S12345").error.code, "INVALID_PLATE_TYPE");
  assert.deepEqual(parseEngineSuffix("a1b2c3"), { ok: true, normal: "A1B2C3" });
  assert.equal(parseEngineSuffix("12345").error.code, "ENGINE_SUFFIX_WRONG_LENGTH");
  assert.deepEqual(parseResidentId("11010519491231002X"), { ok: true, normal: "11010519491231002X", masked: "1101**********002X" });
  assert.equal(parseResidentId("110105194912310021").error.code, "RESIDENT_ID_WRONG_CHECK_CHARACTER");
  assert.deepEqual(parsePhone("138 0013 8000"), { ok: true, normal: "13800138000", masked: "138****8000" });
  assert.equal(parsePhone("12345").error.code, "PHONE_WRONG_LENGTH");
  assert.equal(parsePhone("").ok, false);
  assert.equal(parsePlate("02", "").error.code, "PLATE_NUMBER_EMPTY");
});
