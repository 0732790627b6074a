// Small DOM helpers shared by the pages. No framework: pages build nodes with `h()` and re-render whole
// sections when their data changes.

import { t, pick, lang } from './i18n.js';

/** Creates an element: h('button', {class: 'primary', onclick}, 'text', childNode, …). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value == null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') {
      el.addEventListener(name.slice(2), value);
    } else if (name === 'class') {
      el.className = value;
    } else if (name === 'style') {
      // Through the CSSOM: a style attribute is inline style, which the content-security policy refuses.
      el.style.cssText = value;
    } else if (name === 'dataset') {
      Object.assign(el.dataset, value);
    } else if (name === 'html') {
      // Only for SVG produced by the core's QR renderer.
      el.innerHTML = value;
    } else if (value === true) {
      el.setAttribute(name, '');
    } else {
      el.setAttribute(name, String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child == null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

let idCounter = 0;
/** A fresh id for label/field pairs. */
export function uid(prefix = 'f') {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}

/**
 * A labelled field with a hint line and a message line that screen readers hear (aria-describedby).
 * Returns {wrap, input, setMessage(text, kind)}.
 */
export function field({ label, hint, type = 'text', name, autocomplete, inputmode, value = '', maxlength, required = true, attrs = {} }) {
  const id = uid(name ?? 'field');
  const hintId = `${id}-hint`;
  const msgId = `${id}-msg`;
  const input = h('input', {
    id, name, type, autocomplete, inputmode, maxlength, required,
    'aria-describedby': `${hintId} ${msgId}`,
    value, ...attrs,
  });
  const message = h('p', { id: msgId, class: 'field-msg', 'aria-live': 'polite' });
  const wrap = h('div', { class: 'field' },
    h('label', { for: id }, label),
    hint ? h('p', { id: hintId, class: 'hint' }, hint) : h('span', { id: hintId, hidden: true }),
    input,
    message);
  function setMessage(text, kind = 'info') {
    message.textContent = text ?? '';
    message.className = `field-msg ${text ? kind : ''}`;
    input.setAttribute('aria-invalid', kind === 'error' ? 'true' : 'false');
  }
  return { wrap, input, setMessage };
}

/** A list of reasons ({code, params, message:{zh,en}}), every one shown, not just the first. */
export function reasonList(reasons, { title, kind = 'error' } = {}) {
  const box = h('div', { class: `notice ${kind}`, role: kind === 'error' ? 'alert' : 'status' });
  if (title) box.append(h('p', { class: 'notice-title' }, title));
  box.append(h('ul', { class: 'reasons' },
    reasons.map((r) => h('li', { 'data-code': r.code }, pick(r.message) || r.code))));
  return box;
}

/** A one-line notice. */
export function notice(text, kind = 'info') {
  return h('div', { class: `notice ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, text);
}

/** Shows an API failure as a notice: the server's reasons when it gave some, else a plain message. */
export function errorNotice(err) {
  const shown = err?.reasons?.length ? reasonList(err.reasons, { title: t('refusedTitle') }) : notice(err?.friendly ?? t('errServer'), 'error');
  // The account has not confirmed who it is (the session changed elsewhere): the way on, not only the refusal.
  if (err?.code === 'IDENTITY_NOT_VERIFIED') {
    shown.append(h('div', { class: 'actions' }, h('a', { class: 'button primary', href: '#/verify', id: 'go-verify' }, t('verifyFirstButton'))));
  }
  return shown;
}

/** Money is counted in fen (integers); shown as yuan with two decimals. */
export function yuan(fen) {
  const n = Math.trunc(Number(fen) || 0);
  const sign = n < 0 ? '-' : '';
  const abs = Math.abs(n);
  return `¥${sign}${Math.trunc(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}

const CST = 'Asia/Shanghai';

// One date format per language: 2026年11月28日 in Chinese, 28 Nov 2026 in English (never 28/11/2026 beside
// 2026-11-28). Times are 24-hour.
const DATE_PARTS = { year: 'numeric', month: 'long', day: 'numeric' };
const DATE_PARTS_EN = { year: 'numeric', month: 'short', day: 'numeric' };
const TIME_PARTS = { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' };

function dateFormat(extra = {}, timeZone = CST) {
  return lang() === 'zh'
    ? new Intl.DateTimeFormat('zh-CN', { timeZone, ...DATE_PARTS, ...extra })
    : new Intl.DateTimeFormat('en-GB', { timeZone, ...DATE_PARTS_EN, ...extra });
}

/** A calendar date in China Standard Time, whatever the browser's zone (the rules count CST days). */
export function cstDate(instant) {
  if (!instant) return '';
  const d = new Date(instant);
  if (Number.isNaN(d.getTime())) return String(instant);
  return dateFormat().format(d);
}

/** Date and time in China Standard Time. */
export function cstDateTime(instant) {
  if (!instant) return '';
  const d = new Date(instant);
  if (Number.isNaN(d.getTime())) return String(instant);
  return dateFormat(TIME_PARTS).format(d);
}

/** A day the server gives as YYYY-MM-DD (already a China day, such as a due date), in the same format. */
export function calendarDay(ymd) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(ymd ?? ''));
  if (!m) return ymd ?? '';
  return dateFormat({}, 'UTC').format(new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))));
}

/** Licence points as words: "6 分", "1 point", "6 points". */
export function pointsText(n) {
  return t(Number(n) === 1 ? 'pointsValueOne' : 'pointsValue', { n });
}

/** m:ss for a countdown. */
export function minutesSeconds(totalSeconds) {
  const s = Math.max(0, Math.ceil(totalSeconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/** Marks a button busy while a promise runs, so one tap cannot submit twice. */
export async function busy(button, work) {
  if (!button) return work();
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  button.classList.add('is-busy');
  try {
    return await work();
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
    button.classList.remove('is-busy');
  }
}

/** Announces a short message to screen readers and shows it briefly. */
export function toast(text, kind = 'info') {
  const region = document.getElementById('toasts');
  if (!region) return;
  const item = h('div', { class: `toast ${kind}` }, text);
  region.append(item);
  setTimeout(() => item.remove(), 6000);
}

/** A page heading that takes focus after navigation, so keyboard and screen-reader users land on it. */
export function pageHeading(text) {
  return h('h1', { tabindex: '-1', class: 'page-title' }, text);
}

/** A section wrapper with its own heading. */
export function section(title, ...children) {
  const id = uid('sec');
  return h('section', { class: 'card', 'aria-labelledby': id }, h('h2', { id }, title), ...children);
}

/** Replaces the contents of a node. */
export function fill(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

/** A "loading" placeholder shown while a page waits for data. */
export function loadingBlock() {
  return h('div', { class: 'loading', role: 'status' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), t('loading'));
}
