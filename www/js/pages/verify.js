// Confirming who the account holder is: name and resident ID, then the face check on the provider's page,
// then back here. Only a passed check links the person's records (vehicles, licence, points) to the account.

import { t } from '../i18n.js';
import { core } from '../core.js';
import { h, fill, field, busy, errorNotice, pageHeading, notice, loadingBlock } from '../ui.js';
import { app, needsVerification, sessionChanged } from '../state.js';
import { validateAsYouType } from '../widgets/as-you-type.js';
import {
  startVerification, finishVerification, returnedResult, forgetVerification, clearReturnedParams, verificationStatus, notPassed,
} from '../widgets/verification.js';
import { verificationOutcome } from '../widgets/verify-first.js';

export async function mount(container, params, memo) {
  if (params.done) return mountDone(container, memo);
  return mountStart(container, memo);
}

function mountStart(container, memo) {
  if (!needsVerification()) {
    fill(container,
      pageHeading(t('verifyAccountTitle')),
      h('div', { class: 'notice ok', role: 'status', id: 'verify-already' }, t('verifyAlready')),
      h('div', { class: 'actions' }, h('a', { class: 'button primary', href: '#/vehicles' }, t('navVehicles'))));
    return undefined;
  }
  const form = h('form', { novalidate: true, id: 'verify-form' });
  const result = h('div', { 'aria-live': 'polite' });
  const name = field({ label: t('fullName'), hint: t('fullNameHint'), name: 'name', autocomplete: 'name', value: memo.name ?? '' });
  const residentId = field({
    label: t('residentId'), hint: t('residentIdHint'), name: 'residentId', autocomplete: 'off', maxlength: 18, value: memo.residentId ?? '',
  });
  const checkId = validateAsYouType(residentId, (s) => core().parseResidentId(s), { showNormal: (p) => p.masked ?? p.normal });
  for (const [key, f] of Object.entries({ name, residentId })) {
    f.input.addEventListener('input', () => { memo[key] = f.input.value; });
  }
  // "Enter your name" goes once there is one (the resident ID's own check redraws its message).
  name.input.addEventListener('input', () => { if (name.input.value.trim()) name.setMessage(''); });
  const submit = h('button', { type: 'submit', class: 'primary', id: 'verify-start' }, t('verifyFaceStart'));

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(submit, async () => {
      fill(result);
      const typedName = name.input.value.trim();
      const parsed = checkId();
      // Every missing or wrong field is named at once, not one per try.
      const problems = [];
      if (!typedName) {
        name.setMessage(t('fullNameMissing'), 'error');
        problems.push(name);
      }
      if (!parsed?.ok) {
        if (!parsed) residentId.setMessage(t('residentIdHint'), 'error');
        problems.push(residentId);
      }
      if (problems.length) {
        problems[0].input.focus();
        return;
      }
      try {
        await startVerification({ purpose: 'account', name: typedName, residentId: parsed.normal, returnPath: '/verify/done' });
      } catch (err) {
        // No provider to go to just now: the plain state with its ways on, not a bare refusal.
        if (err?.code === 'REAL_PERSON_VERIFICATION_UNAVAILABLE') {
          fill(result, verificationOutcome('unavailable', { onRetry: () => form.requestSubmit(), manualReview: accountReview() }));
          return;
        }
        fill(result, errorNotice(err));
        const target = { name, residentId }[err?.body?.error?.field];
        target?.input.focus();
      }
    });
  });

  form.append(name.wrap, residentId.wrap,
    h('p', { class: 'meta' }, t('verifyFaceWhat')),
    result,
    h('div', { class: 'actions' }, submit));
  fill(container,
    pageHeading(t('verifyAccountTitle')),
    h('p', { class: 'lead' }, t('verifyAccountIntro')),
    app.account?.phoneMasked ? h('p', { class: 'meta', id: 'account-phone' }, t('accountPhone', { phone: app.account.phoneMasked })) : null,
    h('div', { class: 'card' }, form));
  return undefined;
}

async function mountDone(container, memo) {
  fill(container, pageHeading(t('verifyAccountTitle')), loadingBlock());
  // A language switch redraws this page: show what was already answered instead of handing it in again.
  if (!memo.outcome) {
    const returned = returnedResult();
    // Out of the address at once: reloading the page must not hand the same result in again.
    clearReturnedParams('/verify/done');
    if (!returned.verificationId) {
      memo.outcome = { nothing: true };
    } else {
      try {
        const session = await finishVerification(returned);
        sessionChanged(session);
        memo.outcome = { status: 'passed' };
      } catch (err) {
        memo.outcome = notPassed(err) ? { status: await verificationStatus(returned.verificationId, err) } : { error: err };
      }
      forgetVerification();
    }
  }
  const { nothing, status, error } = memo.outcome;
  if (nothing) {
    fill(container, pageHeading(t('verifyAccountTitle')),
      notice(t('verifyNothingToFinish'), 'info'),
      h('div', { class: 'actions' }, h('a', { class: 'button primary', href: '#/verify' }, t('verifyFaceStart'))));
    return undefined;
  }
  if (error) {
    fill(container, pageHeading(t('verifyAccountTitle')),
      h('div', { id: 'verify-outcome', 'data-status': 'refused', 'data-code': error.code ?? '' }, errorNotice(error)),
      // An account that is linked already (an old result handed in again) goes on to its records.
      h('div', { class: 'actions' }, needsVerification()
        ? h('a', { class: 'button primary', href: '#/verify', id: 'verify-again' }, t('verifyAgain'))
        : h('a', { class: 'button primary', href: '#/vehicles', id: 'to-vehicles' }, t('navVehicles'))));
    return undefined;
  }
  const next = status === 'passed'
    ? h('a', { class: 'button primary', href: '#/vehicles', id: 'to-vehicles' }, t('navVehicles'))
    : null;
  fill(container, pageHeading(t('verifyAccountTitle')),
    verificationOutcome(status, {
      retryHref: '#/verify',
      passedText: t('verifyLinked'),
      failedHint: t('verifyFailedHintAccount'),
      manualReview: accountReview({ retry: status === 'failed' }),
    }),
    next ? h('div', { class: 'actions' }, next) : null);
  return undefined;
}

/** Manual review of who an account holder is: at a service window, with the ID card. */
function accountReview({ retry = false } = {}) {
  return h('div', { class: 'card', id: 'manual-review' },
    h('h2', {}, t('manualReviewTitle')),
    h('p', {}, t('manualReviewAccount')),
    // A check that failed on a dim picture may pass in better light: the lesser way on.
    retry ? h('p', {}, h('a', { href: '#/verify', id: 'verify-again-link' }, t('verifyAgain'))) : null);
}
