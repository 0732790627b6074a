// One manual review for an officer: the applicant unmasked, the vehicle, the note and the photo (each look
// is written to the audit log), then approve, or reject with a reason from the list and words.

import { t, pick } from '../i18n.js';
import { get, post } from '../net.js';
import { h, fill, pageHeading, loadingBlock, errorNotice, busy, notice, cstDateTime, uid } from '../ui.js';
import { policyFor } from '../state.js';
import { rulesFor } from '../core.js';
import { plateBadge } from '../widgets/plate-badge.js';
import { relationshipName } from '../widgets/names.js';

export async function mount(container, { applicationId }) {
  fill(container, pageHeading(t('reviewTitle')), loadingBlock());
  let c;
  let reasons;
  try {
    [c, reasons] = await Promise.all([
      get(`/window/reviews/${encodeURIComponent(applicationId)}`),
      get('/window/review-reasons'),
    ]);
  } catch (err) {
    fill(container, pageHeading(t('reviewTitle')), errorNotice(err),
      h('div', { class: 'actions' }, h('a', { class: 'button', href: '#/window' }, t('reviewBackToQueue'))));
    return;
  }
  const out = h('div', { 'aria-live': 'polite', id: 'review-result' });
  const approve = h('button', { type: 'button', class: 'primary', 'data-action': 'approve' }, t('approve'));
  const textId = uid('why');
  const text = h('textarea', { id: textId, name: 'reason', rows: 2, maxlength: 500 });
  const group = uid('reason');
  const choices = (reasons?.reasons ?? []).map((r, i) => h('label', { class: 'radio' },
    h('input', { type: 'radio', name: group, value: r.code, checked: i === 0 }), pick(r.name)));
  const reject = h('button', { type: 'submit', class: 'danger', 'data-action': 'reject' }, t('reject'));
  const rejectForm = h('form', { class: 'card', novalidate: true },
    h('fieldset', {}, h('legend', { class: 'fieldset-legend' }, t('reviewRejectReason')), h('div', { class: 'radio-grid' }, choices)),
    h('div', { class: 'field' }, h('label', { for: textId }, t('reviewRejectText')), text),
    h('div', { class: 'actions' }, reject));
  const finished = (message) => fill(container, pageHeading(t('reviewTitle')), notice(message, 'ok'),
    h('div', { class: 'actions' }, h('a', { class: 'button primary', href: '#/window', id: 'back-to-queue' }, t('reviewBackToQueue'))));
  approve.addEventListener('click', () => busy(approve, async () => {
    try {
      const rules = rulesFor(await policyFor(c.vehicle?.city));
      await post(`/window/reviews/${encodeURIComponent(applicationId)}/approve`, { policyVersion: rules.policyVersion }, { idempotent: true });
      finished(t('reviewApproved'));
    } catch (err) { fill(out, errorNotice(err)); }
  }));
  rejectForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(reject, async () => {
      const code = rejectForm.querySelector('input[type=radio]:checked')?.value;
      const words = text.value.trim();
      try {
        await post(`/window/reviews/${encodeURIComponent(applicationId)}/reject`,
          { reasonCode: code, ...(words ? { reason: words } : {}) }, { idempotent: true });
        finished(t('reviewRejected'));
      } catch (err) { fill(out, errorNotice(err)); }
    });
  });
  const b = c.binder ?? {};
  fill(container, pageHeading(t('reviewTitle')),
    h('div', { class: 'card' },
      h('dl', { class: 'facts' },
        h('dt', {}, t('reviewApplicant')), h('dd', { id: 'review-name' }, b.name ?? ''),
        h('dt', {}, t('reviewResidentId')), h('dd', { id: 'review-resident-id' }, b.residentId ?? ''),
        h('dt', {}, t('phone')), h('dd', {}, b.phoneMasked ?? ''),
        h('dt', {}, t('vehicleToBind')), h('dd', {}, plateBadge(c.vehicle ?? {})),
        h('dt', {}, t('relationship')), h('dd', {}, c.application?.relationship ? relationshipName(c.application.relationship) : ''),
        h('dt', {}, t('reviewAppliedAt')), h('dd', {}, cstDateTime(c.application?.createdAt)),
        h('dt', {}, t('reviewNote')), h('dd', { id: 'review-note' }, c.note || t('reviewNoNote'))),
      h('h2', {}, t('reviewPhoto')),
      c.photo
        ? h('img', { class: 'review-photo', id: 'review-photo', src: c.photo.url, alt: t('reviewPhotoAlt', { name: b.name ?? '' }) })
        : h('p', {}, t('reviewNoPhoto')),
      h('p', { class: 'meta' }, t('reviewAudited')),
      h('div', { class: 'actions' }, approve)),
    rejectForm, out);
}
