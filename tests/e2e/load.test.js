// Page load to interactive, the language toggle, and the pages seen before signing in.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, launchBrowser, openPage, waitReady, screenshot, publishScreenshot, axeSerious, recordMetrics,
  unexpectedErrors, latestCode, PHONE,
} from './helpers.js';

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

test('page load to interactive: core instantiated, policy parsed, first page drawn', async () => {
  // One warm-up load (the server's first answers fill its caches), then fresh contexts with empty
  // HTTP caches, as a first visit would be.
  const samples = [];
  for (let i = 0; i < 6; i += 1) {
    const context = await browser.newContext({ viewport: PHONE });
    const page = await context.newPage();
    await page.goto(`${server.url}/#/signin`);
    await waitReady(page);
    const ready = await page.evaluate(() => window.__rencheReady);
    if (i > 0) samples.push(ready);
    await context.close();
  }
  samples.sort((a, b) => a - b);
  const median = samples[Math.floor(samples.length / 2)];
  await recordMetrics({
    webAppLoadToInteractiveMs: {
      median: Math.round(median),
      min: Math.round(samples[0]),
      max: Math.round(samples[samples.length - 1]),
      samples: samples.map(Math.round),
      what: 'performance.now() at window.__rencheReady: wasm instantiated, policy fetched and parsed, session read, first page rendered; fresh browser context each load',
      targetMs: 500,
    },
  });
  console.log(`load to interactive: median ${Math.round(median)} ms (${samples.map(Math.round).join(', ')})`);
  // The target is 500 ms on localhost; the bound here leaves room for a loaded CI machine.
  assert.ok(median < 2000, `median load to interactive ${median} ms`);
});

test('sign-in page: Chinese by default, English toggle persists, accessible in both', async () => {
  const { page, context, errors } = await openPage(browser, server.url, { hash: '#/signin' });
  assert.equal(await page.getAttribute('html', 'lang'), 'zh-CN');
  assert.equal((await page.textContent('h1')).trim(), '登录');
  assert.deepEqual(await axeSerious(page), []);
  await publishScreenshot(await screenshot(page, 'sign-in'));

  // The core checks the phone number as it is typed.
  await page.fill('input[name="phone"]', '1380013800');
  await page.waitForSelector('.field-msg.error');
  await page.fill('input[name="phone"]', '13800138000');
  await page.waitForSelector('.field-msg.ok');

  await page.click('#lang-toggle');
  await page.waitForFunction(() => document.documentElement.lang === 'en');
  assert.equal((await page.textContent('h1')).trim(), 'Sign in');
  // What was typed survives the switch.
  assert.equal(await page.inputValue('input[name="phone"]'), '13800138000');
  assert.deepEqual(await axeSerious(page), []);

  await page.reload();
  await waitReady(page);
  assert.equal(await page.getAttribute('html', 'lang'), 'en');
  assert.equal((await page.textContent('h1')).trim(), 'Sign in');

  await page.click('#lang-toggle');
  await page.waitForFunction(() => document.documentElement.lang === 'zh-CN');
  assert.deepEqual(unexpectedErrors(errors), []);
  await context.close();
});

test('every page string exists in both languages with the same placeholders', async () => {
  const { page, context } = await openPage(browser, server.url, { hash: '#/signin' });
  const missing = await page.evaluate(async () => (await import('/js/i18n.js')).untranslated());
  assert.deepEqual(missing, []);
  await context.close();
});

test('registration asks for the phone and its code only', async () => {
  const { page, context, errors } = await openPage(browser, server.url, { hash: '#/register' });
  await page.waitForSelector('#register-form');
  // Who the holder is comes from real-person verification, not from what is typed here.
  assert.deepEqual(await page.$$eval('#register-form input', (inputs) => inputs.map((i) => i.name)), ['phone', 'code']);
  assert.deepEqual(await axeSerious(page), []);
  assert.deepEqual(unexpectedErrors(errors), []);
  await context.close();
});

test('unknown pages lead back to the start page', async () => {
  const { page, context, errors } = await openPage(browser, server.url, { hash: '#/nowhere' });
  await page.click('text=回到首页');
  await page.waitForSelector('#signin-form');
  assert.deepEqual(unexpectedErrors(errors), []);
  await context.close();
});

test('registration: a wrong code is explained, the right one registers; verification is the next step', async () => {
  const { page, context, errors } = await openPage(browser, server.url, { hash: '#/signin' });
  await page.click('#to-register');
  await page.waitForSelector('#register-form');
  const phone = '13700000001';
  await page.fill('input[name="phone"]', phone);
  const since = Date.now() - 2000;
  await page.click('#send-code');
  const code = await latestCode(server.url, phone, { after: since });
  await page.waitForSelector('#register-form .notice.ok');
  // The send button counts down before it can be used again.
  await page.waitForFunction(() => /\d/.test(document.querySelector('#send-code').textContent));
  assert.equal(await page.isDisabled('#send-code'), true);

  const wrong = code === '000000' ? '111111' : '000000';
  await page.fill('input[name="code"]', wrong);
  await page.click('#register-submit');
  await page.waitForSelector('#register-form .notice.error [data-code^="SMS_CODE"]');

  await page.fill('input[name="code"]', code);
  await page.click('#register-submit');
  await page.waitForSelector('#sign-out');
  // A new account is linked to nobody yet: it lands on the verification page.
  await page.waitForSelector('#verify-form');
  // The resident ID is checked as it is typed: a valid number with its check character changed, then right.
  await page.fill('input[name="residentId"]', '11010519491231002Y');
  await page.waitForSelector('input[name="residentId"][aria-invalid="true"]');
  await page.fill('input[name="residentId"]', '11010519491231002x');
  await page.waitForSelector('input[name="residentId"][aria-invalid="false"]');
  assert.deepEqual(await axeSerious(page), []);
  // Pages of the person's records say what to do first instead of failing.
  for (const nav of ['vehicles', 'bind', 'violations']) {
    await page.click(`[data-nav="${nav}"]`);
    await page.waitForFunction((n) => document.documentElement.dataset.route?.startsWith(`/${n}`), nav);
    await page.waitForSelector('#verify-first #go-verify');
  }
  assert.deepEqual(unexpectedErrors(errors), []);
  await context.close();
});

test('keyboard only: skip link, sign in with Tab and Enter, focus visible', async () => {
  const { page, context, errors } = await openPage(browser, server.url, { hash: '#/signin' });
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'skip-link');
  const tabTo = async (selector) => {
    for (let i = 0; i < 15; i += 1) {
      if (await page.evaluate((s) => document.activeElement?.matches(s), selector)) return;
      await page.keyboard.press('Tab');
    }
    throw new Error(`Tab never reached ${selector}`);
  };
  await tabTo('input[name="phone"]');
  // The focused field has a visible outline.
  const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  assert.notEqual(outline, 'none');
  await page.keyboard.type('13900000002');
  await tabTo('#send-code');
  const since = Date.now() - 2000;
  await page.keyboard.press('Enter');
  await page.waitForSelector('#signin-form .notice.ok');
  const code = await latestCode(server.url, '13900000002', { after: since });
  // Sending moved focus to the code field.
  assert.equal(await page.evaluate(() => document.activeElement.name), 'code');
  await page.keyboard.type(code);
  await page.keyboard.press('Enter');
  await page.waitForSelector('#sign-out');
  // The new page's heading has focus, so the next Tab starts at the top of the page.
  await page.waitForFunction(() => document.activeElement?.tagName === 'H1');
  assert.deepEqual(unexpectedErrors(errors), []);
  await context.close();
});
