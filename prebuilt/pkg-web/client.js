import { Rules, relationships } from "./renche_core.js";

const API = "/api/v1";

function inputError(what, field, problem) {
  const error = new Error(field ? `${what}: field \`${field}\`: ${problem}` : `${what}: ${problem}`);
  error.field = field;
  return error;
}

function readOptions(what, value, kinds, required = []) {
  if (value === undefined || value === null) value = {};
  if (typeof value !== "object" || Array.isArray(value)) throw inputError(what, "", "options are an object");
  for (const name of Object.keys(value)) {
    if (!(name in kinds)) {
      throw inputError(what, name, `unknown field \`${name}\`, expected one of ${Object.keys(kinds).map((k) => `\`${k}\``).join(", ")}`);
    }
    if (value[name] === undefined) continue;
    const problem = kinds[name](value[name]);
    if (problem) throw inputError(what, name, problem);
  }
  for (const name of required) {
    if (value[name] === undefined) throw inputError(what, name, `missing field \`${name}\``);
  }
  return value;
}

const isString = (v) => (typeof v === "string" ? null : "must be a string");
const isObject = (v) => (v !== null && typeof v === "object" && !Array.isArray(v) ? null : "must be an object");
const isCount = (v) => (Number.isInteger(v) && v >= 0 ? null : "must be a whole number, 0 or more");

let relationshipCodes = null;
function relationshipCheck() {
  relationshipCodes ??= relationships().map((r) => r.code);
  const codes = relationshipCodes;
  return (v) => (codes.includes(v) ? null : `unknown relationship ${JSON.stringify(v)}, expected one of ${codes.join(", ")}`);
}
const isFen = (v) => (Number.isSafeInteger(v) && v >= 0 ? null : "must be a whole number of fen, 0 or more");

function decideLocally(what, decide) {
  try {
    return decide();
  } catch (e) {
    if (e instanceof Error && typeof e.field === "string") {
      const field = e.field ? `check.${e.field}` : "check";
      throw inputError(what, field, e.message.replace(/^[^:]*: (field `[^`]*`: )?/, ""));
    }
    throw e;
  }
}

const changesState = (method) => !["GET", "HEAD", "OPTIONS"].includes(method);
const member = (value, name) => (value !== null && typeof value === "object" ? value[name] : undefined);
const errorCode = (body) => member(member(body, "error"), "code");
const present = (...candidates) => candidates.find((v) => v !== undefined && v !== null) ?? null;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function newKey() {
  const b = new Uint8Array(16);
  if (globalThis.crypto?.getRandomValues) {
    globalThis.crypto.getRandomValues(b);
  } else {
    for (let i = 0; i < 16; i++) b[i] = Math.floor(Math.random() * 256);
  }
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const copyOf = (rules) => Rules.fromPolicy(rules.policy());

export class Client {
  #baseUrl;
  #retries;
  #baseDelayMs;
  #timeoutMs;
  #rules;
  #csrfToken = null;
  #cookies = new Map();

  constructor(options) {
    const o = readOptions(
      "new Client",
      options,
      {
        baseUrl: isString,
        retries: isCount,
        baseDelayMs: (v) => (Number.isFinite(v) && v >= 0 ? null : "must be a number of milliseconds, 0 or more"),
        timeoutMs: (v) => (Number.isFinite(v) && v > 0 ? null : "must be a positive number of milliseconds"),
      },
      ["baseUrl"],
    );
    this.#baseUrl = o.baseUrl.replace(/\/+$/, "");
    this.#retries = Math.min(o.retries ?? 4, 20);
    this.#baseDelayMs = o.baseDelayMs ?? 200;
    this.#timeoutMs = o.timeoutMs ?? 15_000;
    this.#rules = Rules.default();
  }

  useRules(rules) {
    if (!(rules instanceof Rules)) throw inputError("useRules", "rules", "must be a Rules");
    this.#rules = copyOf(rules);
  }

  free() {
    this.#rules.free();
  }

  rules() {
    return copyOf(this.#rules);
  }

  get policyVersion() {
    return this.#rules.policyVersion;
  }

  async loadPolicy(city) {
    const path = city === undefined || city === null ? `${API}/policy` : `${API}/policy?city=${encodeURIComponent(city)}`;
    const response = await this.#send("GET", path, null, null);
    if (!response.ok) throw this.#serverError("loadPolicy", response);
    let rules;
    try {
      rules = Rules.fromPolicy(response.body);
    } catch (e) {
      throw inputError("loadPolicy", e.field ?? "", e.message);
    }
    this.#rules = rules;
    return rules.policyVersion;
  }

  async session() {
    return this.#send("GET", `${API}/session`, null, null);
  }

  async request(method, path, body, options) {
    const o = readOptions("request", options, { idempotencyKey: isString });
    if (typeof method !== "string") throw inputError("request", "method", "must be a string");
    if (typeof path !== "string") throw inputError("request", "path", "must be a string");
    let text = null;
    if (body !== undefined) {
      text = JSON.stringify(body);
      if (text === undefined) throw inputError("request", "body", "has no JSON form");
    }
    method = method.toUpperCase();
    const key = changesState(method) ? (o.idempotencyKey ?? newKey()) : null;
    return this.#send(method, path, text, key);
  }

  async commitBinding(applicationId, options) {
    const o = readOptions("commitBinding", options, {
      relationship: relationshipCheck(),
      verificationId: isString,
      result: isString,
      check: isObject,
      idempotencyKey: isString,
    });
    if (o.result !== undefined && o.verificationId === undefined) {
      throw inputError("commitBinding", "verificationId", "missing field `verificationId` (the `result` belongs to a verification)");
    }
    const local = o.check ? decideLocally("commitBinding", () => this.#rules.checkBinding(o.check)) : null;
    if (local && !local.allowed) return refusedLocally(local);
    const body = { policyVersion: this.policyVersion };
    if (local) body.expectedAllowed = local.allowed;
    if (o.relationship !== undefined) body.relationship = o.relationship;
    if (o.verificationId !== undefined) body.verificationId = o.verificationId;
    if (o.result !== undefined) body.result = o.result;
    const path = `${API}/binding-applications/${encodeURIComponent(applicationId)}/commit`;
    return this.#serverOutcome("POST", path, body, o.idempotencyKey, local, local ? local.allowed : null);
  }

  async startVerification(options) {
    const o = readOptions(
      "startVerification",
      options,
      {
        purpose: (v) => (v === "account" || v === "application" ? null : 'must be "account" or "application"'),
        name: isString,
        residentId: isString,
        applicationId: isString,
        returnPath: (v) => (typeof v === "string" && /^\/(?!\/)/.test(v) ? null : "must be a path starting with a single `/`"),
        idempotencyKey: isString,
      },
      ["purpose"],
    );
    const needed = o.purpose === "account" ? ["name", "residentId"] : ["applicationId"];
    for (const name of needed) {
      if (o[name] === undefined) throw inputError("startVerification", name, `missing field \`${name}\` for purpose \`${o.purpose}\``);
    }
    const unwanted = o.purpose === "account" ? ["applicationId"] : ["name", "residentId"];
    for (const name of unwanted) {
      if (o[name] !== undefined) throw inputError("startVerification", name, `not taken with purpose \`${o.purpose}\``);
    }
    const body = { purpose: o.purpose };
    for (const name of ["name", "residentId", "applicationId", "returnPath"]) if (o[name] !== undefined) body[name] = o[name];
    return this.#send("POST", `${API}/identity/verifications`, JSON.stringify(body), o.idempotencyKey ?? newKey());
  }

  async finishVerification(verificationId, options) {
    if (typeof verificationId !== "string" || verificationId === "") throw inputError("finishVerification", "verificationId", "must be a non-empty string");
    const o = readOptions("finishVerification", options, { result: isString, idempotencyKey: isString });
    const body = o.result === undefined ? {} : { result: o.result };
    const path = `${API}/identity/verifications/${encodeURIComponent(verificationId)}/finish`;
    return this.#send("POST", path, JSON.stringify(body), o.idempotencyKey ?? newKey());
  }

  static verificationReturn(url) {
    if (typeof url !== "string") throw inputError("verificationReturn", "url", "must be a string");
    const found = { verificationId: null, result: null };
    const hashAt = url.indexOf("#");
    const beforeHash = hashAt < 0 ? url : url.slice(0, hashAt);
    const fragment = hashAt < 0 ? "" : url.slice(hashAt + 1);
    const queries = [];
    if (beforeHash.includes("?")) queries.push(beforeHash.slice(beforeHash.indexOf("?") + 1));
    if (fragment.includes("?")) queries.push(fragment.slice(fragment.indexOf("?") + 1));
    for (const query of queries) {
      const params = new URLSearchParams(query);
      for (const name of ["verificationId", "result"]) if (params.has(name)) found[name] = params.get(name);
    }
    return found;
  }

  async handleViolation(violationId, options) {
    const o = readOptions("handleViolation", options, {
      check: isObject,
      expectedOwedFen: isFen,
      idempotencyKey: isString,
    });
    let local = null;
    if (o.check) {
      const answer = decideLocally("handleViolation", () => this.#rules.routeViolations(o.check));
      local = answer.routes.find((r) => r.violationId === String(violationId)) ?? null;
      if (!local) throw inputError("handleViolation", "check.violations", "does not hold the violation to handle");
      if (local.route !== "online") return refusedLocally(local);
    }
    const body = { policyVersion: this.policyVersion };
    if (local) body.expectedAllowed = true;
    const owed = o.expectedOwedFen ?? local?.owedFen;
    if (owed !== undefined) body.expectedOwedFen = owed;
    const path = `${API}/violations/${encodeURIComponent(violationId)}/handle`;
    return this.#serverOutcome("POST", path, body, o.idempotencyKey, local, local ? true : null);
  }

  async removeBinding(bindingId, options) {
    const o = readOptions("removeBinding", options, { check: isObject, idempotencyKey: isString });
    const local = o.check ? decideLocally("removeBinding", () => this.#rules.checkUnbind(o.check)) : null;
    if (local && !local.allowed) return refusedLocally(local);
    const path = `${API}/bindings/${encodeURIComponent(bindingId)}`;
    return this.#serverOutcome("DELETE", path, null, o.idempotencyKey, local, local ? local.allowed : null);
  }

  async #serverOutcome(method, path, body, key, local, expectedAllowed) {
    const response = await this.#send(method, path, body === null ? null : JSON.stringify(body), key ?? newKey());
    const error = member(response.body, "error");
    const decision = present(member(response.body, "decision"), member(error, "decision"));
    const reasons = present(member(decision, "reasons"), member(error, "reasons")) ?? [];
    const serverAllowed = member(decision, "allowed");
    let agreed = null;
    if (typeof member(decision, "agreed") === "boolean") agreed = decision.agreed;
    else if (typeof serverAllowed === "boolean" && expectedAllowed !== null) agreed = serverAllowed === expectedAllowed;
    const serverVersion = member(decision, "policyVersion");
    return {
      source: "server",
      ok: response.ok,
      status: response.status,
      body: response.body,
      local,
      decision,
      reasons,
      agreed,
      refreshPolicy: member(decision, "refreshPolicy") === true ||
        (typeof serverVersion === "string" && serverVersion !== this.policyVersion),
      replayed: response.replayed,
      attempts: response.attempts,
      idempotencyKey: response.idempotencyKey,
    };
  }

  #serverError(what, response) {
    return new Error(`${what}: the server answered ${response.status} ${errorCode(response.body) ?? "HTTP_ERROR"}`);
  }

  async #send(method, path, body, key) {
    const isDev = path.startsWith(`${API}/dev/`);
    if (changesState(method) && !isDev && this.#csrfToken === null) {
      await this.#send("GET", `${API}/session`, null, null);
    }
    const url = this.#baseUrl + path;
    let newSession = false;
    for (let attempt = 1; ; attempt++) {
      const last = attempt > this.#retries;
      let answer;
      try {
        answer = await this.#fetchOnce(method, url, body, key);
      } catch (e) {
        if (last) {
          const problem = e instanceof Error ? e.message : String(e);
          throw new Error(`${method} ${path}: the server could not be reached after ${attempt} tries (${problem})`);
        }
        await sleep(this.#backoff(attempt));
        continue;
      }
      const { status, value, replayed } = answer;
      const code = errorCode(value);
      if (status === 403 && code === "CSRF_CHECK_FAILED" && !newSession && !isDev) {
        newSession = true;
        this.#csrfToken = null;
        await this.#send("GET", `${API}/session`, null, null);
        continue;
      }
      const inFlight = status === 409 && code === "IDEMPOTENCY_KEY_IN_USE";
      if ((status >= 500 || inFlight) && !last) {
        await sleep(this.#backoff(attempt));
        continue;
      }
      const token = member(value, "csrfToken");
      if (typeof token === "string") this.#csrfToken = token;
      return { status, ok: status >= 200 && status < 300, body: value, replayed, attempts: attempt, idempotencyKey: key };
    }
  }

  #backoff(attempt) {
    const exp = this.#baseDelayMs * 2 ** Math.min(attempt - 1, 10);
    return Math.min(exp, 10_000) * (0.5 + Math.random() / 2);
  }

  async #fetchOnce(method, url, body, key) {
    const headers = { Accept: "application/json" };
    if (body !== null) headers["Content-Type"] = "application/json";
    if (changesState(method) && this.#csrfToken !== null) headers["X-CSRF-Token"] = this.#csrfToken;
    if (key !== null) headers["Idempotency-Key"] = key;
    if (this.#cookies.size > 0) headers.Cookie = Array.from(this.#cookies, ([k, v]) => `${k}=${v}`).join("; ");
    const init = { method, headers };
    if (body !== null) init.body = body;
    if (typeof AbortSignal?.timeout === "function") init.signal = AbortSignal.timeout(this.#timeoutMs);
    const response = await fetch(url, init);
    const replayed = response.headers.get("idempotent-replayed") === "true";
    if (typeof response.headers.getSetCookie === "function") {
      for (const cookie of response.headers.getSetCookie()) {
        const pair = cookie.split(";")[0];
        const at = pair.indexOf("=");
        if (at < 0) continue;
        const name = pair.slice(0, at).trim();
        const value = pair.slice(at + 1).trim();
        if (value === "") this.#cookies.delete(name);
        else this.#cookies.set(name, value);
      }
    }
    const text = await response.text();
    let value = null;
    if (text !== "") {
      try {
        value = JSON.parse(text);
      } catch {
        value = null;
      }
    }
    return { status: response.status, value, replayed };
  }
}

function refusedLocally(local) {
  return {
    source: "local",
    ok: false,
    status: null,
    body: null,
    local,
    decision: null,
    reasons: local.reasons ?? [],
    agreed: null,
    refreshPolicy: false,
    replayed: false,
    attempts: 0,
    idempotencyKey: null,
  };
}
