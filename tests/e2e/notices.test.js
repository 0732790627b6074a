// Both sides are told and history stays: the inbox with its unread count, the owner's pending
// applications (withdrawn from the vehicles page), and the binding history after a removal.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, launchBrowser, openPage, signIn, go, latestCode, screenshot, publishScreenshot, axeSerious, unexpectedErrors,
  answerOnProvider, waitFor,
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

/** Opens an SMS application on the vehicle through the page, up to the commit button. */
async function openBySms(page, vehicle) {
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
  await page.waitForSelector('#commit-binding');
}

test('the owner sees a pending application on their vehicle and withdraws it; the applicant is told', async () => {
  const vehicle = DEMO.smsVehicles[0];
  await openBySms(binder.page, vehicle);
  const { page } = owner;
  await go(page, '#/vehicles');
  await page.waitForSelector('#pending-applications [data-application-id]');
  assert.match(await page.textContent('#pending-applications'), /赵\*/);
  await publishScreenshot(await screenshot(page, 'pending-applications'));
  assert.deepEqual(await axeSerious(page), []);
  await page.click('#pending-applications [data-action="withdraw"]');
  await page.click('#pending-applications [data-action="confirm-withdraw"]');
  await page.waitForSelector('#pending-applications [data-application-id]', { state: 'detached' });

  // The binder's page, left open at the commit step, is refused with the reason.
  await binder.page.click('#commit-binding');
  await binder.page.waitForSelector('#server-answer[data-code="APPLICATION_WITHDRAWN"]');
  await go(binder.page, '#/inbox');
  await binder.page.waitForSelector('#inbox-list [data-kind="application_withdrawn"]');
  assert.deepEqual(unexpectedErrors(owner.errors), []);
});

test('a binding reaches the owner’s inbox with an unread count; after removal both histories keep it', async () => {
  const vehicle = DEMO.smsVehicles[0];
  // Past the owner phone's SMS cool-down from the first test.
  const res = await fetch(`${server.url}/api/v1/dev/clock`, {
    method: 'POST', headers: { 'Content-Type': 'application/json', Origin: server.url }, body: JSON.stringify({ advanceSeconds: 61 }),
  });
  assert.equal(res.status, 200);
  await openBySms(binder.page, vehicle);
  await binder.page.click('#commit-binding');
  await answerOnProvider(binder.page, 'pass');
  await binder.page.waitForSelector('#binding-done');

  const { page } = owner;
  await go(page, '#/vehicles');
  await waitFor(async () => (await page.textContent('#unread-count').catch(() => '0')) !== '0');
  assert.equal(await page.$eval('#unread-count', (n) => n.hidden), false);
  await page.click('[data-nav="inbox"]');
  await page.waitForSelector('#inbox-list li.unread[data-kind="binding_created"]');
  assert.match(await page.textContent('#inbox-list li.unread'), /赵\*/);
  await publishScreenshot(await screenshot(page, 'inbox'));
  assert.deepEqual(await axeSerious(page), []);
  await page.click('#mark-all-read');
  await page.waitForSelector('#inbox-list li.unread', { state: 'detached' });
  await page.waitForSelector('#unread-count[hidden]', { state: 'attached' });

  // The binder removes the binding from the vehicles page.
  const b = binder.page;
  await go(b, '#/vehicles');
  await b.click(`#bound-vehicles li[data-plate="${vehicle.plateNumber}"] [data-action="remove"]`);
  await b.click(`#bound-vehicles li[data-plate="${vehicle.plateNumber}"] [data-action="confirm-remove"]`);
  await b.waitForSelector(`#bound-vehicles li[data-plate="${vehicle.plateNumber}"]`, { state: 'detached' });
  await b.click('#go-history');
  await b.waitForSelector('#history-binder [data-state="removed"][data-removed-role="binder"]');
  await publishScreenshot(await screenshot(b, 'history'));
  assert.deepEqual(await axeSerious(b), []);

  await go(page, '#/history');
  await page.waitForSelector('#history-owner [data-removed-role="binder"]');
  await go(page, '#/inbox');
  await page.waitForSelector('#inbox-list li.unread[data-kind="binding_removed"]');
  assert.deepEqual(unexpectedErrors(owner.errors), []);
  assert.deepEqual(unexpectedErrors(binder.errors), []);
});

test('a binder’s handled violations stay in their history after the binding is removed', async () => {
  const third = await openPage(browser, server.url, { hash: '#/signin' });
  const { page, errors } = third;
  await signIn(page, server.url, DEMO.cameraBinder.phone);
  await go(page, '#/violations');
  const row = page.locator('li[data-route="online"]').first();
  const violationId = await row.getAttribute('data-violation-id');
  await row.locator('[data-action="handle"]').click();
  await page.waitForSelector('#handle-form');
  await page.check('#accept-points');
  await page.click('#dev-pay-succeed');
  await page.waitForFunction(() => /成功|succeed/.test(document.querySelector('#dev-payment-status').textContent));
  await page.click('#pay');
  await page.waitForSelector('#decision-number');

  await go(page, '#/vehicles');
  const plate = DEMO.owner.vehicle.plateNumber;
  await page.click(`#bound-vehicles li[data-plate="${plate}"] [data-action="remove"]`);
  await page.click(`#bound-vehicles li[data-plate="${plate}"] [data-action="confirm-remove"]`);
  await page.waitForSelector(`#bound-vehicles li[data-plate="${plate}"]`, { state: 'detached' });
  await go(page, '#/history');
  await page.waitForSelector(`#history-handled li[data-violation-id="${violationId}"][data-state="paid"]`);
  await page.waitForSelector('#history-binder [data-removed-role="binder"]');
  await page.waitForSelector('#toasts:empty', { state: 'attached' });
  await publishScreenshot(await screenshot(page, 'history-handled'));
  assert.deepEqual(await axeSerious(page), []);
  assert.deepEqual(unexpectedErrors(errors), []);
  await third.context.close();
});
