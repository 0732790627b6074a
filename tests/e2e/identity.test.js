// Who is who: a new account is a phone number until its holder passes real-person verification on the
// development identity provider's camera page (Chromium's fake camera); only then are the person's records
// linked. A failed check offers manual review, no face offers another try, and an old signed result handed
// in again is refused.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, launchBrowser, openPage, go, latestCode, screenshot, publishScreenshot, axeSerious, unexpectedErrors,
  expectShown, answerOnProvider, failVerification, waitReady,
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

/** A valid resident ID (GB 11643 check character) for a made-up person born 1990-01-01 in Dongguan. */
function residentId(serial) {
  const body = `44190019900101${String(serial).padStart(3, '0')}`;
  const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const sum = [...body].reduce((acc, d, i) => acc + Number(d) * weights[i], 0);
  return body + '10X98765432'[sum % 11];
}

/** Registers a new phone through the page; the account lands on the verification page. */
async function register(page, phone, { shot = false } = {}) {
  await go(page, '#/register');
  await page.waitForSelector('#register-form');
  await page.fill('input[name="phone"]', phone);
  const since = Date.now() - 2000;
  await page.click('#send-code');
  const code = await latestCode(server.url, phone, { after: since });
  await page.waitForSelector('#register-form .notice.ok');
  await page.fill('input[name="code"]', code);
  if (shot) await publishScreenshot(await screenshot(page, 'register'));
  await page.click('#register-submit');
  await expectShown(page, '#verify-form');
}

async function startFaceCheck(page, { name, id }) {
  await page.fill('input[name="name"]', name);
  await page.fill('input[name="residentId"]', id);
  await page.click('#verify-start');
}

test('a new account verifies on the provider page; the old signed result handed in again is refused', async () => {
  const { page, context, errors } = await openPage(browser, server.url, { hash: '#/register' });
  await register(page, '13700000011', { shot: true });
  assert.deepEqual(await axeSerious(page), []);

  // Before verification, the person's pages give one next step.
  await page.click('[data-nav="vehicles"]');
  await expectShown(page, '#verify-first #go-verify');
  await publishScreenshot(await screenshot(page, 'unverified-next-step'));
  assert.deepEqual(await axeSerious(page), []);
  await page.click('#go-verify');
  await expectShown(page, '#verify-form');

  // Both fields are named when both are wrong.
  await page.click('#verify-start');
  await page.waitForSelector('input[name="name"][aria-invalid="true"]');
  await page.waitForSelector('input[name="residentId"][aria-invalid="true"]');
  await page.fill('input[name="name"]', '钱认证');
  await page.fill('input[name="residentId"]', residentId(11));
  await publishScreenshot(await screenshot(page, 'verify-account'));
  await page.click('#verify-start');
  const returned = await answerOnProvider(page, 'pass', { screenshotName: 'identity-provider-account' });
  assert.match(returned, /#\/verify\/done\?.*verificationId=.*result=|#\/verify\/done\?.*result=.*verificationId=/);
  await expectShown(page, '#verify-outcome[data-status="passed"]');
  await publishScreenshot(await screenshot(page, 'verify-passed'));
  // The result is out of the address; the account is linked, so the vehicles page shows its records.
  assert.doesNotMatch(page.url(), /result=/);
  await page.click('#to-vehicles');
  await expectShown(page, '#owned-vehicles');

  // The same signed result, handed in again from the old return address, is refused.
  await page.goto(returned);
  await waitReady(page);
  await expectShown(page, '#verify-outcome[data-status="refused"]');
  assert.equal(await page.getAttribute('#verify-outcome', 'data-code'), 'VERIFICATION_RESULT_REPLAYED');
  assert.deepEqual(unexpectedErrors(errors), []);
  await context.close();
});

test('a failed face check offers manual review; no face seen offers another try', async () => {
  const { page, context, errors } = await openPage(browser, server.url, { hash: '#/register' });
  await register(page, '13700000012');

  await startFaceCheck(page, { name: '孙失败', id: residentId(12) });
  await failVerification(page);
  await expectShown(page, '#verify-outcome[data-status="failed"]');
  await page.waitForSelector('#manual-review');
  await publishScreenshot(await screenshot(page, 'verify-failed'));
  assert.deepEqual(await axeSerious(page), []);
  // Still not linked: the person's pages still say to verify first.
  await go(page, '#/violations');
  await expectShown(page, '#verify-first');

  await go(page, '#/verify');
  await startFaceCheck(page, { name: '孙失败', id: residentId(12) });
  await answerOnProvider(page, 'no_face');
  await expectShown(page, '#verify-outcome[data-status="no_face"]');
  await publishScreenshot(await screenshot(page, 'verify-no-face'));
  // Another try goes back to the form, and this time it passes.
  await page.click('#verify-again');
  await expectShown(page, '#verify-form');
  await startFaceCheck(page, { name: '孙失败', id: residentId(12) });
  await answerOnProvider(page, 'pass');
  await expectShown(page, '#verify-outcome[data-status="passed"]');
  assert.deepEqual(unexpectedErrors(errors), []);
  await context.close();
});
