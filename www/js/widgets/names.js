// Display names of the codes the page shows: plate types from the core's table, relationships and documents
// from the lists the pages kept until now.

import { pick } from '../i18n.js';
import { core } from '../core.js';

let plateTypeNames = null;
/** The plate type's code and name, e.g. "02 小型汽车"; an unknown code as it is. */
export function plateTypeName(code) {
  if (!plateTypeNames) {
    plateTypeNames = new Map(core().plateTypes().map((p) => [p.code, p]));
  }
  const entry = plateTypeNames.get(code);
  return entry ? `${code} ${pick(entry)}` : code;
}

/** Names of the core's relationship codes, in both languages. */
const RELATIONSHIPS = {
  parent: { zh: '父母', en: 'Parent' },
  spouse: { zh: '配偶', en: 'Spouse' },
  child: { zh: '子女', en: 'Child' },
  sibling: { zh: '兄弟姐妹', en: 'Sibling' },
  relative: { zh: '其他亲属', en: 'Other relative' },
  friend: { zh: '朋友', en: 'Friend' },
  colleague: { zh: '同事', en: 'Colleague' },
  other: { zh: '其他', en: 'Other' },
};
export function relationshipCodes() {
  return Object.keys(RELATIONSHIPS);
}
export function relationshipName(code) {
  return RELATIONSHIPS[code] ? pick(RELATIONSHIPS[code]) : (code ?? '');
}

/** Display names of the originals a window checks (codes come from the core's routes). */
const DOCUMENTS = {
  driving_licence: { zh: '驾驶证原件', en: 'Driving licence (original)' },
  id_card: { zh: '身份证原件', en: 'Resident ID card (original)' },
  vehicle_licence: { zh: '机动车行驶证原件', en: 'Vehicle licence (original)' },
};
export function documentCodes() {
  return Object.keys(DOCUMENTS);
}
export function documentName(code) {
  return DOCUMENTS[code] ? pick(DOCUMENTS[code]) : code;
}
