// The TypeScript declarations (src/wasm/types.d.ts, shipped in renche.d.ts) must describe what the Rust
// code really accepts and answers. This writes real calls and real answers as typed TypeScript literals
// and type-checks them with tsc: a field added, removed or renamed on either side fails here.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { renche } from "./pkg.mjs";
import { bindingCases, routeCases, okBinding, okRoute, unbindCall } from "./cases.mjs";

const root = new URL("../../", import.meta.url);
const dir = new URL("test-output/ts-types/", root);
const rules = renche.Rules.default();

function literal(name, type, value) {
  return `export const ${name}: ${type} = ${JSON.stringify(value, null, 1)};\n`;
}

function source() {
  let ts = `import * as R from "../../pkg-node/renche.js";\nimport type * as W from "../../pkg-web/renche.js";\n\n`;
  ts += `const rules: R.Rules = R.Rules.default();\n`;
  const bindings = { ok: okBinding, ...Object.fromEntries(Object.entries(bindingCases).map(([k, v]) => [k, v.call])) };
  for (const [name, call] of Object.entries(bindings)) {
    ts += literal(`binding_${name}`, "R.BindingCall", call);
    ts += literal(`bindingAnswer_${name}`, "R.BindingAnswer", rules.checkBinding(call));
    ts += `export const typedBinding_${name}: R.BindingAnswer = rules.checkBinding(binding_${name});\n`;
  }
  const precheck = { ...okBinding, binder: { id: "u9" }, stage: "precheck" };
  ts += literal("bindingAnswer_precheck", "R.BindingAnswer", rules.checkBinding(precheck));
  const routes = { ok: okRoute, ...Object.fromEntries(Object.entries(routeCases).map(([k, v]) => [k, v.call])) };
  for (const [name, call] of Object.entries(routes)) {
    ts += literal(`route_${name}`, "R.RouteCall", call);
    ts += literal(`routeAnswer_${name}`, "R.RouteAnswer", rules.routeViolations(call));
  }
  const handled = { ...okRoute, violations: [{ ...okRoute.violations[0], state: "handled", decidedAt: "2026-06-01T00:00:00Z" }] };
  ts += literal("routeAnswer_handled", "R.RouteAnswer", rules.routeViolations(handled));
  ts += `export const typedRoutes: R.RouteAnswer[] = rules.routeViolationsBatch([route_ok]);\n`;
  ts += `export const typedBindings: R.BindingAnswer[] = rules.checkBindingBatch([binding_ok]);\n`;
  ts += literal("unbind", "R.UnbindCall", unbindCall);
  ts += literal("unbindAnswer", "R.UnbindAnswer", rules.checkUnbind(unbindCall));
  ts += literal("unbindAnswerOther", "R.UnbindAnswer", rules.checkUnbind({ ...unbindCall, actorId: "x" }));
  ts += `export const typedUnbind: R.UnbindAnswer = rules.checkUnbind(unbind);\n`;
  ts += `export const fee: number = rules.lateFee(100, "2026-09-01T00:00:00Z", 0);\n`;
  ts += `export const version: string = rules.policyVersion;\n`;
  // Every refusal, and every code the declarations list exists in Rust (a Record needs all keys, no more).
  const catalogue = renche.reasonCatalogue();
  ts += literal("catalogue", "R.Reason[]", catalogue);
  ts += literal("codes", "Record<R.RefusalCode, true>", Object.fromEntries(catalogue.map((r) => [r.code, true])));
  ts += `export const typedCatalogue: R.Reason[] = R.reasonCatalogue();\n`;
  ts += literal("policy", "R.Policy", rules.policy());
  ts += `export const typedPolicy: R.Policy = rules.policy();\n`;
  ts += literal("cityPolicy", "R.PolicyDocument", { extends: "default", lateFee: { dueDays: 10 } });
  ts += `export const fromText: R.Rules = R.Rules.fromPolicy(JSON.stringify(policy));\n`;
  ts += literal("plateTypes", "R.PlateTypeEntry[]", renche.plateTypes());
  ts += literal("plateTypeCodes", "R.PlateTypeCode[]", renche.plateTypes().map((t) => t.code));
  ts += literal("relationships", "R.RelationshipEntry[]", renche.relationships());
  ts += literal("relationshipCodes", "Record<R.RelationshipCode, true>", Object.fromEntries(renche.relationships().map((r) => [r.code, true])));
  ts += literal("documents", "R.DocumentEntry[]", renche.documents());
  ts += literal("documentCodes", "Record<R.DocumentKind, true>", Object.fromEntries(renche.documents().map((d) => [d.code, true])));
  ts += `export const typedRelationships: R.RelationshipEntry[] = R.relationships();\n`;
  ts += `export const typedDocuments: R.DocumentEntry[] = R.documents();\n`;
  const parses = [
    ["PlateParse", renche.parsePlate("02", "粤S12345")], ["PlateParse", renche.parsePlate("02", "粤S1234")],
    ["PlateParse", renche.parsePlate("77", "x")], ["EngineSuffixParse", renche.parseEngineSuffix("A1B2C3")],
    ["EngineSuffixParse", renche.parseEngineSuffix("!")], ["MaskedParse", renche.parseResidentId("11010519491231002X")],
    ["MaskedParse", renche.parseResidentId("1")], ["MaskedParse", renche.parsePhone("13800138000")],
    ["MaskedParse", renche.parsePhone("23800138000")],
  ];
  parses.forEach(([type, value], i) => (ts += literal(`parse${i}`, `R.${type}`, value)));
  ts += `export const typedParse: R.PlateParse = R.parsePlate("02", "x");\n`;
  ts += `export const typedError = (e: unknown): string => (e as R.RencheInputError).field;\n`;
  ts += `export const webRules: typeof W.Rules = R.Rules as unknown as typeof W.Rules;\n`;
  return ts;
}

async function clientSource() {
  // A local refusal needs no server; its shape is the same ClientOutcome the server path fills.
  const client = new renche.Client({ baseUrl: "http://127.0.0.1:9", retries: 0 });
  const refused = await client.commitBinding("1", { check: bindingCases.fourthBinding.call });
  let ts = literal("clientOutcome", "R.ClientOutcome<R.BindingAnswer>", refused);
  ts += `export const client: R.Client = new R.Client({ baseUrl: "", retries: 1, baseDelayMs: 10, timeoutMs: 100 });\n`;
  ts += `export const pending: Promise<R.ClientOutcome<R.BindingAnswer>> = client.commitBinding("1", { relationship: "spouse", check: binding_ok });\n`;
  ts += `export const handled: Promise<R.ClientOutcome<R.ViolationRoute>> = client.handleViolation("1", { check: route_ok, expectedOwedFen: 100 });\n`;
  ts += `export const removed: Promise<R.ClientOutcome<R.UnbindAnswer>> = client.removeBinding("1", { check: unbind });\n`;
  ts += `export const raw: Promise<R.ApiResponse> = client.request("GET", "/api/v1/session");\n`;
  ts += `export const loaded: Promise<string> = client.loadPolicy("441900");\n`;
  ts += `export const started: Promise<R.TypedApiResponse<R.Verification>> = client.startVerification({ purpose: "account", name: "张三", residentId: "44190019900101123X", returnPath: "/#/verify" });\n`;
  ts += `export const startedForApplication = client.startVerification({ purpose: "application", applicationId: "7" });\n`;
  ts += `export const finished: Promise<R.TypedApiResponse<R.SessionView>> = client.finishVerification("v1", { result: "r" });\n`;
  ts += `export const returned: R.VerificationReturn = R.Client.verificationReturn("/#/verify?verificationId=v1&result=r");\n`;
  ts += `export const committedWithResult = client.commitBinding("1", { relationship: "spouse", verificationId: "v1", result: "r" });\n`;
  ts += `// @ts-expect-error an account verification needs the resident ID\n`;
  ts += `export const missingId = client.startVerification({ purpose: "account", name: "张三" });\n`;
  return ts;
}

test("real answers type-check against the declared TypeScript types", async () => {
  mkdirSync(dir, { recursive: true });
  writeFileSync(new URL("check.ts", dir), source() + (await clientSource()));
  writeFileSync(new URL("tsconfig.json", dir), JSON.stringify({
    compilerOptions: {
      strict: true, noEmit: true, target: "es2022", lib: ["es2022", "esnext.disposable", "dom"],
      module: "esnext", moduleResolution: "bundler", skipLibCheck: false, types: [],
    },
    files: ["check.ts"],
  }));
  const tsc = fileURLToPath(new URL("node_modules/typescript/bin/tsc", import.meta.url));
  try {
    execFileSync(process.execPath, [tsc, "-p", fileURLToPath(dir)], { encoding: "utf8", stdio: "pipe" });
  } catch (e) {
    assert.fail(`tsc found drift between Rust and TypeScript:\n${e.stdout}${e.stderr}`);
  }
});

test("no export is typed `any`", () => {
  for (const file of ["pkg-node", "pkg-web", "pkg-bundler"].flatMap((p) => ["renche.d.ts", "renche_core.d.ts", "client.d.ts"].map((f) => `${p}/${f}`))) {
    const dts = readFileSync(new URL(file, root), "utf8")
      .replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, "")
      // The web target also declares the raw WebAssembly exports (InitOutput): wasm-bindgen's, not ours.
      .replace(/export interface InitOutput \{[\s\S]*?\n\}/, "");
    const loose = dts.split("\n").filter((line) => /\bany\b/.test(line));
    assert.deepEqual(loose, [], file);
  }
});
