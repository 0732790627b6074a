// Violations: the list with route badges and amounts, and handling an online one through payment to the
// decision number.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, launchBrowser, openPage, signIn, go, screenshot, publishScreenshot, axeSerious, axeIssues, unexpectedErrors,
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

/** The signed-in person's violations as the API answers them, by id. */
async function apiViolations(page) {
  const body = await page.evaluate(async () => (await fetch('/api/v1/violations', { credentials: 'same-origin' })).json());
  return new Map(body.vehicles.flatMap((g) => g.violations).map((v) => [String(v.id), v]));
}

test('paying by the chosen method leads to a receipt whose decision number and amounts are the API’s, on one A4 page', async () => {
  const { page, errors } = owner;
  await go(page, '#/violations');
  // The new-energy car’s prohibition-sign violation (points to accept); the binder of the other car keeps his.
  const row = page.locator('li[data-route="online"][data-state="unhandled"]', { has: page.locator('[data-offence-code="1344"]') }).first();
  const violationId = await row.getAttribute('data-violation-id');
  const before = (await apiViolations(page)).get(violationId);
  assert.equal(before.state, 'unhandled');
  await row.locator('[data-action="handle"]').click();
  await page.waitForSelector('#handle-form');
  await page.click('#dev-pay-succeed');
  await page.waitForFunction(() => /成功|succeed/.test(document.querySelector('#dev-payment-status').textContent));
  await page.check('#accept-points');
  await page.check('#pay-method input[value="wechat"]');
  await page.click('#pay');
  await page.waitForSelector('#to-receipt');
  // The handle page no longer offers online handling: the badge says paid.
  assert.equal(await page.$('#main .badge.online'), null);
  await page.click('#to-receipt');
  await page.waitForSelector('#receipt');

  const after = (await apiViolations(page)).get(violationId);
  assert.equal(after.state, 'paid');
  const shown = await page.evaluate(() => ({
    decision: document.querySelector('#receipt-decision-number').textContent.trim(),
    fine: Number(document.querySelector('#receipt-fine').dataset.fen),
    fineText: document.querySelector('#receipt-fine').textContent,
    lateFee: Number(document.querySelector('#receipt-late-fee').dataset.fen),
    paid: Number(document.querySelector('#receipt-paid').dataset.fen),
    paidText: document.querySelector('#receipt-paid').textContent,
    method: document.querySelector('#receipt-method')?.textContent,
    paidAt: document.querySelector('#receipt-paid-at').textContent,
  }));
  assert.equal(shown.decision, after.decisionNumber);
  assert.ok(after.decisionNumber.length >= 6, after.decisionNumber);
  assert.equal(shown.fine, after.fineFen);
  assert.equal(shown.paid, after.paidFen);
  assert.equal(shown.lateFee, after.paidFen - after.fineFen);
  // What was owed before paying is what was paid, and the text is those fen as yuan.
  assert.equal(after.paidFen, before.route.owedFen);
  assert.equal(shown.paidText, `¥${Math.trunc(after.paidFen / 100)}.${String(after.paidFen % 100).padStart(2, '0')}`);
  assert.equal(shown.method, '微信支付');
  assert.match(shown.paidAt, /^\d{4}年\d{1,2}月\d{1,2}日 \d{2}:\d{2}$/);
  await publishScreenshot(await screenshot(page, 'receipt'));
  assert.deepEqual(await axeIssues(page, 'moderate'), []);

  // Printed (or saved as PDF): the receipt alone, on one A4 sheet.
  await page.emulateMedia({ media: 'print' });
  assert.equal(await page.isVisible('header'), false);
  assert.equal(await page.isVisible('#receipt-print'), false);
  const pdf = await page.pdf({ format: 'A4', preferCSSPageSize: true });
  const pages = pdf.toString('latin1').match(/\/Type\s*\/Page[^s]/g) ?? [];
  assert.equal(pages.length, 1, `${pages.length} pages`);
  await page.emulateMedia({ media: 'screen' });

  // The list says paid, with the decision number, and no pay-by date.
  await go(page, '#/violations');
  const paidRow = page.locator(`li[data-violation-id="${violationId}"]`);
  await paidRow.waitFor();
  assert.equal(await paidRow.getAttribute('data-state'), 'paid');
  assert.match(await paidRow.textContent(), new RegExp(after.decisionNumber));
  assert.doesNotMatch(await paidRow.textContent(), /缴款期限/);
  assert.deepEqual(unexpectedErrors(errors), []);
});

test('a decided, unpaid fine says so: owed today with its late fee and pay-by date, not “already handled”', async () => {
  const { page, errors } = owner;
  await go(page, '#/violations');
  const row = page.locator('li[data-state="handled"]').first();
  await row.waitFor();
  const text = await row.textContent();
  assert.doesNotMatch(text, /该交通违法已处理/);
  assert.match(text, /待缴款/);
  assert.match(text, /滞纳金/);
  assert.match(text, /缴款期限/);
  assert.match(text, /¥290\.00/);
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
