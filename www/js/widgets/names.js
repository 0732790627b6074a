// Display names of the codes the core knows (plate types, relationships, documents), from the core's own
// tables so that the page cannot drift from them. Read on first use: the core is loaded by then.

import { pick, t, lang } from '../i18n.js';
import { h } from '../ui.js';
import { core } from '../core.js';

const tables = new Map();
function table(name) {
  if (!tables.has(name)) tables.set(name, core()[name]());
  return tables.get(name);
}
function entry(name, code) {
  return table(name).find((e) => e.code === code);
}

/** The plate type's code and name, e.g. "02 小型汽车"; an unknown code as it is. */
export function plateTypeName(code) {
  const e = entry('plateTypes', code);
  return e ? `${code} ${pick(e)}` : code;
}

/** The relationship codes a binder picks from, in the core's order. */
export function relationshipCodes() {
  return table('relationships').map((e) => e.code);
}

export function relationshipName(code) {
  const e = entry('relationships', code);
  return e ? pick(e) : (code ?? '');
}

/** The originals a window checks by hand, in the core's order. */
export function documentCodes() {
  return table('documents').map((e) => e.code);
}

export function documentName(code) {
  const e = entry('documents', code);
  return e ? pick(e) : code;
}

/**
 * A violation's offence as the citizen reads it: in Chinese the record's own wording; in English the
 * name of its code (违法代码) from the core's table, which the server sends as `offenceEn`, else the
 * Chinese wording with a note saying so. Marked with the code (and `data-offence-fallback` without an
 * English name).
 */
export function offenceLabel(violation, tag = 'strong') {
  const code = violation.code ?? '';
  const zh = violation.description ?? code;
  if (lang() === 'zh') return h(tag, { 'data-offence-code': code }, zh);
  if (violation.offenceEn) return h(tag, { 'data-offence-code': code }, violation.offenceEn);
  return h(tag, { 'data-offence-code': code, 'data-offence-fallback': '' },
    h('span', { lang: 'zh-CN' }, zh), ' ', h('span', { class: 'meta' }, t('offenceNoEnglish', { code })));
}
