// The window console (officer) and the kiosk channel.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, launchBrowser, openPage, signIn, go, latestCode, screenshot, axeSerious, unexpectedErrors, expectShown, DESKTOP, PHONE,
  failVerification, publishScreenshot,
} from './helpers.js';
import { DEMO } from './demo.js';

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

test('a binding sent for manual review is approved from the window queue', async () => {
  // The person's face check on the provider's page fails, so they ask for manual review.
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
  // The request has landed once the page confirms it (the queue is read when the officer opens it).
  await expectShown(page, '#review-requested', { region: '#application-step' });
  assert.deepEqual(unexpectedErrors(person.errors), []);

  await go(officer.page, '#/window');
  await officer.page.waitForSelector('#window-queue [data-application-id]');
  await officer.page.click('#window-queue [data-application-id] [data-action="approve"]');
  await officer.page.waitForSelector('#window-queue [data-application-id]', { state: 'detached' });

  await go(page, '#/vehicles');
  await page.waitForSelector(`#bound-vehicles li[data-plate="${vehicle.plateNumber}"]`);
  assert.deepEqual(unexpectedErrors(officer.errors), []);
  await person.context.close();
});

test('window console: find a person and a vehicle, check the originals, bind on their behalf, handle a violation', async () => {
  const { page, errors } = officer;
  await go(page, '#/window');
  await page.waitForSelector('#find-person-form');
  assert.deepEqual(await axeSerious(page), []);

  await page.fill('input[name="personResidentId"]', DEMO.windowPerson.residentId);
  await page.click('#find-person');
  await page.waitForSelector('#window-person [data-person-id]');

  const vehicle = DEMO.windowVehicle;
  await page.selectOption('select[name="windowPlateType"]', vehicle.plateType);
  await page.fill('input[name="windowPlateNumber"]', vehicle.plateNumber);
  await page.click('#find-vehicle');
  await page.waitForSelector('#window-vehicle [data-vehicle-id]');

  // No originals ticked yet: the core says which are missing, before anything is sent.
  await page.waitForSelector('#window-actions [data-code="WINDOW_DOCUMENTS_NOT_CHECKED"]');
  for (const box of await page.$$('#window-documents input[type="checkbox"]')) await box.check();
  await page.waitForSelector('#window-actions [data-code="WINDOW_DOCUMENTS_NOT_CHECKED"]', { state: 'detached' });

  // A violation of a vehicle the person has not bound is handled at the window without binding.
  await page.waitForSelector('#window-violations [data-violation-id]');
  await page.locator('#window-violations [data-action="window-handle"]').first().click();
  await page.waitForSelector('#window-violations [data-decision-number]');

  await page.click('#window-bind');
  await page.waitForSelector('#window-bind-result .notice.ok');
  await screenshot(page, 'window-console');
  await page.setViewportSize(PHONE);
  await screenshot(page, 'window-console-phone');
  await page.setViewportSize(DESKTOP);
  assert.deepEqual(await axeSerious(page), []);
  assert.deepEqual(unexpectedErrors(errors), []);
});

test('kiosk: large targets, no camera option, signed out after inactivity', async () => {
  const kiosk = await openPage(browser, server.url, { hash: '#/signin', query: '?channel=kiosk&idle=3' });
  const { page, errors } = kiosk;
  assert.equal(await page.evaluate(() => document.body.classList.contains('kiosk')), true);
  const height = await page.$eval('#send-code', (b) => b.getBoundingClientRect().height);
  assert.ok(height >= 60, `kiosk button height ${height}`);
  await signIn(page, server.url, DEMO.kioskUser.phone);
  await page.click('[data-nav="bind"]');
  await page.waitForSelector('#choose-sms');
  assert.equal(await page.$('#choose-scan'), null);
  assert.deepEqual(await axeSerious(page), []);
  // No input for three seconds: back to sign-in, with a note saying why.
  await page.waitForSelector('#idle-signed-out', { timeout: 10_000 });
  await page.waitForSelector('#signin-form');
  assert.deepEqual(unexpectedErrors(errors), []);
  await kiosk.context.close();
});
