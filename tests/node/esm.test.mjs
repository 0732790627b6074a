// ES modules in Node: the web build with initSync / init given the .wasm bytes (Node's fetch cannot read
// file: URLs), and the nodejs build through a default import or createRequire.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { bindingCases } from "./cases.mjs";

const wasmUrl = new URL("../../pkg-web/renche_core_bg.wasm", import.meta.url);

test("web build: initSync with the bytes", async () => {
  const web = await import("../../pkg-web/renche.js");
  web.initSync({ module: readFileSync(wasmUrl) });
  const answer = web.Rules.default().checkBinding(bindingCases.largeCar.call);
  assert.equal(answer.reasons[0].code, "PLATE_TYPE_NOT_BINDABLE");
});

test("web build: await init with the bytes", async () => {
  // A fresh module instance: the query string makes Node load the file again.
  const web = await import("../../pkg-web/renche.js?async");
  await web.default({ module_or_path: await readFile(wasmUrl) });
  assert.equal(web.Rules.default().checkBinding(bindingCases.taxi.call).reasons[0].code, "USE_NATURE_NOT_BINDABLE");
});

test("nodejs build: default import of CommonJS", async () => {
  const { default: cjs } = await import("../../pkg-node/renche.js");
  assert.equal(cjs.Rules.default().checkBinding(bindingCases.unitVehicle.call).reasons[0].code, "VEHICLE_NOT_INDIVIDUAL_OWNED");
});
