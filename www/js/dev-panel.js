// The development panel: only when the server runs with --dev. It shows the SMS outbox (so a tester can
// read codes sent to any phone, owners included) and drives the development payment provider. It is not
// part of the product and talks only to /api/v1/dev/*. It has no way to pass real-person verification:
// only the provider's own page does that, so the page under test takes the path a citizen takes.

import { t } from './i18n.js';
import { get, post } from './net.js';
import { h, fill, cstDateTime, toast } from './ui.js';
import { app } from './state.js';
import { devices } from './kiosk-device.js';

let panel = null;
let outboxList = null;
let pollTimer = null;
let lastPayment = null;

export function mountDevPanel() {
  panel = document.getElementById('dev-panel');
  panel.hidden = false;
  render();
  clearInterval(pollTimer);
  pollTimer = setInterval(() => { if (panel.querySelector('details')?.open) loadOutbox(); }, 2000);
}

export function refreshDevPanel() {
  if (panel && app.dev) render();
}

function render() {
  const wasOpen = panel.querySelector('details')?.open ?? true;
  outboxList = h('ul', { class: 'outbox', id: 'dev-outbox', 'aria-live': 'polite' });
  const paymentStatus = h('p', { class: 'meta', id: 'dev-payment-status', role: 'status' },
    lastPayment ? t('devPaymentSet', { outcome: t(lastPayment) }) : '');
  const setPayment = (outcome, labelKey) => async () => {
    try {
      await post('/dev/payment', { outcome });
      lastPayment = labelKey;
      paymentStatus.textContent = t('devPaymentSet', { outcome: t(labelKey) });
    } catch (err) {
      toast(err?.friendly ?? err.message, 'error');
    }
  };
  fill(panel, h('details', { open: wasOpen },
    h('summary', {}, t('devPanel')),
    h('p', { class: 'meta' }, t('devPanelIntro')),
    // Developer detail lives here, never on the citizen's pages.
    app.policy?.version ? h('p', { class: 'meta', id: 'dev-policy-version' }, t('devPolicyVersion', { version: app.policy.version })) : null,
    h('h2', {}, t('devOutbox')),
    h('div', { class: 'actions' }, h('button', { type: 'button', onclick: () => loadOutbox(), id: 'dev-refresh' }, t('devRefresh'))),
    outboxList,
    app.account ? [
      h('h2', {}, t('devPayment')),
      h('div', { class: 'actions' },
        h('button', { type: 'button', id: 'dev-pay-succeed', onclick: setPayment('succeed', 'devPaymentSucceed') }, t('devPaymentSucceed')),
        h('button', { type: 'button', id: 'dev-pay-fail', class: 'danger', onclick: setPayment('fail', 'devPaymentFail') }, t('devPaymentFail'))),
      paymentStatus,
    ] : null,
    app.channel === 'kiosk' ? kioskDevices() : null));
  loadOutbox();
}

/** The kiosk's development card reader and face check: a tester places a card and sets the face result. */
function kioskDevices() {
  const id = h('input', { name: 'devCardId', id: 'dev-card-id', autocomplete: 'off', inputmode: 'numeric', maxlength: 18 });
  const name = h('input', { name: 'devCardName', id: 'dev-card-name', autocomplete: 'off', maxlength: 20 });
  const faceStatus = h('p', { class: 'meta', id: 'dev-face-status', role: 'status' });
  const setFace = (score, key) => () => {
    devices.faceCheck.set({ score, live: true });
    faceStatus.textContent = t('devFaceSet', { outcome: t(key) });
  };
  return [
    h('h2', {}, t('devKiosk')),
    h('label', { for: 'dev-card-id' }, t('devCardId')), id,
    h('label', { for: 'dev-card-name' }, t('devCardName')), name,
    h('div', { class: 'actions' },
      h('button', { type: 'button', id: 'dev-place-card', onclick: () => devices.cardReader.place({ residentId: id.value.trim(), name: name.value.trim() }) }, t('devPlaceCard'))),
    h('div', { class: 'actions' },
      h('button', { type: 'button', id: 'dev-face-match', onclick: setFace(0.95, 'devFaceMatch') }, t('devFaceMatch')),
      h('button', { type: 'button', id: 'dev-face-mismatch', class: 'danger', onclick: setFace(0.31, 'devFaceMismatch') }, t('devFaceMismatch'))),
    faceStatus,
  ];
}

async function loadOutbox() {
  if (!outboxList) return;
  let messages = [];
  try {
    messages = (await get('/dev/sms-outbox', { quiet: true }))?.messages ?? [];
  } catch {
    return;
  }
  const list = outboxList;
  fill(list, messages.length === 0
    ? h('li', {}, t('devOutboxEmpty'))
    : messages.slice(0, 8).map((m) => h('li', { 'data-phone': m.phone, 'data-code': m.code ?? '' },
      h('span', {}, m.phone), ' ',
      m.code ? h('span', { class: 'code' }, m.code) : null,
      h('span', { class: 'meta' }, cstDateTime(m.sentAt)),
      m.code ? h('button', { type: 'button', class: 'link', onclick: () => useCode(m.code) }, t('devUseCode')) : null)));
}

/** Fills the visible code field with a code from the outbox. */
function useCode(code) {
  const input = document.querySelector('input[data-code-field]');
  if (!input) return;
  input.value = code;
  input.dispatchEvent(new Event('input', { bubbles: true }));
  input.focus();
}
