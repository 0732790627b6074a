// The window console for officers: find a person and a vehicle, tick the originals checked by hand,
// bind on the person's behalf or handle a violation without binding, and work the manual-review queue.

import { t, pick } from '../i18n.js';
import { get, post, del } from '../net.js';
import { core, currentRules, rulesFor, nowInstant } from '../core.js';
import { h, fill, field, pageHeading, section, loadingBlock, errorNotice, reasonList, notice, busy, yuan, cstDateTime, uid, pointsText } from '../ui.js';
import { app, policyFor } from '../state.js';
import { personFacts, vehicleFacts } from '../facts.js';
import { validateAsYouType } from '../widgets/as-you-type.js';
import { plateBadge } from '../widgets/plate-badge.js';
import { routeBadge } from '../widgets/route-badge.js';
import { plateTypeName, documentCodes, documentName, offenceLabel } from '../widgets/names.js';

export async function mount(container, params, memo) {
  if (app.person?.role !== 'officer') {
    fill(container, pageHeading(t('windowTitle')), notice(t('officerOnly'), 'error'));
    return undefined;
  }
  memo.documents ??= [];

  const personBox = h('div', { id: 'window-person', 'aria-live': 'polite' });
  const vehicleBox = h('div', { id: 'window-vehicle', 'aria-live': 'polite' });
  const actionBox = h('div', { id: 'window-actions' });
  const personBindingsBox = h('div', { id: 'window-person-bindings', 'aria-live': 'polite' });
  const vehicleBindingsBox = h('div', { id: 'window-vehicle-bindings', 'aria-live': 'polite' });
  const queueBox = h('div', { id: 'window-queue' }, loadingBlock());

  // Person by resident ID, checked by the core as typed.
  const idField = field({ label: t('residentId'), hint: t('residentIdHint'), name: 'personResidentId', maxlength: 18, value: memo.residentId ?? '' });
  const checkId = validateAsYouType(idField, (s) => core().parseResidentId(s), { showNormal: (p) => p.masked ?? p.normal });
  const findPerson = h('button', { type: 'submit', id: 'find-person' }, t('find'));
  const personForm = h('form', { novalidate: true, id: 'find-person-form' }, h('div', { class: 'inline' }, idField.wrap, findPerson));
  personForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(findPerson, async () => {
      memo.residentId = idField.input.value;
      const parsed = checkId();
      if (!parsed?.ok) { idField.input.focus(); return; }
      // Each person at the counter brings their own originals: the checklist starts empty for them.
      memo.documents = [];
      for (const box of docs.querySelectorAll('input[type="checkbox"]')) box.checked = false;
      try {
        memo.person = await get(`/window/people?residentId=${encodeURIComponent(parsed.normal)}`);
      } catch (err) {
        memo.person = null;
        fill(personBox, err.status === 404 ? notice(t('notFound'), 'warn') : errorNotice(err));
        renderActions();
        return;
      }
      renderPerson();
      renderActions();
      // Again once the bindings are in: the instant check counts them.
      await renderBindings();
      renderActions();
    });
  });

  // Vehicle by plate type and number.
  // Any type by default: the officer reads the number off the licence and the server lists each type
  // registered with it.
  const types = core().plateTypes();
  const typeId = uid('wtype');
  const typeSelect = h('select', { id: typeId, name: 'windowPlateType' },
    h('option', { value: '', selected: !memo.plateType }, t('plateTypeAny')),
    types.map((p) => h('option', { value: p.code, selected: memo.plateType === p.code }, `${p.code} ${pick(p)}`)));
  // Without a type, the plate is checked under the civil formats in turn (small car's error if none fits).
  const parseSearchedPlate = (s) => {
    if (typeSelect.value) return core().parsePlate(typeSelect.value, s);
    const readings = ['02', '52', '01', '51', '15', '16'].map((code) => core().parsePlate(code, s));
    return readings.find((r) => r.ok) ?? readings[0];
  };
  const plateField = field({ label: t('plateNumber'), hint: t('plateNumberHint'), name: 'windowPlateNumber', maxlength: 12, value: memo.plateNumber ?? '' });
  const checkPlate = validateAsYouType(plateField, parseSearchedPlate, { showNormal: (p) => p.display ?? p.normal });
  typeSelect.addEventListener('change', () => { memo.plateType = typeSelect.value; checkPlate(); });
  const findVehicle = h('button', { type: 'submit', id: 'find-vehicle' }, t('find'));
  const vehicleForm = h('form', { novalidate: true, id: 'find-vehicle-form' },
    h('div', { class: 'field' }, h('label', { for: typeId }, t('plateTypeLabel')), typeSelect),
    h('div', { class: 'inline' }, plateField.wrap, findVehicle));
  vehicleForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(findVehicle, async () => {
      memo.plateNumber = plateField.input.value;
      const parsed = checkPlate();
      if (!parsed?.ok) { plateField.input.focus(); return; }
      const typeQuery = typeSelect.value ? `&plateType=${encodeURIComponent(typeSelect.value)}` : '';
      let found;
      try {
        found = (await get(`/window/vehicles?plateNumber=${encodeURIComponent(parsed.normal)}${typeQuery}`))?.vehicles ?? [];
      } catch (err) {
        memo.vehicle = null;
        fill(vehicleBox, err.status === 404 ? notice(t('notFound'), 'warn') : errorNotice(err));
        renderActions();
        return;
      }
      if (found.length === 1) { await chooseVehicle(found[0]); return; }
      // The same number under several plate types: the officer picks the one on the licence.
      memo.vehicle = null;
      renderActions();
      fill(vehicleBox, h('p', {}, t('windowPickVehicle')), h('ul', { class: 'list', id: 'window-vehicle-choices' }, found.map((v) => {
        const pickIt = h('button', { type: 'button', 'data-action': 'pick-vehicle', 'data-plate-type': v.plateType }, plateBadge(v), ' ', plateTypeName(v.plateType));
        pickIt.addEventListener('click', () => busy(pickIt, () => chooseVehicle(v)));
        return h('li', {}, pickIt);
      })));
    });
  });

  async function chooseVehicle(v) {
    memo.vehicle = v;
    // The vehicle's city policy is the one the server decides with.
    try { memo.vehicleRules = rulesFor(await policyFor(v.city)); } catch { memo.vehicleRules = null; }
    renderVehicle();
    renderActions();
    await renderBindings();
    renderActions();
  }

  const vehicleRules = () => memo.vehicleRules ?? currentRules();

  // The originals the officer has checked by hand (FAQ 7).
  const documentList = documentCodes();
  const docs = h('fieldset', { id: 'window-documents' }, h('legend', {}, t('windowDocuments')),
    documentList.map((code) => {
      const box = h('input', { type: 'checkbox', name: 'document', value: code, checked: memo.documents.includes(code) });
      box.addEventListener('change', () => {
        memo.documents = documentList.filter((c) => docs.querySelector(`input[value="${c}"]`).checked);
        renderActions();
      });
      return h('label', { class: 'check' }, box, documentName(code));
    }));

  function renderPerson() {
    const p = memo.person;
    if (!p) { fill(personBox); return; }
    fill(personBox, h('dl', { class: 'facts', 'data-person-id': p.id },
      h('dt', {}, t('fullName')), h('dd', {}, p.name),
      h('dt', {}, t('residentId')), h('dd', { 'data-field': 'residentId' }, p.residentId ?? p.residentIdMasked ?? ''),
      h('dt', {}, t('phone')), h('dd', {}, p.phone ?? p.phoneMasked ?? ''),
      h('dt', {}, t('licence')), h('dd', { 'data-field': 'licence' }, p.licence ? `${p.licence.class} · ${pointsText(p.licence.points)}` : '—')),
      p.licence?.fullPoints ? h('div', { id: 'full-points-warning' }, notice(t('fullPointsWarning'), 'error')) : null);
  }

  /**
   * The active bindings of the person or the vehicle found, each with a window unbind (FAQ 3: either side
   * may have a binding removed at a window). Removing one refreshes both lists.
   */
  async function renderBindings() {
    const lists = [
      [personBindingsBox, memo.person && `personId=${encodeURIComponent(memo.person.id)}`, t('windowPersonBindings'), 'personBindings'],
      [vehicleBindingsBox, memo.vehicle && `vehicleId=${encodeURIComponent(memo.vehicle.id)}`, t('windowVehicleBindings'), 'vehicleBindings'],
    ];
    await Promise.all(lists.map(async ([box, query, title, kept]) => {
      memo[kept] = null;
      if (!query) { fill(box); return; }
      let bindings;
      try {
        bindings = (await get(`/window/bindings?${query}`))?.bindings ?? [];
      } catch (err) {
        fill(box, errorNotice(err));
        return;
      }
      // The core's instant check counts them, as the server will (limits of 3 each way).
      memo[kept] = bindings.map((b) => ({ binderId: String(b.binderId), vehicleId: String(b.vehicleId), createdAt: b.createdAt, removedAt: b.removedAt ?? null }));
      fill(box, h('h3', {}, title), bindings.length === 0 ? h('p', { class: 'meta' }, t('windowNoBindings'))
        : h('ul', { class: 'list' }, bindings.map((b) => {
          const out = h('div', { 'aria-live': 'polite' });
          const remove = h('button', { type: 'button', 'data-action': 'window-unbind' }, t('windowUnbind'));
          remove.addEventListener('click', () => busy(remove, async () => {
            fill(out);
            try {
              await del(`/bindings/${encodeURIComponent(b.id)}`, { idempotent: true });
            } catch (err) {
              fill(out, errorNotice(err));
              return;
            }
            await renderBindings();
            renderActions();
          }));
          return h('li', { 'data-binding-id': b.id },
            h('div', { class: 'row' },
              h('div', { class: 'grow' }, plateBadge(b.vehicle ?? {}), ' ', h('span', {}, b.binderName ?? ''),
                h('div', { class: 'meta' }, cstDateTime(b.createdAt))),
              remove),
            out);
        })));
    }));
  }

  /** The person again after a handling: the points it added, and whether the cycle is now full. */
  async function refreshPerson() {
    if (!memo.person?.residentId) return;
    try {
      memo.person = await get(`/window/people?residentId=${encodeURIComponent(memo.person.residentId)}`);
      renderPerson();
    } catch (err) {
      console.warn(err);
    }
  }

  function renderVehicle() {
    const v = memo.vehicle;
    if (!v) { fill(vehicleBox); return; }
    fill(vehicleBox, h('p', { 'data-vehicle-id': v.id }, plateBadge(v), ' ', h('span', { class: 'meta' }, plateTypeName(v.plateType))),
      v.ownerName ? h('p', { class: 'meta' }, `${t('ownerName')}: `, h('span', { 'data-field': 'ownerName' }, v.ownerName)) : null);
  }

  /** The core's instant answer for a window binding (documents, vehicle kind, own vehicle). */
  function instantWindowCheck() {
    const p = memo.person;
    const v = memo.vehicle;
    try {
      return vehicleRules().checkBinding({
        binder: { ...personFacts(p), identityVerified: true },
        vehicle: vehicleFacts(v, v.ownerId != null ? String(v.ownerId) : null),
        binderBindings: memo.personBindings ?? [],
        vehicleBindings: memo.vehicleBindings ?? [],
        method: 'window',
        channel: 'window',
        stage: 'precheck',
        documentsChecked: memo.documents,
        now: nowInstant(),
      });
    } catch (err) {
      console.warn(err);
      return null;
    }
  }

  async function renderActions() {
    if (!memo.person || !memo.vehicle) { fill(actionBox); return; }
    const answer = instantWindowCheck();
    const result = h('div', { id: 'window-bind-result', 'aria-live': 'polite' });
    const bindButton = h('button', { type: 'button', class: 'primary', id: 'window-bind' }, t('windowBind'));
    bindButton.addEventListener('click', () => busy(bindButton, async () => {
      fill(result);
      try {
        const answer2 = await post('/window/bindings', {
          personId: String(memo.person.id), vehicleId: String(memo.vehicle.id), relationship: 'other',
          documentsChecked: memo.documents, policyVersion: vehicleRules().policyVersion,
        }, { idempotent: true });
        fill(result, notice(t('bindingDone', { plate: memo.vehicle.plateDisplay ?? memo.vehicle.plateNumber }), 'ok'));
        // Done: a second tap would only be refused as ALREADY_BOUND.
        setTimeout(() => { bindButton.disabled = true; }, 0);
        if (answer2?.decision?.agreed === false) result.append(notice(t('serverDiffers'), 'warn'));
        await renderBindings();
      } catch (err) {
        fill(result, h('div', { id: 'server-answer', 'data-status': String(err.status) },
          answer?.allowed ? notice(t('serverDiffers'), 'warn') : null, errorNotice(err)));
      }
    }));
    const violationsBox = h('div', { id: 'window-violations' }, loadingBlock());
    fill(actionBox,
      answer ? (answer.allowed ? notice(t('eligibilityOk'), 'ok') : reasonList(answer.reasons, { title: t('eligibilityNo'), kind: 'warn' })) : null,
      h('div', { class: 'actions' }, bindButton),
      result,
      h('h3', {}, t('violationsTitle')),
      violationsBox);
    await renderViolations(violationsBox);
  }

  async function renderViolations(node) {
    let list;
    try {
      list = (await get(`/window/violations?personId=${encodeURIComponent(memo.person.id)}&vehicleId=${encodeURIComponent(memo.vehicle.id)}`))?.violations ?? [];
    } catch (err) {
      fill(node, errorNotice(err));
      return;
    }
    if (list.length === 0) { fill(node, h('p', {}, t('violationsNone'))); return; }
    fill(node, h('ul', { class: 'list' }, list.map((x) => {
      const r = x.route ?? {};
      const out = h('div', { 'aria-live': 'polite' });
      const handle = h('button', { type: 'button', class: 'primary', 'data-action': 'window-handle' }, t('windowHandle'));
      // The window channel's route is "window"; a reason other than an unpaid decision (which paying
      // settles) stops handling it here, an invalid licence for one.
      const here = r.route === 'window' && !(r.reasons ?? []).some((reason) => reason.code !== 'VIOLATION_AWAITING_PAYMENT');
      const badge = routeBadge(r.route, { here });
      const needed = here && r.documents?.length
        ? h('p', { class: 'meta', 'data-field': 'documents' }, `${t('windowDocumentsNeeded')}: `, r.documents.map(documentName).join('、'))
        : null;
      handle.addEventListener('click', () => busy(handle, async () => {
        fill(out);
        try {
          const answer = await post(`/window/violations/${encodeURIComponent(x.id)}/handle`, {
            personId: String(memo.person.id), documentsChecked: memo.documents, policyVersion: vehicleRules().policyVersion,
          }, { idempotent: true });
          fill(out, h('div', { class: 'notice ok', role: 'status' },
            h('p', {}, `${t('decisionNumber')}: `, h('strong', { 'data-decision-number': answer.decisionNumber }, answer.decisionNumber)),
            h('p', {}, `${t('paid')}: ${yuan(answer.paidFen)}`)));
          handle.remove();
          needed?.remove();
          badge.replaceWith(routeBadge('settled'));
          await refreshPerson();
        } catch (err) {
          fill(out, errorNotice(err));
        }
      }));
      return h('li', { 'data-violation-id': x.id, 'data-points': String(x.points ?? 0) },
        h('div', { class: 'row' }, h('div', { class: 'grow' }, offenceLabel(x),
          h('div', { class: 'meta' }, cstDateTime(x.occurredAt), ' · ', pointsText(x.points), ' · ', yuan(r.owedFen ?? x.fineFen))),
        badge),
        r.reasons?.length ? h('ul', { class: 'reasons meta' }, r.reasons.map((reason) => h('li', { 'data-code': reason.code }, pick(reason.message)))) : null,
        here ? h('div', { class: 'actions' }, handle) : null,
        needed,
        out);
    })));
  }

  async function renderQueue() {
    let applications;
    try {
      applications = (await get('/window/reviews'))?.applications ?? [];
    } catch (err) {
      fill(queueBox, errorNotice(err));
      return;
    }
    if (applications.length === 0) { fill(queueBox, h('p', {}, t('windowQueueEmpty'))); return; }
    fill(queueBox, h('ul', { class: 'list' }, applications.map((a) => {
      // The decision is made on the review page, with the photo and the unmasked data in front of the officer.
      const open = h('a', { class: 'button primary', href: `#/window/reviews/${encodeURIComponent(a.id)}`, 'data-action': 'open-review' }, t('reviewOpen'));
      return h('li', { 'data-application-id': a.id },
        h('div', { class: 'row' },
          h('div', { class: 'grow' }, h('strong', {}, a.binder?.name ?? ''), ' ', h('span', { class: 'meta' }, a.binder?.residentIdMasked ?? ''),
            h('div', {}, plateBadge(a.vehicle ?? {}), ' ', h('span', { class: 'meta' }, cstDateTime(a.createdAt)))),
          open));
    })));
  }

  // Officers see where binding is available today and when each city's next rules take over (China time).
  const policyLine = h('ul', { class: 'meta', id: 'window-policy' });
  get('/policy/cities', { quiet: true }).then((cities) => {
    fill(policyLine, (cities ?? []).filter((c) => c.code !== '000000').map((c) => h('li', { 'data-city': c.code },
      t(c.featureEnabled ? 'policyCityOpen' : 'policyCityClosed', { city: pick({ zh: c.nameZh, en: c.nameEn }) }),
      c.next?.effectiveFrom ? t('policyNext', { at: cstDateTime(c.next.effectiveFrom) }) : '')));
  }, () => {});
  fill(container,
    pageHeading(t('windowTitle')),
    h('p', { class: 'lead' }, t('windowIntro')),
    policyLine,
    h('div', { class: 'grid two' },
      section(t('windowFindPerson'), personForm, personBox, personBindingsBox),
      section(t('windowFindVehicle'), vehicleForm, vehicleBox, vehicleBindingsBox)),
    h('div', { class: 'card' }, docs, actionBox),
    section(t('windowQueue'), queueBox),
    kioskEnrolment());
  renderPerson();
  renderVehicle();
  renderActions();
  await renderQueue();
  return undefined;
}

/** Enrolling a kiosk: the public key its setup page shows, its city and place; the number goes back to it. */
function kioskEnrolment() {
  const city = field({ label: t('kioskEnrolCity'), name: 'kioskCity', inputmode: 'numeric', maxlength: 6, value: app.person?.city ?? '441900' });
  const place = field({ label: t('kioskEnrolPlace'), name: 'kioskPlace', maxlength: 100 });
  const key = field({ label: t('kioskEnrolKey'), name: 'kioskPublicKey', maxlength: 64, attrs: { autocomplete: 'off', spellcheck: 'false' } });
  const result = h('div', { id: 'kiosk-enrol-result', 'aria-live': 'polite' });
  const button = h('button', { type: 'submit', class: 'primary', id: 'kiosk-enrol' }, t('kioskEnrolButton'));
  const form = h('form', { id: 'kiosk-enrol-form', novalidate: true }, city.wrap, place.wrap, key.wrap, result, h('div', { class: 'actions' }, button));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(button, async () => {
      fill(result);
      try {
        const kiosk = await post('/window/kiosks',
          { city: city.input.value.trim(), place: place.input.value.trim(), publicKey: key.input.value.trim() }, { idempotent: true });
        fill(result, notice(t('kioskEnrolled', { id: kiosk.id }), 'ok'), h('p', { class: 'code', id: 'kiosk-enrolled-id' }, kiosk.id));
        form.dispatchEvent(new Event('kiosk-enrolled'));
      } catch (err) {
        fill(result, errorNotice(err));
        const target = { city, place, publicKey: key }[err?.body?.error?.field];
        target?.input.focus();
      }
    });
  });
  const list = h('div', { id: 'kiosk-list', 'aria-live': 'polite' });
  const renderList = async () => {
    let kiosks;
    try {
      kiosks = (await get('/window/kiosks'))?.kiosks ?? [];
    } catch (err) {
      fill(list, errorNotice(err));
      return;
    }
    fill(list, kiosks.length === 0 ? null : h('ul', { class: 'list' }, kiosks.map((k) => {
      const out = h('div', { 'aria-live': 'polite' });
      const disable = k.disabledAt ? null : h('button', { type: 'button', class: 'danger', 'data-action': 'kiosk-disable' }, t('kioskDisable'));
      disable?.addEventListener('click', () => busy(disable, async () => {
        try {
          await post(`/window/kiosks/${encodeURIComponent(k.id)}/disable`, {}, { idempotent: true });
          await renderList();
        } catch (err) {
          fill(out, errorNotice(err));
        }
      }));
      return h('li', { 'data-kiosk-id': k.id, 'data-disabled': String(Boolean(k.disabledAt)) },
        h('div', { class: 'row' },
          h('div', { class: 'grow' }, h('strong', {}, t('kioskNumbered', { id: k.id })), ' ', k.place,
            h('div', { class: 'meta' }, k.disabledAt ? t('kioskDisabledAt', { at: cstDateTime(k.disabledAt) }) : t('kioskEnrolledAt', { at: cstDateTime(k.enrolledAt) }))),
          disable),
        out);
    })));
  };
  form.addEventListener('kiosk-enrolled', renderList);
  const details = h('details', { class: 'card', id: 'kiosk-enrolment' }, h('summary', {}, t('kioskEnrolTitle')), form, list);
  details.addEventListener('toggle', () => { if (details.open) renderList(); });
  return details;
}
