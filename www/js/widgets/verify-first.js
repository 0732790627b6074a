// What an account that has not confirmed who it is sees, and how a face check's outcome reads. Shared by
// the verification page, the binding flow and the router (which shows `verifyFirst` in place of pages that
// need the person's records).

import { t } from '../i18n.js';
import { h } from '../ui.js';

/** The one next step of an unverified account, under the heading of the page it asked for. */
export function verifyFirst(title) {
  return [
    h('h1', { tabindex: '-1', class: 'page-title' }, title),
    h('section', { class: 'card', id: 'verify-first', 'aria-labelledby': 'verify-first-title' },
      h('h2', { id: 'verify-first-title' }, t('verifyFirstTitle')),
      h('p', {}, t('verifyFirstText')),
      h('div', { class: 'actions' }, h('a', { class: 'button primary', href: '#/verify', id: 'go-verify' }, t('verifyFirstButton')))),
  ];
}

/**
 * A face check's outcome in plain words with its next step: passed; failed (manual review); no face seen
 * (try again); the service unavailable (try later, or manual review). `retry` is a link (href) or a button
 * (`onRetry`); `manualReview` is what the page offers for a manual review.
 */
export function verificationOutcome(status, { retryHref, onRetry, passedText, failedHint = t('verifyFailedHint'), manualReview = null }) {
  const retry = () => (onRetry
    ? h('button', { type: 'button', class: 'primary', id: 'verify-again', onclick: onRetry }, t('verifyAgain'))
    : h('a', { class: 'button primary', href: retryHref, id: 'verify-again' }, t('verifyAgain')));
  const box = (kind, title, text, ...rest) => h('div', { id: 'verify-outcome', 'data-status': status },
    h('div', { class: `notice ${kind}`, role: kind === 'error' ? 'alert' : 'status' },
      h('p', { class: 'notice-title' }, title),
      text ? h('p', {}, text) : null),
    ...rest);
  switch (status) {
    case 'passed':
      return box('ok', t('verifyPassed'), passedText);
    case 'no_face':
      return box('warn', t('verifyNoFace'), t('verifyNoFaceHint'), h('div', { class: 'actions' }, retry()));
    case 'unavailable':
      return box('warn', t('verifyUnavailable'), t('verifyUnavailableHint'), h('div', { class: 'actions' }, retry()), manualReview);
    case 'failed':
    default:
      return box('error', t('verifyFailed'), failedHint, manualReview);
  }
}
