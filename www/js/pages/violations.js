// Violations of my own and my bound vehicles, each with where it can be dealt with and what is owed
// today; handling an online one (accept the points, pay, get the decision number).

import { t, pick } from '../i18n.js';
import { get, commit } from '../net.js';
import { rulesFor, nowInstant } from '../core.js';
import { h, fill, pageHeading, section, loadingBlock, errorNotice, notice, busy, yuan, cstDateTime } from '../ui.js';
import { app, refreshPerson, policyFor } from '../state.js';
import { personFacts, vehicleFacts, violationFacts } from '../facts.js';
import { plateBadge } from '../widgets/plate-badge.js';
import { routeBadge } from '../widgets/route-badge.js';
import { documentName } from '../widgets/names.js';

/**
 * The page's own routing of each vehicle's violations (one crossing into the core for the whole list).
 * Used to send the expected answer with a handle request and to notice a disagreement with the server.
 */
async function localRoutes(groups, bindings) {
  const byId = new Map();
  const callById = new Map();
  const rulesById = new Map();
  for (const g of groups) {
    const binding = g.bindingId ? bindings.find((b) => String(b.id) === String(g.bindingId)) : null;
    const call = {
      person: personFacts(app.person),
      vehicle: vehicleFacts(g.vehicle, g.relation === 'owner' ? String(app.person.id) : null),
      binding: binding ? { binderId: String(app.person.id), vehicleId: String(g.vehicle.id), createdAt: binding.createdAt } : null,
      violations: g.violations.map(violationFacts),
      channel: app.channel,
      now: nowInstant(),
    };
    try {
      // Each vehicle under its own city's policy, as the server decides it.
      const rules = rulesFor(await policyFor(g.vehicle.city));
      for (const r of rules.routeViolations(call).routes) {
        byId.set(String(r.violationId), r);
        callById.set(String(r.violationId), call);
        rulesById.set(String(r.violationId), rules);
      }
    } catch (err) {
      console.warn('local routing unavailable', err);
    }
  }
  return { routes: byId, calls: callById, rules: rulesById };
}

async function loadAll() {
  const [list, bindings] = await Promise.all([get('/violations'), get('/bindings')]);
  const groups = list?.vehicles ?? [];
  const { routes: local, calls, rules } = await localRoutes(groups, bindings?.bindings ?? []);
  return { groups, local, calls, rules, policyVersion: list?.policyVersion };
}

export async function mount(container, params) {
  if (params.violationId) return mountHandle(container, params.violationId);
  fill(container, pageHeading(t('violationsTitle')), loadingBlock());
  let data;
  try {
    data = await loadAll();
  } catch (err) {
    fill(container, pageHeading(t('violationsTitle')), errorNotice(err));
    return undefined;
  }
  const { groups } = data;
  const any = groups.some((g) => g.violations.length > 0);
  fill(container,
    pageHeading(t('violationsTitle')),
    any ? null : notice(t('violationsNone')),
    groups.filter((g) => g.violations.length > 0).map((g) => vehicleSection(g, data.local)));
  return undefined;
}

function vehicleSection(group, local) {
  const v = group.vehicle;
  return section([plateBadge(v), ' ', h('span', { class: 'meta' }, group.relation === 'owner' ? t('vehicleOwn') : t('vehicleBound'))],
    h('ul', { class: 'list violations' }, group.violations.map((x) => violationRow(x, local.get(String(x.id))))));
}

/** One violation as the server routed it; a note when the page's own routing came out otherwise. */
function violationRow(x, local) {
  const r = x.route ?? {};
  const differs = local && local.route !== r.route;
  return h('li', { 'data-violation-id': x.id, 'data-route': r.route, 'data-local-route': local?.route ?? '' },
    h('div', { class: 'row' },
      h('div', { class: 'grow' },
        h('strong', {}, x.description ?? x.code ?? ''),
        h('div', { class: 'meta' }, cstDateTime(x.occurredAt), x.place ? ` · ${x.place}` : '')),
      routeBadge(r.route)),
    h('dl', { class: 'facts' },
      h('dt', {}, t('pointsLabel')), h('dd', {}, t('pointsValue', { n: x.points })),
      h('dt', {}, t('fineLabel')), h('dd', { class: 'money' }, yuan(x.fineFen)),
      r.lateFeeFen ? [h('dt', {}, t('lateFeeLabel')), h('dd', { class: 'money' }, yuan(r.lateFeeFen))] : null,
      h('dt', {}, t('owedToday')), h('dd', { class: 'money', 'data-owed': String(r.owedFen ?? 0) }, yuan(r.owedFen ?? 0)),
      r.dueDate ? [h('dt', {}, t('dueDate')), h('dd', {}, r.dueDate)] : null,
      x.decisionNumber ? [h('dt', {}, t('decisionNumber')), h('dd', {}, x.decisionNumber)] : null),
    r.route === 'window' && r.documents?.length
      ? h('p', { class: 'notice warn' }, t('bringDocuments', { docs: r.documents.map(documentName).join(pick({ zh: '、', en: ', ' })) }))
      : null,
    r.reasons?.length ? h('ul', { class: 'reasons meta' }, r.reasons.map((reason) => h('li', { 'data-code': reason.code }, pick(reason.message)))) : null,
    differs ? notice(t('serverDiffers'), 'warn') : null,
    r.route === 'online'
      ? h('div', { class: 'actions' }, h('a', { class: 'button primary', href: `#/violations/${encodeURIComponent(x.id)}`, 'data-action': 'handle' }, t('handle')))
      : null);
}

async function mountHandle(container, violationId) {
  fill(container, pageHeading(t('handleTitle')), loadingBlock());
  let data;
  try {
    data = await loadAll();
  } catch (err) {
    fill(container, pageHeading(t('handleTitle')), errorNotice(err));
    return undefined;
  }
  const group = data.groups.find((g) => g.violations.some((x) => String(x.id) === String(violationId)));
  const x = group?.violations.find((v) => String(v.id) === String(violationId));
  if (!x) {
    fill(container, pageHeading(t('handleTitle')), notice(t('notFound'), 'error'),
      h('a', { class: 'button', href: '#/violations' }, t('back')));
    return undefined;
  }
  const r = x.route ?? {};
  const local = data.local.get(String(x.id));
  const result = h('div', { id: 'handle-result', 'aria-live': 'polite' });
  const accept = h('input', { type: 'checkbox', id: 'accept-points', name: 'acceptPoints' });
  const payButton = h('button', { type: 'submit', class: 'primary', id: 'pay', disabled: true }, t('payButton', { amount: yuan(r.owedFen ?? x.fineFen) }));
  accept.addEventListener('change', () => { payButton.disabled = !accept.checked; });
  const form = h('form', { novalidate: true, id: 'handle-form' },
    h('label', { class: 'check', for: 'accept-points' }, accept, t('handleConfirmPoints', { n: x.points })),
    h('div', { class: 'actions' }, payButton));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (!accept.checked) return;
    busy(payButton, async () => {
      fill(result);
      try {
        // With the route call, the local rules answer at once when they would not route it online.
        const outcome = await commit((client) => client.handleViolation(String(x.id), {
          check: data.calls.get(String(x.id)), expectedOwedFen: r.owedFen ?? x.fineFen,
        }), { rules: data.rules.get(String(x.id)) });
        const answer = outcome.body;
        await refreshPerson();
        fill(form);
        fill(result, h('div', { class: 'card', id: 'handled' },
          h('div', { class: 'notice ok', role: 'status' },
            h('p', { class: 'notice-title' }, t('paidTitle')),
            h('dl', { class: 'facts' },
              h('dt', {}, t('decisionNumber')), h('dd', { id: 'decision-number' }, answer.decisionNumber),
              h('dt', {}, t('paid')), h('dd', { class: 'money' }, yuan(answer.paidFen)))),
          answer.decision?.agreed === false ? notice(t('serverDiffers'), 'warn') : null,
          h('div', { class: 'actions' }, h('a', { class: 'button', href: '#/violations' }, t('viewViolations')))));
        result.querySelector('#decision-number')?.setAttribute('tabindex', '-1');
        result.querySelector('#decision-number')?.focus();
      } catch (err) {
        const pageSaid = local?.route === 'online';
        fill(result, h('div', { id: 'server-answer', 'data-status': String(err.status) },
          err.status === 409 && pageSaid ? notice(t('serverDiffers'), 'warn') : null,
          errorNotice(err)));
      }
    });
  });
  fill(container,
    pageHeading(t('handleTitle')),
    h('div', { class: 'card' },
      h('p', {}, plateBadge(group.vehicle), ' ', routeBadge(r.route)),
      h('dl', { class: 'facts' },
        h('dt', {}, t('behaviour')), h('dd', {}, x.description ?? x.code ?? ''),
        h('dt', {}, t('occurredAt')), h('dd', {}, cstDateTime(x.occurredAt)),
        x.place ? [h('dt', {}, t('place')), h('dd', {}, x.place)] : null,
        h('dt', {}, t('pointsLabel')), h('dd', {}, t('pointsValue', { n: x.points })),
        h('dt', {}, t('fineLabel')), h('dd', { class: 'money' }, yuan(x.fineFen)),
        r.lateFeeFen ? [h('dt', {}, t('lateFeeLabel')), h('dd', { class: 'money' }, yuan(r.lateFeeFen))] : null,
        h('dt', {}, t('owedToday')), h('dd', { class: 'money' }, yuan(r.owedFen ?? x.fineFen)),
        r.dueDate ? [h('dt', {}, t('dueDate')), h('dd', {}, r.dueDate)] : null),
      r.route === 'online' ? form : h('div', {}, r.reasons?.length ? h('ul', { class: 'reasons' }, r.reasons.map((reason) => h('li', {}, pick(reason.message)))) : null),
      result),
    h('div', { class: 'actions' }, h('a', { class: 'button', href: '#/violations' }, t('back'))));
  return undefined;
}

