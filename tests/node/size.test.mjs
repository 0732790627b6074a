// The package's size target (docs/benchmarks.md, "Package size"): the entry and everything it loads, each
// file gzipped on its own as a server sends it, at most 140 KB. Sizes do not depend on the machine's load,
// so unlike a speed target this one can be a test.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync, existsSync } from "node:fs";
import { gzipSync } from "node:zlib";

const root = new URL("../../", import.meta.url);
const LIMIT = 140 * 1000;

function gzipped(dir, files) {
  return files.reduce((sum, f) => sum + gzipSync(readFileSync(new URL(`${dir}/${f}`, root)), { level: 9 }).length, 0);
}

function snippets(dir) {
  const base = new URL(`${dir}/snippets/`, root);
  if (!existsSync(base)) return [];
  return readdirSync(base, { recursive: true }).filter((f) => f.endsWith(".js")).map((f) => `snippets/${f}`);
}

for (const dir of ["pkg-web", "pkg-node", "pkg-bundler"]) {
  test(`${dir}: the main module with its JS is at most 140 KB gzipped`, () => {
    const js = readdirSync(new URL(`${dir}/`, root)).filter((f) => f.endsWith(".js"));
    const size = gzipped(dir, ["renche_core_bg.wasm", ...js, ...snippets(dir)]);
    assert.ok(size <= LIMIT, `${dir}: ${size} bytes gzipped, over ${LIMIT}`);
    // The scanner is its own module; it must not have slipped back into the main one.
    assert.ok(!readFileSync(new URL(`${dir}/renche_core.d.ts`, root), "utf8").includes("qrScanRgba"));
  });
}
