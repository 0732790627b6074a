// The nodejs build loads with require() from CommonJS and needs no init.
const { test } = require("node:test");
const assert = require("node:assert/strict");
const { Rules, parsePlate } = require("../../pkg-node/renche.js");

test("require('renche') (nodejs build) answers the 4th-binding case", () => {
  const rules = Rules.default();
  const bound = (v) => ({ binderId: "u1", vehicleId: v, createdAt: "2026-08-01T00:00:00Z" });
  const answer = rules.checkBinding({
    binder: { id: "u1" },
    vehicle: { id: "v9", plateType: "02", plateNumber: "京A8B2C9", ownerKind: "individual", useNature: "A" },
    binderBindings: [bound("v1"), bound("v2"), bound("v3")],
    method: "sms", channel: "app", now: "2026-09-01T00:00:00Z",
  });
  assert.equal(answer.allowed, false);
  assert.deepEqual(answer.reasons.map((r) => [r.code, r.params]), [["USER_BINDING_LIMIT_REACHED", { limit: 3, current: 3 }]]);
  assert.equal(parsePlate("02", "京a8b2c9").display, "京A·8B2C9");
});
