// The owner's vehicle QR code: drawn by the core, counted down from the code's own expiry, greyed when it
// runs out, replaced on request, and a notice when someone binds with it.

import { t, pick } from '../i18n.js';
import { get, post } from '../net.js';
import { qrExports } from '../core.js';
import { h, fill, pageHeading, loadingBlock, errorNotice, busy, minutesSeconds, notice } from '../ui.js';
import { plateBadge } from '../widgets/plate-badge.js';

const POLL_MS = 2000;

/** The expiry written inside the code (epoch ms), read by the core; the server's field as a fallback. */
function expiryOf(issued) {
  try {
    return qrExports().decodePayload(issued.qrText).expiresAtMs;
  } catch (err) {
    console.warn('cannot read the code', err);
    return Date.parse(issued.expiresAt);
  }
}

/**
 * The countdown runs on the page's monotonic clock from the moment the code arrived: at that moment the
 * server's "now" was the code's expiry minus its lifetime, so a page clock that is minutes off still
 * shows the true remaining time. The core turns that "now" into whole seconds left.
 */
function makeClock(issued) {
  const expiryMs = expiryOf(issued);
  const lifetimeMs = (issued.lifetimeSeconds ?? 180) * 1000;
  const serverNowAtReceipt = expiryMs - lifetimeMs;
  const receivedAt = performance.now();
  return {
    expiryMs,
    remainingSeconds() {
      const serverNow = serverNowAtReceipt + (performance.now() - receivedAt);
      try {
        return qrExports().secondsLeft(issued.qrText, serverNow);
      } catch {
        return Math.max(0, Math.ceil((expiryMs - serverNow) / 1000));
      }
    },
  };
}

export async function mount(container, params, memo) {
  const vehicleId = params.vehicleId;
  const qrBox = h('div', { class: 'qr-box', id: 'qr-box' }, loadingBlock());
  const alerts = h('div', { id: 'qr-alerts', 'aria-live': 'assertive' });
  const newButton = h('button', { type: 'button', class: 'primary', id: 'qr-new' }, t('qrNew'));
  const plateLine = h('div', { class: 'row' });
  fill(container,
    pageHeading(t('qrTitle')),
    plateLine,
    h('p', { class: 'lead' }, t('qrIntro')),
    h('div', { class: 'card' }, qrBox, h('div', { class: 'actions' }, newButton)),
    alerts,
    h('div', { class: 'actions' }, h('a', { href: '#/vehicles', class: 'button' }, t('back'))));

  let vehicle = null;
  try {
    const answer = await get('/vehicles');
    vehicle = (answer?.vehicles ?? []).find((v) => String(v.id) === String(vehicleId));
  } catch (err) {
    fill(qrBox, errorNotice(err));
    return undefined;
  }
  if (!vehicle) {
    fill(qrBox, notice(t('notFound'), 'error'));
    newButton.hidden = true;
    return undefined;
  }
  fill(plateLine, plateBadge(vehicle));
  const plate = vehicle.plateDisplay ?? vehicle.plateNumber;

  let tickTimer = null;
  let pollTimer = null;
  let seenNotifications = null;

  const issue = () => busy(newButton, async () => {
    clearInterval(tickTimer);
    fill(qrBox, loadingBlock());
    let issued;
    try {
      issued = await post(`/vehicles/${encodeURIComponent(vehicleId)}/qr-codes`, {}, { idempotent: true });
    } catch (err) {
      fill(qrBox, errorNotice(err));
      return;
    }
    // Kept across a language switch, so that re-drawing the page does not void a code already shown.
    memo.issued = issued;
    memo.clock = makeClock(issued);
    memo.expiredFocused = false;
    show(issued, memo.clock);
  });

  const show = (issued, clock) => {
    const { renderSvg } = qrExports();
    const image = h('div', {
      class: 'qr-image', id: 'qr-image', role: 'img', 'aria-label': t('qrImageLabel', { plate }),
      'data-expires-at': new Date(expiryOf(issued)).toISOString(),
      html: renderSvg(issued.qrText),
    });
    const time = h('div', { class: 'countdown', id: 'qr-countdown', role: 'timer', 'aria-live': 'off' });
    const timeLabel = h('p', { class: 'meta', id: 'qr-countdown-label' }, t('qrExpiresIn'));
    const expiredNote = h('div', { id: 'qr-expired', 'aria-live': 'assertive' });
    time.setAttribute('aria-labelledby', 'qr-countdown-label');
    fill(qrBox, image, timeLabel, time, expiredNote);
    const tick = () => {
      const left = clock.remainingSeconds();
      time.textContent = minutesSeconds(left);
      time.classList.toggle('low', left <= 30);
      if (left <= 0) {
        clearInterval(tickTimer);
        image.classList.add('expired');
        image.setAttribute('aria-label', t('qrExpired'));
        image.dataset.expired = 'true';
        fill(expiredNote, notice(t('qrExpired'), 'warn'));
        if (!memo.expiredFocused) newButton.focus();
        memo.expiredFocused = true;
      }
    };
    tick();
    tickTimer = setInterval(tick, 250);
  };

  const poll = async () => {
    let list;
    try {
      list = (await get('/notifications', { quiet: true }))?.notifications ?? [];
    } catch {
      return;
    }
    if (seenNotifications == null) {
      seenNotifications = new Set(list.map((n) => n.id));
      return;
    }
    for (const n of list) {
      if (seenNotifications.has(n.id)) continue;
      seenNotifications.add(n.id);
      if (n.kind === 'binding_created') {
        // Shown in place, next to the code, rather than as a toast that would cover it.
        alerts.prepend(h('div', { class: 'notice ok', role: 'alert', 'data-kind': n.kind }, pick(n.message)));
      }
    }
  };

  newButton.addEventListener('click', issue);
  await poll();
  pollTimer = setInterval(poll, POLL_MS);
  if (memo.issued && memo.clock) show(memo.issued, memo.clock);
  else await issue();
  return () => {
    clearInterval(tickTimer);
    clearInterval(pollTimer);
  };
}
