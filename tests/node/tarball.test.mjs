// The published package as a newcomer gets it: the `npm pack` tarball (scripts/build-pkg.sh writes it to
// test-output/) installed into a fresh folder, used by its name only, from CommonJS and from an ES module,
// and type-checked by a strict TypeScript project with the default libraries. (tests/bundle/run.sh does
// the same for a Vite app and a plain page in Chromium.)
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const output = new URL("../../test-output/", import.meta.url);
const tarball = readdirSync(output).find((f) => /^renche-.*\.tgz$/.test(f));

/** A fresh folder with the tarball installed, as `npm install ./renche-x.y.z.tgz` does. */
function freshFolder(name, packageJson) {
  const dir = new URL(`fresh/${name}/`, output);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(new URL("package.json", dir), JSON.stringify({ name: `fresh-${name}`, private: true, ...packageJson }));
  execFileSync("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error", fileURLToPath(new URL(tarball, output))],
    { cwd: dir, stdio: "pipe" });
  return dir;
}

const run = (dir, file) => execFileSync(process.execPath, [file], { cwd: dir, encoding: "utf8" });

const fourth = `{
  binder: { id: "u1" },
  vehicle: { id: "v9", plateType: "02", plateNumber: "粤S12345", ownerKind: "individual", useNature: "A" },
  binderBindings: ["v1", "v2", "v3"].map((vehicleId) => ({ binderId: "u1", vehicleId, createdAt: "2026-08-01T00:00:00Z" })),
  method: "sms", channel: "app", now: "2026-09-01T07:00:00Z",
}`;

test("npm pack made one tarball", () => {
  assert.ok(tarball, "test-output/renche-*.tgz (scripts/build-pkg.sh)");
});

test("a fresh CommonJS folder: require('renche') and require('renche/scan'), no init", () => {
  const dir = freshFolder("cjs", {});
  writeFileSync(new URL("index.js", dir), `
const { Rules, RencheInputError, parsePlate, qrSvg } = require("renche");
const { qrScanGrey } = require("renche/scan");
const rules = Rules.default();
const answer = rules.checkBinding(${fourth});
let error;
try { rules.checkBinding({ ...${fourth}, now: NaN }); } catch (e) { error = e; }
console.log(JSON.stringify({
  codes: answer.reasons.map((r) => r.code), plate: parsePlate("02", "粤s12345").display,
  error: [error instanceof RencheInputError, error instanceof Error, error.name, error.field, error.code],
  svg: qrSvg("HELLO", 4).startsWith("<svg"), scan: typeof qrScanGrey,
}));
`);
  assert.deepEqual(JSON.parse(run(dir, "index.js")), {
    codes: ["USER_BINDING_LIMIT_REACHED"], plate: "粤S·12345",
    error: [true, true, "RencheInputError", "now", "INVALID_VALUE"], svg: true, scan: "function",
  });
});

test("a fresh ES-module folder: import { Rules } from 'renche', no init", () => {
  const dir = freshFolder("esm", { type: "module" });
  writeFileSync(new URL("index.js", dir), `
import { Rules, RencheInputError, reasonCatalogue } from "renche";
import { qrScanRgba } from "renche/scan";
const answer = Rules.default().checkBindingBatch([${fourth}, ${fourth}]);
let error;
try { Rules.fromPolicy('{\\n  "extends": "default",\\n  "lateFee": }'); } catch (e) { error = e; }
console.log(JSON.stringify({
  codes: answer.map((a) => a.reasons.map((r) => r.code)),
  awaiting: reasonCatalogue().some((r) => r.code === "VIOLATION_AWAITING_PAYMENT"),
  error: [error instanceof RencheInputError, error.code, error.line, error.column], scan: typeof qrScanRgba,
}));
`);
  assert.deepEqual(JSON.parse(run(dir, "index.js")), {
    codes: [["USER_BINDING_LIMIT_REACHED"], ["USER_BINDING_LIMIT_REACHED"]], awaiting: true,
    error: [true, "INVALID_JSON", 3, 14], scan: "function",
  });
});

test("a strict TypeScript project with the default libraries type-checks a newcomer's file", () => {
  const dir = freshFolder("ts", { type: "module" });
  writeFileSync(new URL("tsconfig.json", dir), JSON.stringify({
    compilerOptions: {
      strict: true, noEmit: true, target: "es2022", lib: ["es2022"], module: "nodenext",
      moduleResolution: "nodenext", skipLibCheck: false, types: [],
    },
    files: ["index.ts"],
  }));
  writeFileSync(new URL("index.ts", dir), `
import { Rules, RencheInputError, type BindingAnswer, type RencheInputErrorCode } from "renche";
import { qrScanGrey } from "renche/scan";

const rules: Rules = Rules.default();
const answer: BindingAnswer = rules.checkBinding(${fourth});
export const codes: string[] = answer.reasons.map((r) => r.code);
export function field(e: unknown): string | undefined {
  if (e instanceof RencheInputError) {
    const code: RencheInputErrorCode = e.code;
    return \`\${e.name} \${code} \${e.field} \${e.line ?? ""}\`;
  }
  return undefined;
}
export const scan: typeof qrScanGrey = qrScanGrey;
`);
  const tsc = fileURLToPath(new URL("node_modules/typescript/bin/tsc", import.meta.url));
  try {
    execFileSync(process.execPath, [tsc, "-p", fileURLToPath(dir)], { encoding: "utf8", stdio: "pipe" });
  } catch (e) {
    assert.fail(`a strict project does not type-check against the package:\n${e.stdout}${e.stderr}`);
  }
});
