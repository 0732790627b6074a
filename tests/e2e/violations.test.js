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
  const routes = await page.$$eval('li[data-violation-id]', (rows) => rows.map((r) => r.dataset.route));
  assert.ok(routes.includes('online'), `routes seen: ${routes}`);
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

test('handling an online violation: accept the points, pay, get the decision number', async () => {
  const { page, errors } = owner;
  await go(page, '#/violations');
  const row = page.locator('li[data-route="online"]').first();
  const violationId = await row.getAttribute('data-violation-id');
  await row.locator('[data-action="handle"]').click();
  await page.waitForSelector('#handle-form');
  assert.equal(await page.isDisabled('#pay'), true, 'paying needs the points accepted first');
  await page.check('#accept-points');
  assert.deepEqual(await axeSerious(page), []);
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
