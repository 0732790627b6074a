// The Client against the real backend (renche-server --dev --demo on a fresh SQLite file), through a small
// proxy that can lose an answer or fail a try, to show that a retried commit is made exactly once.
//
// The server binary: $RENCHE_SERVER_BIN, else target/debug/renche-server (built by `cargo test --workspace`
// or `cargo build -p renche-server`). Without one the tests are skipped, saying so.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { renche } from "./pkg.mjs";
import { bindingCases } from "./cases.mjs";

const { Client, Rules } = renche;
const root = fileURLToPath(new URL("../../", import.meta.url));
const candidates = [process.env.RENCHE_SERVER_BIN, join(root, "target/debug/renche-server"), join(root, "target/release/renche-server")];
const bin = candidates.find((p) => p && existsSync(p));
const skip = bin ? false : "no renche-server binary: build it (cargo build -p renche-server) or set RENCHE_SERVER_BIN";

let server;
let proxy;
let dir;
let upstream;
const seen = []; // [method, path, idempotency key] of every request through the proxy
const faults = []; // what to do to the next matching requests: { match: RegExp, fault: "drop" | "503" | "csrf" }

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), "renche-client-"));
  server = spawn(bin, ["serve", "--listen", "127.0.0.1:0", "--dev", "--demo", "--database", `sqlite://${join(dir, "db.sqlite3")}`], {
    cwd: root, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, RUST_LOG: "warn" },
  });
  let log = "";
  server.stderr.on("data", (d) => (log += d));
  upstream = await new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}\n${log}`)), 30_000);
    server.stdout.on("data", (d) => {
      out += d;
      const m = out.match(/open (http:\/\/\S+)/);
      if (m) { clearTimeout(timer); resolve(new URL(m[1])); }
    });
    server.on("exit", (code) => reject(new Error(`server exited (${code}):\n${out}\n${log}`)));
  });
  proxy = createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      seen.push([req.method, req.url, req.headers["idempotency-key"] ?? null]);
      const i = faults.findIndex((f) => f.match.test(req.url));
      const fault = i >= 0 ? faults.splice(i, 1)[0].fault : null;
      if (fault === "csrf") {
        res.writeHead(403, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: { code: "CSRF_CHECK_FAILED", message: { zh: "校验失败", en: "CSRF check failed" } } }));
        return;
      }
      if (fault === "503") {
        res.writeHead(503, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: { code: "UNAVAILABLE", message: { zh: "暂不可用", en: "Unavailable" } } }));
        return;
      }
      const up = httpRequest({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (upRes) => {
        const body = [];
        upRes.on("data", (c) => body.push(c));
        upRes.on("end", () => {
          // The server has done the work; the client never hears of it.
          if (fault === "drop") return res.socket.destroy();
          res.writeHead(upRes.statusCode, upRes.headers);
          res.end(Buffer.concat(body));
        });
      });
      up.on("error", () => res.socket.destroy());
      up.end(Buffer.concat(chunks));
    });
  });
  await new Promise((resolve) => proxy.listen(0, "127.0.0.1", resolve));
});

after(async () => {
  if (proxy) await new Promise((resolve) => proxy.close(resolve));
  if (server) {
    server.kill("SIGTERM");
    await new Promise((resolve) => server.once("exit", resolve));
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const proxyUrl = () => `http://127.0.0.1:${proxy.address().port}`;

async function json(client, method, path, body) {
  const r = await client.request(method, path, body);
  assert.ok(r.ok, `${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

async function latestCode(client, phone) {
  const { messages } = await json(client, "GET", `/api/v1/dev/sms-outbox?phone=${phone}`);
  return messages[0].code;
}

async function signIn(client, phone) {
  const { challengeId } = await json(client, "POST", "/api/v1/auth/sms-code", { phone, purpose: "sign_in" });
  const code = await latestCode(client, phone);
  return (await json(client, "POST", "/api/v1/auth/sign-in", { challengeId, code, phone })).person;
}

/** An SMS binding application for the demo's spare car 粤S88888 (owner 黄车主, not a platform user). */
async function applyForSpare(client) {
  const { challengeId } = await json(client, "POST", "/api/v1/bindings/sms/challenges", {
    plateType: "02", plateNumber: "粤S88888", engineSuffix: "888888",
  });
  const code = await latestCode(client, "13900000007");
  return (await json(client, "POST", `/api/v1/bindings/sms/challenges/${challengeId}/confirm`, { code })).applicationId;
}

/**
 * A QR binding application for the demo's taxi 粤ST2345, from its owner's code. (An SMS start for a binder
 * at her limit is refused before anything is texted, so no application opens that way.)
 */
async function applyForTaxi(client) {
  const owner = new Client({ baseUrl: proxyUrl(), baseDelayMs: 20 });
  await signIn(owner, "13900000001");
  const { vehicles } = await json(owner, "GET", "/api/v1/vehicles");
  const taxi = vehicles.find((v) => v.plateNumber === "粤ST2345");
  const { qrText } = await json(owner, "POST", `/api/v1/vehicles/${taxi.id}/qr-codes`, {});
  return (await json(client, "POST", "/api/v1/bindings/qr/redeem", { qrText })).applicationId;
}

const spare = { id: "spare", plateType: "02", plateNumber: "粤S88888", ownerKind: "individual", useNature: "A", ownerId: null };
const bound = (vehicleId) => ({ binderId: "me", vehicleId, createdAt: "2026-08-01T00:00:00Z" });
const check = (binderBindings) => ({
  binder: { id: "me", identityVerified: true }, vehicle: spare, binderBindings, method: "sms", channel: "app",
  now: new Date().toISOString(),
});

test("a commit whose answer is lost is retried with the same key and made exactly once", { skip }, async () => {
  const client = new Client({ baseUrl: proxyUrl(), baseDelayMs: 20 });
  await signIn(client, "13900000003"); // 张绑定, one binding already
  const applicationId = await applyForSpare(client);
  await json(client, "POST", "/api/v1/dev/identity", { phone: "13900000003", outcome: "pass" });
  assert.match(await client.loadPolicy("441900"), /\S/);

  faults.push({ match: /\/commit$/, fault: "drop" });
  const from = seen.length;
  const outcome = await client.commitBinding(applicationId, { check: check([bound("car")]) });

  const commits = seen.slice(from).filter(([m, p]) => m === "POST" && p.endsWith("/commit"));
  assert.equal(commits.length, 2, "one lost answer, one retry");
  assert.equal(commits[0][2], commits[1][2], "the retry reuses the Idempotency-Key");
  assert.equal(outcome.idempotencyKey, commits[0][2]);
  assert.equal(outcome.source, "server");
  assert.equal(outcome.status, 201, JSON.stringify(outcome.body));
  assert.equal(outcome.ok, true);
  assert.equal(outcome.attempts, 2);
  assert.equal(outcome.replayed, true, "the second answer is the stored first one");
  assert.equal(outcome.decision.allowed, true);
  assert.equal(outcome.agreed, true);
  assert.equal(outcome.refreshPolicy, false);
  assert.equal(outcome.local.allowed, true);

  const { bindings } = await json(client, "GET", "/api/v1/bindings");
  const spares = bindings.filter((b) => b.vehicle.plateNumber === "粤S88888");
  assert.equal(spares.length, 1, JSON.stringify(bindings));
  assert.equal(spares[0].id, outcome.body.binding.id);
});

test("a refusal the local rules already know answers at once, without the network", { skip }, async () => {
  const client = new Client({ baseUrl: proxyUrl() });
  const from = seen.length;
  const started = performance.now();
  const outcome = await client.commitBinding("999", { check: check([bound("a"), bound("b"), bound("c")]) });
  assert.ok(performance.now() - started < 50);
  assert.equal(seen.length, from, "no request was sent");
  assert.equal(outcome.source, "local");
  assert.equal(outcome.ok, false);
  assert.equal(outcome.status, null);
  assert.deepEqual(outcome.reasons.map((r) => [r.code, r.params]), [["USER_BINDING_LIMIT_REACHED", { limit: 3, current: 3 }]]);
  assert.equal(outcome.attempts, 0);
});

test("the server's refusal wins; the client says the decisions differed and the policy is stale", { skip }, async () => {
  const client = new Client({ baseUrl: proxyUrl(), baseDelayMs: 20 });
  client.useRules(Rules.fromPolicy({ extends: "default", version: "old-1" }));
  await signIn(client, "13900000002"); // 李满额, already at three bindings
  const applicationId = await applyForTaxi(client);
  await json(client, "POST", "/api/v1/dev/identity", { phone: "13900000002", outcome: "pass" });

  faults.push({ match: /\/commit$/, fault: "503" });
  // The page believes she has no bindings and takes the car for a private one, so its rules allow it.
  const outcome = await client.commitBinding(applicationId, { check: check([]), relationship: "friend" });
  assert.equal(outcome.attempts, 2, "the 503 was retried");
  assert.equal(outcome.source, "server");
  assert.equal(outcome.status, 409, JSON.stringify(outcome.body));
  assert.equal(outcome.ok, false);
  assert.equal(outcome.local.allowed, true);
  assert.equal(outcome.decision?.allowed ?? false, false);
  assert.ok(outcome.reasons.some((r) => r.code === "USER_BINDING_LIMIT_REACHED"), JSON.stringify(outcome.reasons));
  assert.equal(outcome.agreed, false);
  assert.equal(outcome.refreshPolicy, true);
  assert.equal(client.policyVersion, "old-1");
  assert.notEqual(await client.loadPolicy(), "old-1");
});

test("a refused CSRF token is renewed once from a new session", { skip }, async () => {
  const client = new Client({ baseUrl: proxyUrl(), baseDelayMs: 5 });
  await client.session();
  faults.push({ match: /\/auth\/sms-code$/, fault: "csrf" });
  const from = seen.length;
  const r = await client.request("POST", "/api/v1/auth/sms-code", { phone: "13900000004", purpose: "sign_in" });
  assert.equal(r.status, 202, JSON.stringify(r.body));
  assert.deepEqual(seen.slice(from).map(([m, p]) => `${m} ${p}`),
    ["POST /api/v1/auth/sms-code", "GET /api/v1/session", "POST /api/v1/auth/sms-code"]);
});

test("an unreachable server rejects after the retries", async () => {
  const closed = createServer();
  await new Promise((resolve) => closed.listen(0, "127.0.0.1", resolve));
  const port = closed.address().port;
  await new Promise((resolve) => closed.close(resolve));
  const client = new Client({ baseUrl: `http://127.0.0.1:${port}`, retries: 2, baseDelayMs: 5 });
  await assert.rejects(client.request("GET", "/api/v1/session"), (e) => e instanceof Error && /after 3 tries/.test(e.message));
});

test("the client takes exactly the core's relationship codes", async () => {
  const client = new Client({ baseUrl: "http://127.0.0.1:9", retries: 0 });
  // A local refusal answers without the network, after the options were checked.
  for (const { code } of renche.relationships()) {
    const outcome = await client.commitBinding("1", { relationship: code, check: bindingCases.fourthBinding.call });
    assert.equal(outcome.source, "local", code);
  }
  await assert.rejects(client.commitBinding("1", { relationship: "Parent" }),
    (e) => e.field === "relationship" && e.message.includes(renche.relationships().map((r) => r.code).join(", ")));
});

test("bad options throw an Error naming the field", () => {
  assert.throws(() => new Client({ baseUrl: "http://x", retry: 3 }), (e) => e.field === "retry");
  const client = new Client({ baseUrl: "http://127.0.0.1:9" });
  return assert.rejects(client.commitBinding("1", { relationship: "cousin" }), (e) => e.field === "relationship");
});

test("the client keeps its own copy of the rules it is given", () => {
  const client = new Client({ baseUrl: "http://127.0.0.1:9" });
  const rules = Rules.fromPolicy({ extends: "default", version: "mine-1" });
  client.useRules(rules);
  rules.free();
  assert.equal(client.policyVersion, "mine-1", "freeing the caller's rules does not touch the client's");
  const copy = client.rules();
  copy.free();
  assert.equal(client.policyVersion, "mine-1");
  assert.throws(() => client.useRules({ policyVersion: "fake" }), (e) => e.field === "rules");
  client.free();
});

test("a bad check is refused naming the field inside it, before any request", async () => {
  const client = new Client({ baseUrl: "http://127.0.0.1:9", retries: 0 });
  const call = check([]);
  await assert.rejects(
    client.commitBinding("1", { check: { ...call, vehicle: { ...spare, plateNumber: "粤S1234" } } }),
    (e) => e.field === "check.vehicle.plateNumber" && /^commitBinding: field `check\.vehicle\.plateNumber`: /.test(e.message),
  );
  const route = {
    person: { id: "me" }, vehicle: spare, channel: "app", now: new Date().toISOString(),
    violations: [{ id: "v1", vehicleId: "spare", occurredAt: "2026-08-20T03:00:00Z", points: 3, fineFen: 20000, source: "device", state: "unhandled" }],
  };
  await assert.rejects(client.handleViolation("v2", { check: route }), (e) => e.field === "check.violations");
  await assert.rejects(client.handleViolation("v1", { expectedOwedFen: 1.5 }), (e) => e.field === "expectedOwedFen");
});
