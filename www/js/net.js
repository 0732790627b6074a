// The one place that talks HTTP. Every call shows the global progress bar while it waits, sends the CSRF
// token the server handed out, and turns failures into an ApiError carrying the server's reasons.

import { t } from './i18n.js';
import { core, currentRules } from './core.js';

const API = '/api/v1';
let pending = 0;
let csrfToken = null;
const sessionEndListeners = new Set();
const policyStaleListeners = new Set();

/** Called when the server decided with another policy version than the page's: fetch it again. */
export function onPolicyStale(fn) {
  policyStaleListeners.add(fn);
}

/** A refused or failed call. `reasons` are the server's ({code, params, message:{zh,en}}). */
export class ApiError extends Error {
  constructor({ status, code, reasons = [], friendly, body }) {
    super(code ?? `HTTP ${status}`);
    this.status = status;
    this.code = code;
    this.reasons = reasons;
    this.friendly = friendly;
    this.body = body;
  }
}

export function setCsrfToken(token) {
  csrfToken = token ?? null;
}

/** Called when the server says the session is gone (401), so the app can go back to sign-in. */
export function onSessionEnd(fn) {
  sessionEndListeners.add(fn);
}

function progress(delta) {
  pending += delta;
  const bar = document.getElementById('progress');
  if (!bar) return;
  bar.hidden = pending <= 0;
  document.body.toggleAttribute('aria-busy', pending > 0);
}

/** Waits for `work` with the progress bar showing (for non-HTTP waits such as the wasm start). */
export async function withProgress(work) {
  progress(1);
  try {
    return await work();
  } finally {
    progress(-1);
  }
}

function readCookie(name) {
  const hit = document.cookie.split('; ').find((c) => c.startsWith(`${name}=`));
  return hit ? decodeURIComponent(hit.slice(name.length + 1)) : null;
}

/** Pulls the reasons out of whatever error body the server sent. */
function reasonsOf(body) {
  if (!body || typeof body !== 'object') return [];
  const err = body.error ?? body;
  if (Array.isArray(err.reasons) && err.reasons.length) return err.reasons;
  if (Array.isArray(body.reasons) && body.reasons.length) return body.reasons;
  if (err.code && err.message) return [{ code: err.code, params: err.params ?? {}, message: err.message }];
  return [];
}

/**
 * Calls the API. Options: `idempotent: true` adds an Idempotency-Key (commits that may be retried);
 * `quiet: true` skips the progress bar (background polling).
 */
export async function api(method, path, body, { idempotent = false, quiet = false, idempotencyKey } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const csrf = csrfToken ?? readCookie('renche_csrf');
  if (csrf && method !== 'GET') headers['X-CSRF-Token'] = csrf;
  if (idempotent || idempotencyKey) headers['Idempotency-Key'] = idempotencyKey ?? crypto.randomUUID();
  if (!quiet) progress(1);
  let response;
  try {
    response = await fetch(`${API}${path}`, {
      method,
      headers,
      credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (cause) {
    throw new ApiError({ status: 0, code: 'NETWORK', friendly: t('errNetwork'), body: String(cause) });
  } finally {
    if (!quiet) progress(-1);
  }
  return readAnswer(response);
}

/**
 * A city's policy document and the instant its next version takes over (the server's
 * `X-Policy-Next-Effective-From`), or null when none is scheduled.
 */
export async function getPolicy(path) {
  let response;
  try {
    response = await fetch(`${API}${path}`, { headers: { Accept: 'application/json' }, credentials: 'same-origin' });
  } catch (cause) {
    throw new ApiError({ status: 0, code: 'NETWORK', friendly: t('errNetwork'), body: String(cause) });
  }
  const nextAt = Date.parse(response.headers.get('x-policy-next-effective-from') ?? '');
  return { doc: await readAnswer(response), nextAt: Number.isNaN(nextAt) ? null : nextAt };
}

/** Reads a request that was started before the app loaded (js/boot.js), or makes it now. */
export async function early(name, path) {
  const started = window.__rencheEarly?.[name];
  if (started) {
    delete window.__rencheEarly[name];
    try {
      return await readAnswer(await started);
    } catch (err) {
      if (err.status !== 0) throw err;
    }
  }
  return get(path, { quiet: true });
}

/** The answer's JSON, or an ApiError with the server's reasons. */
async function readAnswer(response) {
  const text = await response.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = { raw: text }; }
  }
  if (response.ok) return data;
  const reasons = reasonsOf(data);
  const code = data?.error?.code ?? data?.code ?? reasons[0]?.code;
  if (response.status === 401) {
    for (const fn of sessionEndListeners) fn();
    throw new ApiError({ status: 401, code: code ?? 'UNAUTHENTICATED', reasons, friendly: t('errSessionExpired'), body: data });
  }
  throw new ApiError({
    status: response.status,
    code,
    reasons,
    friendly: response.status >= 500 ? t('errServer') : undefined,
    body: data,
  });
}

// Commits (binding, handling, removal) go through the core's Client: it retries a lost answer under the
// same Idempotency-Key, so a commit is made once however flaky the network, and it reports whether the
// server's decision agreed with the local rules.
let client = null;

function commitClient(rules) {
  if (!client) client = new (core().Client)({ baseUrl: '' });
  const chosen = rules ?? currentRules();
  if (chosen) client.useRules(chosen);
  return client;
}

/** A new session (sign-in, sign-out) gets a new client, so no CSRF token of the old one is kept. */
export function resetClient() {
  client?.free();
  client = null;
}

/**
 * Runs one of the Client's commits with the progress bar showing, deciding locally with `rules` (the
 * vehicle's city) or the app's policy. Resolves to the outcome when the server
 * accepted it; throws an ApiError with the reasons (the server's, or the local rules' when they refused
 * without asking: `err.local`).
 */
export async function commit(call, { rules } = {}) {
  progress(1);
  let outcome;
  try {
    outcome = await call(commitClient(rules));
  } catch (cause) {
    throw new ApiError({ status: 0, code: 'NETWORK', friendly: t('errNetwork'), body: String(cause) });
  } finally {
    progress(-1);
  }
  if (outcome.refreshPolicy) for (const fn of policyStaleListeners) fn();
  if (outcome.ok) return outcome;
  const body = outcome.body ?? null;
  const reasons = outcome.reasons?.length ? outcome.reasons : reasonsOf(body);
  const status = outcome.status ?? 0;
  const err = new ApiError({
    status,
    code: body?.error?.code ?? reasons[0]?.code,
    reasons,
    friendly: status >= 500 ? t('errServer') : undefined,
    body,
  });
  err.local = outcome.source === 'local';
  err.outcome = outcome;
  if (status === 401) for (const fn of sessionEndListeners) fn();
  throw err;
}

/** Sends a file as the raw body (an image upload) by PUT, with its own type and an Idempotency-Key. */
export async function upload(path, file) {
  const headers = { Accept: 'application/json', 'Content-Type': file.type, 'Idempotency-Key': crypto.randomUUID() };
  const csrf = csrfToken ?? readCookie('renche_csrf');
  if (csrf) headers['X-CSRF-Token'] = csrf;
  progress(1);
  let response;
  try {
    response = await fetch(`${API}${path}`, { method: 'PUT', headers, credentials: 'same-origin', body: file });
  } catch (cause) {
    throw new ApiError({ status: 0, code: 'NETWORK', friendly: t('errNetwork'), body: String(cause) });
  } finally {
    progress(-1);
  }
  return readAnswer(response);
}

export const get = (path, opts) => api('GET', path, undefined, opts);
export const post = (path, body = {}, opts) => api('POST', path, body, opts);
export const del = (path, opts) => api('DELETE', path, undefined, opts);
