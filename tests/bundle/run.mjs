// Builds the page with Vite, serves it with `vite preview` on a free port and loads it in Debian's
// Chromium: the page must compute the article's answer and log no console errors. Then the same for a
// plain page (plain.html) importing the web build from a static server, without a bundler. Both apps live
// in a fresh folder that installs the `npm pack` tarball (scripts/build-pkg.sh writes it to test-output/)
// and import the package by its name only.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import { extname } from "node:path";
import { fileURLToPath } from "node:url";
import { build, preview } from "vite";
import { chromium } from "playwright-core";

const output = new URL("../../test-output/", import.meta.url);
const tarball = readdirSync(output).find((f) => /^renche-.*\.tgz$/.test(f));
assert.ok(tarball, "test-output/renche-*.tgz (scripts/build-pkg.sh)");
const app = new URL("fresh/bundle/", output);
rmSync(app, { recursive: true, force: true });
mkdirSync(app, { recursive: true });
writeFileSync(new URL("package.json", app), JSON.stringify({ name: "fresh-bundle", private: true, type: "module" }));
execFileSync("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error", fileURLToPath(new URL(tarball, output))],
  { cwd: app, stdio: "pipe" });
for (const file of ["index.html", "main.js"]) copyFileSync(new URL(file, import.meta.url), new URL(file, app));
// A page without a bundler finds the package by name through an import map, made as a CDN would make it:
// from the `browser` condition of the package's exports.
const { exports } = JSON.parse(readFileSync(new URL("node_modules/renche/package.json", app), "utf8"));
const imports = {
  renche: `/node_modules/renche/${exports["."].browser.default.slice(2)}`,
  "renche/scan": `/node_modules/renche/${exports["./scan"].browser.default.slice(2)}`,
};
writeFileSync(new URL("plain.html", app), readFileSync(new URL("plain.html", import.meta.url), "utf8")
  .replace("<!-- import map -->", `<script type="importmap">${JSON.stringify({ imports })}</script>`));

const viteConfig = { configFile: new URL("vite.config.js", import.meta.url).pathname, root: fileURLToPath(app) };
await build(viteConfig);
const server = await preview({ ...viteConfig, preview: { port: 0, host: "127.0.0.1", strictPort: false } });
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
  const types = { ".html": "text/html", ".js": "text/javascript", ".wasm": "application/wasm" };
  const files = createServer(async (req, res) => {
    const path = req.url === "/" ? "plain.html" : req.url.slice(1);
    if (!/^(node_modules\/renche\/web\/[\w./-]+|plain\.html)$/.test(path) || path.includes("..")) {
      res.writeHead(404).end();
      return;
    }
    try {
      const body = await readFile(new URL(path, app));
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
