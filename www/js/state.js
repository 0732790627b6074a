// What every page may read (the signed-in person, the channel, the policy, dev mode) and the session changes
// a page starts. Pages import this file, never app.js: app.js listens here to redraw the chrome and route, so
// that no page depends on the module that imports all the pages.

import { get, setCsrfToken, resetClient } from './net.js';

/** The signed-in person, the channel, the parsed policy, dev mode. */
export const app = {
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

/** Called by the sign-in page and after registration. */
export function signedIn(person, csrfToken) {
  app.person = person;
  app.idleSignedOut = false;
  resetClient();
  if (csrfToken) setCsrfToken(csrfToken);
  for (const fn of signedInListeners) fn();
}

/** Reloads the signed-in person (points, verification) after a change. */
export async function refreshPerson() {
  try {
    app.person = await get('/me', { quiet: true });
    for (const fn of personListeners) fn();
  } catch { /* keep what we have */ }
  return app.person;
}

/** The policy for a city (cached); the national default without a city. */
const policyCache = new Map();
export async function policyFor(city) {
  const key = city ?? '';
  if (!policyCache.has(key)) {
    const doc = await get(`/policy${city ? `?city=${encodeURIComponent(city)}` : ''}`, { quiet: true });
    policyCache.set(key, doc);
  }
  return policyCache.get(key);
}

/** Keeps a policy document already fetched (the national one at start-up). */
export function rememberPolicy(city, doc) {
  policyCache.set(city ?? '', doc);
}

/** Forgets every cached policy: the server decides with a newer one. */
export function forgetPolicies() {
  policyCache.clear();
}
