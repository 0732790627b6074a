// The window console (officer); the kiosk channel is in kiosk.test.js.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, launchBrowser, openPage, signIn, go, latestCode, screenshot, publishScreenshot, axeSerious, unexpectedErrors, expectShown,
  failVerification, idPhotoJpeg, DESKTOP, PHONE,
} from './helpers.js';
import { DEMO, HOLDERS } from './demo.js';

let server;
let browser;
let officer;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  // One officer session for the file: a second sign-in within the SMS cool-down would get no code.
  officer = await openPage(browser, server.url, { hash: '#/signin', viewport: DESKTOP });
  await signIn(officer.page, server.url, DEMO.officer.phone);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('fails verification, uploads an ID photo, an officer approves it, the binding exists', async () => {
  // The person's face check on the provider's page fails, so they ask for manual review with an ID photo.
  const person = await openPage(browser, server.url, { hash: '#/signin' });
  const { page } = person;
  await signIn(page, server.url, DEMO.reviewee.phone);
  const vehicle = DEMO.reviewVehicle;
  await go(page, '#/bind/sms');
  await page.waitForSelector('#sms-form');
  await page.click(`[data-plate-type="${vehicle.plateType}"]`);
  await page.fill('input[name="plateNumber"]', vehicle.plateNumber);
  await page.fill('input[name="engineSuffix"]', vehicle.engineSuffix);
  await page.waitForSelector('#instant-eligibility[data-allowed="true"]');
  const since = Date.now() - 2000;
  await page.click('#send-owner-code');
  await page.waitForSelector('#owner-code-form');
  await page.fill('input[name="ownerCode"]', await latestCode(server.url, vehicle.ownerPhone, { after: since }));
  await page.click('#verify-owner-code');
  await page.click('#commit-binding');
  await failVerification(page);
  await expectShown(page, '#verify-outcome[data-status="failed"]');
  await publishScreenshot(await screenshot(page, 'bind-verify-failed'));
  assert.deepEqual(await axeSerious(page), []);
  await page.click('#ask-review');

  // The upload page: a photo holding the ID card, and a note.
  await page.waitForSelector('input[type="file"][name="photo"]');
  const photo = await idPhotoJpeg(page);
  await page.setInputFiles('input[type="file"][name="photo"]', { name: 'me-with-id.jpg', mimeType: 'image/jpeg', buffer: photo });
  await page.waitForSelector('.photo-preview:not([hidden])');
  await page.fill('textarea[name="note"]', '我是车主的朋友,经常借用此车');
  await publishScreenshot(await screenshot(page, 'review-upload'));
  assert.deepEqual(await axeSerious(page), []);
  await page.click('#send-review');
  await expectShown(page, '#review-requested');

  // The applicant's vehicles page says where the application stands.
  await go(page, '#/vehicles');
  await page.waitForSelector('#my-applications [data-status="in_review"]');
  assert.deepEqual(unexpectedErrors(person.errors), []);

  // The officer opens the review: the name, the full ID number and the photo, then approves.
  await go(officer.page, '#/window');
  await officer.page.waitForSelector('#window-queue [data-application-id]');
  await officer.page.click('#window-queue [data-application-id] [data-action="open-review"]');
  await officer.page.waitForSelector('#review-photo');
  await officer.page.waitForFunction(() => document.getElementById('review-photo')?.naturalWidth > 0);
  assert.match(await officer.page.textContent('#review-resident-id'), /^\d{17}[\dX]$/);
  assert.match(await officer.page.textContent('#review-note'), /朋友/);
  await officer.page.setViewportSize(PHONE);
  await publishScreenshot(await screenshot(officer.page, 'officer-review'));
  assert.deepEqual(await axeSerious(officer.page), []);
  await officer.page.setViewportSize(DESKTOP);
  await officer.page.click('[data-action="approve"]');
  await officer.page.waitForSelector('#back-to-queue');
  await officer.page.click('#back-to-queue');
  await officer.page.waitForSelector('#window-queue');
  assert.equal(await officer.page.$('#window-queue [data-application-id]'), null);

  // The binding exists, and the applicant is told.
  await go(page, '#/vehicles');
  await page.waitForSelector(`#bound-vehicles li[data-plate="${vehicle.plateNumber}"]`);
  await go(page, '#/inbox');
  await page.waitForSelector('#inbox-list [data-kind="binding_created"]');
  assert.deepEqual(unexpectedErrors(officer.errors), []);
  await person.context.close();
});

test('window console: find a person and a vehicle, check the originals, bind on their behalf, handle a violation', async () => {
  const { page, errors } = officer;
  await go(page, '#/window');
  await page.waitForSelector('#find-person-form');
  // Which rules decide in each city, and which take over next and when.
  await page.waitForSelector('#window-policy [data-city="441900"]');
  assert.match(await page.textContent('#window-policy [data-city="533300"]'), /2027年1月1日/);
  assert.deepEqual(await axeSerious(page), []);

  await page.fill('input[name="personResidentId"]', DEMO.windowPerson.residentId);
  await page.click('#find-person');
  await page.waitForSelector('#window-person [data-person-id]');
  // The officer compares the originals with the data in full.
  assert.equal(await page.textContent('#window-person [data-field="residentId"]'), DEMO.windowPerson.residentId);

  // By the number alone, as read off the licence: the plate type is "any" until the officer picks one.
  const vehicle = DEMO.windowVehicle;
  assert.equal(await page.inputValue('select[name="windowPlateType"]'), '');
  await page.fill('input[name="windowPlateNumber"]', vehicle.plateNumber.toLowerCase());
  await page.click('#find-vehicle');
  await page.waitForSelector('#window-vehicle [data-vehicle-id]');
  assert.equal(await page.textContent('#window-vehicle [data-field="ownerName"]'), HOLDERS[13900000001].name);

  // No originals ticked yet: the core says which are missing, before anything is sent.
  await page.waitForSelector('#window-actions [data-code="WINDOW_DOCUMENTS_NOT_CHECKED"]');
  for (const box of await page.$$('#window-documents input[type="checkbox"]')) await box.check();
  await page.waitForSelector('#window-actions [data-code="WINDOW_DOCUMENTS_NOT_CHECKED"]', { state: 'detached' });

  // A violation of a vehicle the person has not bound is handled at the window without binding.
  await page.waitForSelector('#window-violations [data-violation-id]');
  await page.locator('#window-violations [data-action="window-handle"]').first().click();
  await page.waitForSelector('#window-violations [data-decision-number]');
  // The panel shows the points the handling added (3 before, 3 for this one).
  await page.waitForSelector('#window-person [data-field="licence"]:text("6")');
  assert.equal(await page.$('#full-points-warning'), null);

  await page.click('#window-bind');
  await page.waitForSelector('#window-bind-result .notice.ok');
  await screenshot(page, 'window-console');

  // His own car's violations, handled at the window one by one, bring the cycle to 12 points: the panel
  // says the licence is suspended and self-service stops.
  const firstVehicle = await page.getAttribute('#window-vehicle [data-vehicle-id]', 'data-vehicle-id');
  await page.fill('input[name="windowPlateNumber"]', DEMO.owner.vehicle.plateNumber);
  await page.selectOption('select[name="windowPlateType"]', DEMO.owner.vehicle.plateType);
  await page.click('#find-vehicle');
  await page.waitForSelector(`#window-vehicle [data-vehicle-id]:not([data-vehicle-id="${firstVehicle}"])`);
  const scored = '#window-violations li:not([data-points="0"]) [data-action="window-handle"]';
  for (let i = 0; i < 6 && !(await page.$('#full-points-warning')); i += 1) {
    await page.waitForSelector(scored);
    const decided = await page.$$eval('#window-violations [data-decision-number]', (n) => n.length);
    await page.locator(scored).first().click();
    await page.waitForFunction((n) => document.querySelectorAll('#window-violations [data-decision-number]').length > n
      || document.querySelector('#window-violations .notice.error'), decided).catch(async (e) => {
      throw new Error(`${e.message}: ${await page.textContent('#window-violations')}`);
    });
    const refused = await page.$('#window-violations .notice.error');
    assert.equal(refused, null, refused ? await refused.textContent() : '');
    await page.waitForFunction(() => !document.querySelector('#window-violations [aria-busy="true"]'));
  }
  await page.waitForSelector('#full-points-warning');
  assert.match(await page.textContent('#full-points-warning'), /满12分/);
  await screenshot(page, 'window-full-points');

  // FAQ 3 at the window: the person's bindings, now two (粤S12345 and the one just made), and removing one.
  await page.waitForFunction(() => document.querySelectorAll('#window-person-bindings [data-binding-id]').length === 2);
  assert.equal(await page.$$eval('#window-vehicle-bindings [data-binding-id]', (n) => n.length), 2, '李满额 and 张绑定 have bound 粤S12345');
  await page.locator('#window-person-bindings [data-action="window-unbind"]').first().click();
  await page.waitForFunction(() => document.querySelectorAll('#window-person-bindings [data-binding-id]').length === 1);
  await screenshot(page, 'window-bindings');

  // 李满额 has bound this car already: the console's instant check reads the bindings, before anything is sent.
  await page.fill('input[name="personResidentId"]', HOLDERS[13900000002].residentId);
  await page.click('#find-person');
  await page.waitForSelector('#window-actions [data-code="ALREADY_BOUND"]').catch(async (e) => {
    throw new Error(`${e.message}: ${await page.innerHTML('#window-actions')}`);
  });

  // The next person at the counter starts with an empty checklist: their originals are not checked yet.
  await page.fill('input[name="personResidentId"]', HOLDERS[13900000004].residentId);
  await page.click('#find-person');
  await page.waitForSelector(`#window-person [data-field="residentId"]:text("${HOLDERS[13900000004].residentId}")`);
  assert.deepEqual(await page.$$eval('#window-documents input:checked', (boxes) => boxes.length), 0);
  await page.waitForSelector('#window-actions [data-code="WINDOW_DOCUMENTS_NOT_CHECKED"]');
  await page.setViewportSize(PHONE);
  await screenshot(page, 'window-console-phone');
  await page.setViewportSize(DESKTOP);
  assert.deepEqual(await axeSerious(page), []);
  assert.deepEqual(unexpectedErrors(errors), []);
});
