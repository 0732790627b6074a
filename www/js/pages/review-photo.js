// Manual review after a failed or unavailable verification: the applicant uploads a photo of themselves
// holding their ID card, with a note, and sends the application to an officer.

import { t } from '../i18n.js';
import { get, post, upload } from '../net.js';
import { h, fill, pageHeading, loadingBlock, errorNotice, busy, notice, uid } from '../ui.js';
import { plateBadge } from '../widgets/plate-badge.js';

const LIMIT = 2 * 1024 * 1024;

export async function mount(container, { applicationId }) {
  fill(container, pageHeading(t('photoTitle')), loadingBlock());
  let application;
  try {
    application = await get(`/binding-applications/${encodeURIComponent(applicationId)}`);
  } catch (err) {
    fill(container, pageHeading(t('photoTitle')), errorNotice(err));
    return;
  }
  const failed = application.status === 'awaiting_verification' && ['failed', 'unavailable'].includes(application.verification);
  const statusLine = h('p', { class: 'meta', id: 'application-status' },
    t('photoStatus', { status: failed ? t('appStatusVerifyFailed') : t(`appStatus_${application.status}`) }));
  if (application.status !== 'awaiting_verification') {
    fill(container, pageHeading(t('photoTitle')), plateBadge(application.vehicle ?? {}), statusLine,
      h('div', { class: 'actions' }, h('a', { class: 'button primary', href: '#/vehicles' }, t('navVehicles'))));
    return;
  }
  const fileId = uid('photo');
  const noteId = uid('note');
  const file = h('input', { type: 'file', id: fileId, name: 'photo', accept: 'image/jpeg,image/png', 'aria-describedby': `${fileId}-hint` });
  const preview = h('img', { class: 'photo-preview', alt: '', hidden: true });
  const fileMsg = h('p', { class: 'field-msg', 'aria-live': 'polite' });
  const note = h('textarea', { id: noteId, name: 'note', maxlength: 500, rows: 3 });
  const submit = h('button', { type: 'submit', class: 'primary', id: 'send-review' }, t('photoSubmit'));
  const result = h('div', { 'aria-live': 'polite' });
  file.addEventListener('change', () => {
    const f = file.files?.[0];
    fileMsg.textContent = '';
    preview.hidden = true;
    if (!f) return;
    if (!['image/jpeg', 'image/png'].includes(f.type)) { fileMsg.textContent = t('photoWrongType'); fileMsg.className = 'field-msg error'; return; }
    if (f.size > LIMIT) { fileMsg.textContent = t('photoTooBig'); fileMsg.className = 'field-msg error'; return; }
    preview.src = URL.createObjectURL(f);
    preview.hidden = false;
  });
  const form = h('form', { class: 'card', novalidate: true },
    h('div', { class: 'field' },
      h('label', { for: fileId }, t('photoChoose')),
      h('p', { class: 'hint', id: `${fileId}-hint` }, t('photoHowTo')),
      file, fileMsg, preview),
    h('div', { class: 'field' }, h('label', { for: noteId }, t('photoNote')), note),
    h('div', { class: 'actions' }, submit),
    result);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(submit, async () => {
      const f = file.files?.[0];
      if (!f) { fileMsg.textContent = t('photoNeeded'); fileMsg.className = 'field-msg error'; file.focus(); return; }
      if (f.size > LIMIT) { fileMsg.textContent = t('photoTooBig'); fileMsg.className = 'field-msg error'; return; }
      try {
        await upload(`/binding-applications/${encodeURIComponent(applicationId)}/review-photo`, f);
        const noteText = note.value.trim();
        const answer = await post(`/binding-applications/${encodeURIComponent(applicationId)}/manual-review`,
          { relationship: application.relationship ?? 'other', ...(noteText ? { note: noteText } : {}) }, { idempotent: true });
        const done = notice(t('photoSent'), 'ok');
        done.id = 'review-requested';
        fill(form, done, h('p', { class: 'meta' }, t('photoStatus', { status: t(`appStatus_${answer?.application?.status ?? 'in_review'}`) })),
          h('div', { class: 'actions' }, h('a', { class: 'button primary', href: '#/vehicles' }, t('navVehicles'))));
        done.focus?.();
      } catch (err) {
        fill(result, errorNotice(err));
      }
    });
  });
  fill(container, pageHeading(t('photoTitle')),
    h('p', { class: 'lead' }, t('photoIntro')),
    h('div', {}, plateBadge(application.vehicle ?? {})),
    statusLine, form);
}
