// The scoring cycle through the WebAssembly package: the page counts points as the server does.
import { test } from "node:test";
import assert from "node:assert/strict";
import { renche } from "./pkg.mjs";

const { scoringCycle } = renche;

test("a cycle that has ended starts again at zero", () => {
  const start = "2025-03-01T00:00:00+08:00";
  assert.deepEqual(scoringCycle(9, start, "2026-02-28T23:59:59+08:00"), { points: 9, cycleStart: "2025-03-01" });
  assert.deepEqual(scoringCycle(9, start, "2026-03-01T00:00:00+08:00"), { points: 0, cycleStart: "2026-03-01" });
  assert.deepEqual(scoringCycle(12, start, "2028-05-01T00:00:00+08:00"), { points: 0, cycleStart: "2028-03-01" });
});

test("29 February starts the next cycle on the 28th", () => {
  assert.equal(scoringCycle(6, "2024-02-29T00:00:00+08:00", "2025-02-28T12:00:00+08:00").points, 0);
  assert.equal(scoringCycle(6, "2024-02-29T00:00:00+08:00", "2025-02-27T12:00:00+08:00").points, 6);
});

test("no cycle start on record keeps the points", () => {
  assert.deepEqual(scoringCycle(3, null, Date.UTC(2030, 0, 1)), { points: 3, cycleStart: null });
});

test("bad arguments name the argument", () => {
  assert.throws(() => scoringCycle(-1, null, 0), /points/);
  assert.throws(() => scoringCycle(3, "soon", 0), /cycleStart/);
  assert.throws(() => scoringCycle(3, null, "later"), /now/);
});
