// What every page may read (the signed-in person, the channel, the policy, dev mode) and the session changes
// a page starts. Pages import this file, never app.js: app.js listens here to redraw the chrome and route, so
// that no page depends on the module that imports all the pages.

import { get, getPolicy, setCsrfToken, resetClient } from './net.js';

/**
 * The signed-in account and, once it has passed real-person verification, the person it is linked to;
 * the channel, the parsed policy, dev mode. `account` without `person` is an account that still has to
 * confirm who its holder is.
 */
export const app = {
  account: null,
  person: null,
  channel: 'app',
  policy: null,
  dev: false,
  kioskIdleSeconds: 90,
  unread: 0,
};

const signedInListeners = [];
const unreadListeners = [];

/** `fn(n)` when the count of unread notices changes (router.js: the inbox link). */
export function onUnreadChange(fn) {
  unreadListeners.push(fn);
}

/** Asks the server how many notices are unread and tells the listeners. */
export async function refreshUnread() {
  if (!app.person) return 0;
  try {
    const answer = await get('/notifications', { quiet: true });
    setUnread(answer?.unreadCount ?? 0);
  } catch { /* the count stays as it was */ }
  return app.unread ?? 0;
}

/** After the inbox marked notices read. */
export function setUnread(n) {
  app.unread = n;
  for (const fn of unreadListeners) fn(n);
}
const personListeners = [];

/** `fn()` after a sign-in or registration (app.js: chrome, idle timer, the home page). */
export function onSignedIn(fn) {
  signedInListeners.push(fn);
}

/** `fn()` after the signed-in person was reloaded (app.js: the name in the header). */
export function onPersonChange(fn) {
  personListeners.push(fn);
}

/** Takes the server's SessionView (`{csrfToken, account, person, nextStep}`) as what the page knows. */
export function applySession(session) {
  // A kiosk's session is a person the kiosk signed in by ID card, with no account of the app's.
  app.account = session?.account ?? (session?.person ? { kioskSession: true } : null);
  app.person = session?.person ?? null;
  // An account the server links to no person has to verify, whatever an older answer said.
  app.nextStep = session?.nextStep ?? (app.account && !app.person ? 'verify_identity' : null);
}

/** The account is signed in but not (or no longer) linked to a person: verification is its next step. */
export function needsVerification() {
  return app.account != null && (app.person == null || app.nextStep === 'verify_identity');
}

/** Called by the sign-in page and after registration, with the server's SessionView. */
export function signedIn(session) {
  applySession(session);
  app.idleSignedOut = false;
  resetClient();
  if (session?.csrfToken) setCsrfToken(session.csrfToken);
  for (const fn of signedInListeners) fn();
}

/** A new SessionView for the same session (a passed verification linked the person): the header follows. */
export function sessionChanged(session) {
  applySession(session);
  if (session?.csrfToken) setCsrfToken(session.csrfToken);
  for (const fn of personListeners) fn();
}

/** Forgets the signed-in account (signed out, or the session ended). */
export function signedOut() {
  applySession(null);
}

/** Reloads the session (account, person, next step) after a change such as a passed verification. */
export async function refreshPerson() {
  try {
    const session = await get('/session', { quiet: true });
    applySession(session);
    if (session?.csrfToken) setCsrfToken(session.csrfToken);
    for (const fn of personListeners) fn();
  } catch { /* keep what we have */ }
  return app.person;
}

/**
 * The policy for a city (cached until its next version's instant, when the server switches too); the
 * national default without a city.
 */
const policyCache = new Map();
export async function policyFor(city) {
  const key = city ?? '';
  const cached = policyCache.get(key);
  if (!cached || (cached.nextAt !== null && Date.now() >= cached.nextAt)) {
    policyCache.set(key, await getPolicy(`/policy${city ? `?city=${encodeURIComponent(city)}` : ''}`));
  }
  return policyCache.get(key).doc;
}

/** Keeps a policy document already fetched (the national one at start-up). */
export function rememberPolicy(city, doc) {
  policyCache.set(city ?? '', { doc, nextAt: null });
}

/** Forgets every cached policy: the server decides with a newer one. */
export function forgetPolicies() {
  policyCache.clear();
}
