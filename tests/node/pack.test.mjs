// Each package, as `npm pack` would publish it, holds every file its entry loads: an entry that imports a
// file the package leaves out works here and breaks for everyone who installs it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = new URL("../../", import.meta.url);

/** The relative imports of a JS file (import/export … from "./x", require("./x")). */
function importsOf(text) {
  return [...text.matchAll(/(?:from\s*|require\(|import\()\s*["'](\.\/[^"']+)["']/g)].map((m) => m[1].slice(2));
}

for (const dir of ["pkg-node", "pkg-web", "pkg-bundler"]) {
  test(`${dir}: npm pack holds everything its entry loads`, () => {
    const cwd = fileURLToPath(new URL(dir, root));
    const [packed] = JSON.parse(execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd, encoding: "utf8" }));
    const files = new Set(packed.files.map((f) => f.path));
    const pkg = JSON.parse(readFileSync(new URL(`${dir}/package.json`, root), "utf8"));
    for (const entry of [pkg.main, pkg.module, pkg.types].filter(Boolean)) assert.ok(files.has(entry), `${entry} is packed`);
    // Follow the entry's imports through the package.
    const queue = [pkg.main];
    const seen = new Set();
    while (queue.length > 0) {
      const file = queue.pop();
      if (seen.has(file)) continue;
      seen.add(file);
      assert.ok(files.has(file), `${file} (loaded by the entry) is packed`);
      if (file.endsWith(".js")) queue.push(...importsOf(readFileSync(new URL(`${dir}/${file}`, root), "utf8")));
    }
    assert.ok(files.has("renche_core_bg.wasm"), "the WebAssembly is packed");
    assert.ok(files.has("scan/renche_scan.js") && files.has("scan/renche_scan_bg.wasm"), "the scanner module is packed");
  });
}

test("pkg (the one package): every target of its exports map is packed, and nothing points nowhere", () => {
  const cwd = fileURLToPath(new URL("pkg", root));
  const [packed] = JSON.parse(execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd, encoding: "utf8" }));
  const files = new Set(packed.files.map((f) => f.path));
  const pkg = JSON.parse(readFileSync(new URL("pkg/package.json", root), "utf8"));
  const targets = (v) => (typeof v === "string" ? [v] : Object.values(v).flatMap(targets));
  const all = [pkg.main, pkg.types, ...targets(pkg.exports)].map((t) => t.replace(/^\.\//, ""));
  for (const t of all) assert.ok(files.has(t), `${t} is packed`);
  for (const condition of ["node", "module", "browser", "default"]) {
    assert.ok(pkg.exports["."][condition] && pkg.exports["./scan"][condition], condition);
  }
  assert.equal(pkg.name, "renche");
  for (const field of ["repository", "homepage", "bugs"]) assert.equal(pkg[field], undefined, `${field} points nowhere`);
  assert.ok(!JSON.stringify(pkg).includes("example.invalid"));
});
