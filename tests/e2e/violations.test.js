// Violations: the list with route badges and amounts, and handling an online one through payment to the
// decision number.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, launchBrowser, openPage, signIn, go, screenshot, publishScreenshot, axeSerious, unexpectedErrors,
} from './helpers.js';
import { DEMO } from './demo.js';

let server;
let browser;
let owner;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  owner = await openPage(browser, server.url, { hash: '#/signin' });
  await signIn(owner.page, server.url, DEMO.owner.phone);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('the list shows each violation with its route, points, fine and amount owed today', async () => {
  const { page, errors } = owner;
  await page.click('[data-nav="violations"]');
  await page.waitForSelector('[data-violation-id]');
  const rows = await page.$$eval('li[data-violation-id]', (items) => items.map((r) => ({ server: r.dataset.route, page: r.dataset.localRoute })));
  const routes = rows.map((r) => r.server);
  assert.ok(routes.includes('online'), `routes seen: ${routes}`);
  assert.ok(routes.includes('window'), `routes seen: ${routes}`);
  // The core in the page routes every violation as the server did.
  assert.deepEqual(rows.map((r) => r.page), routes);
  // Every row shows money as yuan with two decimals, computed from fen.
  const owed = await page.$$eval('[data-owed]', (cells) => cells.map((c) => c.textContent));
  for (const text of owed) assert.match(text, /^¥\d+\.\d\d$/);
  // A window route lists the originals to bring.
  if (routes.includes('window')) {
    const windowRow = page.locator('li[data-route="window"]').first();
    assert.match(await windowRow.textContent(), /原件/);
  }
  await publishScreenshot(await screenshot(page, 'violations'));
  assert.deepEqual(await axeSerious(page), []);
  assert.deepEqual(unexpectedErrors(errors), []);
});

test('handling an online violation: accept the points; a refused payment changes nothing; pay; decision number', async () => {
  const { page, errors } = owner;
  await go(page, '#/violations');
  const row = page.locator('li[data-route="online"]').first();
  const violationId = await row.getAttribute('data-violation-id');
  await row.locator('[data-action="handle"]').click();
  await page.waitForSelector('#handle-form');
  assert.equal(await page.isDisabled('#pay'), true, 'paying needs the points accepted first');
  await page.check('#accept-points');
  assert.deepEqual(await axeSerious(page), []);

  // The payment provider refuses first: the server's message, and nothing is handled.
  await page.click('#dev-pay-fail');
  await page.waitForSelector('#dev-payment-status:not(:empty)');
  await page.click('#pay');
  await page.waitForSelector('#server-answer[data-status="402"]');
  assert.equal(await page.$('#decision-number'), null);

  await page.click('#dev-pay-succeed');
  await page.waitForFunction(() => /成功|succeed/.test(document.querySelector('#dev-payment-status').textContent));
  await page.click('#pay');
  await page.waitForSelector('#decision-number');
  const decision = (await page.textContent('#decision-number')).trim();
  assert.ok(decision.length >= 6, `decision number ${decision}`);
  await screenshot(page, 'violation-handled');

  // Back on the list it is settled.
  await go(page, '#/violations');
  await page.waitForSelector(`li[data-violation-id="${violationId}"][data-route="settled"]`);
  assert.deepEqual(unexpectedErrors(errors), []);
});

test('the list in English', async () => {
  const { page, errors } = owner;
  await go(page, '#/violations');
  await page.waitForSelector('[data-violation-id]');
  await page.click('#lang-toggle');
  await page.waitForFunction(() => document.documentElement.lang === 'en');
  await page.waitForSelector('h1:text("Traffic violations")');
  assert.deepEqual(await axeSerious(page), []);
  await screenshot(page, 'violations-en');
  await page.click('#lang-toggle');
  await page.waitForFunction(() => document.documentElement.lang === 'zh-CN');
  assert.deepEqual(unexpectedErrors(errors), []);
});

test('a binder sees the bound car’s camera violations, routed by the binding date, the points and the fine', async () => {
  const binder = await openPage(browser, server.url, { hash: '#/signin' });
  const { page, errors } = binder;
  await signIn(page, server.url, DEMO.windowPerson.phone);
  await page.click('[data-nav="violations"]');
  await page.waitForSelector('[data-violation-id]');
  const rows = await page.$$eval('li[data-violation-id]', (items) => items.map((r) => ({
    server: r.dataset.route, page: r.dataset.localRoute, codes: [...r.querySelectorAll('[data-code]')].map((c) => c.dataset.code),
  })));
  assert.deepEqual(rows.map((r) => r.page), rows.map((r) => r.server));
  const codes = rows.flatMap((r) => r.codes);
  // Before the binding date, above ¥200 and unscored: each goes to the window, and says why.
  for (const code of ['OCCURRED_BEFORE_BINDING', 'FINE_ABOVE_ONLINE_LIMIT', 'UNSCORED_NOT_FOR_BINDER']) {
    assert.ok(codes.includes(code), `${code} among ${codes}`);
  }
  assert.ok(rows.some((r) => r.server === 'online'));
  assert.deepEqual(await axeSerious(page), []);
  assert.deepEqual(unexpectedErrors(errors), []);
  await binder.context.close();
});
