// The owner's vehicle QR code: painted by the core into a canvas, counted down from the code's own expiry, greyed when it
// runs out, replaced on request. A code is used up by one scan: once someone has scanned it, the page says
// who (masked) and stops counting. A vehicle nobody could bind gets no code, only the reason.

import { t, pick } from '../i18n.js';
import { get, post } from '../net.js';
import { qrExports } from '../core.js';
import { h, fill, pageHeading, loadingBlock, errorNotice, busy, minutesSeconds, notice, reasonList } from '../ui.js';
import { plateBadge } from '../widgets/plate-badge.js';
import { whyNotBindable } from '../widgets/bindable.js';

const POLL_MS = 2000;
/** Canvas pixels per module at a device pixel ratio of 1: a vehicle code (41 modules with its quiet zone)
 * comes out at 328 pixels, a little more than the box shows, so that scaling down keeps it sharp. */
const PIXELS_PER_MODULE = 8;

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
  const intro = h('p', { class: 'lead' }, t('qrIntro'));
  fill(container,
    pageHeading(t('qrTitle')),
    plateLine,
    intro,
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
  const refusals = await whyNotBindable(vehicle);
  if (refusals?.length) {
    // No code for a vehicle that nobody could bind: it would be used up on the scan and then refused.
    newButton.hidden = true;
    intro.hidden = true;
    fill(qrBox, h('div', { id: 'qr-not-bindable' },
      h('h2', {}, t('qrNotBindableTitle')),
      reasonList(refusals, { title: t('notBindable'), kind: 'info' })));
    return undefined;
  }

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
    memo.usedBy = null;
    // The server's time when the code was made: an application on this vehicle opened since used it.
    memo.issuedAtMs = expiryOf(issued) - (issued.lifetimeSeconds ?? 180) * 1000;
    show(issued, memo.clock);
  });

  /** The code was scanned: say by whom, stop the countdown and grey the code (it cannot be used again). */
  const markUsed = (name) => {
    if (!memo.issued || memo.usedBy != null) return;
    memo.usedBy = name;
    clearInterval(tickTimer);
    showUsed();
  };
  const showUsed = () => {
    const image = qrBox.querySelector('#qr-image');
    image?.classList.add('expired');
    image?.setAttribute('aria-label', t('qrUsed', { name: memo.usedBy }));
    if (image) image.dataset.used = 'true';
    qrBox.querySelector('#qr-countdown')?.remove();
    qrBox.querySelector('#qr-countdown-label')?.remove();
    fill(qrBox.querySelector('#qr-expired') ?? qrBox, h('div', { class: 'notice ok', role: 'status', id: 'qr-used' },
      h('p', { class: 'notice-title' }, t('qrUsed', { name: memo.usedBy })),
      h('p', {}, t('qrUsedNext'))));
  };

  const show = (issued, clock) => {
    const { paintCanvas } = qrExports();
    // A canvas has no text of its own: role="img" and the label say what it shows.
    const image = h('canvas', {
      class: 'qr-image', id: 'qr-image', role: 'img', 'aria-label': t('qrImageLabel', { plate }),
      'data-expires-at': new Date(expiryOf(issued)).toISOString(),
    });
    const scale = Math.min(32, Math.ceil(PIXELS_PER_MODULE * (window.devicePixelRatio || 1)));
    try {
      paintCanvas(image, issued.qrText, scale);
    } catch (err) {
      fill(qrBox, errorNotice(err));
      return;
    }
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
    if (memo.usedBy != null) {
      showUsed();
      return;
    }
    tick();
    tickTimer = setInterval(tick, 250);
  };

  /** A QR application opened on this vehicle since the code was made: the scan that used it up. */
  const pollApplications = async () => {
    if (!memo.issued || memo.usedBy != null) return;
    let waiting;
    try {
      waiting = (await get('/owner/applications', { quiet: true }))?.applications ?? [];
    } catch {
      return;
    }
    const scan = waiting.find((a) => String(a.vehicleId) === String(vehicleId) && a.method === 'qr'
      && Date.parse(a.createdAt) >= memo.issuedAtMs - 1000);
    if (scan) markUsed(scan.binderNameMasked ?? '');
  };

  const bindingSinceIssue = async () => {
    const history = await get('/history', { quiet: true }).catch(() => null);
    const made = (history?.asOwner ?? []).find((e) => e.plateDisplay === plate && e.method === 'qr'
      && Date.parse(e.createdAt) >= memo.issuedAtMs - 1000);
    if (made) markUsed(made.binderNameMasked ?? '');
  };

  const poll = async () => {
    await pollApplications();
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
        // Scanned and bound between two looks at the applications: the owner's history says by whom.
        if (memo.issued && memo.usedBy == null) await bindingSinceIssue();
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
