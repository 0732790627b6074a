// The npm package `renche` as it is published: one package holding the three builds (node/, web/,
// bundler/, copied from pkg-node/, pkg-web/ and pkg-bundler/), whose `exports` map picks the build by
// condition, and its `npm pack` tarball in test-output/. Run by scripts/build-pkg.sh after the builds.
//
// Conditions, first match wins: `node` (require and import, no init: the CommonJS build, whose names
// Node's ES-module import finds), `module` (bundlers: Vite, webpack and esbuild set it; the build that
// imports its .wasm), `browser` (import maps and CDNs in a page without a bundler: call `init` first),
// and `default` (any other bundler). `renche/scan` is the QR scanner, the package's second module.
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const out = path.join(root, "pkg");
const builds = { node: "pkg-node", web: "pkg-web", bundler: "pkg-bundler" };
// wasm-pack's own metadata stays out of the copies; each folder says only what kind of modules it holds.
const moduleKind = { node: "commonjs", web: "module", bundler: "module" };

rmSync(out, { recursive: true, force: true });
mkdirSync(out);
let built;
for (const [dir, from] of Object.entries(builds)) {
  const pkg = JSON.parse(readFileSync(path.join(root, from, "package.json"), "utf8"));
  built ??= pkg;
  for (const file of pkg.files) {
    cpSync(path.join(root, from, file), path.join(out, dir, file), { recursive: true });
  }
  // The scanner's folder (scan/) inherits the kind of its build. wasm-bindgen's snippets are ES modules
  // in every build, required as such by the CommonJS one.
  writeFileSync(path.join(out, dir, "package.json"), JSON.stringify({ type: moduleKind[dir] }) + "\n");
  for (const snippets of [path.join(out, dir, "snippets"), path.join(out, dir, "scan", "snippets")]) {
    if (existsSync(snippets)) writeFileSync(path.join(snippets, "package.json"), JSON.stringify({ type: "module" }) + "\n");
  }
}

// wasm-bindgen declares `[Symbol.dispose]()` on its classes, which a strict project with the default
// libraries (lib es2022, no esnext.disposable) refuses with TS2550. The method stays at run time (and
// `free()` does the same); the declarations leave it out.
for (const file of readdirSync(out, { recursive: true })) {
  if (!String(file).endsWith(".d.ts")) continue;
  const at = path.join(out, String(file));
  const text = readFileSync(at, "utf8");
  const kept = text.replace(/^\s*\[Symbol\.dispose\]\(\): void;\n/gm, "");
  if (kept !== text) writeFileSync(at, kept);
}

const entry = (file, types) => ({
  node: { types: `./node/${types}`, default: `./node/${file}` },
  module: { types: `./bundler/${types}`, default: `./bundler/${file}` },
  browser: { types: `./web/${types}`, default: `./web/${file}` },
  default: { types: `./bundler/${types}`, default: `./bundler/${file}` },
});
const pkg = {
  name: "renche",
  version: built.version,
  description: built.description,
  license: built.license,
  keywords: built.keywords,
  engines: { node: ">=20.19" },
  type: "module",
  files: ["node/", "web/", "bundler/", "README.md"],
  main: "./node/renche.js",
  types: "./bundler/renche.d.ts",
  exports: {
    ".": entry("renche.js", "renche.d.ts"),
    "./scan": entry("scan/renche_scan.js", "scan/renche_scan.d.ts"),
    // For pages that hand init() the URL of the module themselves (Vite's `?url`, a CDN).
    "./web/renche_core_bg.wasm": "./web/renche_core_bg.wasm",
    "./web/scan/renche_scan_bg.wasm": "./web/scan/renche_scan_bg.wasm",
    "./package.json": "./package.json",
  },
  sideEffects: ["./bundler/renche_core.js", "./bundler/scan/renche_scan.js", "./*/snippets/*"],
};
writeFileSync(path.join(out, "package.json"), JSON.stringify(pkg, null, 2) + "\n");
cpSync(path.join(root, builds.node, "README.md"), path.join(out, "README.md"));

mkdirSync(path.join(root, "test-output"), { recursive: true });
const [packed] = JSON.parse(execFileSync("npm", ["pack", "--json", "--pack-destination", path.join(root, "test-output")],
  { cwd: out, encoding: "utf8" }));
console.log(`one-package: pkg/ → test-output/${packed.filename} (${packed.size} bytes, ${packed.entryCount} files)`);
