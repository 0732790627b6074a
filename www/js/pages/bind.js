// Binding a vehicle not in my name: by scanning the owner's code (camera or picture) or by an SMS code
// sent to the owner's phone. The core answers instantly while the user types; the server decides on
// submit, and when the two differ the page says so and shows the server's answer.

import { t, pick } from '../i18n.js';
import { get, post, commit } from '../net.js';
import { core, currentRules, rulesFor, qrExports, loadScanner, nowInstant } from '../core.js';
import { h, fill, field, pageHeading, loadingBlock, errorNotice, reasonList, notice, busy, cstDate, uid, minutesSeconds } from '../ui.js';
import { app, refreshPerson, policyFor } from '../state.js';
import { personFacts } from '../facts.js';
import { validateAsYouType } from '../widgets/as-you-type.js';
import { coolDown } from '../widgets/cool-down.js';
import { plateBadge } from '../widgets/plate-badge.js';
import { relationshipCodes, relationshipName } from '../widgets/names.js';
import {
  startVerification, returnedResult, pendingVerification, forgetVerification, clearReturnedParams, verificationStatus, notPassed,
} from '../widgets/verification.js';
import { verificationOutcome } from '../widgets/verify-first.js';

/** Common plate types first (the only bindable ones by default), then the rest of the table. */
const COMMON_PLATE_TYPES = ['02', '52'];

export async function mount(container, params, memo) {
  if (params.method === 'scan') return mountScan(container, memo);
  if (params.method === 'sms') return mountSms(container, memo);
  if (params.method === 'verified') return mountVerified(container, memo);
  return mountChooser(container);
}

/**
 * How many vehicles I have bound, against the most allowed: at the limit a notice that says so (and how to
 * make room) before the driver starts; below it, how many more. Null when the bindings cannot be read.
 */
async function bindingLimit() {
  let bindings;
  try {
    bindings = (await get('/bindings'))?.bindings ?? [];
  } catch {
    return { full: false, box: null };
  }
  const max = app.policy?.maxBindingsPerUser ?? 3;
  const n = bindings.length;
  if (n < max) return { full: false, box: n > 0 ? h('p', { class: 'meta', id: 'binding-count' }, t('bindingLimitLeft', { n, left: max - n })) : null };
  return {
    full: true,
    box: h('div', { class: 'notice warn', role: 'status', id: 'binding-limit' },
      h('p', { class: 'notice-title' }, t('bindingLimitTitle')),
      h('p', {}, t('bindingLimitText', { n, max })),
      h('div', { class: 'actions' }, h('a', { class: 'button', href: '#/vehicles' }, t('navVehicles')))),
  };
}

async function mountChooser(container) {
  const kiosk = app.channel === 'kiosk';
  fill(container, pageHeading(t('bindTitle')), loadingBlock());
  const limit = await bindingLimit();
  fill(container,
    pageHeading(t('bindTitle')),
    h('p', { class: 'lead' }, t('bindIntro')),
    limit.box,
    limit.full ? null : h('h2', {}, t('bindChooseMethod')),
    limit.full ? null : h('div', { class: 'choice-grid' },
      // A kiosk has no camera to rely on, and nobody carries a picture of a code to one.
      kiosk ? null : h('a', { class: 'button choice', href: '#/bind/scan', id: 'choose-scan' },
        h('strong', {}, t('bindByScan')), h('span', {}, t('bindByScanHint'))),
      h('a', { class: 'button choice', href: '#/bind/sms', id: 'choose-sms' },
        h('strong', {}, t('bindBySms')), h('span', {}, t('bindBySmsHint')))));
}

// ---------------------------------------------------------------------------------------------------
// Facts for the core's instant check.

/** My vehicles and bindings, for the instant check (own vehicle, already bound, my count). */
async function loadMine() {
  const [vehicles, bindings] = await Promise.all([get('/vehicles'), get('/bindings')]);
  return { vehicles: vehicles?.vehicles ?? [], bindings: bindings?.bindings ?? [] };
}

function bindingFacts(b) {
  return { binderId: String(b.binderId ?? app.person?.id), vehicleId: String(b.vehicleId), createdAt: b.createdAt };
}

/**
 * The instant answer for a typed plate. What the binder cannot know about someone else's vehicle (owner
 * kind, use nature, other binders) is left to the server; a plate that is mine or already bound by me is
 * recognised so the core can say so.
 */
function instantCheck({ plateType, plateNumber, mine, method }) {
  const rules = currentRules();
  const own = mine.vehicles.find((v) => v.plateType === plateType && v.plateNumber === plateNumber);
  const bound = mine.bindings.find((b) => b.vehicle?.plateType === plateType && b.vehicle?.plateNumber === plateNumber);
  const vehicle = {
    id: String(own?.id ?? bound?.vehicleId ?? 'typed'),
    plateType,
    plateNumber,
    ownerKind: own?.ownerKind ?? bound?.vehicle?.ownerKind ?? 'individual',
    useNature: own?.useNature ?? bound?.vehicle?.useNature ?? 'A',
    ownerId: own ? String(app.person.id) : null,
    city: own?.city ?? bound?.vehicle?.city ?? null,
  };
  return rules.checkBinding({
    binder: personFacts(app.person),
    vehicle,
    binderBindings: mine.bindings.map(bindingFacts),
    vehicleBindings: [],
    method,
    channel: app.channel,
    stage: 'precheck',
    now: nowInstant(),
  });
}

/** The eligibility box: allowed, or every reason; identity verification shown as a next step, not a refusal. */
function eligibilityBox(answer, { title = t('eligibilityTitle'), id, level = 'h3' } = {}) {
  const box = h('div', { class: 'eligibility', id, 'data-allowed': answer ? String(answer.allowed) : 'pending' });
  box.append(h(level, {}, title));
  if (!answer) {
    box.append(h('p', { class: 'meta' }, t('eligibilityPending')));
    return box;
  }
  if (answer.allowed) box.append(notice(t('eligibilityOk'), 'ok'));
  else box.append(reasonList(answer.reasons, { title: t('eligibilityNo'), kind: 'warn' }));
  return box;
}

// ---------------------------------------------------------------------------------------------------
// SMS binding.

async function mountSms(container, memo) {
  fill(container, pageHeading(t('smsTitle')), loadingBlock());
  let mine;
  try {
    mine = await loadMine();
  } catch (err) {
    fill(container, pageHeading(t('smsTitle')), errorNotice(err));
    return undefined;
  }
  memo.plateType ??= '02';
  const stops = [];
  const limit = await bindingLimit();

  // Plate type: the two bindable types as large buttons, the rest of the GA 24.7 table in a list.
  const table = core().plateTypes();
  const typeName = (code) => {
    const e = table.find((p) => p.code === code);
    return e ? `${e.code} ${pick(e)}` : code;
  };
  const chips = COMMON_PLATE_TYPES.map((code) => h('button', {
    type: 'button', class: 'chip', 'data-plate-type': code, 'aria-pressed': String(memo.plateType === code),
  }, typeName(code)));
  const otherId = uid('othertype');
  const otherSelect = h('select', { id: otherId, name: 'plateTypeOther' },
    h('option', { value: '' }, '—'),
    table.filter((p) => !COMMON_PLATE_TYPES.includes(p.code)).map((p) => h('option', { value: p.code, selected: memo.plateType === p.code }, `${p.code} ${pick(p)}`)));
  const typeGroup = h('fieldset', { id: 'plate-type' },
    h('legend', {}, t('plateTypeLabel')),
    h('p', { class: 'hint' }, t('commonTypes')),
    h('div', { class: 'type-chips' }, chips),
    h('div', { class: 'field' }, h('label', { for: otherId }, t('otherTypes')), otherSelect));

  const plate = field({ label: t('plateNumber'), hint: t('plateNumberHint'), name: 'plateNumber', autocomplete: 'off', maxlength: 12, value: memo.plateNumber ?? '' });
  const engine = field({ label: t('engineSuffix'), hint: t('engineSuffixHint'), name: 'engineSuffix', autocomplete: 'off', maxlength: 8, value: memo.engineSuffix ?? '' });
  const eligibility = h('div', { id: 'eligibility', 'aria-live': 'polite' });
  const sendButton = h('button', { type: 'button', class: 'primary', id: 'send-owner-code' }, t('sendOwnerCode'));
  const sendResult = h('div', { id: 'send-result', 'aria-live': 'polite' });
  const codeStep = h('div', { id: 'code-step' });
  const applicationStep = h('div', { id: 'application-step' });

  let plateParse = null;
  let engineParse = null;
  let localAnswer = null;
  let coolingDown = false;

  const recheck = () => {
    memo.plateNumber = plate.input.value;
    memo.engineSuffix = engine.input.value;
    if (plateParse?.ok) {
      try {
        localAnswer = instantCheck({ plateType: memo.plateType, plateNumber: plateParse.normal, mine, method: 'sms' });
      } catch (err) {
        console.warn(err);
        localAnswer = null;
      }
    } else {
      localAnswer = null;
    }
    // Right under the page's heading (the form has none of its own).
    fill(eligibility, eligibilityBox(localAnswer, { id: 'instant-eligibility', level: 'h2' }));
    const complete = plateParse?.ok && engineParse?.ok;
    // A refused binding is not sent on: the owner would get a code for an application that cannot succeed.
    if (!coolingDown) sendButton.disabled = !complete || !localAnswer?.allowed;
  };

  const checkPlate = validateAsYouType(plate, (s) => core().parsePlate(memo.plateType, s), {
    showNormal: (p) => p.display ?? p.normal,
    onChange: (p) => { plateParse = p; recheck(); },
  });
  validateAsYouType(engine, (s) => core().parseEngineSuffix(s), { onChange: (p) => { engineParse = p; recheck(); } });
  // The plate message reads "will be handled as …", which says more than "looks right" here.
  plate.input.addEventListener('input', () => {
    if (plateParse?.ok) plate.setMessage(t('normalisedAs', { value: plateParse.display ?? plateParse.normal }), 'ok');
  });

  const chooseType = (code) => {
    memo.plateType = code;
    for (const c of chips) c.setAttribute('aria-pressed', String(c.dataset.plateType === code));
    if (COMMON_PLATE_TYPES.includes(code)) otherSelect.value = '';
    if (plate.input.value) checkPlate();
    if (plateParse?.ok) plate.setMessage(t('normalisedAs', { value: plateParse.display ?? plateParse.normal }), 'ok');
    recheck();
  };
  for (const c of chips) c.addEventListener('click', () => chooseType(c.dataset.plateType));
  otherSelect.addEventListener('change', () => chooseType(otherSelect.value || '02'));

  const sendCode = (button) => busy(button, async () => {
    fill(sendResult);
    let challenge;
    try {
      challenge = await post('/bindings/sms/challenges', {
        plateType: memo.plateType, plateNumber: plateParse.normal, engineSuffix: engineParse.normal,
      }, { idempotent: true });
    } catch (err) {
      // A 409 is the server's precheck with the vehicle's record: nothing was sent to the owner.
      const shown = [errorNotice(err)];
      if (err.status === 409 && localAnswer?.allowed) {
        shown.unshift(notice(t('serverDiffers'), 'warn'));
        // The answer checked against the records is the answer: the instant "allowed" no longer shows.
        fill(eligibility);
      }
      fill(sendResult, h('div', { id: 'start-answer', 'data-status': String(err.status), 'data-code': err.code ?? '' }, shown));
      return;
    }
    memo.challengeId = challenge.challengeId;
    const masked = challenge.ownerPhoneMasked ?? challenge.phoneMasked;
    fill(sendResult, notice(masked ? t('ownerCodeSent', { phone: masked }) : t('ownerCodeSentNoPhone'), 'ok'));
    showCodeStep();
    const cooldown = app.policy?.sms?.resendCooldownSeconds ?? 60;
    coolingDown = true;
    setTimeout(() => stops.push(coolDown(sendButton, cooldown, () => t('sendOwnerCode'), () => { coolingDown = false; recheck(); })), 0);
  });
  sendButton.addEventListener('click', () => sendCode(sendButton));

  const smsForm = h('form', { novalidate: true, class: 'card', id: 'sms-form', onsubmit: (ev) => ev.preventDefault() },
    typeGroup, plate.wrap, engine.wrap, eligibility,
    h('div', { class: 'actions' }, sendButton), sendResult);

  /** The owner's code passed: the form and its resend countdown have done their work and go away. */
  const formDone = () => {
    stops.splice(0).forEach((stop) => stop());
    smsForm.remove();
  };

  const showCodeStep = () => {
    const code = field({ label: t('ownerCode'), hint: t('smsCodeHint'), name: 'ownerCode', inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: 6, attrs: { 'data-code-field': 'true' } });
    const verify = h('button', { type: 'submit', class: 'primary', id: 'verify-owner-code' }, t('checkCode'));
    const result = h('div', { 'aria-live': 'polite' });
    const form = h('form', { novalidate: true, id: 'owner-code-form' }, code.wrap, result, h('div', { class: 'actions' }, verify));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      busy(verify, async () => {
        fill(result);
        try {
          const application = await post(`/bindings/sms/challenges/${encodeURIComponent(memo.challengeId)}/confirm`,
            { code: code.input.value.trim() }, { idempotent: true });
          fill(codeStep);
          formDone();
          memo.application = application;
          memo.localAnswer = localAnswer;
          showApplication(applicationStep, { application, localAnswer, method: 'sms' });
        } catch (err) {
          fill(result, errorNotice(err));
          code.input.focus();
        }
      });
    });
    fill(codeStep, h('div', { class: 'card' }, form));
    code.input.focus();
  };

  fill(container,
    pageHeading(t('smsTitle')),
    h('p', { class: 'lead' }, t('bindIntro')),
    limit.box,
    smsForm,
    codeStep,
    applicationStep);
  if (plate.input.value) checkPlate();
  recheck();
  // Re-drawn after a language switch: pick up where the person was.
  if (memo.application) {
    formDone();
    showApplication(applicationStep, { application: memo.application, localAnswer: memo.localAnswer, method: 'sms' });
  } else if (memo.challengeId) showCodeStep();
  return () => stops.forEach((stop) => stop());
}

// ---------------------------------------------------------------------------------------------------
// Scan binding.

/** Reads a code from RGBA pixels with the core's decoder; null when the frame holds none. */
function scanPixels(imageData) {
  const answer = qrExports().scanRgba(imageData.data, imageData.width, imageData.height);
  return answer.ok ? (answer.texts[0] ?? null) : null;
}

/** Draws a picture to a canvas to get its pixels (large photos are scaled down to keep decoding quick). */
async function pixelsOfFile(file) {
  const bitmap = await createImageBitmap(file);
  const scale = Math.min(1, 1200 / Math.max(bitmap.width, bitmap.height));
  const canvas = document.createElement('canvas');
  canvas.width = Math.round(bitmap.width * scale);
  canvas.height = Math.round(bitmap.height * scale);
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  bitmap.close?.();
  return ctx.getImageData(0, 0, canvas.width, canvas.height);
}

async function mountScan(container, memo) {
  fill(container, pageHeading(t('scanTitle')), loadingBlock());
  const limit = await bindingLimit();
  if (limit.full && !memo.application) {
    // Nothing to scan for: a code would be used up and then refused.
    fill(container, pageHeading(t('scanTitle')), h('p', { class: 'lead' }, t('bindIntro')), limit.box);
    return undefined;
  }
  const status = h('div', { id: 'scan-status', 'aria-live': 'polite' });
  const cameraBox = h('div', { id: 'camera-box' });
  const applicationStep = h('div', { id: 'application-step' });
  const fileId = uid('qrfile');
  // The label below is the control people use; the input itself stays out of the tab order.
  const fileInput = h('input', { type: 'file', id: fileId, accept: 'image/*', class: 'visually-hidden', tabindex: '-1' });
  const fileLabel = h('label', { for: fileId, class: 'button', id: 'pick-file', tabindex: '0', role: 'button' }, t('scanPickFile'));
  fileLabel.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); fileInput.click(); }
  });
  const cameraButton = h('button', { type: 'button', id: 'scan-camera', class: 'primary' }, t('scanCamera'));
  const hasCamera = Boolean(navigator.mediaDevices?.getUserMedia) && app.channel !== 'kiosk';
  let stream = null;
  let scanTimer = null;

  const stopCamera = () => {
    clearInterval(scanTimer);
    scanTimer = null;
    stream?.getTracks().forEach((track) => track.stop());
    stream = null;
    fill(cameraBox);
    cameraButton.textContent = t('scanCamera');
  };

  const found = async (qrText) => {
    stopCamera();
    fill(status, notice(t('scanFound'), 'ok'));
    await redeem(qrText);
  };

  const redeem = async (qrText) => {
    // What the code itself says (masked plate, time left) is shown at once; the server then redeems it.
    try {
      const info = qrExports().decodePayload(qrText);
      const left = qrExports().secondsLeft(qrText, Date.now());
      status.append(h('p', { id: 'scanned-plate' }, t('scanPlate', { plate: info.maskedPlate })));
      if (left > 0) status.append(h('p', { class: 'meta' }, t('scanCodeExpiresIn', { time: minutesSeconds(left) })));
    } catch (err) {
      // Not a vehicle code (or a damaged one): the core's reason says which, in both languages.
      fill(status, reasonList([err?.reason ?? { code: 'QR_CODE_INVALID', message: { zh: t('scanNoCode'), en: t('scanNoCode') } }]));
      return;
    }
    try {
      const application = await post('/bindings/qr/redeem', { qrText }, { idempotent: true });
      memo.application = application;
      showApplication(applicationStep, { application, localAnswer: null, method: 'qr' });
    } catch (err) {
      fill(status, errorNotice(err));
    }
  };

  // The scanner module loads while the person gets the code ready; decoding waits for it.
  const scannerReady = loadScanner();
  scannerReady.catch(() => fill(status, notice(t('errCoreLoad'), 'error')));

  fileInput.addEventListener('change', async () => {
    const file = fileInput.files?.[0];
    fileInput.value = '';
    if (!file) return;
    fill(status, loadingBlock());
    try {
      const [pixels] = await Promise.all([pixelsOfFile(file), scannerReady]);
      const text = scanPixels(pixels);
      if (!text) {
        fill(status, notice(t('scanNoCode'), 'error'));
        return;
      }
      await found(text);
    } catch (err) {
      console.warn(err);
      fill(status, notice(t('scanNoCode'), 'error'));
    }
  });

  cameraButton.addEventListener('click', async () => {
    if (stream) { stopCamera(); return; }
    try {
      await scannerReady;
    } catch {
      return;
    }
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' }, audio: false });
    } catch {
      fill(status, notice(t('scanNoCamera'), 'warn'));
      fileLabel.focus();
      return;
    }
    const video = h('video', { class: 'camera', playsinline: true, muted: true, 'aria-label': t('scanLooking') });
    video.srcObject = stream;
    fill(cameraBox, video, h('p', { class: 'meta' }, t('scanLooking')));
    cameraButton.textContent = t('scanStopCamera');
    await video.play().catch(() => {});
    const canvas = document.createElement('canvas');
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    scanTimer = setInterval(() => {
      if (!video.videoWidth) return;
      const scale = Math.min(1, 640 / video.videoWidth);
      canvas.width = Math.round(video.videoWidth * scale);
      canvas.height = Math.round(video.videoHeight * scale);
      ctx.drawImage(video, 0, 0, canvas.width, canvas.height);
      const text = scanPixels(ctx.getImageData(0, 0, canvas.width, canvas.height));
      if (text) found(text);
    }, 250);
  });

  fill(container,
    pageHeading(t('scanTitle')),
    h('p', { class: 'lead' }, t('bindIntro')),
    limit.box,
    h('div', { class: 'card' },
      h('div', { class: 'actions' }, hasCamera ? cameraButton : null, fileLabel, fileInput),
      cameraBox,
      status),
    applicationStep);
  if (memo.application) showApplication(applicationStep, { application: memo.application, localAnswer: null, method: 'qr' });
  return stopCamera;
}

// ---------------------------------------------------------------------------------------------------
// After the code passed: relationship (scan), the face check on the provider's page, then the commit.

function showApplication(node, { application, localAnswer, method }) {
  const appId = String(application.applicationId ?? application.application?.id ?? application.id);
  const vehicle = application.vehicle ?? {};
  const serverPrecheck = application.precheck;
  const differs = localAnswer && serverPrecheck && localAnswer.allowed !== serverPrecheck.allowed;
  // The server has already said no: a face check and a commit could not change that, so neither is offered.
  if (serverPrecheck && !serverPrecheck.allowed) {
    fill(node, h('section', { class: 'card', 'aria-labelledby': 'app-title' },
      h('h2', { id: 'app-title' }, t('vehicleToBind')),
      h('p', {}, plateBadge(vehicle)),
      eligibilityBox(serverPrecheck, { title: t('serverSaid'), id: 'server-precheck' }),
      differs ? notice(t('serverDiffers'), 'warn') : null,
      h('p', { id: 'cannot-submit' }, t('bindCannotSubmit')),
      h('div', { class: 'actions' }, h('a', { class: 'button primary', href: '#/vehicles' }, t('navVehicles')))));
    node.querySelector('h2')?.setAttribute('tabindex', '-1');
    node.querySelector('h2')?.focus();
    return;
  }
  let relationship = method === 'qr' ? null : 'other';
  const relationshipGroup = method === 'qr' ? h('fieldset', { id: 'relationship' },
    h('legend', {}, t('scanChooseRelationship')),
    h('div', { class: 'radio-grid' }, relationshipCodes().map((code) => {
      const input = h('input', { type: 'radio', name: 'relationship', value: code, required: true });
      input.addEventListener('change', () => { relationship = code; });
      return h('label', { class: 'radio' }, input, relationshipName(code));
    }))) : null;

  const result = h('div', { id: 'commit-result', 'aria-live': 'polite' });
  const commitButton = h('button', { type: 'button', class: 'primary', id: 'commit-binding' }, t('verifyStart'));
  const timeLeft = applicationTimer(application, commitButton);
  commitButton.addEventListener('click', () => busy(commitButton, async () => {
    fill(result);
    if (method === 'qr' && !relationship) {
      fill(result, notice(t('scanChooseRelationship'), 'error'));
      relationshipGroup.querySelector('input')?.focus();
      return;
    }
    const resume = { applicationId: appId, relationship, vehicle, method, pageAllowed: localAnswer?.allowed ?? serverPrecheck?.allowed ?? null };
    try {
      await verifyForBinding(resume);
    } catch (err) {
      if (err?.code === 'REAL_PERSON_VERIFICATION_UNAVAILABLE') {
        // No provider just now: try later, or ask an officer to review the application.
        const reviewSlot = h('div', { class: 'card', id: 'manual-review' });
        offerManualReview(reviewSlot, appId, relationship);
        fill(result, verificationOutcome('unavailable', { onRetry: () => commitButton.click(), manualReview: reviewSlot }));
        return;
      }
      // Refused before the face check (withdrawn by the owner, out of time): the answer, with its code.
      fill(result, h('div', { id: 'server-answer', 'data-status': String(err?.status ?? ''), 'data-code': err?.code ?? '' }, errorNotice(err)));
    }
  }));

  fill(node, h('section', { class: 'card', 'aria-labelledby': 'app-title' },
    h('h2', { id: 'app-title' }, t('vehicleToBind')),
    h('p', {}, plateBadge(vehicle)),
    serverPrecheck ? eligibilityBox(serverPrecheck, { title: t('serverSaid'), id: 'server-precheck' }) : null,
    differs ? notice(t('serverDiffers'), 'warn') : null,
    relationshipGroup,
    h('h3', {}, t('verifyTitle')),
    h('p', { class: 'meta' }, t('verifyIntro')),
    timeLeft,
    h('div', { class: 'actions' }, commitButton),
    result));
  (relationshipGroup?.querySelector('input') ?? commitButton).focus();
}

/** The binder's face check for this application; the provider's page sends them back to `#/bind/verified`. */
function verifyForBinding(resume) {
  return startVerification({ purpose: 'application', applicationId: resume.applicationId, returnPath: '/bind/verified', resume });
}

/**
 * Back from the provider's page: the commit hands the provider's signed result to the server, which checks
 * it (this application, the binder's own ID, fresh, unused) and then asks the rules.
 */
async function mountVerified(container, memo) {
  fill(container, pageHeading(t('bindTitle')), loadingBlock());
  if (!memo.answer) {
    const kept = pendingVerification();
    const returned = returnedResult();
    // Out of the address at once: reloading the page must not hand the same result in again.
    clearReturnedParams('/bind/verified');
    forgetVerification();
    memo.resume = kept?.purpose === 'application' ? kept.resume : null;
    memo.answer = memo.resume && returned.verificationId ? commitApplication(memo.resume, returned) : Promise.resolve({ nothing: true });
  }
  const node = h('div', { id: 'application-step' });
  const shown = await memo.answer;
  fill(container, pageHeading(t('bindTitle')), node);
  const resume = memo.resume;
  if (shown.nothing) {
    fill(node, notice(t('bindNothingToFinish'), 'info'),
      h('div', { class: 'actions' }, h('a', { class: 'button primary', href: '#/bind' }, t('navBind'))));
    return undefined;
  }
  if (shown.done) {
    fill(node, doneCard(resume.vehicle ?? {}, shown.done));
  } else if (shown.status) {
    // The face check did not pass: manual review (or another try when no face was seen).
    const reviewSlot = h('div', { class: 'card', id: 'manual-review' });
    offerManualReview(reviewSlot, resume.applicationId, resume.relationship);
    const retry = () => verifyForBinding(resume).catch((err) => fill(node, errorNotice(err)));
    fill(node, h('section', { class: 'card' }, h('h2', {}, t('vehicleToBind')), h('p', {}, plateBadge(resume.vehicle ?? {})),
      verificationOutcome(shown.status, { onRetry: retry, manualReview: shown.status === 'no_face' ? null : reviewSlot })));
  } else {
    const err = shown.refused;
    const parts = [errorNotice(err)];
    if (err.status === 409 && resume.pageAllowed === true) parts.unshift(notice(t('serverDiffers'), 'warn'));
    // A result that cannot be used (replayed, stale, another application's) asks for a new face check.
    const resultRefused = /^VERIFICATION_/.test(err.code ?? '');
    fill(node, h('section', { class: 'card' }, h('h2', {}, t('vehicleToBind')), h('p', {}, plateBadge(resume.vehicle ?? {})),
      h('div', { id: 'server-answer', 'data-status': String(err.status), 'data-code': err.code ?? '' }, h('h3', {}, t('serverSaid')), parts),
      resultRefused ? h('div', { class: 'actions' }, retryButton(resume)) : null,
      resultRefused ? null : h('div', { class: 'actions' }, h('a', { class: 'button primary', href: '#/vehicles' }, t('navVehicles')))));
  }
  const focus = node.querySelector('.notice-title, h3, h2');
  focus?.setAttribute('tabindex', '-1');
  focus?.focus();
  return undefined;
}

function retryButton(resume) {
  const button = h('button', { type: 'button', class: 'primary', id: 'verify-again' }, t('verifyAgain'));
  button.addEventListener('click', () => busy(button, () => verifyForBinding(resume).catch(() => {})));
  return button;
}

/**
 * Commits through the Client (the same Idempotency-Key on retries) with the provider's result. Resolves to
 * `{done: answer}`, `{status}` when the face check did not pass, or `{refused: ApiError}`.
 */
async function commitApplication(resume, { verificationId, result }) {
  const vehicle = resume.vehicle ?? {};
  try {
    // Decided under the vehicle's city policy, the one the server uses.
    let rules;
    try { rules = rulesFor(await policyFor(vehicle.city)); } catch { rules = undefined; }
    const options = { verificationId };
    if (result) options.result = result;
    if (resume.method === 'qr') options.relationship = resume.relationship;
    const outcome = await commit((client) => client.commitBinding(resume.applicationId, options), { rules });
    await refreshPerson();
    return { done: outcome.body };
  } catch (err) {
    if (notPassed(err)) return { status: await verificationStatus(verificationId, err) };
    return { refused: err };
  }
}

function doneCard(vehicle, answer) {
  const agreed = answer?.decision?.agreed;
  return h('div', { class: 'card', id: 'binding-done' },
    h('div', { class: 'notice ok', role: 'status' },
      h('p', { class: 'notice-title' }, t('bindingDone', { plate: vehicle.plateMasked ?? '' })),
      h('p', {}, t('bindingDoneHint', { date: cstDate(answer?.binding?.createdAt) }))),
    agreed === false ? notice(t('serverDiffers'), 'warn') : null,
    h('div', { class: 'actions' },
      h('a', { class: 'button primary', href: '#/vehicles', id: 'to-vehicles' }, t('navVehicles')),
      h('a', { class: 'button', href: '#/violations' }, t('viewViolations'))));
}

/**
 * How long the owner's consent still holds (the server refuses the commit afterwards). Counted on the
 * page's monotonic clock from when the application arrived, which is when the server opened it, so a page
 * clock that is off does not matter.
 */
function applicationTimer(application, commitButton) {
  if (!application.expiresAt) return null;
  application.receivedAt ??= performance.now();
  const lifetime = app.policy?.applicationLifetimeSeconds ?? 600;
  const line = h('div', { class: 'meta', id: 'application-time-left', role: 'timer', 'aria-live': 'off' });
  const tick = () => {
    const left = lifetime - (performance.now() - application.receivedAt) / 1000;
    if (left > 0) {
      line.textContent = t('applicationTimeLeft', { time: minutesSeconds(left) });
      return;
    }
    clearInterval(timer);
    line.replaceChildren(notice(t('applicationExpired'), 'warn'));
    commitButton.disabled = true;
  };
  const timer = setInterval(() => { if (!line.isConnected && line.dataset.shown) clearInterval(timer); else tick(); }, 1000);
  tick();
  line.dataset.shown = 'true';
  return line;
}

// The review needs an ID photo: its own page (review-photo.js) takes the upload and sends it.
function offerManualReview(slot, appId) {
  fill(slot, h('a', { class: 'button primary', id: 'ask-review', href: `#/applications/${encodeURIComponent(appId)}/photo` }, t('askManualReview')));
}
