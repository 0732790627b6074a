// Shared pieces of the browser tests: a fresh backend per test file, Debian's Chromium through
// playwright-core, sign-in through the real SMS flow, console-error capture, screenshots and axe.

import { spawn } from 'node:child_process';
import { mkdtemp, mkdir, readFile, writeFile, copyFile } from 'node:fs/promises';
import { existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';
import { HOLDERS } from './demo.js';

const require = createRequire(import.meta.url);
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const OUTPUT = path.join(ROOT, 'test-output');
export const SCREENSHOTS = path.join(OUTPUT, 'screenshots');
export const PHONE = { width: 360, height: 740 };
export const DESKTOP = { width: 1280, height: 860 };

/** $RENCHE_SERVER, else the newer of the release and debug builds (an old release build must not win). */
function serverBinary() {
  if (process.env.RENCHE_SERVER) return process.env.RENCHE_SERVER;
  const built = ['target/release/renche-server', 'target/debug/renche-server']
    .map((candidate) => path.join(ROOT, candidate))
    .filter((full) => existsSync(full))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  if (built.length === 0) throw new Error('no renche-server binary: build it (cargo build -p renche-server) or set RENCHE_SERVER');
  return built[0];
}

/**
 * Starts `renche-server serve` on a free port with a fresh SQLite database, dev gateways and demo data.
 * Resolves with {url, stop()} once the server has printed the address it listens on.
 */
export async function startServer({ extraArgs = [] } = {}) {
  const dir = await mkdtemp(path.join(tmpdir(), 'renche-e2e-'));
  const args = [
    'serve', '--listen', '127.0.0.1:0', '--dev', '--demo',
    '--database', `sqlite://${path.join(dir, 'db.sqlite3')}`,
    '--www', path.join(ROOT, 'www'), '--pkg', path.join(ROOT, 'pkg-web'),
    ...extraArgs,
  ];
  const child = spawn(serverBinary(), args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? 'warn' } });
  let log = '';
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not print its address in time:\n${log}`)), 30_000);
    const onData = (chunk) => {
      log += chunk.toString();
      const m = log.match(/https?:\/\/127\.0\.0\.1:\d+/);
      if (m) {
        clearTimeout(timer);
        resolve(m[0]);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${log}`));
    });
  });
  child.removeAllListeners('exit');
  return {
    url,
    dir,
    log: () => log,
    async stop() {
      if (child.exitCode != null) return;
      child.kill('SIGTERM');
      await new Promise((resolve) => {
        const timer = setTimeout(() => { child.kill('SIGKILL'); resolve(); }, 5000);
        child.on('exit', () => { clearTimeout(timer); resolve(); });
      });
    },
  };
}

/** Chromium's fake camera, allowed without a prompt: the identity provider's page opens the camera. */
export const FAKE_CAMERA = ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'];

/**
 * Debian's Chromium, headless, with the fake camera (the provider's face check needs one). `extraArgs` add
 * flags such as a video file for the fake camera.
 */
export async function launchBrowser({ extraArgs = [] } = {}) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', ...FAKE_CAMERA, ...extraArgs],
  });
}

/**
 * Writes a picture as a Y4M video file that Chromium's fake camera plays in a loop
 * (--use-file-for-fake-video-capture): the picture centred on a white 640×480 frame, grey chroma.
 * `rgba` is {width, height, data} as a canvas ImageData gives it.
 */
export async function writeFakeCamera(file, rgba, { width = 640, height = 480, frames = 10 } = {}) {
  const y = Buffer.alloc(width * height, 235);
  const left = Math.max(0, Math.floor((width - rgba.width) / 2));
  const top = Math.max(0, Math.floor((height - rgba.height) / 2));
  for (let row = 0; row < Math.min(rgba.height, height); row += 1) {
    for (let col = 0; col < Math.min(rgba.width, width); col += 1) {
      const i = (row * rgba.width + col) * 4;
      const luma = 0.299 * rgba.data[i] + 0.587 * rgba.data[i + 1] + 0.114 * rgba.data[i + 2];
      // Studio range, as YUV video uses: 16 (black) to 235 (white).
      y[(top + row) * width + left + col] = Math.round(16 + (luma * 219) / 255);
    }
  }
  const chroma = Buffer.alloc((width / 2) * (height / 2) * 2, 128);
  const frame = Buffer.concat([Buffer.from('FRAME\n'), y, chroma]);
  const header = Buffer.from(`YUV4MPEG2 W${width} H${height} F10:1 Ip A1:1 C420jpeg\n`);
  await writeFile(file, Buffer.concat([header, ...Array(frames).fill(frame)]));
}

/**
 * A page in its own context (own cookies), recording console errors and uncaught exceptions so a test
 * can assert there were none. `lang` presets the language choice; default zh-CN.
 */
export async function openPage(browser, baseUrl, { viewport = PHONE, lang = null, hash = '#/', query = '' } = {}) {
  const context = await browser.newContext({ viewport, locale: 'zh-CN', timezoneId: 'America/New_York' });
  await context.grantPermissions(['camera'], { origin: baseUrl });
  if (lang) await context.addInitScript((l) => localStorage.setItem('renche.lang', l), lang);
  // The server's content-security policy: anything it blocks is reported as an error, so that every test
  // also shows the app runs under it without a violation.
  await context.addInitScript(() => document.addEventListener('securitypolicyviolation', (e) => {
    console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || 'inline'} at ${e.sourceFile}:${e.lineNumber}`);
  }));
  const page = await context.newPage();
  const errors = [];
  page.on('console', (msg) => { if (msg.type() === 'error') errors.push(`console: ${msg.text()}`); });
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  await page.goto(`${baseUrl}/${query}${hash}`);
  await waitReady(page);
  return { page, context, errors };
}

export async function waitReady(page) {
  await page.waitForFunction(() => typeof window.__rencheReady === 'number', null, { timeout: 15_000 });
}

/** Expected console noise: the browser logs every 4xx the page receives, and tests provoke refusals. */
export function unexpectedErrors(errors) {
  return errors.filter((e) => !/Failed to load resource: the server responded with a status of (4\d\d)/.test(e));
}

/** Reads the newest SMS code sent to a phone from the dev outbox. */
export async function latestCode(baseUrl, phone, { after = 0 } = {}) {
  for (let i = 0; i < 50; i += 1) {
    const res = await fetch(`${baseUrl}/api/v1/dev/sms-outbox?phone=${encodeURIComponent(phone)}`);
    const body = await res.json();
    const hit = (body.messages ?? []).find((m) => m.code && Date.parse(m.sentAt) >= after);
    if (hit) return hit.code;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no SMS code for ${phone}`);
}

/** Signs in through the page: phone, "send code", the code from the outbox, "sign in". */
export async function signIn(page, baseUrl, phone) {
  await page.waitForSelector('#signin-form');
  await page.fill('input[name="phone"]', phone);
  const since = Date.now() - 2000;
  await page.click('#send-code');
  let code;
  try {
    code = await latestCode(baseUrl, phone, { after: since });
  } catch (err) {
    // Say what the page showed: a refusal (cool-down, cap) reads better than a timeout.
    throw new Error(`${err.message}; the page says: ${(await page.textContent('#main')).slice(0, 300)}`);
  }
  // The page has the challenge once it says the code was sent.
  await page.waitForSelector('#signin-form .notice.ok');
  await page.fill('input[name="code"]', code);
  await page.click('#signin-submit');
  await page.waitForSelector('#sign-out');
  // Signed in, the app moves to its home page; wait for it so the next navigation does not race it.
  await page.waitForFunction(() => !['/signin', undefined].includes(document.documentElement.dataset.route));
  // An account not yet linked to its holder's records starts with the face check, as its holder would.
  if ((await page.evaluate(() => document.documentElement.dataset.route)) === '/verify' && HOLDERS[phone]) {
    await verifyAccount(page, HOLDERS[phone]);
    await page.waitForSelector('#verify-outcome[data-status="passed"]');
  }
}

/**
 * On the development identity provider's page (where the app sent the browser): waits for its camera and
 * liveness prompt, chooses `outcome` (`pass`, `fail` or `no_face`) and waits until the provider has sent
 * the browser back to the app. Resolves to the return address, with the provider's signed result in it.
 */
export async function answerOnProvider(page, outcome = 'pass', { screenshotName = null } = {}) {
  await page.waitForURL(/\/dev-identity\/sessions\//, { timeout: 30_000 });
  const choice = page.locator(`[name="outcome"][value="${outcome}"]`);
  await choice.waitFor({ timeout: 30_000 });
  // A frame from the (fake) camera first: the page lets the tester answer only with one.
  await page.locator('#capture:not([disabled])').click({ timeout: 30_000 });
  await page.waitForFunction((value) => {
    const el = document.querySelector(`[name="outcome"][value="${value}"]`);
    return el && !el.disabled;
  }, outcome, { timeout: 30_000 });
  if (screenshotName) await publishScreenshot(await screenshot(page, screenshotName));
  let returned = null;
  const onNavigated = (frame) => {
    if (frame === page.mainFrame() && /[?&]result=/.test(frame.url())) returned = frame.url();
  };
  page.on('framenavigated', onNavigated);
  try {
    if ((await choice.getAttribute('type')) === 'radio') {
      await choice.check();
      await page.locator('form [type="submit"]').first().click();
    } else {
      await choice.click();
    }
    await page.waitForURL((url) => !url.pathname.startsWith('/dev-identity/'), { timeout: 30_000 });
    await waitReady(page);
  } finally {
    page.off('framenavigated', onNavigated);
  }
  return returned ?? page.url();
}

/**
 * Fails real-person verification on the provider's page (the tester chooses "fail"): the app then offers
 * the manual-review path. For tests of the review that follows (ID photo, the officer's approval).
 */
export async function failVerification(page) {
  return answerOnProvider(page, 'fail');
}

/**
 * Links a signed-in, not yet verified account to its person through the app's verification page and the
 * provider's page, as its holder would: name, resident ID, the face check, back.
 */
export async function verifyAccount(page, { name, residentId, outcome = 'pass' }) {
  await go(page, '#/verify');
  await page.waitForSelector('#verify-form');
  await page.fill('input[name="name"]', name);
  await page.fill('input[name="residentId"]', residentId);
  await page.click('#verify-start');
  const returned = await answerOnProvider(page, outcome);
  await page.waitForSelector('#verify-outcome');
  return returned;
}

/** A JPEG drawn in the page: a stand-in for a photo of a person holding an ID card. */
export async function idPhotoJpeg(page) {
  const base64 = await page.evaluate(() => {
    const c = document.createElement('canvas');
    c.width = 480;
    c.height = 360;
    const g = c.getContext('2d');
    g.fillStyle = '#d8e2ec'; g.fillRect(0, 0, 480, 360);
    g.fillStyle = '#8a6b55'; g.beginPath(); g.arc(170, 130, 60, 0, Math.PI * 2); g.fill();
    g.fillRect(100, 200, 140, 160);
    g.fillStyle = '#f4f1e6'; g.fillRect(250, 170, 190, 120);
    g.strokeStyle = '#5577aa'; g.lineWidth = 3; g.strokeRect(250, 170, 190, 120);
    g.fillStyle = '#333'; g.font = '16px sans-serif'; g.fillText('ID 4419 **** 0044', 262, 270);
    g.fillStyle = '#8a6b55'; g.fillRect(380, 185, 45, 55);
    return c.toDataURL('image/jpeg', 0.85).split(',')[1];
  });
  return Buffer.from(base64, 'base64');
}

export async function screenshot(page, name) {
  await mkdir(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, `${name}.png`);
  // Let focus rings, fonts and the progress bar settle.
  await page.waitForFunction(() => !document.body.hasAttribute('aria-busy'), null, { timeout: 5000 }).catch(() => {});
  // The development panel is folded for the picture (it is not part of the product), then restored.
  const panelWasOpen = await page.evaluate(() => {
    const details = document.querySelector('#dev-panel details');
    const open = details?.open ?? false;
    if (details) details.open = false;
    return open;
  });
  await page.screenshot({ path: file, fullPage: true });
  await page.evaluate((open) => {
    const details = document.querySelector('#dev-panel details');
    if (details) details.open = open;
  }, panelWasOpen);
  // Nothing may stick out sideways: a phone page scrolls only up and down.
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  if (overflow > 0) throw new Error(`${name}: the page is ${overflow}px wider than the window`);
  return file;
}

/** Copies a screenshot into docs/screenshots/ (committed; linked from the README) when asked to. */
export async function publishScreenshot(file) {
  if (!process.env.RENCHE_PUBLISH_SCREENSHOTS) return;
  const dir = path.join(ROOT, 'docs', 'screenshots');
  await mkdir(dir, { recursive: true });
  await copyFile(file, path.join(dir, path.basename(file)));
}

let axeSource = null;
const IMPACTS = ['minor', 'moderate', 'serious', 'critical'];

/** Runs axe-core in the page; returns the violations of `least` impact or above, one line each. */
export async function axeIssues(page, least = 'moderate') {
  axeSource ??= await readFile(require.resolve('axe-core/axe.min.js'), 'utf8');
  // Evaluated rather than added as an inline script, which the server's content-security policy refuses.
  if (!(await page.evaluate(() => Boolean(window.axe)))) await page.evaluate(axeSource);
  const results = await page.evaluate(async () => window.axe.run(document, {
    resultTypes: ['violations'],
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
  }));
  const floor = IMPACTS.indexOf(least);
  return results.violations
    .filter((v) => IMPACTS.indexOf(v.impact) >= floor)
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`);
}

/** The serious and critical axe violations. */
export async function axeSerious(page) {
  return axeIssues(page, 'serious');
}

/** Merges numbers into test-output/metrics.json. */
export async function recordMetrics(values) {
  await mkdir(OUTPUT, { recursive: true });
  const file = path.join(OUTPUT, 'metrics.json');
  let current = {};
  try { current = JSON.parse(await readFile(file, 'utf8')); } catch { /* first write */ }
  await writeFile(file, `${JSON.stringify({ ...current, ...values }, null, 2)}\n`);
}

export async function waitFor(fn, { timeout = 10_000, interval = 100 } = {}) {
  const end = Date.now() + timeout;
  let last;
  while (Date.now() < end) {
    last = await fn();
    if (last) return last;
    await new Promise((r) => setTimeout(r, interval));
  }
  throw new Error('condition not met in time');
}

/**
 * Goes to an in-app page by its hash and waits until that page is drawn. The page already shown is
 * drawn afresh by reloading (the session cookie keeps the person signed in).
 */
export async function go(page, hash) {
  if ((await page.evaluate(() => location.hash)) === hash) {
    await page.reload();
    await waitReady(page);
  } else {
    await page.evaluate((target) => { location.hash = target; }, hash);
  }
  await page.waitForFunction((target) => document.documentElement.dataset.route === target.slice(1), hash);
}

/** A picture of the owner's code as it is on screen, once no passing message (toast) covers any of it. */
export async function qrPicture(page) {
  await page.waitForSelector('canvas#qr-image');
  await page.waitForSelector('#toasts:empty', { state: 'attached' });
  return page.locator('#qr-image').screenshot();
}

/** waitForSelector that, on timeout, says what the page showed in `region` instead. */
export async function expectShown(page, selector, { region = '#main', timeout = 30_000 } = {}) {
  try {
    return await page.waitForSelector(selector, { timeout });
  } catch (err) {
    const shown = await page.textContent(region).catch(() => '(gone)');
    throw new Error(`${selector} did not appear; ${region} shows: ${String(shown).slice(0, 400)}`);
  }
}

/** Words of the people who build the service, which its citizens never need to read. */
export const DEVELOPER_WORDS = [
  /服务器/, /规则版本/, /预检/, /裁定/, /接口/, /版本号/, /页面预检/,
  /\bserver\b/i, /\bpolicy version\b/i, /\bpre-?check\b/i, /\bAPI\b/, /\bHTTP\b/, /\bJSON\b/,
  /\bnull\b/, /\bundefined\b/, /\bNaN\b/, /\bwasm\b/i, /WebAssembly/, /idempoten/i, /\[object /,
  // A string key or an error code shown as text, an unfilled placeholder, a policy version.
  /\b[A-Z]{2,}(?:_[A-Z0-9]+)+\b/, /\{\w+\}/, /\b\d{6}-\d{4}-\d{2}-\d{2}\.\d+\b/,
  // English grammar the page must get right.
  /\b1 (?:pts|points)\b/,
];

/** The text a citizen reads: header, navigation, the page, passing messages; not the development panel. */
export async function shownText(page) {
  return page.evaluate(() => ['header', '#mainnav', '#main', '#toasts']
    .map((sel) => document.querySelector(sel))
    .filter(Boolean)
    .map((el) => {
      const labels = [...el.querySelectorAll('[aria-label]')].map((n) => n.getAttribute('aria-label'));
      return `${el.innerText}\n${labels.join('\n')}`;
    })
    .join('\n'));
}

/** The developer words in what a citizen reads on the page now, each with the text it matched. */
export async function developerWords(page) {
  const text = await shownText(page);
  return DEVELOPER_WORDS.filter((w) => w.test(text)).map((w) => `${w} in “${text.match(w)[0]}”`);
}
