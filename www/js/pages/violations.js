// Violations of my own and my bound vehicles, in words for each state: not yet handled (where it can be
// dealt with, what is owed today), decided and unpaid (the pay-by date, the late fee), paid (the decision
// number and the amount paid, with its receipt). Handling an online one: accept the points, choose how to
// pay, pay, and the receipt (decision number, amounts, time), laid out to print on A4 or save as PDF.

import { t, pick } from '../i18n.js';
import { get, commit } from '../net.js';
import { rulesFor, nowInstant } from '../core.js';
import { h, fill, pageHeading, section, loadingBlock, errorNotice, notice, busy, yuan, cstDateTime, calendarDay, pointsText } from '../ui.js';
import { app, refreshPerson, policyFor } from '../state.js';
import { personFacts, vehicleFacts, violationFacts } from '../facts.js';
import { plateBadge } from '../widgets/plate-badge.js';
import { routeBadge } from '../widgets/route-badge.js';
import { documentName, offenceLabel } from '../widgets/names.js';

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
  if (params.receipt) return mountReceipt(container, params.violationId);
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

/** The state a citizen reads: not yet handled, decided and unpaid, or paid. */
function stateOf(x) {
  if (x.state === 'paid') return 'paid';
  if (x.state === 'handled') return 'decided';
  return 'open';
}

const STATE_BADGE = { decided: ['stateDecidedUnpaid', 'decided'], paid: ['statePaid', 'settled'] };

/** The badge of the row: where an open one can be dealt with; the state of a decided or paid one. */
function stateBadge(x, route) {
  const state = stateOf(x);
  if (state === 'open') return routeBadge(route);
  const [key, cls] = STATE_BADGE[state];
  return h('span', { class: `badge ${cls}`, 'data-route': route, 'data-state': state }, t(key));
}

const dt = (key) => h('dt', {}, t(key));

/** What, when and where, points and money, as the state has them. */
function factsList(x, r, { full = false } = {}) {
  const state = stateOf(x);
  return h('dl', { class: 'facts' },
    full ? [dt('behaviour'), h('dd', {}, offenceLabel(x, 'span'))] : null,
    full ? [dt('occurredAt'), h('dd', {}, cstDateTime(x.occurredAt))] : null,
    full && x.place ? [dt('place'), h('dd', { lang: 'zh-CN' }, x.place)] : null,
    dt('pointsLabel'), h('dd', {}, pointsText(x.points)),
    dt('fineLabel'), h('dd', { class: 'money' }, yuan(x.fineFen)),
    state !== 'paid' && r.lateFeeFen ? [dt('lateFeeLabel'), h('dd', { class: 'money' }, yuan(r.lateFeeFen))] : null,
    state !== 'paid' ? [dt('owedToday'), h('dd', { class: 'money', 'data-owed': String(r.owedFen ?? 0) }, yuan(r.owedFen ?? 0))] : null,
    state === 'decided' && r.dueDate ? [dt('dueDate'), h('dd', {}, calendarDay(r.dueDate))] : null,
    state !== 'open' && x.decisionNumber ? [dt('decisionNumber'), h('dd', { 'data-decision-number': '' }, x.decisionNumber)] : null,
    state === 'paid' && x.paidFen != null ? [dt('paidAmount'), h('dd', { class: 'money', 'data-paid': String(x.paidFen) }, yuan(x.paidFen))] : null,
    state === 'paid' && x.paidAt ? [dt('paidAt'), h('dd', {}, cstDateTime(x.paidAt))] : null);
}

/** The words under a decided or paid violation, in place of the reasons it cannot be handled again. */
function stateWords(x, r) {
  const state = stateOf(x);
  if (state === 'decided') {
    const late = r.lateFeeFen > 0;
    const lateFee = app.policy?.lateFee;
    return h('div', { class: 'notice warn', role: 'status', 'data-state-words': state },
      h('p', {}, t('decidedUnpaidText', { owed: yuan(r.owedFen ?? 0) })),
      late ? h('p', {}, t('decidedLateText', { rate: (lateFee?.dailyRateBasisPoints ?? 300) / 100 }),
        lateFee?.capAtFine === false ? '' : ` ${t('decidedLateCap')}`) : null,
      // Paid here when the rules let it be paid online; else where to pay.
      r.route === 'online' ? null : h('p', {}, t('decidedPayWhere')));
  }
  if (state === 'paid') {
    return h('div', { class: 'notice ok', role: 'status', 'data-state-words': state },
      h('p', {}, t('paidText')),
      h('div', { class: 'actions' }, receiptButton(x.id)));
  }
  return null;
}

function receiptButton(id) {
  return h('a', { class: 'button', href: `#/violations/${encodeURIComponent(id)}/receipt`, 'data-action': 'receipt' }, t('receiptLink'));
}

/** One violation as the server routed it; a note when the page's own routing came out otherwise. */
function violationRow(x, local) {
  const r = x.route ?? {};
  const differs = local && local.route !== r.route;
  const open = stateOf(x) === 'open';
  return h('li', { 'data-violation-id': x.id, 'data-route': r.route, 'data-local-route': local?.route ?? '', 'data-state': x.state },
    h('div', { class: 'row' },
      h('div', { class: 'grow' },
        offenceLabel(x),
        h('div', { class: 'meta' }, cstDateTime(x.occurredAt), x.place ? [' · ', h('span', { lang: 'zh-CN' }, x.place)] : '')),
      stateBadge(x, r.route)),
    factsList(x, r),
    open && r.route === 'window' && r.documents?.length
      ? h('p', { class: 'notice warn' }, t('bringDocuments', { docs: r.documents.map(documentName).join(pick({ zh: '、', en: ', ' })) }))
      : null,
    open && r.reasons?.length ? h('ul', { class: 'reasons meta' }, r.reasons.map((reason) => h('li', { 'data-code': reason.code }, pick(reason.message)))) : null,
    stateWords(x, r),
    differs ? notice(t('serverDiffers'), 'warn') : null,
    r.route === 'online'
      ? h('div', { class: 'actions' }, h('a', { class: 'button primary', href: `#/violations/${encodeURIComponent(x.id)}`, 'data-action': 'handle' },
        t(open ? 'handle' : 'payFine')))
      : null);
}

const PAY_METHODS = ['alipay', 'wechat', 'unionpay'];
const PAY_METHOD_KEY = 'renche.payMethods';

/** The method chosen for each paid violation, kept in this browser for its receipt. */
function rememberPayMethod(id, method) {
  try {
    const kept = JSON.parse(localStorage.getItem(PAY_METHOD_KEY) ?? '{}');
    kept[String(id)] = method;
    localStorage.setItem(PAY_METHOD_KEY, JSON.stringify(kept));
  } catch { /* not fatal: the receipt then leaves the method out */ }
}

function payMethodOf(id) {
  try {
    return JSON.parse(localStorage.getItem(PAY_METHOD_KEY) ?? '{}')[String(id)] ?? null;
  } catch {
    return null;
  }
}

/** One violation's page while it loads: resolves to {data, group, x} (x missing when not found), or null on an error shown. */
async function loadViolationPage(container, titleKey, violationId) {
  fill(container, pageHeading(t(titleKey)), loadingBlock());
  try {
    const data = await loadAll();
    const group = data.groups.find((g) => g.violations.some((x) => String(x.id) === String(violationId)));
    const x = group?.violations.find((v) => String(v.id) === String(violationId));
    return { data, group, x };
  } catch (err) {
    fill(container, pageHeading(t(titleKey)), errorNotice(err));
    return null;
  }
}

async function mountHandle(container, violationId) {
  const found = await loadViolationPage(container, 'handleTitle', violationId);
  if (!found) return undefined;
  const { data, group, x } = found;
  if (!x) {
    fill(container, pageHeading(t('handleTitle')), notice(t('notFound'), 'error'),
      h('a', { class: 'button', href: '#/violations' }, t('back')));
    return undefined;
  }
  const r = x.route ?? {};
  const local = data.local.get(String(x.id));
  const result = h('div', { id: 'handle-result', 'aria-live': 'polite' });
  const badge = stateBadge(x, r.route);
  const facts = factsList(x, r, { full: true });
  // Points are accepted when a violation is handled; a decided one has them already and is only paid.
  const needsPoints = stateOf(x) === 'open';
  const accept = h('input', { type: 'checkbox', id: 'accept-points', name: 'acceptPoints' });
  const payButton = h('button', { type: 'submit', class: 'primary', id: 'pay', disabled: needsPoints }, t('payButton', { amount: yuan(r.owedFen ?? x.fineFen) }));
  accept.addEventListener('change', () => { payButton.disabled = !accept.checked; });
  const methods = h('fieldset', { id: 'pay-method' }, h('legend', {}, t('payMethod')),
    h('div', { class: 'radio-grid' }, PAY_METHODS.map((m, i) => h('label', { class: 'radio' },
      h('input', { type: 'radio', name: 'payMethod', value: m, checked: i === 0 }), t(`payMethod_${m}`)))));
  const form = h('form', { novalidate: true, id: 'handle-form' },
    needsPoints ? h('label', { class: 'check', for: 'accept-points' }, accept, t('handleConfirmPoints', { n: x.points })) : null,
    methods,
    h('div', { class: 'actions' }, payButton));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (needsPoints && !accept.checked) return;
    const method = form.querySelector('input[name="payMethod"]:checked')?.value ?? PAY_METHODS[0];
    busy(payButton, async () => {
      fill(result);
      try {
        // With the route call, the local rules answer at once when they would not route it online.
        const outcome = await commit((client) => client.handleViolation(String(x.id), {
          check: data.calls.get(String(x.id)), expectedOwedFen: r.owedFen ?? x.fineFen,
        }), { rules: data.rules.get(String(x.id)) });
        const answer = outcome.body;
        rememberPayMethod(x.id, method);
        await refreshPerson();
        fill(form);
        // The violation as it now stands: paid, with its decision number.
        const paid = answer.violation ?? { ...x, state: 'paid', decisionNumber: answer.decisionNumber, paidFen: answer.paidFen };
        badge.replaceWith(stateBadge(paid, paid.route?.route ?? 'settled'));
        facts.replaceWith(factsList(paid, paid.route ?? r, { full: true }));
        fill(result, h('div', { class: 'card', id: 'handled' },
          h('div', { class: 'notice ok', role: 'status' },
            h('p', { class: 'notice-title' }, t('paidTitle')),
            h('dl', { class: 'facts' },
              dt('decisionNumber'), h('dd', { id: 'decision-number' }, answer.decisionNumber),
              dt('paid'), h('dd', { class: 'money' }, yuan(answer.paidFen)),
              dt('payMethod'), h('dd', {}, t(`payMethod_${method}`)))),
          h('div', { class: 'actions' },
            h('a', { class: 'button primary', href: `#/violations/${encodeURIComponent(x.id)}/receipt`, id: 'to-receipt' }, t('receiptLink')),
            h('a', { class: 'button', href: '#/violations' }, t('viewViolations')))));
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
  const open = stateOf(x) === 'open';
  fill(container,
    pageHeading(t('handleTitle')),
    h('div', { class: 'card' },
      h('p', {}, plateBadge(group.vehicle), ' ', badge),
      facts,
      r.route === 'online' ? form : null,
      open && r.route !== 'online' && r.reasons?.length ? h('ul', { class: 'reasons' }, r.reasons.map((reason) => h('li', {}, pick(reason.message)))) : null,
      stateWords(x, r),
      result),
    h('div', { class: 'actions' }, h('a', { class: 'button', href: '#/violations' }, t('back'))));
  return undefined;
}

/** The receipt of a paid violation: a page of its own that prints on one A4 sheet (styles.css @media print). */
async function mountReceipt(container, violationId) {
  const found = await loadViolationPage(container, 'receiptTitle', violationId);
  if (!found) return undefined;
  const { group, x } = found;
  const back = h('div', { class: 'actions no-print' }, h('a', { class: 'button', href: '#/violations' }, t('viewViolations')));
  if (!x || x.state !== 'paid') {
    fill(container, pageHeading(t('receiptTitle')), notice(x ? t('receiptNotPaid') : t('notFound'), x ? 'info' : 'error'), back);
    return undefined;
  }
  const method = payMethodOf(x.id);
  // The late fee paid is what was paid beyond the fine.
  const lateFeePaid = Math.max(0, (x.paidFen ?? 0) - (x.fineFen ?? 0));
  const print = h('button', { type: 'button', class: 'primary', id: 'receipt-print' }, t('receiptPrint'));
  print.addEventListener('click', () => window.print());
  fill(container,
    h('article', { class: 'receipt card', id: 'receipt', 'data-violation-id': x.id },
      pageHeading(t('receiptTitle')),
      h('p', { class: 'meta no-print' }, t('receiptIntro')),
      h('dl', { class: 'facts receipt-facts' },
        dt('decisionNumber'), h('dd', { id: 'receipt-decision-number' }, x.decisionNumber ?? ''),
        dt('receiptVehicle'), h('dd', {}, plateBadge(group.vehicle)),
        dt('behaviour'), h('dd', {}, offenceLabel(x, 'span')),
        dt('offenceCode'), h('dd', {}, x.code),
        dt('occurredAt'), h('dd', {}, cstDateTime(x.occurredAt)),
        x.place ? [dt('place'), h('dd', { lang: 'zh-CN' }, x.place)] : null,
        dt('pointsLabel'), h('dd', {}, pointsText(x.points)),
        dt('fineLabel'), h('dd', { class: 'money', id: 'receipt-fine', 'data-fen': String(x.fineFen) }, yuan(x.fineFen)),
        dt('lateFeeLabel'), h('dd', { class: 'money', id: 'receipt-late-fee', 'data-fen': String(lateFeePaid) }, yuan(lateFeePaid)),
        dt('paidAmount'), h('dd', { class: 'money', id: 'receipt-paid', 'data-fen': String(x.paidFen ?? 0) }, yuan(x.paidFen ?? 0)),
        method ? [dt('payMethod'), h('dd', { id: 'receipt-method' }, t(`payMethod_${method}`))] : null,
        x.decidedAt ? [dt('decidedAt'), h('dd', {}, cstDateTime(x.decidedAt))] : null,
        dt('paidAt'), h('dd', { id: 'receipt-paid-at' }, cstDateTime(x.paidAt))),
      h('div', { class: 'actions no-print' }, print)),
    back);
  return undefined;
}
