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

// A 1×1 PNG: the provider's page sends one frame from the camera; any small valid image will do here.
const FRAME = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";

/**
 * Goes through the development identity provider as a browser does: the provider page's form with a frame
 * and the tester's choice, whose 303 goes back to the return address with the signed result.
 */
async function answerOnProvider(providerUrl, outcome) {
  const response = await fetch(new URL(providerUrl, proxyUrl()), {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ outcome, frame: FRAME }).toString(),
  });
  assert.equal(response.status, 303, await response.text());
  return Client.verificationReturn(response.headers.get("location"));
}

/** The binder's face check for an application; resolves to what the commit needs. */
async function verifyForApplication(client, applicationId, outcome = "pass") {
  const started = await client.startVerification({ purpose: "application", applicationId, returnPath: "/#/bind/verified" });
  assert.equal(started.status, 201, JSON.stringify(started.body));
  const back = await answerOnProvider(started.body.providerUrl, outcome);
  assert.equal(back.verificationId, started.body.id);
  assert.ok(back.result, "the provider's signed result is in the return address");
  return back;
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
  const { verificationId, result } = await verifyForApplication(client, applicationId);
  assert.match(await client.loadPolicy("441900"), /\S/);

  faults.push({ match: /\/commit$/, fault: "drop" });
  const from = seen.length;
  const outcome = await client.commitBinding(applicationId, { check: check([bound("car")]), verificationId, result });

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

test("the server's refusal wins; the client says the decisions differed and the policy is stale; the used result is refused again", { skip }, async () => {
  const client = new Client({ baseUrl: proxyUrl(), baseDelayMs: 20 });
  client.useRules(Rules.fromPolicy({ extends: "default", version: "old-1" }));
  await signIn(client, "13900000002"); // 李满额, already at three bindings
  const applicationId = await applyForTaxi(client);
  const { verificationId, result } = await verifyForApplication(client, applicationId);

  faults.push({ match: /\/commit$/, fault: "503" });
  // The page believes she has no bindings and takes the car for a private one, so its rules allow it.
  const outcome = await client.commitBinding(applicationId, { check: check([]), relationship: "friend", verificationId, result });
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

  // That commit used the signed result up, refused as it was: handing it in again is refused as a replay.
  const again = await client.commitBinding(applicationId, { relationship: "friend", verificationId, result });
  assert.equal(again.replayed, false, "a new request, not the stored answer");
  assert.equal(again.status, 409, JSON.stringify(again.body));
  assert.equal(again.body.error.code, "VERIFICATION_RESULT_REPLAYED");
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

test("a new account is linked only by a passed verification, and its signed result works once", { skip }, async () => {
  const client = new Client({ baseUrl: proxyUrl(), baseDelayMs: 20 });
  const phone = "13700000021";
  const { challengeId } = await json(client, "POST", "/api/v1/auth/sms-code", { phone, purpose: "register" });
  const registered = await json(client, "POST", "/api/v1/auth/register", { challengeId, code: await latestCode(client, phone), phone });
  assert.equal(registered.person, null);
  assert.equal(registered.nextStep, "verify_identity");
  const refused = await client.request("GET", "/api/v1/vehicles");
  assert.equal(refused.status, 403);
  assert.equal(refused.body.error.code, "IDENTITY_NOT_VERIFIED");

  // A failed face check links nothing.
  const first = await client.startVerification({ purpose: "account", name: "周新户", residentId: "441900199001010212", returnPath: "/#/verify/done" });
  assert.equal(first.status, 201, JSON.stringify(first.body));
  assert.match(first.body.providerUrl, /\/dev-identity\/sessions\//);
  const failed = await answerOnProvider(first.body.providerUrl, "fail");
  const notLinked = await client.finishVerification(failed.verificationId, { result: failed.result });
  assert.equal(notLinked.status, 422, JSON.stringify(notLinked.body));
  assert.equal(notLinked.body.error.code, "REAL_PERSON_VERIFICATION_FAILED");

  const second = await client.startVerification({ purpose: "account", name: "周新户", residentId: "441900199001010212", returnPath: "/#/verify/done" });
  const passed = await answerOnProvider(second.body.providerUrl, "pass");
  const linked = await client.finishVerification(passed.verificationId, { result: passed.result });
  assert.equal(linked.status, 200, JSON.stringify(linked.body));
  assert.equal(linked.body.nextStep, null);
  assert.ok(linked.body.person, "the session now names the person");
  assert.equal((await client.request("GET", "/api/v1/vehicles")).status, 200);

  // The same result again (a new request, not a retry) is refused.
  const replayed = await client.finishVerification(passed.verificationId, { result: passed.result });
  assert.equal(replayed.replayed, false);
  assert.equal(replayed.body?.error?.code, "VERIFICATION_RESULT_REPLAYED", JSON.stringify(replayed.body));
});

test("a binding commit with the result of a failed face check is refused, with manual review offered", { skip }, async () => {
  const client = new Client({ baseUrl: proxyUrl(), baseDelayMs: 20 });
  // 王车主 had a sign-in code a moment ago (the taxi's QR code): past the resend cool-down first.
  await json(client, "POST", "/api/v1/dev/clock", { advanceSeconds: 61 });
  await signIn(client, "13900000001"); // 王车主, who owns other cars and has bound none
  const applicationId = await applyForSpare(client);
  const { verificationId, result } = await verifyForApplication(client, applicationId, "fail");
  const outcome = await client.commitBinding(applicationId, { verificationId, result });
  assert.equal(outcome.status, 422, JSON.stringify(outcome.body));
  assert.equal(outcome.body.error.code, "REAL_PERSON_VERIFICATION_FAILED");
  assert.equal(outcome.body.error.params?.manualReview, "available");
});

test("the return address is read in both of its forms", () => {
  assert.deepEqual(Client.verificationReturn("http://x/#/verify/done?verificationId=v1&result=a.b%2Bc"), { verificationId: "v1", result: "a.b+c" });
  assert.deepEqual(Client.verificationReturn("/?verificationId=v2&result=r#/bind/verified"), { verificationId: "v2", result: "r" });
  assert.deepEqual(Client.verificationReturn("/#/verify/done"), { verificationId: null, result: null });
  assert.throws(() => Client.verificationReturn(null), (e) => e.field === "url");
});

test("verification options are checked before any request", async () => {
  const client = new Client({ baseUrl: "http://127.0.0.1:9", retries: 0 });
  await assert.rejects(client.startVerification({ purpose: "account", name: "张三" }), (e) => e.field === "residentId");
  await assert.rejects(client.startVerification({ purpose: "application" }), (e) => e.field === "applicationId");
  await assert.rejects(client.startVerification({ purpose: "application", applicationId: "1", name: "张三" }), (e) => e.field === "name");
  await assert.rejects(client.startVerification({ purpose: "face" }), (e) => e.field === "purpose");
  await assert.rejects(client.startVerification({ purpose: "application", applicationId: "1", returnPath: "//evil" }), (e) => e.field === "returnPath");
  await assert.rejects(client.finishVerification(""), (e) => e.field === "verificationId");
  await assert.rejects(client.commitBinding("1", { result: "r" }), (e) => e.field === "verificationId");
});
