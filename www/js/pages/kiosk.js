// The kiosk's own pages: setting the device up (its public key for the officer, the number enrolment
// gave), signing a person in with the ID-card reader and the face check, and looking a vehicle up by its
// plate and engine-number suffix to see where its violations can be handled. The rules decide here with
// the same core as the server, so the page says at once what the server then confirms.

import { t, pick } from '../i18n.js';
import { get, post } from '../net.js';
import { core, rulesFor, nowInstant } from '../core.js';
import { h, fill, field, pageHeading, notice, errorNotice, busy, cstDateTime, yuan, pointsText } from '../ui.js';
import { app, signedIn, policyFor } from '../state.js';
import { personFacts, vehicleFacts, violationFacts } from '../facts.js';
import { devices, publicKeyText, kioskId, setKioskId, kioskSupported } from '../kiosk-device.js';
import { plateBadge } from '../widgets/plate-badge.js';
import { routeBadge } from '../widgets/route-badge.js';
import { offenceLabel } from '../widgets/names.js';

/** Setting the kiosk up: shown until an officer has enrolled it and its number is entered here. */
export async function mountSetup(container) {
  if (!(await kioskSupported())) {
    fill(container, pageHeading(t('kioskSetupTitle')), notice(t('kioskUnsupported'), 'error'));
    return;
  }
  const key = await publicKeyText();
  const number = field({ label: t('kioskNumber'), hint: t('kioskNumberHint'), name: 'kioskNumber', inputmode: 'numeric', maxlength: 12, value: kioskId() ?? '' });
  const result = h('div', { 'aria-live': 'polite' });
  const save = h('button', { type: 'submit', class: 'primary', id: 'kiosk-save' }, t('kioskSave'));
  const form = h('form', { id: 'kiosk-setup-form', novalidate: true }, number.wrap, result, h('div', { class: 'actions' }, save));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(save, async () => {
      const id = number.input.value.trim();
      if (!/^\d{1,12}$/.test(id)) {
        number.setMessage(t('kioskNumberHint'), 'error');
        number.input.focus();
        return;
      }
      setKioskId(id);
      // A signed request tells at once whether the server knows this kiosk by this number and key.
      try {
        await get('/session');
        fill(result, notice(t('kioskReady'), 'ok'));
        location.hash = '#/signin';
      } catch (err) {
        setKioskId(null);
        fill(result, errorNotice(err));
      }
    });
  });
  fill(container,
    pageHeading(t('kioskSetupTitle')),
    h('p', { class: 'lead' }, t('kioskSetupIntro')),
    h('div', { class: 'card' },
      h('p', {}, t('kioskPublicKey')),
      h('p', { class: 'code', id: 'kiosk-public-key' }, key)),
    h('div', { class: 'card' }, form));
}

/** Sign-in at the kiosk: the card on the reader, then the face check; the server decides. */
export function mountSignIn(container, params, memo) {
  const abort = new AbortController();
  const status = h('div', { id: 'kiosk-signin-status', 'aria-live': 'polite' });
  const step = (text) => fill(status, h('p', { class: 'lead', id: 'kiosk-step' }, text));
  fill(container,
    pageHeading(t('kioskSignInTitle')),
    app.idleSignedOut ? h('div', { class: 'notice warn', role: 'status', id: 'idle-signed-out' }, t('kioskSignedOut')) : null,
    h('div', { class: 'card kiosk-reader', id: 'kiosk-signin' },
      h('div', { class: 'kiosk-card-art', 'aria-hidden': 'true' }),
      status),
    h('p', { class: 'meta' }, t('kioskNoAccountNeeded')));

  const run = async () => {
    step(t('kioskPlaceCard'));
    let card;
    try {
      card = await devices.cardReader.read(abort.signal);
    } catch {
      return;
    }
    step(t('kioskFaceCamera'));
    const face = await devices.faceCheck.compare(card, abort.signal);
    try {
      const session = await post('/kiosk/sign-in', { card, face }, { idempotent: true });
      devices.cardReader.remove?.();
      signedIn(session);
    } catch (err) {
      devices.cardReader.remove?.();
      fill(status, errorNotice(err),
        h('div', { class: 'actions' }, h('button', { type: 'button', class: 'primary', id: 'kiosk-retry', onclick: () => run() }, t('retry'))));
    }
  };
  run();
  return () => abort.abort();
}

/** The page's own routing of the looked-up vehicle, for the person here, on the kiosk channel. */
async function localRoutes(found) {
  const vehicle = found.vehicle;
  // A bound vehicle is routed from its binding's date, as in the violation list.
  const binding = found.bindingId
    ? ((await get('/bindings'))?.bindings ?? []).find((b) => String(b.id) === String(found.bindingId))
    : null;
  const call = {
    person: personFacts(app.person),
    vehicle: vehicleFacts(vehicle, found.relation === 'owner' ? String(app.person.id) : null),
    binding: binding ? { binderId: String(app.person.id), vehicleId: String(vehicle.id), createdAt: binding.createdAt } : null,
    violations: found.violations.map(violationFacts),
    channel: 'kiosk',
    now: nowInstant(),
  };
  const policy = await policyFor(vehicle.city);
  const rules = rulesFor(policy);
  return { routes: new Map(rules.routeViolations(call).routes.map((r) => [String(r.violationId), r])), version: policy.version };
}

function lookedUpRow(x, local, version, suffix) {
  const r = x.route ?? {};
  const open = x.state === 'unhandled';
  const row = h('li', { 'data-violation-id': x.id, 'data-route': r.route, 'data-local-route': local?.route ?? '' },
    h('div', { class: 'row' },
      h('div', { class: 'grow' }, offenceLabel(x), h('div', { class: 'meta' }, cstDateTime(x.occurredAt))),
      routeBadge(r.route)),
    h('p', { class: 'meta' }, pointsText(x.points), ' · ', yuan(x.fineFen)),
    open && r.reasons?.length ? h('ul', { class: 'reasons' }, r.reasons.map((reason) => h('li', { 'data-code': reason.code }, pick(reason.message)))) : null,
    local && local.route !== r.route ? notice(t('serverDiffers'), 'warn') : null);
  if (open && r.route === 'online') {
    const result = h('div', { 'aria-live': 'polite' });
    const button = h('button', { type: 'button', class: 'primary', 'data-action': 'kiosk-handle' }, t('handle'));
    button.addEventListener('click', () => busy(button, async () => {
      try {
        const done = await post(`/violations/${encodeURIComponent(x.id)}/handle`,
          { engineSuffix: suffix, policyVersion: version, expectedAllowed: local ? local.route === 'online' : undefined },
          { idempotent: true });
        fill(result, notice(t('kioskHandled', { number: done.decisionNumber ?? '' }), 'ok'));
        button.remove();
      } catch (err) {
        fill(result, errorNotice(err));
      }
    }));
    row.append(h('div', { class: 'actions' }, button), result);
  }
  return row;
}

/** Another vehicle's violations, by its plate and the engine-number suffix on its vehicle licence. */
export function mountLookup(container, params, memo) {
  const types = core().plateTypes().filter((p) => ['02', '52'].includes(p.code));
  const typeSelect = h('select', { name: 'plateType', id: 'kiosk-plate-type' },
    types.map((p) => h('option', { value: p.code, selected: (memo.plateType ?? '02') === p.code }, `${p.code} ${pick(p)}`)));
  const plate = field({ label: t('plateNumber'), hint: t('plateNumberHint'), name: 'plateNumber', value: memo.plateNumber ?? '', maxlength: 12 });
  const suffix = field({ label: t('engineSuffix'), hint: t('engineSuffixHint'), name: 'engineSuffix', value: memo.engineSuffix ?? '', maxlength: 6 });
  const submit = h('button', { type: 'submit', class: 'primary', id: 'kiosk-lookup-submit' }, t('kioskLookupButton'));
  const result = h('div', { id: 'kiosk-lookup-result', 'aria-live': 'polite' });
  const form = h('form', { id: 'kiosk-lookup-form', novalidate: true },
    h('div', { class: 'field' }, h('label', { for: 'kiosk-plate-type' }, t('plateTypeLabel')), typeSelect),
    plate.wrap, suffix.wrap, h('div', { class: 'actions' }, submit));
  const show = async () => {
    const body = { plateType: typeSelect.value, plateNumber: plate.input.value.trim(), engineSuffix: suffix.input.value.trim() };
    Object.assign(memo, body);
    // The last answer goes at once: what shows is always the answer to what was just asked.
    fill(result);
    let found;
    try {
      found = await post('/kiosk/vehicle-lookup', body, { idempotent: true });
    } catch (err) {
      fill(result, err?.status === 404 ? notice(t('kioskLookupNotFound'), 'error') : errorNotice(err));
      return;
    }
    let local = { routes: new Map() };
    try {
      local = await localRoutes(found);
    } catch (err) {
      console.warn('local routing unavailable', err);
    }
    const open = found.violations.filter((x) => x.state !== 'paid');
    fill(result,
      h('div', { class: 'card', 'data-relation': found.relation, 'data-policy-version': found.policyVersion },
        plateBadge(found.vehicle),
        h('p', { class: 'meta' }, t(`kioskRelation_${found.relation}`)),
        open.length === 0 ? notice(t('kioskNoViolations'), 'ok') : null,
        h('ul', { class: 'list', id: 'kiosk-violations' },
          open.map((x) => lookedUpRow(x, local.routes.get(String(x.id)), local.version, body.engineSuffix)))));
  };
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(submit, show);
  });
  fill(container,
    pageHeading(t('kioskLookupTitle')),
    h('p', { class: 'lead' }, t('kioskLookupIntro')),
    h('div', { class: 'card' }, form),
    result);
}
