// The owner's QR code over its three minutes: the countdown comes from the code's own expiry (a page
// clock that is off does not matter), the code greys out when it runs out, a new one replaces it, and an
// expired code is refused by the server with a message the binder can read.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, launchBrowser, openPage, signIn, go, screenshot, axeSerious, unexpectedErrors, qrPicture, expectShown,
} from './helpers.js';
import { DEMO } from './demo.js';

let server;
let browser;
let owner;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  // One owner session for the file: a second sign-in within the SMS cool-down would get no code.
  owner = await openPage(browser, server.url, { hash: '#/signin' });
  await signIn(owner.page, server.url, DEMO.owner.phone);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

function seconds(text) {
  const [m, s] = text.trim().split(':').map(Number);
  return m * 60 + s;
}

test('a code past its three minutes is refused by the server, with its reason shown to the binder', async () => {
  const binder = await openPage(browser, server.url, { hash: '#/signin' });
  await signIn(binder.page, server.url, DEMO.binder.phone);
  await go(owner.page, '#/vehicles');
  await owner.page.click(`#owned-vehicles li[data-plate="${DEMO.owner.vehicle.plateNumber}"] [data-action="show-qr"]`);
  await owner.page.waitForSelector('canvas#qr-image');
  const png = await qrPicture(owner.page);

  // The server's clock moves past the code's lifetime.
  const res = await fetch(`${server.url}/api/v1/dev/clock`, {
    method: 'POST', headers: { 'Content-Type': 'application/json', Origin: server.url }, body: JSON.stringify({ advanceSeconds: 181 }),
  });
  assert.equal(res.status, 200);

  await go(binder.page, '#/bind/scan');
  await binder.page.setInputFiles('input[type="file"]', { name: 'code.png', mimeType: 'image/png', buffer: png });
  // The core's code for an expired vehicle code.
  await expectShown(binder.page, '#scan-status [data-code$="EXPIRED"]', { region: '#scan-status' });
  assert.match(await binder.page.textContent('#scan-status'), /过期|expired/i);
  assert.deepEqual(unexpectedErrors(binder.errors), []);
  assert.deepEqual(unexpectedErrors(owner.errors), []);
  await binder.context.close();
});

test('countdown from the code’s expiry, greyed on expiry, replaced by a new code', async () => {
  const { page, context, errors } = owner;
  // The page's clock runs ten minutes fast from here on; the countdown must not care.
  await context.clock.install({ time: Date.now() + 10 * 60 * 1000 });
  await page.reload();
  await go(page, '#/vehicles');
  await page.waitForSelector('#owned-vehicles [data-vehicle-id]');
  await page.click(`#owned-vehicles li[data-plate="${DEMO.owner.vehicle.plateNumber}"] [data-action="show-qr"]`);
  await page.waitForSelector('canvas#qr-image');
  const start = seconds(await page.textContent('#qr-countdown'));
  assert.ok(start >= 175 && start <= 180, `countdown starts at ${start} s`);

  await context.clock.fastForward('01:00');
  await page.waitForFunction(() => {
    const [m, s] = document.querySelector('#qr-countdown').textContent.split(':').map(Number);
    return m * 60 + s <= 121;
  });

  await context.clock.fastForward('02:05');
  await page.waitForSelector('#qr-image[data-expired="true"]');
  await page.waitForSelector('#qr-expired .notice');
  assert.equal((await page.textContent('#qr-countdown')).trim(), '0:00');
  await screenshot(page, 'qr-expired');
  assert.deepEqual(await axeSerious(page), []);

  await page.click('#qr-new');
  await page.waitForSelector('#qr-image:not([data-expired])');
  assert.ok(seconds(await page.textContent('#qr-countdown')) >= 175);
  assert.deepEqual(unexpectedErrors(errors), []);
});
