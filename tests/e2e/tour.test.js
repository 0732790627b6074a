// Every page a driver, an owner and an officer sees, in Chinese and in English, at phone width (360 px) and
// at desktop width (1280 px). Each view fails on developer words reaching the citizen (servers, policy
// versions, error codes, unfilled placeholders), on a second date format in the same language, on
// anything sticking out sideways, and on an axe issue of moderate impact or above. The phone-width
// pictures are published to docs/screenshots/ (docs/screenshots.md links them).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, launchBrowser, openPage, signIn, go, screenshot, publishScreenshot, axeIssues, unexpectedErrors,
  shownText, DEVELOPER_WORDS, PHONE, DESKTOP,
} from './helpers.js';
import { DEMO } from './demo.js';

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** The one date format of each language: 2026年11月28日 and 28 Nov 2026. */
const OTHER_DATE_FORMATS = [/\b\d{4}-\d{2}-\d{2}\b/, /\b\d{1,2}\/\d{1,2}\/\d{4}\b/, /\b\d{4}\/\d{1,2}\/\d{1,2}\b/];

async function setLang(page, lang) {
  const now = await page.evaluate(() => document.documentElement.lang);
  if ((lang === 'en') === (now === 'en')) return;
  await page.click('#lang-toggle');
  await page.waitForFunction((l) => document.documentElement.lang === (l === 'en' ? 'en' : 'zh-CN'), lang);
}

const seen = [];

/**
 * The page as it stands, checked in both languages at both widths; `ready` waits for what the page must
 * show. Pictures: `tour-<name>-<lang>.png` (phone), `tour-<name>-<lang>-wide.png` (desktop).
 */
async function checkEveryWay(session, name, ready) {
  const { page } = session;
  for (const lang of ['zh', 'en']) {
    await setLang(page, lang);
    for (const [viewport, suffix] of [[PHONE, ''], [DESKTOP, '-wide']]) {
      await page.setViewportSize(viewport);
      if (ready) await ready(page);
      const where = `${name} (${lang}, ${viewport.width} px)`;
      const text = await shownText(page);
      const words = DEVELOPER_WORDS.filter((w) => w.test(text)).map((w) => `${w} in “${text.match(w)[0]}”`);
      assert.deepEqual(words, [], `${where}: developer words\n${text.slice(0, 600)}`);
      const dates = OTHER_DATE_FORMATS.filter((f) => f.test(text)).map((f) => text.match(f)[0]);
      assert.deepEqual(dates, [], `${where}: a date not in the ${lang} format`);
      if (lang === 'en') {
        // English pages name offences in English (a code not in the table says so beside the Chinese).
        const chineseOffences = await page.$$eval('[data-offence-code]:not([data-offence-fallback])',
          (els) => els.filter((el) => /[\u4e00-\u9fff]/.test(el.textContent)).map((el) => el.dataset.offenceCode));
        assert.deepEqual(chineseOffences, [], `${where}: offences named in Chinese`);
      }
      // screenshot() also fails when the page is wider than the window.
      const file = await screenshot(page, `tour-${name}-${lang}${suffix}`);
      if (!suffix) await publishScreenshot(file);
      assert.deepEqual(await axeIssues(page, 'moderate'), [], `${where}: axe`);
      seen.push(where);
    }
  }
  await setLang(page, 'zh');
  await page.setViewportSize(PHONE);
}

async function visit(session, hash, name, ready) {
  await go(session.page, hash);
  if (ready) await ready(session.page);
  await checkEveryWay(session, name, ready);
}

/** Waits for what the page must show, and for every part of it to have loaded. */
const shown = (selector) => async (page) => {
  await page.waitForSelector(selector);
  await page.waitForFunction(() => !document.querySelector('#main .loading'));
};

test('signed out: sign-in and registration', async () => {
  const anon = await openPage(browser, server.url, { hash: '#/signin' });
  await visit(anon, '#/signin', 'signin', shown('#signin-form'));
  await visit(anon, '#/register', 'register', shown('#register-form'));
  assert.deepEqual(unexpectedErrors(anon.errors), []);
  await anon.context.close();
});

test('a driver with one binding: vehicles, binding, violations, handling one, inbox, history', async () => {
  const driver = await openPage(browser, server.url, { hash: '#/signin' });
  await signIn(driver.page, server.url, DEMO.cameraBinder.phone);
  await visit(driver, '#/vehicles', 'driver-vehicles', shown('#bound-count'));
  await visit(driver, '#/bind', 'driver-bind', shown('#choose-sms'));
  await visit(driver, '#/bind/scan', 'driver-bind-scan', shown('#pick-file'));
  await visit(driver, '#/bind/sms', 'driver-bind-sms', shown('#sms-form'));
  await visit(driver, '#/violations', 'driver-violations', shown('li[data-violation-id]'));
  const online = await driver.page.getAttribute('li[data-route="online"]', 'data-violation-id');
  await visit(driver, `#/violations/${online}`, 'driver-handle', shown('#handle-form'));
  await visit(driver, '#/inbox', 'driver-inbox', shown('#main h1'));
  await visit(driver, '#/history', 'driver-history', shown('#main h1'));
  await visit(driver, '#/verify', 'driver-verified', shown('#verify-already'));
  assert.deepEqual(unexpectedErrors(driver.errors), []);
  await driver.context.close();
});

test('a driver at three bindings is told before starting, on the chooser and the scan page', async () => {
  const full = await openPage(browser, server.url, { hash: '#/signin' });
  await signIn(full.page, server.url, '13900000002');
  await visit(full, '#/bind', 'driver-at-limit', shown('#binding-limit'));
  assert.match(await full.page.textContent('#binding-limit'), /3/);
  await visit(full, '#/bind/scan', 'driver-at-limit-scan', shown('#binding-limit'));
  assert.deepEqual(unexpectedErrors(full.errors), []);
  await full.context.close();
});

test('an owner: vehicles with their binders, a QR code, a vehicle that cannot be bound, violations', async () => {
  const owner = await openPage(browser, server.url, { hash: '#/signin' });
  await signIn(owner.page, server.url, DEMO.owner.phone);
  await visit(owner, '#/vehicles', 'owner-vehicles', shown('#owned-vehicles li[data-vehicle-id]'));
  const car = await owner.page.getAttribute(`#owned-vehicles li[data-plate="${DEMO.owner.vehicle.plateNumber}"]`, 'data-vehicle-id');
  const taxi = await owner.page.getAttribute(`#owned-vehicles li[data-plate="${DEMO.taxi.plateNumber}"]`, 'data-vehicle-id');
  // Only vehicles that can be bound offer a code; the taxi says why not.
  assert.equal(await owner.page.$(`#owned-vehicles li[data-vehicle-id="${taxi}"] [data-action="show-qr"]`), null);
  assert.match(await owner.page.textContent(`#owned-vehicles li[data-vehicle-id="${taxi}"] [data-not-bindable]`), /出租|营运|使用性质/);
  await visit(owner, `#/vehicles/${car}/qr`, 'owner-qr', shown('canvas#qr-image'));
  await visit(owner, `#/vehicles/${taxi}/qr`, 'owner-qr-not-bindable', shown('#qr-not-bindable'));
  await visit(owner, '#/violations', 'owner-violations', shown('li[data-violation-id]'));
  await visit(owner, '#/inbox', 'owner-inbox', shown('#main h1'));
  await visit(owner, '#/history', 'owner-history', shown('#main h1'));
  assert.deepEqual(unexpectedErrors(owner.errors), []);
  await owner.context.close();
});

test('an officer: the window console', async () => {
  const officer = await openPage(browser, server.url, { hash: '#/signin' });
  await signIn(officer.page, server.url, DEMO.officer.phone);
  await visit(officer, '#/window', 'officer-window', shown('#window-queue'));
  assert.deepEqual(unexpectedErrors(officer.errors), []);
  await officer.context.close();
  // 2 + 9 + 2 + 5 + 1 pages (the taxi's QR page among them), each 4 ways.
  assert.ok(seen.length >= 19 * 4, `${seen.length} views`);
});
