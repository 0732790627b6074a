// Builds the page with Vite, serves it with `vite preview` on a free port and loads it in Debian's
// Chromium: the page must compute the article's answer and log no console errors. Then the same for a
// plain page (plain.html) importing the web build from a static server, without a bundler.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import { extname } from "node:path";
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
  assert.deepEqual(result.client, ["local", ["USER_BINDING_LIMIT_REACHED"]]);
  assert.match(await page.textContent("#answer"), /最多同时绑定3辆/);
  assert.deepEqual(problems, [], "console errors");
  console.log(`bundle: ok (${url}) — ${result.reasons[0].message.en}`);
  await plainPage(browser);
} finally {
  await browser.close();
  await new Promise((resolve) => server.httpServer.close(resolve));
}

async function plainPage(browser) {
  const root = new URL("../../", import.meta.url);
  const types = { ".html": "text/html", ".js": "text/javascript", ".wasm": "application/wasm" };
  const files = createServer(async (req, res) => {
    const path = req.url === "/" ? "tests/bundle/plain.html" : req.url.slice(1);
    if (!/^(pkg-web\/[\w./-]+|tests\/bundle\/plain\.html)$/.test(path) || path.includes("..")) {
      res.writeHead(404).end();
      return;
    }
    try {
      const body = await readFile(new URL(path, root));
      res.writeHead(200, { "content-type": types[extname(path)] ?? "application/octet-stream" }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((resolve) => files.listen(0, "127.0.0.1", resolve));
  try {
    const page = await browser.newPage();
    const problems = [];
    page.on("console", (m) => m.type() === "error" && problems.push(m.text()));
    page.on("pageerror", (e) => problems.push(e.message));
    await page.goto(`http://127.0.0.1:${files.address().port}/`);
    const result = await page.waitForFunction(() => window.__result, null, { timeout: 15_000 }).then((h) => h.jsonValue());
    assert.deepEqual(result, { version: "plain-1", routes: [["online", []], ["window", ["FINE_ABOVE_ONLINE_LIMIT"]]] });
    assert.deepEqual(problems, [], "console errors");
    console.log("plain page: ok (web build, <script type=module>, no bundler)");
  } finally {
    await new Promise((resolve) => files.close(resolve));
  }
}
