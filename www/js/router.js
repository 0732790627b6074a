// Hash routing: which page draws which path, the navigation bar, and focus after a navigation. The only
// module that imports the pages; pages reach each other by links (`#/…`), never by imports.

import { t } from './i18n.js';
import { h, fill, notice } from './ui.js';
import { app, needsVerification, onUnreadChange, refreshUnread } from './state.js';
import * as signIn from './pages/signin.js';
import * as vehicles from './pages/vehicles.js';
import * as qrPage from './pages/qr.js';
import * as bind from './pages/bind.js';
import * as violations from './pages/violations.js';
import * as windowConsole from './pages/window.js';
import * as inbox from './pages/inbox.js';
import * as historyPage from './pages/history.js';
import * as reviewPhoto from './pages/review-photo.js';
import * as windowReview from './pages/window-review.js';
import * as verify from './pages/verify.js';
import * as kioskPages from './pages/kiosk.js';
import { kioskId } from './kiosk-device.js';
import { verifyFirst } from './widgets/verify-first.js';

const ROUTES = [
  // At a kiosk, sign-in is the ID card and the face check.
  { pattern: /^\/signin$/, page: signIn, kioskPage: { mount: kioskPages.mountSignIn }, anonymous: true, nav: null },
  { pattern: /^\/kiosk\/setup$/, page: { mount: kioskPages.mountSetup }, anonymous: true, any: true, nav: null },
  { pattern: /^\/kiosk\/lookup$/, page: { mount: kioskPages.mountLookup }, kioskOnly: true, nav: 'lookup' },
  { pattern: /^\/register$/, page: signIn, anonymous: true, params: { register: true }, nav: null },
  { pattern: /^\/verify$/, page: verify, nav: null },
  { pattern: /^\/verify\/done$/, page: verify, params: { done: true }, nav: null },
  // `records`: the page shows the person's vehicles, licence or bindings, which only a verified account has.
  { pattern: /^\/vehicles$/, page: vehicles, nav: 'vehicles', records: 'vehiclesTitle' },
  { pattern: /^\/vehicles\/([^/]+)\/qr$/, page: qrPage, keys: ['vehicleId'], nav: 'vehicles', records: 'qrTitle' },
  { pattern: /^\/bind$/, page: bind, nav: 'bind', records: 'bindTitle' },
  { pattern: /^\/bind\/(scan|sms|verified)$/, page: bind, keys: ['method'], nav: 'bind', records: 'bindTitle' },
  { pattern: /^\/violations$/, page: violations, nav: 'violations', records: 'violationsTitle' },
  { pattern: /^\/violations\/([^/]+)\/receipt$/, page: violations, keys: ['violationId'], params: { receipt: true }, nav: 'violations', records: 'receiptTitle' },
  { pattern: /^\/violations\/([^/]+)$/, page: violations, keys: ['violationId'], nav: 'violations', records: 'violationsTitle' },
  { pattern: /^\/window$/, page: windowConsole, nav: 'window', officer: true },
  { pattern: /^\/window\/reviews\/([^/]+)$/, page: windowReview, keys: ['applicationId'], nav: 'window', officer: true },
  { pattern: /^\/inbox$/, page: inbox, nav: 'inbox' },
  { pattern: /^\/history$/, page: historyPage, nav: 'vehicles' },
  { pattern: /^\/applications\/([^/]+)\/photo$/, page: reviewPhoto, keys: ['applicationId'], nav: 'bind' },
];

let unmountCurrent = null;
let currentPath = null;
let routeMemo = {};
let routeToken = 0;
// `#/kiosk` switches the tab to the kiosk channel, which app.js owns (chrome, inactivity timer).
let enterKiosk = () => {};

/** What `#/kiosk` does before it goes on to the home page. */
export function onKioskPath(fn) {
  enterKiosk = fn;
}

export function navigate(path) {
  if (location.hash === `#${path}`) route();
  else location.hash = `#${path}`;
}

export function homePath() {
  if (app.channel === 'kiosk' && !kioskId()) return '/kiosk/setup';
  if (!app.account) return '/signin';
  if (app.channel === 'kiosk') return '/violations';
  if (needsVerification()) return '/verify';
  return app.person.role === 'officer' ? '/window' : '/vehicles';
}

export function parseHash() {
  const raw = decodeURIComponent(location.hash.replace(/^#/, '')) || '/';
  return raw.split('?')[0];
}

/** Renders the page for the current hash. Language changes re-render with the same memo, keeping input. */
export async function route({ keepMemo = false } = {}) {
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
  // The unread count in the inbox link follows every navigation (and the inbox's own marks).
  if (app.person) refreshUnread();
  if (!match) {
    fill(main, h('h1', { tabindex: '-1', class: 'page-title' }, t('errUnknownPage')),
      h('a', { href: `#${homePath()}`, class: 'button primary' }, t('goHome')));
    focusHeading(main);
    return;
  }
  const { r, m } = match;
  // A kiosk that is not enrolled yet can only be set up; the app has no kiosk pages.
  if (app.channel === 'kiosk' && !kioskId() && path !== '/kiosk/setup') {
    navigate('/kiosk/setup');
    return;
  }
  if (r.kioskOnly && app.channel !== 'kiosk') {
    navigate(homePath());
    return;
  }
  if (!r.anonymous && !app.account) {
    navigate('/signin');
    return;
  }
  if (r.anonymous && !r.any && app.account) {
    navigate(homePath());
    return;
  }
  if (r.records && needsVerification()) {
    // The server would answer IDENTITY_NOT_VERIFIED: say what to do instead of showing an error.
    fill(main, h('div', { class: 'page' }, verifyFirst(t(r.records))));
    document.documentElement.dataset.route = path;
    if (!keepMemo) focusHeading(main);
    return;
  }
  const params = { ...(r.params ?? {}) };
  (r.keys ?? []).forEach((key, i) => { params[key] = m[i + 1]; });
  const container = h('div', { class: 'page' });
  fill(main, container);
  const token = ++routeToken;
  try {
    const page = app.channel === 'kiosk' && r.kioskPage ? r.kioskPage : r.page;
    const cleanup = (await page.mount(container, params, routeMemo)) ?? null;
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

/**
 * Routes on every later hash change. Two quick hash changes (a redirect after sign-in, then a click) fire
 * two events that both read the latest hash; drawing that page twice would restart its work (a new QR code,
 * a camera), so the second is dropped.
 */
export function followHash() {
  window.addEventListener('hashchange', () => {
    if (parseHash() !== currentPath) route();
  });
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
  if (!app.account) {
    nav.hidden = true;
    nav.replaceChildren();
    return;
  }
  // A kiosk handles violations; binding, QR codes and the inbox are the app's.
  const items = app.channel === 'kiosk'
    ? [['violations', '/violations', t('navViolations')], ['lookup', '/kiosk/lookup', t('navKioskLookup')]]
    : [
      ['vehicles', '/vehicles', t('navVehicles')],
      ['bind', '/bind', t('navBind')],
      ['violations', '/violations', t('navViolations')],
      ['inbox', '/inbox', t('navInbox')],
    ];
  if (app.person?.role === 'officer' && app.channel !== 'kiosk') items.push(['window', '/window', t('navWindow')]);
  nav.hidden = false;
  nav.replaceChildren(...items.map(([key, href, label]) =>
    h('a', { href: `#${href}`, 'aria-current': key === active ? 'page' : null, 'data-nav': key }, label,
      key === 'inbox' ? unreadBadge() : null)));
}

/** The count of unread notices beside the inbox link; read out as part of the link's name. */
function unreadBadge() {
  const n = app.unread ?? 0;
  return h('span', { class: 'nav-count', id: 'unread-count', hidden: n === 0, 'aria-label': t('navInboxUnread', { n }) }, String(n));
}

onUnreadChange(() => {
  const old = document.getElementById('unread-count');
  if (old) old.replaceWith(unreadBadge());
});
