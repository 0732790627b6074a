// Starts the app: loads the rules core and the policy, restores the session, and routes on the hash.

import { t, lang, setLang, onLangChange } from './i18n.js';
import { get, post, early, setCsrfToken, onSessionEnd, onPolicyStale, withProgress, resetClient } from './net.js';
import { loadCore, usePolicy, currentRules } from './core.js';
import { h, fill, notice, toast } from './ui.js';
import { mountDevPanel, refreshDevPanel } from './dev-panel.js';
import * as signIn from './pages/signin.js';
import * as vehicles from './pages/vehicles.js';
import * as qrPage from './pages/qr.js';
import * as bind from './pages/bind.js';
import * as violations from './pages/violations.js';
import * as windowConsole from './pages/window.js';

/** What every page may read: the signed-in person, the channel, the parsed policy, dev mode. */
export const app = {
  person: null,
  channel: 'app',
  policy: null,
  dev: false,
  kioskIdleSeconds: 90,
};

const ROUTES = [
  { pattern: /^\/signin$/, page: signIn, anonymous: true, nav: null },
  { pattern: /^\/register$/, page: signIn, anonymous: true, params: { register: true }, nav: null },
  { pattern: /^\/vehicles$/, page: vehicles, nav: 'vehicles' },
  { pattern: /^\/vehicles\/([^/]+)\/qr$/, page: qrPage, keys: ['vehicleId'], nav: 'vehicles' },
  { pattern: /^\/bind$/, page: bind, nav: 'bind' },
  { pattern: /^\/bind\/(scan|sms)$/, page: bind, keys: ['method'], nav: 'bind' },
  { pattern: /^\/violations$/, page: violations, nav: 'violations' },
  { pattern: /^\/violations\/([^/]+)$/, page: violations, keys: ['violationId'], nav: 'violations' },
  { pattern: /^\/window$/, page: windowConsole, nav: 'window', officer: true },
];

let unmountCurrent = null;
let currentPath = null;
let routeMemo = {};
let routeToken = 0;

export function navigate(path) {
  if (location.hash === `#${path}`) route();
  else location.hash = `#${path}`;
}

function homePath() {
  if (!app.person) return '/signin';
  return app.person.role === 'officer' && app.channel !== 'kiosk' ? '/window' : '/vehicles';
}

function parseHash() {
  const raw = decodeURIComponent(location.hash.replace(/^#/, '')) || '/';
  return raw.split('?')[0];
}

/** Renders the page for the current hash. Language changes re-render with the same memo, keeping input. */
async function route({ keepMemo = false } = {}) {
  let path = parseHash();
  if (path === '/kiosk') {
    enterKiosk();
    path = homePath();
    history.replaceState(null, '', `#${path}`);
  }
  if (path === '/' || path === '') {
    path = homePath();
    history.replaceState(null, '', `#${path}`);
  }
  const match = ROUTES.map((r) => ({ r, m: path.match(r.pattern) })).find((x) => x.m);
  const main = document.getElementById('main');
  unmountCurrent?.();
  unmountCurrent = null;
  if (!keepMemo || path !== currentPath) routeMemo = {};
  currentPath = path;
  renderNav(match?.r.nav);
  if (!match) {
    fill(main, h('h1', { tabindex: '-1', class: 'page-title' }, t('errUnknownPage')),
      h('a', { href: `#${homePath()}`, class: 'button primary' }, t('goHome')));
    focusHeading(main);
    return;
  }
  const { r, m } = match;
  if (!r.anonymous && !app.person) {
    navigate('/signin');
    return;
  }
  if (r.anonymous && app.person) {
    navigate(homePath());
    return;
  }
  const params = { ...(r.params ?? {}) };
  (r.keys ?? []).forEach((key, i) => { params[key] = m[i + 1]; });
  const container = h('div', { class: 'page' });
  fill(main, container);
  const token = ++routeToken;
  try {
    const cleanup = (await r.page.mount(container, params, routeMemo)) ?? null;
    // Another navigation happened while this page was loading: it is already gone, so stop its timers.
    if (token !== routeToken) { cleanup?.(); return; }
    unmountCurrent = cleanup;
    document.documentElement.dataset.route = path;
  } catch (err) {
    if (token !== routeToken) return;
    document.documentElement.dataset.route = path;
    console.warn(err);
    fill(container, notice(err?.friendly ?? t('errServer'), 'error'),
      h('div', { class: 'actions' }, h('button', { type: 'button', class: 'primary', onclick: () => route() }, t('retry'))));
  }
  if (!keepMemo) focusHeading(main);
}

let firstPageDrawn = false;

function focusHeading(main) {
  // On the first page the browser starts at the top (skip link first); after a navigation, focus moves to
  // the new page's heading so keyboard and screen-reader users start there rather than in the old page.
  if (!firstPageDrawn) {
    firstPageDrawn = true;
    return;
  }
  if (document.activeElement && document.activeElement !== document.body && document.activeElement.closest?.('#dev-panel')) return;
  main.querySelector('h1')?.focus({ preventScroll: false });
}

function renderNav(active) {
  const nav = document.getElementById('mainnav');
  nav.setAttribute('aria-label', t('mainNav'));
  if (!app.person) {
    nav.hidden = true;
    nav.replaceChildren();
    return;
  }
  const items = [
    ['vehicles', '/vehicles', t('navVehicles')],
    ['bind', '/bind', t('navBind')],
    ['violations', '/violations', t('navViolations')],
  ];
  if (app.person.role === 'officer' && app.channel !== 'kiosk') items.push(['window', '/window', t('navWindow')]);
  nav.hidden = false;
  nav.replaceChildren(...items.map(([key, href, label]) =>
    h('a', { href: `#${href}`, 'aria-current': key === active ? 'page' : null, 'data-nav': key }, label)));
}

function renderChrome() {
  document.title = `${t('appName')} · ${t('appTagline')}`;
  document.getElementById('brand-name').textContent = t('appName');
  document.getElementById('skip-link').textContent = t('skipToContent');
  const toggle = document.getElementById('lang-toggle');
  toggle.textContent = t('langToggle');
  toggle.setAttribute('lang', lang() === 'zh' ? 'en' : 'zh-CN');
  toggle.setAttribute('aria-label', t('langToggleLabel'));
  document.getElementById('progress').setAttribute('aria-label', t('loading'));
  const badge = document.getElementById('kiosk-badge');
  badge.hidden = app.channel !== 'kiosk';
  badge.textContent = t('kioskBadge');
  const who = document.getElementById('who');
  who.replaceChildren();
  if (app.person) {
    who.append(h('span', { class: 'visually-hidden' }, t('signedInAs', { name: '' })), app.person.name ?? '');
    who.append(' ', h('button', { type: 'button', class: 'link', id: 'sign-out', style: 'color:#fff', onclick: () => signOut() }, t('signOut')));
  }
}

/** Called by the sign-in page and after registration. */
export function signedIn(person, csrfToken) {
  app.person = person;
  app.idleSignedOut = false;
  resetClient();
  if (csrfToken) setCsrfToken(csrfToken);
  renderChrome();
  refreshDevPanel();
  resetIdleTimer();
  navigate(homePath());
}

export async function signOut({ idle = false } = {}) {
  try {
    if (app.person) await post('/auth/sign-out', {}, { idempotent: true });
  } catch { /* the session may already be gone; the page signs out either way */ }
  app.person = null;
  app.idleSignedOut = idle;
  resetClient();
  try {
    const session = await get('/session');
    setCsrfToken(session?.csrfToken);
  } catch { /* sign-in will fetch a new one */ }
  renderChrome();
  refreshDevPanel();
  showIdleNote();
  navigate('/signin');
  if (idle) toast(t('kioskSignedOut'));
}

/** Reloads the signed-in person (points, verification) after a change. */
export async function refreshPerson() {
  try {
    app.person = await get('/me', { quiet: true });
    renderChrome();
  } catch { /* keep what we have */ }
  return app.person;
}

// Kiosk channel: larger targets, no camera, sign-out after inactivity.
let idleTimer = null;
let idleDeadline = 0;

function enterKiosk() {
  app.channel = 'kiosk';
  try { sessionStorage.setItem('renche.channel', 'kiosk'); } catch { /* not fatal */ }
  document.body.classList.add('kiosk');
  renderChrome();
  resetIdleTimer();
}

function resetIdleTimer() {
  if (app.channel !== 'kiosk') return;
  clearTimeout(idleTimer);
  idleDeadline = Date.now() + app.kioskIdleSeconds * 1000;
  if (app.person) {
    idleTimer = setTimeout(() => signOut({ idle: true }), app.kioskIdleSeconds * 1000);
  }
  showIdleNote();
}

/** A quiet line under the page telling kiosk users that the session ends by itself. */
function showIdleNote() {
  let note = document.getElementById('idle-note');
  if (app.channel !== 'kiosk' || !app.person) {
    note?.remove();
    return;
  }
  if (!note) {
    note = h('p', { class: 'idle-note', id: 'idle-note' });
    document.getElementById('main').after(note);
  }
  note.textContent = t('kioskIdle', { s: app.kioskIdleSeconds });
}

function readChannel() {
  const query = new URLSearchParams(location.search);
  const idle = Number(query.get('idle') ?? localStorage.getItem('renche.kioskIdleSeconds'));
  if (Number.isFinite(idle) && idle > 0) app.kioskIdleSeconds = idle;
  let saved = null;
  try { saved = sessionStorage.getItem('renche.channel'); } catch { /* ignore */ }
  if (query.get('channel') === 'kiosk' || saved === 'kiosk' || parseHash() === '/kiosk') enterKiosk();
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

export function idleSecondsLeft() {
  return Math.max(0, Math.round((idleDeadline - Date.now()) / 1000));
}

async function start() {
  const t0 = performance.now();
  setLang(lang());
  readChannel();
  renderChrome();
  document.getElementById('lang-toggle').addEventListener('click', () => setLang(lang() === 'zh' ? 'en' : 'zh'));
  onLangChange(() => {
    renderChrome();
    refreshDevPanel();
    showIdleNote();
    route({ keepMemo: true });
  });
  onSessionEnd(() => {
    if (!app.person) return;
    app.person = null;
    renderChrome();
    toast(t('errSessionExpired'), 'error');
    navigate('/signin');
  });
  onPolicyStale(async () => {
    // The server decides with a newer policy: forget the cached ones and parse the current one.
    policyCache.clear();
    try {
      const policy = await policyFor(null);
      app.policy = policy;
      usePolicy(policy);
    } catch { /* the next commit will say so again */ }
  });
  for (const type of ['pointerdown', 'keydown', 'input', 'touchstart']) {
    document.addEventListener(type, resetIdleTimer, { passive: true, capture: true });
  }

  let session;
  try {
    // The core, the policy and the session load side by side: none depends on another.
    const [, policy, sessionAnswer] = await withProgress(() => Promise.all([
      loadCore(),
      early('policy', '/policy'),
      early('session', '/session'),
    ]));
    session = sessionAnswer;
    app.policy = policy;
    policyCache.set('', policy);
    usePolicy(policy);
  } catch (err) {
    console.warn(err);
    fill(document.getElementById('main'),
      notice(err?.friendly ?? t('errCoreLoad'), 'error'),
      h('div', { class: 'actions' }, h('button', { type: 'button', class: 'primary', onclick: () => location.reload() }, t('retry'))));
    return;
  }
  setCsrfToken(session?.csrfToken);
  app.person = session?.person ?? null;
  renderChrome();
  // The development panel appears only where the server has its dev endpoints; the page does not wait.
  get('/dev/sms-outbox', { quiet: true }).then(() => {
    app.dev = true;
    mountDevPanel();
  }, () => {});
  // Two quick hash changes (a redirect after sign-in, then a click) fire two events that both read the
  // latest hash; drawing that page twice would restart its work (a new QR code, a camera), so the second
  // is dropped.
  window.addEventListener('hashchange', () => {
    if (parseHash() !== currentPath) route();
  });
  await route();
  resetIdleTimer();
  // Load-to-interactive: the core is instantiated, the policy parsed and the first page drawn.
  window.__rencheReady = performance.now();
  window.__rencheStartedAt = t0;
  document.documentElement.dataset.ready = 'true';
}

export { currentRules };

start();
