// The kiosk channel as a city runs it: an officer enrols the kiosk's key, a driver signs in with the ID
// card and the face check, and the article's Dongguan rule switches at midnight on 1 September, China
// Standard Time, on the page and on the server alike. The server's development clock stands at an instant
// the test moves; the kiosk's page clock is set to the same instant.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, launchBrowser, openPage, latestCode, screenshot, axeSerious, unexpectedErrors, developerWords, DESKTOP,
} from './helpers.js';
import { DEMO, HOLDERS } from './demo.js';

const START = '2026-08-31T23:59:00+08:00';
let server;
let browser;

before(async () => {
  server = await startServer({ extraArgs: ['--dev-clock-at', START] });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function serverNow() {
  const res = await fetch(`${server.url}/api/v1/dev/clock`);
  return Date.parse((await res.json()).now);
}

async function advanceServer(seconds) {
  const res = await fetch(`${server.url}/api/v1/dev/clock`, {
    method: 'POST', headers: { 'Content-Type': 'application/json', Origin: server.url }, body: JSON.stringify({ advanceSeconds: seconds }),
  });
  assert.equal(res.status, 200);
  return Date.parse((await res.json()).now);
}

/** The officer's SMS sign-in; the server's clock stands still, so the newest code is the one. */
async function officerSignIn(page) {
  await page.waitForSelector('#signin-form');
  await page.fill('input[name="phone"]', DEMO.officer.phone);
  await page.click('#send-code');
  await page.waitForSelector('#signin-form .notice.ok');
  await page.fill('input[name="code"]', await latestCode(server.url, DEMO.officer.phone));
  await page.click('#signin-submit');
  await page.waitForSelector('#sign-out');
}

/** Looks 粤S88888 up at the kiosk and answers its first violation's server route and page route. */
async function lookUp(page) {
  await page.click('#kiosk-lookup-submit');
  await page.waitForSelector('#kiosk-violations [data-violation-id]');
  const row = page.locator('#kiosk-violations [data-violation-id]').first();
  return {
    server: await row.getAttribute('data-route'),
    page: await row.getAttribute('data-local-route'),
    reasons: await row.locator('[data-code]').evaluateAll((nodes) => nodes.map((n) => n.dataset.code)),
    version: await page.getAttribute('#kiosk-lookup-result [data-policy-version]', 'data-policy-version'),
  };
}

test('kiosk: enrolled by an officer, ID-card sign-in, and the 1 September rule at the same instant on page and server', async () => {
  const officer = await openPage(browser, server.url, { hash: '#/signin', viewport: DESKTOP });
  await officerSignIn(officer.page);

  const kiosk = await openPage(browser, server.url, { hash: '#/', query: '?channel=kiosk' });
  const { page, errors } = kiosk;
  await page.clock.setFixedTime(await serverNow());
  // Not enrolled yet: the kiosk shows its public key and asks for its number.
  await page.waitForSelector('#kiosk-setup-form');
  assert.equal(await page.evaluate(() => document.body.classList.contains('kiosk')), true);
  const height = await page.$eval('#kiosk-save', (b) => b.getBoundingClientRect().height);
  assert.ok(height >= 60, `kiosk button height ${height}`);
  const publicKey = (await page.textContent('#kiosk-public-key')).trim();
  assert.match(publicKey, /^[A-Za-z0-9+/]{43}=$/);
  await screenshot(page, 'kiosk-setup');

  // The officer enrols it in the window console.
  await officer.page.waitForSelector('#kiosk-enrolment');
  await officer.page.click('#kiosk-enrolment summary');
  await officer.page.fill('input[name="kioskPlace"]', '东莞市车管所自助区 1 号机');
  await officer.page.fill('input[name="kioskPublicKey"]', publicKey);
  await officer.page.click('#kiosk-enrol');
  const kioskNumber = (await officer.page.textContent('#kiosk-enrolled-id')).trim();

  // A wrong number is refused by the server (its signature cannot hold); the right one starts the kiosk.
  await page.fill('input[name="kioskNumber"]', String(Number(kioskNumber) + 100));
  await page.click('#kiosk-save');
  await page.waitForSelector('#kiosk-setup-form .notice.error');
  await page.fill('input[name="kioskNumber"]', kioskNumber);
  await page.click('#kiosk-save');
  await page.waitForSelector('#kiosk-signin');
  assert.match(await page.textContent('#kiosk-step'), /身份证放在读卡区/);
  // No phone, no SMS at a kiosk: the card and the face.
  assert.equal(await page.$('#send-code'), null);
  await screenshot(page, 'kiosk-signin');

  // The development card reader and face check, driven as a tester would from the development panel.
  const holder = HOLDERS[DEMO.kioskUser.phone];
  await page.fill('#dev-card-id', holder.residentId);
  await page.fill('#dev-card-name', holder.name);
  await page.click('#dev-face-mismatch');
  await page.click('#dev-place-card');
  await page.waitForSelector('#kiosk-signin .notice.error');
  assert.match(await page.textContent('#kiosk-signin'), /人脸比对未通过/);
  await page.click('#dev-face-match');
  await page.click('#kiosk-retry');
  await page.click('#dev-place-card');
  await page.waitForSelector('#sign-out');
  await page.waitForFunction(() => document.documentElement.dataset.route === '/violations').catch(async (e) => {
    throw new Error(`${e.message}: at ${await page.evaluate(() => `${location.hash} ${document.documentElement.dataset.route}`)}: ${(await page.textContent('#main')).slice(0, 300)}`);
  });
  assert.equal(await page.$('[data-nav="bind"]'), null, 'no binding at a kiosk');
  // The bound car's violations, read through signed requests and routed for the kiosk.
  await page.waitForSelector('#main [data-violation-id]');
  await screenshot(page, 'kiosk-violations');

  // 23:59:59 on 31 August, China time: an unbound vehicle's camera violation can be handled here.
  await page.click('[data-nav="lookup"]');
  await page.waitForSelector('#kiosk-lookup-form');
  await page.fill('input[name="plateNumber"]', '粤S88888');
  await page.fill('input[name="engineSuffix"]', '888888');
  const before = await advanceServer(59);
  assert.equal(new Date(before).toISOString(), '2026-08-31T15:59:59.000Z');
  await page.clock.setFixedTime(before);
  const atBefore = await lookUp(page);
  assert.deepEqual({ server: atBefore.server, page: atBefore.page }, { server: 'online', page: 'online' });
  assert.equal(atBefore.version, '441900-2025-01-01.1');
  await screenshot(page, 'kiosk-lookup-before');

  // One second later, 00:00:00 on 1 September: only with a binding; page and server say so together.
  const after = await advanceServer(1);
  await page.clock.setFixedTime(after);
  const atAfter = await lookUp(page);
  assert.deepEqual({ server: atAfter.server, page: atAfter.page }, { server: 'window', page: 'window' });
  assert.deepEqual(atAfter.reasons, ['KIOSK_NEEDS_BINDING']);
  assert.equal(atAfter.version, '441900-2026-09-01.1');
  assert.match(await page.textContent('#kiosk-violations'), /事先进行人车绑定/);
  await screenshot(page, 'kiosk-lookup-after');
  assert.deepEqual(await axeSerious(page), []);
  // In plain words, in both languages: no version, code or server talk reaches the driver.
  assert.deepEqual(await developerWords(page), []);
  await page.click('#lang-toggle');
  await page.waitForFunction(() => document.documentElement.lang === 'en');
  await page.waitForSelector('#kiosk-lookup-form');
  assert.deepEqual(await developerWords(page), []);
  await lookUp(page);
  assert.deepEqual(await developerWords(page), []);
  assert.match(await page.textContent('#kiosk-violations'), /binding/i);
  await screenshot(page, 'kiosk-lookup-after-en');
  await page.click('#lang-toggle');
  await page.waitForFunction(() => document.documentElement.lang !== 'en');

  // Inactivity: a warning read out first, then the sign-out, back to the card reader with a note.
  await page.evaluate(() => localStorage.setItem('renche.kioskIdleSeconds', '4'));
  await page.reload();
  await page.waitForSelector('#sign-out');
  await page.waitForSelector('#idle-note[role="alert"]', { timeout: 6000 });
  assert.match(await page.textContent('#idle-note'), /秒后将自动退出/);
  await page.waitForSelector('#idle-signed-out', { timeout: 10_000 });
  await page.waitForSelector('#kiosk-signin');

  // The officer disables the kiosk from the console: its next request, a sign-in, is refused at once.
  await officer.page.waitForSelector(`#kiosk-list [data-kiosk-id="${kioskNumber}"][data-disabled="false"]`);
  await officer.page.click(`#kiosk-list [data-kiosk-id="${kioskNumber}"] [data-action="kiosk-disable"]`);
  await officer.page.waitForSelector(`#kiosk-list [data-kiosk-id="${kioskNumber}"][data-disabled="true"]`);
  await page.fill('#dev-card-id', holder.residentId);
  await page.fill('#dev-card-name', holder.name);
  await page.click('#dev-place-card');
  await page.waitForSelector('#kiosk-signin .notice.error');
  assert.match(await page.textContent('#kiosk-signin'), /自助终端未通过校验/);
  assert.deepEqual(unexpectedErrors(errors), []);
  assert.deepEqual(unexpectedErrors(officer.errors), []);
  await kiosk.context.close();
  await officer.context.close();
});
