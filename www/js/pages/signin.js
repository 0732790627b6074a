// Sign in with a phone number and an SMS code, or register with the same two. A new account is only a
// phone number: who its holder is comes later, from real-person verification (pages/verify.js), and only
// then are the person's records linked. The phone is checked by the core as it is typed.

import { t } from '../i18n.js';
import { post } from '../net.js';
import { core } from '../core.js';
import { h, field, busy, errorNotice, fill, pageHeading, notice } from '../ui.js';
import { app, signedIn } from '../state.js';
import { validateAsYouType } from '../widgets/as-you-type.js';
import { coolDown } from '../widgets/cool-down.js';

export function mount(container, params, memo) {
  const registering = Boolean(params.register);
  const form = h('form', { novalidate: true, id: registering ? 'register-form' : 'signin-form' });
  const result = h('div', { 'aria-live': 'polite' });

  const phone = field({
    label: t('phone'), hint: t('phoneHint'), type: 'tel', name: 'phone', autocomplete: 'tel-national', inputmode: 'numeric', maxlength: 13, value: memo.phone ?? '',
  });
  const code = field({
    label: t('smsCode'), hint: t('smsCodeHint'), name: 'code', autocomplete: 'one-time-code', inputmode: 'numeric', maxlength: 6,
    value: memo.code ?? '', attrs: { 'data-code-field': 'true' },
  });
  const sendButton = h('button', { type: 'button', id: 'send-code' }, t('sendCode'));
  const submitButton = h('button', { type: 'submit', class: 'primary', id: registering ? 'register-submit' : 'signin-submit' },
    registering ? t('registerButton') : t('signInButton'));

  const checkPhone = validateAsYouType(phone, (s) => core().parsePhone(s), { showNormal: (p) => p.masked ?? p.normal });
  for (const [key, f] of Object.entries({ phone, code })) {
    f.input.addEventListener('input', () => { memo[key] = f.input.value; });
  }

  let stopCoolDown = null;
  sendButton.addEventListener('click', () => busy(sendButton, async () => {
    const parsed = checkPhone();
    if (!parsed?.ok) {
      if (!parsed) phone.setMessage(t('phoneHint'), 'error');
      phone.input.focus();
      return;
    }
    fill(result);
    try {
      const answer = await post('/auth/sms-code', { phone: parsed.normal, purpose: registering ? 'register' : 'sign_in' }, { idempotent: true });
      memo.challengeId = answer.challengeId;
      memo.challengePhone = parsed.normal;
      fill(result, notice(t('codeSentTo', { phone: parsed.masked ?? parsed.normal }), 'ok'));
      code.input.focus();
      const cooldown = app.policy?.sms?.resendCooldownSeconds ?? 60;
      // After busy() has re-enabled the button, the cool-down takes it over.
      setTimeout(() => { stopCoolDown = coolDown(sendButton, cooldown, () => t('sendCode')); }, 0);
    } catch (err) {
      fill(result, errorNotice(err));
    }
  }));

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(submitButton, async () => {
      fill(result);
      const parsedPhone = checkPhone();
      if (!parsedPhone?.ok) { phone.input.focus(); return; }
      if (!memo.challengeId) {
        code.setMessage(t('sendCode'), 'error');
        sendButton.focus();
        return;
      }
      const body = { challengeId: memo.challengeId, code: code.input.value.trim(), phone: parsedPhone.normal };
      try {
        let answer;
        answer = await post(registering ? '/auth/register' : '/auth/sign-in', body, { idempotent: true });
        for (const key of Object.keys(memo)) delete memo[key];
        signedIn(answer);
      } catch (err) {
        fill(result, errorNotice(err));
        const badField = err?.body?.error?.field;
        const target = { phone, code }[badField] ?? (String(err?.code ?? '').startsWith('SMS_CODE') ? code : null);
        target?.input.focus();
      }
    });
  });

  const rows = [
    h('div', { class: 'inline' }, phone.wrap, sendButton),
    code.wrap,
    result,
    h('div', { class: 'actions' }, submitButton),
  ];
  form.append(...rows.filter(Boolean));

  fill(container,
    pageHeading(registering ? t('registerTitle') : t('signInTitle')),
    app.idleSignedOut ? h('div', { class: 'notice warn', role: 'status', id: 'idle-signed-out' }, t('kioskSignedOut')) : null,
    h('p', { class: 'lead' }, registering ? t('registerIntro') : t('signInIntro')),
    h('div', { class: 'card' }, form),
    h('p', {}, registering ? t('haveAccount') : t('noAccount'), ' ',
      h('a', { href: registering ? '#/signin' : '#/register', id: registering ? 'to-signin' : 'to-register' },
        registering ? t('signInLink') : t('registerLink'))));
  return () => stopCoolDown?.();
}
