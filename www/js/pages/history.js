// Binding history: the bindings I made and the bindings of my vehicles (made and removed, by whom, how,
// when), and the violations I handled, which stay after a binding ends.

import { t } from '../i18n.js';
import { get } from '../net.js';
import { h, fill, pageHeading, section, loadingBlock, errorNotice, cstDate, yuan, pointsText } from '../ui.js';
import { offenceLabel } from '../widgets/names.js';
import { plateBadge } from '../widgets/plate-badge.js';

const METHOD = { qr: 'methodQr', sms: 'methodSms', window: 'methodWindow' };
const ROLE = { binder: 'roleBinder', owner: 'roleOwner', officer: 'roleOfficer' };

/** Who ended a binding; `selfRole` is the role the reader had in it (they removed it themselves). */
function removal(e, selfRole) {
  if (!e.removed) return h('span', { class: 'badge ok', 'data-state': 'active' }, t('historyActive'));
  const role = t(ROLE[e.removed.role] ?? 'roleOfficer');
  const date = cstDate(e.removed.at);
  let text;
  if (e.removed.role === selfRole) text = t('historyRemovedBySelf', { date });
  else if (e.removed.byNameMasked) text = t('historyRemovedByNamed', { date, role, name: e.removed.byNameMasked });
  else text = t('historyRemovedBy', { date, role });
  return h('span', { class: 'meta', 'data-state': 'removed', 'data-removed-role': e.removed.role ?? '' }, text);
}

function entries(list, { showBinder, selfRole }) {
  if (list.length === 0) return h('p', { class: 'meta' }, t('historyNone'));
  return h('ul', { class: 'list' }, list.map((e) => h('li', { 'data-binding-id': e.bindingId },
    h('div', { class: 'row' },
      h('div', { class: 'grow' }, plateBadge({ plateDisplay: e.plateDisplay, plateType: e.vehicle?.plateType }),
        h('div', { class: 'meta' }, t('historyBoundOn', { date: cstDate(e.createdAt), method: t(METHOD[e.method] ?? 'methodQr') })),
        showBinder ? h('div', { class: 'meta' }, t('historyBinder', { name: e.binderNameMasked })) : null),
      removal(e, selfRole)))));
}

export async function mount(container) {
  const mine = h('div', { id: 'history-binder' }, loadingBlock());
  const owned = h('div', { id: 'history-owner' }, loadingBlock());
  const handled = h('div', { id: 'history-handled' }, loadingBlock());
  fill(container, pageHeading(t('historyTitle')),
    section(t('historyAsBinder'), mine),
    section(t('historyHandled'), h('p', { class: 'hint' }, t('historyHandledHint')), handled),
    section(t('historyAsOwner'), owned));
  let answer;
  try {
    answer = await get('/history');
  } catch (err) {
    fill(mine, errorNotice(err));
    fill(owned);
    fill(handled);
    return;
  }
  fill(mine, entries(answer?.asBinder ?? [], { showBinder: false, selfRole: 'binder' }));
  fill(owned, entries(answer?.asOwner ?? [], { showBinder: true, selfRole: 'owner' }));
  const violations = answer?.handledViolations ?? [];
  fill(handled, violations.length === 0 ? h('p', { class: 'meta' }, t('historyNone')) : h('ul', { class: 'list' },
    violations.map((v) => h('li', { 'data-violation-id': v.id, 'data-state': v.state },
      h('div', { class: 'row' },
        h('div', { class: 'grow' }, plateBadge({ plateDisplay: v.plateDisplay, plateType: v.plateType }), ' ', offenceLabel(v),
          h('div', { class: 'meta' }, h('span', { lang: 'zh-CN' }, v.place), ' · ', pointsText(v.points), ' · ', yuan(v.paidFen ?? v.fineFen)),
          h('div', { class: 'meta' }, t('handledOn', { date: cstDate(v.decidedAt) }),
            v.decisionNumber ? ` · ${t('decisionNumber')} ${v.decisionNumber}` : '')),
        h('span', { class: `badge${v.state === 'paid' ? ' ok' : ''}` }, v.state === 'paid' ? t('paid') : t('routeSettled')))))));
}
