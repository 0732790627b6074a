// docs/js-api.md documents every export of the package, and nothing that is not one: each export has a
// `### \`name…\`` heading (`Rules.fromPolicy`, `rules.checkBinding`, `parsePlate`, `client.request` …).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { renche, scan } from "./pkg.mjs";

const doc = readFileSync(new URL("../../docs/js-api.md", import.meta.url), "utf8");
// The package's types: the WebAssembly core's (renche_core.d.ts) and the Client's (client.d.ts).
const dts = ["renche_core.d.ts", "client.d.ts"]
  .map((f) => readFileSync(new URL(`../../pkg-node/${f}`, import.meta.url), "utf8"))
  .join("\n");

function documented() {
  return [...doc.matchAll(/^### `(?:new )?([\w.]+)/gm)].map((m) => m[1]).sort();
}

function members(cls, instance) {
  const statics = Object.getOwnPropertyNames(cls).filter((n) => !["length", "name", "prototype"].includes(n) && !n.startsWith("__"));
  const methods = Object.getOwnPropertyNames(cls.prototype).filter((n) => n !== "constructor" && !n.startsWith("__"));
  return [...statics.map((n) => `${cls.name}.${n}`), ...methods.map((n) => `${instance}.${n}`)];
}

async function exported() {
  const names = [];
  for (const [name, value] of Object.entries(renche)) {
    if (typeof value !== "function") continue;
    const isClass = /^class\b/.test(Function.prototype.toString.call(value));
    if (isClass) {
      names.push(...members(value, name[0].toLowerCase() + name.slice(1)));
      // A class with a public constructor is documented as `new Name(…)`.
      if (!new RegExp(`export class ${name} \\{\\s*private constructor\\(\\)`).test(dts)) names.push(name);
    } else {
      names.push(name);
    }
  }
  // The scanner module's functions (scan/renche_scan.js) are documented with the others.
  for (const [name, value] of Object.entries(scan)) if (typeof value === "function") names.push(name);
  // The web build adds its loaders.
  const web = await import("../../pkg-web/renche.js");
  names.push("init", "initSync");
  for (const name of Object.keys(web)) {
    if (name !== "default" && name !== "initSync") assert.ok(name in renche, `${name} only in the web build`);
  }
  return [...new Set(names)].sort();
}

test("every export has a heading in docs/js-api.md, and every heading names an export", async () => {
  const exports = await exported();
  const headings = documented();
  assert.deepEqual(exports.filter((n) => !headings.includes(n)), [], "exports without a heading");
  assert.deepEqual(headings.filter((n) => !exports.includes(n)), [], "headings that are not exports");
});
