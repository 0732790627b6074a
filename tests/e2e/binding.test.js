// Binding in a real browser: the QR round trip between two people's pages, SMS binding through the dev
// outbox, the binder's face check on the development identity provider's camera page before each commit,
// the limit of three refused on the page, a refusal the server knows first, and removal by binder and owner.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import {
  startServer, launchBrowser, openPage, signIn, go, latestCode, screenshot, publishScreenshot, axeSerious, unexpectedErrors, waitFor,
  writeFakeCamera, qrPicture, expectShown, answerOnProvider,
} from './helpers.js';
import { DEMO } from './demo.js';

let server;
let browser;
let owner;
let binder;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  owner = await openPage(browser, server.url, { hash: '#/signin' });
  binder = await openPage(browser, server.url, { hash: '#/signin' });
  await signIn(owner.page, server.url, DEMO.owner.phone);
  await signIn(binder.page, server.url, DEMO.binder.phone);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('scan binding: the owner shows the code, the binder reads a picture of it, the owner is told', async () => {
  const { page: ownerPage } = owner;
  const { page: binderPage } = binder;

  await ownerPage.waitForSelector('#owned-vehicles [data-vehicle-id]');
  await publishScreenshot(await screenshot(ownerPage, 'my-vehicles'));
  assert.deepEqual(await axeSerious(ownerPage), []);
  await ownerPage.click(`#owned-vehicles li[data-plate="${DEMO.owner.vehicle.plateNumber}"] [data-action="show-qr"]`);
  await ownerPage.waitForSelector('canvas#qr-image');
  // The countdown starts at three minutes, from the code's own expiry.
  const countdown = await ownerPage.textContent('#qr-countdown');
  assert.match(countdown, /^(3:00|2:5\d)$/);
  await publishScreenshot(await screenshot(ownerPage, 'qr-code'));
  assert.deepEqual(await axeSerious(ownerPage), []);
  const png = await qrPicture(ownerPage);

  await binderPage.click('[data-nav="bind"]');
  await binderPage.click('#choose-scan');
  await binderPage.waitForSelector('#pick-file');
  assert.deepEqual(await axeSerious(binderPage), []);
  await binderPage.setInputFiles('input[type="file"]', { name: 'vehicle-code.png', mimeType: 'image/png', buffer: png });
  // Decoded in wasm: the masked plate is shown before the server is asked.
  await binderPage.waitForSelector('#scanned-plate');
  assert.match(await binderPage.textContent('#scanned-plate'), /\*/);
  await binderPage.waitForSelector('#relationship');
  // The owner's consent holds for ten minutes from the scan; the page counts it down.
  assert.match(await binderPage.textContent('#application-time-left'), /(10:00|9:[0-5]\d)/);
  // The code is used up by the scan: the owner's page says by whom (masked) and stops counting.
  await ownerPage.waitForSelector('#qr-used', { timeout: 10_000 });
  assert.match(await ownerPage.textContent('#qr-used'), new RegExp(DEMO.binder.nameInitial));
  assert.equal(await ownerPage.$('#qr-countdown'), null);
  assert.equal(await ownerPage.getAttribute('#qr-image', 'data-used'), 'true');
  await publishScreenshot(await screenshot(ownerPage, 'qr-code-used'));
  assert.deepEqual(await axeSerious(ownerPage), []);
  await binderPage.check('#relationship input[value="spouse"]');

  await publishScreenshot(await screenshot(binderPage, 'scan-binding-verify-step'));
  // The face check on the provider's page (Chromium's fake camera), then back: the commit is made.
  await binderPage.click('#commit-binding');
  const returned = await answerOnProvider(binderPage, 'pass', { screenshotName: 'identity-provider' });
  assert.match(returned, /#\/bind\/verified\?.*result=/);
  await expectShown(binderPage, '#binding-done');
  // The signed result is out of the address: a reload does not hand it in again.
  assert.doesNotMatch(binderPage.url(), /result=/);

  // The owner's page polls notifications and says who bound the vehicle.
  await ownerPage.waitForSelector('#qr-alerts [data-kind="binding_created"]', { timeout: 10_000 });

  await binderPage.click('#to-vehicles');
  await binderPage.waitForSelector(`#bound-vehicles li[data-plate="${DEMO.owner.vehicle.plateNumber}"]`);
  assert.deepEqual(unexpectedErrors(binder.errors), []);
  assert.deepEqual(unexpectedErrors(owner.errors), []);
});

/** SMS binding through the page, reading the owner's code from the development outbox. */
async function bindBySms(page, vehicle) {
  await go(page, '#/bind/sms');
  await page.waitForSelector('#sms-form');
  await page.click(`[data-plate-type="${vehicle.plateType}"]`);
  // Typed the way people type: lower case and a middle dot; the core normalises it.
  await page.fill('input[name="plateNumber"]', vehicle.typed ?? vehicle.plateNumber);
  await page.fill('input[name="engineSuffix"]', vehicle.engineSuffix.toLowerCase());
  await page.waitForSelector('#instant-eligibility[data-allowed="true"]');
  const since = Date.now() - 2000;
  await page.click('#send-owner-code');
  await page.waitForSelector('#owner-code-form');
  const code = await latestCode(server.url, vehicle.ownerPhone, { after: since });
  await page.fill('input[name="ownerCode"]', code);
  await page.click('#verify-owner-code');
  await page.waitForSelector('#commit-binding');
  // The owner's code passed: the form and its "resend in 52 s" are gone, the next step is all there is.
  assert.equal(await page.$('#sms-form'), null);
  assert.doesNotMatch(await page.textContent('#main'), /秒后可重发/);
  await page.click('#commit-binding');
  await answerOnProvider(page, 'pass');
  await expectShown(page, '#binding-done');
}

test('when the server knows more than the page (a taxi), its answer stands and the page says they differ', async () => {
  const { page } = binder;
  const taxi = DEMO.taxi;
  await go(page, '#/bind/sms');
  await page.waitForSelector('#sms-form');
  await page.click(`[data-plate-type="${taxi.plateType}"]`);
  await page.fill('input[name="plateNumber"]', taxi.plateNumber);
  await page.fill('input[name="engineSuffix"]', taxi.engineSuffix);
  // The page cannot know the vehicle's use: the rules it can check pass.
  await page.waitForSelector('#instant-eligibility[data-allowed="true"]');
  await page.click('#send-owner-code');
  // The server's precheck, with the vehicle's record, refuses before texting the owner; the page says
  // the two differ.
  await page.waitForSelector('#start-answer[data-code="USE_NATURE_NOT_BINDABLE"]');
  assert.match(await page.textContent('#send-result'), /以核对结果为准/);
  assert.equal(await page.$('#owner-code-form'), null);
  assert.deepEqual(unexpectedErrors(binder.errors), []);
});

test('SMS binding up to the limit; the fourth is refused on the page, and nothing offers to send it anyway', async () => {
  const { page } = binder;
  const [second, third, fourth] = DEMO.smsVehicles;
  await bindBySms(page, second);
  await go(page, '#/bind/sms');
  await page.waitForSelector('#sms-form');
  assert.deepEqual(await axeSerious(page), []);
  await bindBySms(page, third);

  await go(page, '#/vehicles');
  await page.waitForSelector('#bound-count');
  assert.match(await page.textContent('#bound-count'), /3/);

  // The fourth: the core answers at once, with the reason.
  await go(page, '#/bind/sms');
  await page.waitForSelector('#sms-form');
  await page.click(`[data-plate-type="${fourth.plateType}"]`);
  await page.fill('input[name="plateNumber"]', fourth.plateNumber);
  await page.fill('input[name="engineSuffix"]', fourth.engineSuffix);
  await page.waitForSelector('#instant-eligibility[data-allowed="false"] [data-code="USER_BINDING_LIMIT_REACHED"]');
  assert.equal(await page.isDisabled('#send-owner-code'), true);
  await publishScreenshot(await screenshot(page, 'sms-binding-refused'));
  assert.deepEqual(await axeSerious(page), []);
  // A doomed application is not offered: no "submit anyway", and no code goes to the owner.
  assert.equal(await page.$('#force-submit'), null);
  assert.deepEqual(await page.$$eval('#sms-form button:not([disabled])', (bs) => bs.map((b) => b.id).filter(Boolean)), []);
  assert.deepEqual(unexpectedErrors(binder.errors), []);
});

test('the binder removes a binding; the owner removes a binder', async () => {
  const { page } = binder;
  const [second] = DEMO.smsVehicles;
  await go(page, '#/vehicles');
  const row = `#bound-vehicles li[data-plate="${second.plateNumber}"]`;
  await page.waitForSelector(row);
  await page.click(`${row} [data-action="remove"]`);
  await page.click(`${row} [data-action="confirm-remove"]`);
  await page.waitForSelector(row, { state: 'detached' });
  assert.match(await page.textContent('#bound-count'), /2/);

  const { page: ownerPage } = owner;
  await go(ownerPage, '#/vehicles');
  const ownedRow = `#owned-vehicles li[data-plate="${DEMO.owner.vehicle.plateNumber}"]`;
  // The owner sees every binder of the vehicle and removes the one who bound it by QR code.
  const binderRow = ownerPage.locator(`${ownedRow} li[data-binding-id]`, { hasText: DEMO.binder.nameInitial });
  await binderRow.waitFor();
  const bindingId = await binderRow.getAttribute('data-binding-id');
  await binderRow.locator('[data-action="remove"]').click();
  // The question names the binder being removed, not only the vehicle.
  assert.match(await binderRow.locator('.remove-control [role="alert"]').textContent(), new RegExp(`${DEMO.binder.nameInitial}.*${DEMO.owner.vehicle.plateNumber.slice(0, 2)}`));
  await binderRow.locator('[data-action="confirm-remove"]').click();
  await ownerPage.waitForSelector(`${ownedRow} li[data-binding-id="${bindingId}"]`, { state: 'detached' });

  // The binder's list no longer shows it.
  await page.reload();
  await page.waitForSelector('#bound-count');
  await waitFor(async () => (await page.$(`#bound-vehicles li[data-plate="${DEMO.owner.vehicle.plateNumber}"]`)) == null);
  assert.match(await page.textContent('#bound-count'), /1/);
  assert.deepEqual(unexpectedErrors(binder.errors), []);
  assert.deepEqual(unexpectedErrors(owner.errors), []);
});

test('scan binding with the camera: frames are decoded live in wasm', async () => {
  // The owner shows the code of their new-energy car; its picture becomes the fake camera's video.
  const { page: ownerPage } = owner;
  const { nev } = DEMO.owner;
  await go(ownerPage, '#/vehicles');
  await ownerPage.click(`#owned-vehicles li[data-plate="${nev.plateNumber}"] [data-action="show-qr"]`);
  await ownerPage.waitForSelector('canvas#qr-image');
  const png = await qrPicture(ownerPage);
  const rgba = await ownerPage.evaluate(async (base64) => {
    // An image element, not fetch: the page's content-security policy lets it connect to its own origin only.
    const picture = new Image();
    picture.src = `data:image/png;base64,${base64}`;
    await picture.decode();
    const bitmap = await createImageBitmap(picture);
    const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
    const ctx = canvas.getContext('2d');
    ctx.drawImage(bitmap, 0, 0);
    const image = ctx.getImageData(0, 0, bitmap.width, bitmap.height);
    return { width: image.width, height: image.height, data: Array.from(image.data) };
  }, png.toString('base64'));
  const video = path.join(server.dir, 'camera.y4m');
  await writeFakeCamera(video, rgba);

  const cameraBrowser = await launchBrowser({
    extraArgs: ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', `--use-file-for-fake-video-capture=${video}`],
  });
  try {
    const other = await openPage(cameraBrowser, server.url, { hash: '#/signin' });
    await other.context.grantPermissions(['camera'], { origin: server.url });
    const { page } = other;
    await signIn(page, server.url, DEMO.cameraBinder.phone);
    await go(page, '#/bind/scan');
    await page.click('#scan-camera');
    // Frames are decoded four times a second; a loaded machine may take a while to start the video.
    await expectShown(page, '#scanned-plate', { region: '.card', timeout: 30_000 });
    // The camera stops once a code is read.
    await page.waitForSelector('video', { state: 'detached' });
    await page.check('#relationship input[value="friend"]');
    await page.click('#commit-binding');
    await answerOnProvider(page, 'pass');
    await expectShown(page, '#binding-done');
    assert.deepEqual(unexpectedErrors(other.errors), []);
  } finally {
    await cameraBrowser.close();
  }
});
