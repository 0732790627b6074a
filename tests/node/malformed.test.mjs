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
];

for (const [name, call, field] of cases) {
  test(`throws naming the field: ${name}`, () => {
    assert.throws(call, (e) => {
      assert.ok(e instanceof Error, `an Error, got ${e}`);
      assert.equal(e.field, field, e.message);
      if (field) assert.ok(e.message.includes(`\`${field}\``), e.message);
      assert.doesNotMatch(e.message, /unreachable|panicked|RuntimeError/);
      return true;
    });
  });
}

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
