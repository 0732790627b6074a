// Builds the page with Vite, serves it with `vite preview` on a free port and loads it in Debian's
// Chromium: the page must compute the article's answer and log no console errors.
import assert from "node:assert/strict";
import { build, preview } from "vite";
import { chromium } from "playwright-core";

await build({ configFile: new URL("vite.config.js", import.meta.url).pathname });
const server = await preview({
  configFile: new URL("vite.config.js", import.meta.url).pathname,
  preview: { port: 0, host: "127.0.0.1", strictPort: false },
});
const url = server.resolvedUrls.local[0];
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync"],
});
try {
  const page = await browser.newPage();
  const problems = [];
  page.on("console", (m) => m.type() === "error" && problems.push(m.text()));
  page.on("pageerror", (e) => problems.push(e.message));
  page.on("requestfailed", (r) => problems.push(`${r.url()}: ${r.failure()?.errorText}`));
  await page.goto(url);
  const result = await page.waitForFunction(() => window.__result, null, { timeout: 15_000 }).then((h) => h.jsonValue());
  assert.equal(result.allowed, false);
  assert.deepEqual(result.reasons.map((r) => [r.code, r.params]), [["USER_BINDING_LIMIT_REACHED", { limit: 3, current: 3 }]]);
  assert.equal(result.plate, "粤S·D12345");
  assert.match(await page.textContent("#answer"), /最多同时绑定3辆/);
  assert.deepEqual(problems, [], "console errors");
  console.log(`bundle: ok (${url}) — ${result.reasons[0].message.en}`);
} finally {
  await browser.close();
  await new Promise((resolve) => server.httpServer.close(resolve));
}
