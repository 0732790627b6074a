// Starts the app: loads the rules core and the policy, restores the session, draws the header and runs the
// kiosk channel; router.js routes on the hash and state.js holds what the pages share.

import { t, lang, setLang, onLangChange } from './i18n.js';
import { get, post, early, setCsrfToken, onSessionEnd, onPolicyStale, withProgress, resetClient } from './net.js';
import { loadCore, usePolicy } from './core.js';
import { h, fill, notice, toast } from './ui.js';
import { app, onSignedIn, onPersonChange, rememberPolicy, forgetPolicies, policyFor, applySession, signedOut } from './state.js';
import { navigate, homePath, parseHash, route, followHash, onKioskPath } from './router.js';
import { mountDevPanel, refreshDevPanel } from './dev-panel.js';
import { signApiRequests } from './kiosk-device.js';

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
  if (app.account) {
    // An account not yet linked to a person has no name yet; the verification page names its phone.
    if (app.person) who.append(h('span', { class: 'visually-hidden' }, t('signedInAs', { name: '' })), app.person.name ?? '');
    who.append(' ', h('button', { type: 'button', class: 'link', id: 'sign-out', style: 'color:#fff', onclick: () => signOut() }, t('signOut')));
  }
}

async function signOut({ idle = false } = {}) {
  try {
    if (app.account) await post('/auth/sign-out', {}, { idempotent: true });
  } catch { /* the session may already be gone; the page signs out either way */ }
  signedOut();
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

// Kiosk channel: larger targets, no camera, sign-out after inactivity.
let idleTimer = null;
let warnTimer = null;
let idleDeadline = 0;
/** How long before the idle sign-out the kiosk warns, out loud for screen-reader users too. */
const IDLE_WARNING_SECONDS = 15;

function enterKiosk() {
  app.channel = 'kiosk';
  signApiRequests();
  try { sessionStorage.setItem('renche.channel', 'kiosk'); } catch { /* not fatal */ }
  document.body.classList.add('kiosk');
  renderChrome();
  resetIdleTimer();
}

function resetIdleTimer() {
  if (app.channel !== 'kiosk') return;
  clearTimeout(idleTimer);
  clearTimeout(warnTimer);
  idleDeadline = Date.now() + app.kioskIdleSeconds * 1000;
  if (app.account) {
    idleTimer = setTimeout(() => signOut({ idle: true }), app.kioskIdleSeconds * 1000);
    // A short idle time (a test's) still leaves most of it quiet before the warning.
    const warnIn = app.kioskIdleSeconds - Math.min(IDLE_WARNING_SECONDS, app.kioskIdleSeconds / 3);
    warnTimer = setTimeout(showIdleWarning, warnIn * 1000);
  }
  showIdleNote();
}

/** The last seconds before the idle sign-out: said in the note, which becomes an alert that is read out. */
function showIdleWarning() {
  const note = document.getElementById('idle-note');
  if (!note || app.channel !== 'kiosk' || !app.account) return;
  note.setAttribute('role', 'alert');
  note.classList.add('warning');
  note.textContent = t('kioskIdleWarning', { s: idleSecondsLeft() });
}

/** A quiet line under the page telling kiosk users that the session ends by itself. */
function showIdleNote() {
  let note = document.getElementById('idle-note');
  if (app.channel !== 'kiosk' || !app.account) {
    note?.remove();
    return;
  }
  if (!note) {
    note = h('p', { class: 'idle-note', id: 'idle-note' });
    document.getElementById('main').after(note);
  }
  // The quiet line is not read out on every touch; only the warning is (showIdleWarning).
  note.removeAttribute('role');
  note.classList.remove('warning');
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

export function idleSecondsLeft() {
  return Math.max(0, Math.round((idleDeadline - Date.now()) / 1000));
}

async function start() {
  const t0 = performance.now();
  setLang(lang());
  onKioskPath(enterKiosk);
  readChannel();
  renderChrome();
  document.getElementById('lang-toggle').addEventListener('click', () => setLang(lang() === 'zh' ? 'en' : 'zh'));
  onLangChange(() => {
    renderChrome();
    refreshDevPanel();
    showIdleNote();
    route({ keepMemo: true });
  });
  // A sign-in (state.js) redraws the chrome, starts the kiosk's idle timer and goes to the home page.
  onSignedIn(() => {
    renderChrome();
    refreshDevPanel();
    resetIdleTimer();
    navigate(homePath());
  });
  onPersonChange(renderChrome);
  onSessionEnd(() => {
    if (!app.account) return;
    signedOut();
    renderChrome();
    toast(t('errSessionExpired'), 'error');
    navigate('/signin');
  });
  onPolicyStale(async () => {
    // The server decides with a newer policy: forget the cached ones and parse the current one.
    forgetPolicies();
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
    rememberPolicy(null, policy);
    usePolicy(policy);
  } catch (err) {
    console.warn(err);
    fill(document.getElementById('main'),
      notice(err?.friendly ?? t('errCoreLoad'), 'error'),
      h('div', { class: 'actions' }, h('button', { type: 'button', class: 'primary', onclick: () => location.reload() }, t('retry'))));
    return;
  }
  setCsrfToken(session?.csrfToken);
  applySession(session);
  renderChrome();
  // The development panel appears only where the server has its dev endpoints; the page does not wait.
  get('/dev/sms-outbox', { quiet: true }).then(() => {
    app.dev = true;
    mountDevPanel();
  }, () => {});
  followHash();
  await route();
  resetIdleTimer();
  // Load-to-interactive: the core is instantiated, the policy parsed and the first page drawn.
  window.__rencheReady = performance.now();
  window.__rencheStartedAt = t0;
  document.documentElement.dataset.ready = 'true';
}

start();
