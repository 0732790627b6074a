// Real-person verification through the hosted provider: the server starts a verification and names the
// provider's page, the browser goes there (camera, liveness prompt) and comes back to a return address,
// and the server checks the provider's signed result. The provider's page is a full navigation away, so
// what the person was doing (which application, which relationship) is kept in sessionStorage meanwhile.

import { get, post } from '../net.js';

const KEY = 'renche.verification';

/**
 * Starts a verification and goes to the provider's page. `purpose` is `account` (name and resident ID, once
 * per account: links the person's records) or `application` (`applicationId`: the binder's check before
 * the commit). `returnPath` is the in-app route the provider sends the person back to; `resume` is kept for
 * the page there. Never resolves (the browser leaves); a refusal rejects with the server's reasons.
 */
export async function startVerification({ purpose, name, residentId, applicationId, returnPath, resume = {} }) {
  const body = { purpose, returnPath: `/#${returnPath}` };
  if (name !== undefined) body.name = name;
  if (residentId !== undefined) body.residentId = residentId;
  if (applicationId !== undefined) body.applicationId = String(applicationId);
  const verification = await post('/identity/verifications', body, { idempotent: true });
  try {
    sessionStorage.setItem(KEY, JSON.stringify({ id: verification.id, purpose, resume }));
  } catch { /* the return page then reads the id from the address */ }
  location.assign(verification.providerUrl);
  return new Promise(() => {});
}

/** What the page kept before it left for the provider: {id, purpose, resume}, or null. */
export function pendingVerification() {
  try {
    return JSON.parse(sessionStorage.getItem(KEY) ?? 'null');
  } catch {
    return null;
  }
}

export function forgetVerification() {
  try { sessionStorage.removeItem(KEY); } catch { /* nothing kept */ }
}

/**
 * The provider's answer as it came back in the address: `verificationId` and `result`, in the query of the
 * page or of the hash route (`#/verify/done?verificationId=…&result=…`). The server checks the signature.
 */
export function returnedResult() {
  const found = {};
  const hashQuery = location.hash.includes('?') ? location.hash.slice(location.hash.indexOf('?') + 1) : '';
  for (const query of [location.search.slice(1), hashQuery]) {
    for (const [k, v] of new URLSearchParams(query)) found[k] = v;
  }
  const kept = pendingVerification();
  return { verificationId: found.verificationId ?? kept?.id ?? null, result: found.result ?? null };
}

/**
 * Hands an account verification's signed result to the server (`finish`). Resolves to the new session
 * (the account now linked to its person); a refusal rejects with the server's reasons.
 */
export async function finishVerification({ verificationId, result }) {
  const body = result ? { result } : {};
  return post(`/identity/verifications/${encodeURIComponent(verificationId)}/finish`, body, { idempotent: true });
}

/**
 * What the provider said of a verification the server refused as not passed: `failed`, `no_face` or
 * `unavailable` (the refusal's code alone does not tell a failed check from one that saw no face).
 */
export async function verificationStatus(verificationId, err) {
  if (err?.code === 'REAL_PERSON_VERIFICATION_UNAVAILABLE') return 'unavailable';
  try {
    const v = await get(`/identity/verifications/${encodeURIComponent(verificationId)}`, { quiet: true });
    if (['failed', 'no_face', 'unavailable'].includes(v?.status)) return v.status;
  } catch { /* the refusal's code decides */ }
  return 'failed';
}

/** The refusals that mean "the face check did not pass" rather than "this result cannot be used". */
export function notPassed(err) {
  return err?.code === 'REAL_PERSON_VERIFICATION_FAILED' || err?.code === 'REAL_PERSON_VERIFICATION_UNAVAILABLE';
}

/** Removes the provider's answer from the address, so that a reload does not hand it in again. */
export function clearReturnedParams(path) {
  history.replaceState(null, '', `${location.pathname}#${path}`);
}
