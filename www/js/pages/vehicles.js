// My vehicles: those in my name (with who has bound each), and the vehicles I have bound.

import { t, pick } from '../i18n.js';
import { get, post, commit } from '../net.js';
import { h, fill, pageHeading, section, loadingBlock, errorNotice, busy, cstDate, cstDateTime, toast, reasonList } from '../ui.js';
import { app } from '../state.js';
import { plateBadge } from '../widgets/plate-badge.js';
import { plateTypeName, relationshipName } from '../widgets/names.js';
import { whyNotBindable } from '../widgets/bindable.js';

/** An inline "are you sure" step instead of a blocking dialog; resolves after the removal. */
function removeControl({ label, confirmText, onConfirm }) {
  const wrap = h('span', { class: 'remove-control' });
  const start = h('button', { type: 'button', class: 'danger', 'aria-label': label, 'data-action': 'remove' }, t('remove'));
  const showAsk = () => {
    const yes = h('button', { type: 'button', class: 'danger', 'data-action': 'confirm-remove' }, t('confirm'));
    const no = h('button', { type: 'button', 'data-action': 'cancel-remove' }, t('cancel'));
    yes.addEventListener('click', () => busy(yes, onConfirm));
    no.addEventListener('click', () => { fill(wrap, start); start.focus(); });
    fill(wrap, h('span', { role: 'alert' }, confirmText), ' ', yes, no);
    yes.focus();
  };
  start.addEventListener('click', showAsk);
  wrap.append(start);
  return wrap;
}

export async function mount(container) {
  const owned = h('div', { id: 'owned-vehicles' }, loadingBlock());
  const bound = h('div', { id: 'bound-vehicles' }, loadingBlock());
  const pending = h('div', { id: 'pending-applications' });
  const mine = h('div', { id: 'my-applications' });
  fill(container,
    pageHeading(t('vehiclesTitle')),
    pending,
    mine,
    h('div', { class: 'grid two' },
      section(t('ownedVehicles'), owned),
      section(t('boundVehicles'), bound)),
    h('div', { class: 'actions' }, h('a', { class: 'button primary', href: '#/bind', id: 'go-bind' }, t('bindAnother')),
      h('a', { class: 'button', href: '#/history', id: 'go-history' }, t('navHistory'))));

  const load = async () => {
    let vehicles;
    let bindings;
    try {
      [vehicles, bindings] = await Promise.all([get('/vehicles'), get('/bindings')]);
    } catch (err) {
      fill(owned, errorNotice(err));
      fill(bound);
      return;
    }
    await renderOwned(owned, vehicles?.vehicles ?? [], load);
    renderBound(bound, bindings?.bindings ?? [], load);
    // Applications are extra: the vehicles show even when these cannot be read.
    const [waiting, applied] = await Promise.all([
      get('/owner/applications', { quiet: true }).catch(() => null),
      get('/binding-applications', { quiet: true }).catch(() => null),
    ]);
    renderPending(pending, waiting?.applications ?? [], load);
    renderMine(mine, applied?.applications ?? []);
  };
  await load();
}

async function removeBinding(bindingId, reload) {
  try {
    await commit((client) => client.removeBinding(String(bindingId)));
    toast(t('removed'), 'ok');
  } catch (err) {
    toast(err?.reasons?.length ? pick(err.reasons[0].message) : (err?.friendly ?? t('errServer')), 'error');
  }
  await reload();
  document.querySelector('h1')?.focus();
}

async function renderOwned(node, vehicles, reload) {
  if (vehicles.length === 0) {
    fill(node, h('p', {}, t('ownedNone')));
    return;
  }
  const max = app.policy?.maxBindersPerVehicle ?? 3;
  // A QR code only for a vehicle someone could bind with it; otherwise the reason.
  const refusals = await Promise.all(vehicles.map((v) => whyNotBindable(v)));
  fill(node, h('ul', { class: 'list' }, vehicles.map((v, i) => {
    const plate = v.plateDisplay ?? v.plateNumber;
    const binders = v.binders ?? [];
    const notBindable = refusals[i]?.length ? refusals[i] : null;
    return h('li', { 'data-vehicle-id': v.id, 'data-plate': v.plateNumber },
      h('div', { class: 'row' },
        h('div', { class: 'grow' }, plateBadge(v), h('div', { class: 'meta' }, plateTypeName(v.plateType))),
        notBindable ? null : h('a', { class: 'button', href: `#/vehicles/${encodeURIComponent(v.id)}/qr`, 'data-action': 'show-qr', 'aria-label': t('showQrFor', { plate }) }, t('showQr'))),
      notBindable ? h('div', { 'data-not-bindable': '' }, reasonList(notBindable, { title: t('notBindable'), kind: 'info' })) : null,
      h('h3', { class: 'meta' }, `${t('binders')} · ${t('binderCount', { n: binders.length, max })}`),
      binders.length === 0
        ? h('p', { class: 'meta' }, t('bindersNone'))
        : h('ul', { class: 'sublist' }, binders.map((b) => h('li', { 'data-binding-id': b.bindingId },
          h('span', { class: 'grow' }, h('strong', {}, b.binderNameMasked ?? ''), ' · ', relationshipName(b.relationship), ' · ',
            h('span', { class: 'meta' }, t('boundSince', { date: cstDate(b.createdAt) }))),
          removeControl({
            label: t('removeBinderOf', { name: b.binderNameMasked ?? '', plate }),
            confirmText: t('removeBinderConfirm', { name: b.binderNameMasked ?? '', plate }),
            onConfirm: () => removeBinding(b.bindingId, reload),
          })))));
  })));
}

function renderBound(node, bindings, reload) {
  const max = app.policy?.maxBindingsPerUser ?? 3;
  const count = h('p', { class: 'meta', id: 'bound-count' }, t('boundCount', { n: bindings.length, max }));
  if (bindings.length === 0) {
    fill(node, count, h('p', {}, t('boundNone')));
    return;
  }
  fill(node, count, h('ul', { class: 'list' }, bindings.map((b) => {
    const v = b.vehicle ?? {};
    const plate = v.plateDisplay ?? v.plateNumber ?? v.plateMasked ?? '';
    return h('li', { 'data-binding-id': b.id, 'data-plate': v.plateNumber ?? '' },
      h('div', { class: 'row' },
        h('div', { class: 'grow' }, plateBadge(v),
          h('div', { class: 'meta' }, t('boundSince', { date: cstDate(b.createdAt) }), ' · ', relationshipName(b.relationship))),
        removeControl({
          label: t('removeMineOf', { plate }),
          confirmText: t('removeConfirm', { plate }),
          onConfirm: () => removeBinding(b.id, reload),
        })));
  })));
}

const METHOD = { qr: 'methodQr', sms: 'methodSms', window: 'methodWindow' };

/** Applications others opened on my vehicles, not finished: who (masked), how, when, and a way to stop one. */
function renderPending(node, applications, reload) {
  if (applications.length === 0) { fill(node); return; }
  fill(node, section(t('pendingTitle'), h('p', { class: 'hint' }, t('pendingHint')),
    h('ul', { class: 'list' }, applications.map((a) => {
      const out = h('div', { 'aria-live': 'polite' });
      const start = h('button', { type: 'button', class: 'danger', 'data-action': 'withdraw' }, t('withdraw'));
      const wrap = h('span', { class: 'remove-control' }, start);
      start.addEventListener('click', () => {
        const yes = h('button', { type: 'button', class: 'danger', 'data-action': 'confirm-withdraw' }, t('confirm'));
        const no = h('button', { type: 'button' }, t('cancel'));
        yes.addEventListener('click', () => busy(yes, async () => {
          try {
            await post(`/owner/applications/${encodeURIComponent(a.id)}/withdraw`, {}, { idempotent: true });
            toast(t('withdrawn'), 'ok');
            await reload();
          } catch (err) { fill(out, errorNotice(err)); }
        }));
        no.addEventListener('click', () => { fill(wrap, start); start.focus(); });
        fill(wrap, h('span', { role: 'alert' }, t('withdrawConfirm')), ' ', yes, no);
        yes.focus();
      });
      return h('li', { 'data-application-id': a.id },
        h('div', { class: 'row' },
          h('div', { class: 'grow' }, plateBadge({ plateDisplay: a.plateDisplay, plateType: a.plateType }),
            h('div', { class: 'meta' }, t('pendingBy', { name: a.binderNameMasked, phone: a.binderPhoneMasked,
              method: t(METHOD[a.method] ?? 'methodQr'), date: cstDateTime(a.createdAt) })),
            h('div', { class: 'meta' }, t(`appStatus_${a.status}`))),
          wrap),
        out);
    }))));
}

/** My own applications that did not end in a binding: where each stands, and the next step if there is one. */
function renderMine(node, applications) {
  const shown = applications.filter((a) => a.status !== 'committed'
    && !(a.status === 'awaiting_verification' && !['failed', 'unavailable'].includes(a.verification)));
  if (shown.length === 0) { fill(node); return; }
  fill(node, section(t('myApplications'), h('ul', { class: 'list' }, shown.map((a) => h('li', { 'data-application-id': a.id, 'data-status': a.status },
    h('div', { class: 'row' },
      h('div', { class: 'grow' }, plateBadge({ plateDisplay: a.plateDisplay, plateType: a.vehicle?.plateType }),
        h('div', { class: 'meta' }, a.status === 'awaiting_verification' ? t('appStatusVerifyFailed') : t(`appStatus_${a.status}`), ' · ', cstDate(a.createdAt)),
        a.status === 'rejected' && a.reviewReason ? h('div', { class: 'meta' }, a.reviewReason) : null),
      a.status === 'awaiting_verification'
        ? h('a', { class: 'button primary', href: `#/applications/${encodeURIComponent(a.id)}/photo`, 'data-action': 'upload-photo' }, t('uploadPhotoLink'))
        : null))))));
}
