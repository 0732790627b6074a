// QR interop with independent npm implementations: codes drawn by npm `qrcode` must scan with our
// scanner, codes we draw must scan with `jsqr`, and for one-mode texts both encoders must draw the same
// symbol. Vehicle codes are built here from the byte layout in docs/qr.md, which checks that document too.
//
// Needs the nodejs build (../../pkg-node, or RENCHE_PKG_NODE); runs `npm ci` in ../../benches (qrcode, jsqr)
// when those are missing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { createHmac, randomBytes } from "node:crypto";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const pkgNode = path.resolve(process.env.RENCHE_PKG_NODE ?? path.join(here, "..", "..", "pkg-node"));
const renche = require(path.join(pkgNode, "renche.js"));
// The scanner is the package's second module.
const scanner = require(path.join(pkgNode, "scan", "renche_scan.js"));
// qrcode and jsqr are benches/' devDependencies (the benchmark uses them too); install them if CI has not.
const benches = path.join(here, "..", "..", "benches");
if (!["qrcode", "jsqr", "pngjs"].every((m) => existsSync(path.join(benches, "node_modules", m)))) {
  console.log("# installing benches/ devDependencies (qrcode, jsqr) with npm ci");
  execFileSync("npm", ["ci", "--no-audit", "--no-fund", "--loglevel=error"], { cwd: benches, stdio: "inherit" });
}
const fromBenches = createRequire(path.join(benches, "package.json"));
const QRCode = fromBenches("qrcode");
const jsQR = fromBenches("jsqr");
const { PNG } = fromBenches("pngjs");

// ---- Vehicle codes, written from docs/qr.md ----
const PROVINCES = "京津冀晋蒙辽吉黑沪苏浙皖闽赣鲁豫鄂湘粤桂琼渝川贵云藏陕甘青宁新";
const B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
function base32(bytes) {
  let out = "", acc = 0, bits = 0;
  for (const b of bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += B32[(acc >> bits) & 31];
    }
    acc &= (1 << bits) - 1;
  }
  return bits > 0 ? out + B32[(acc << (5 - bits)) & 31] : out;
}
function vehicleCode({ token, expiresAtMs, maskedPlate, key }) {
  const [head, serial] = maskedPlate.split("·");
  const plate = String(PROVINCES.indexOf(head[0])).padStart(2, "0") + head[1] + serial.replace("挂", "+").replace("学", "-");
  const body = Buffer.alloc(22);
  token.copy(body, 0);
  body.writeUIntBE(expiresAtMs, 16, 6);
  const signed = `RC1:${plate}:${base32(body)}`;
  return signed + base32(createHmac("sha256", key).update(signed).digest().subarray(0, 16));
}

// A deterministic random source, so that a failure can be replayed.
let seed = 12123;
const rand = (n) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
const pick = (s) => s[rand(s.length)];
const SERIAL = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ";
function randomMaskedPlate() {
  const head = pick(PROVINCES) + pick("ABCDEFGHJKLMNOPQRSTUVWXYZ") + "·";
  return rand(2)
    ? head + pick(SERIAL) + "**" + pick(SERIAL) + pick("0123456789")
    : head + pick("DABCEFGHJK") + pick(SERIAL) + "**" + pick("0123456789") + pick("0123456789");
}
const key = randomBytes(32);
const codes = Array.from({ length: 40 }, (_, i) => ({
  token: randomBytes(16),
  expiresAtMs: Date.UTC(2026, 8, 1, 7, 3, 0) + i * 997,
  maskedPlate: randomMaskedPlate(),
})).map((c) => ({ ...c, text: vehicleCode({ ...c, key }) }));
const ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
const texts = [
  ...codes.map((c) => c.text),
  "HELLO WORLD",
  "0123456789012345678901234567890123456789012345678901",
  "https://example.com/renche/bind?code=RC1",
  "粤S·1**45 扫码绑定 — vehicle code",
  ...Array.from({ length: 15 }, () => Array.from({ length: 1 + rand(120) }, () => pick(ALNUM)).join("")),
  ...Array.from({ length: 15 }, () => Array.from({ length: 1 + rand(100) }, () => String.fromCharCode(97 + rand(26))).join("")),
];

/** Greyscale pixels of a module matrix with a 4-module quiet zone, `scale` px per module. */
function paint(size, isDark, scale = 4) {
  const side = (size + 8) * scale;
  const px = new Uint8Array(side * side).fill(255);
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++)
      if (isDark(x, y))
        for (let dy = 0; dy < scale; dy++) px.fill(0, ((y + 4) * scale + dy) * side + (x + 4) * scale, ((y + 4) * scale + dy) * side + (x + 5) * scale);
  return { px, side };
}

test("vehicle codes built from docs/qr.md decode with the documented fields", () => {
  for (const c of codes) {
    assert.match(c.text, /^[0-9A-Z $%*+\-./:]+$/);
    assert.ok(c.text.length === 75 || c.text.length === 76, c.text);
    const info = renche.qrDecodePayload(c.text);
    assert.deepEqual(info, {
      version: 1,
      expiresAt: new Date(c.expiresAtMs).toISOString(),
      expiresAtMs: c.expiresAtMs,
      maskedPlate: c.maskedPlate,
    });
    assert.equal(renche.qrSecondsLeft(c.text, c.expiresAtMs - 180_000), 180);
    assert.equal(renche.qrSecondsLeft(c.text, c.expiresAtMs), 0);
  }
});

test("codes drawn by npm qrcode scan with our scanner, at every error-correction level", () => {
  for (const [i, text] of texts.entries()) {
    const level = "LMQH"[i % 4];
    const q = QRCode.create(text, { errorCorrectionLevel: level });
    const { px, side } = paint(q.modules.size, (x, y) => q.modules.get(y, x));
    const answer = scanner.qrScanGrey(px, side, side);
    assert.deepEqual(answer, { ok: true, texts: [text] }, `${level} ${text}`);
  }
});

test("codes we draw scan with jsQR", () => {
  for (const text of texts) {
    const { width, height, data } = renche.qrPaintRgba(text, 4);
    assert.ok(data instanceof Uint8ClampedArray);
    const found = jsQR(data, width, height);
    assert.ok(found, `jsQR found nothing in ${text}`);
    assert.equal(found.data, text);
  }
});

test("qrPaintCanvas throws the QR functions' typed errors, never a panic", () => {
  const code = (f) => {
    try {
      f();
    } catch (e) {
      assert.ok(e instanceof Error);
      assert.equal(e.reason.code, e.code);
      assert.ok(e.message.startsWith(`${e.code}: `), e.message);
      return e.code;
    }
    assert.fail("did not throw");
  };
  // Bad input is reported before the canvas is looked at.
  assert.equal(code(() => renche.qrPaintCanvas({}, "x".repeat(4000), 4)), "QR_TEXT_TOO_LONG");
  assert.equal(code(() => renche.qrPaintCanvas({}, "HELLO", 0)), "QR_SCALE_OUT_OF_RANGE");
  assert.equal(code(() => renche.qrPaintCanvas({}, "HELLO", 5000)), "QR_SCALE_OUT_OF_RANGE");
  // Node has no HTMLCanvasElement: anything passed is not a canvas.
  assert.equal(code(() => renche.qrPaintCanvas({ width: 1, height: 1, getContext: () => null }, "HELLO", 4)),
    "QR_CANVAS_UNAVAILABLE");
  assert.equal(code(() => renche.qrPaintCanvas(null, "HELLO", 4)), "QR_CANVAS_UNAVAILABLE");
  // The module still works after each of them.
  assert.equal(renche.qrPaintRgba("HELLO", 1).width, 29);
});

test("for one-mode texts we draw the same symbol as npm qrcode, in a smaller SVG", () => {
  let compared = 0;
  for (const text of texts) {
    const q = QRCode.create(text, { errorCorrectionLevel: "M" });
    if (q.segments.length !== 1) continue; // npm mixed modes: another (equally valid) symbol
    const m = renche.qrMatrix(text);
    assert.equal(m.size, q.modules.size, text);
    assert.equal(m.version, q.version, text);
    assert.deepEqual(Array.from(m.modules), Array.from(q.modules.data), text);
    let npmSvg;
    QRCode.toString(text, { type: "svg" }, (err, s) => (npmSvg = s));
    assert.ok(renche.qrSvg(text).length <= npmSvg.length, text);
    compared++;
  }
  assert.ok(compared >= codes.length, `compared ${compared}`);
});

test("scan answers: nothing found is data, a wrong buffer throws a coded Error", () => {
  assert.deepEqual(scanner.qrScanGrey(new Uint8Array(64 * 48).fill(255), 64, 48).error.code, "QR_NO_SYMBOL");
  assert.throws(() => scanner.qrScanRgba(new Uint8Array(10), 3, 3), (e) => e instanceof Error && e.code === "QR_IMAGE_BAD_DIMENSIONS" && e.message.startsWith("QR_IMAGE_BAD_DIMENSIONS: "));
  const tampered = codes[0].text.replace(/^RC1:\d\d/, "RC1:99");
  assert.throws(() => renche.qrDecodePayload(tampered), (e) => e.code === "QR_MALFORMED" && e.reason.message.zh.length > 0);
  assert.throws(() => renche.qrDecodePayload("https://example.com/"), (e) => e.code === "QR_NOT_VEHICLE_CODE");
});

const chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => existsSync(p));
test("our SVG as Chromium draws it, at whole and fractional pixels per module, scans", { skip: !chromium && "no Chromium" }, () => {
  const text = codes[0].text;
  const svg = renche.qrSvg(text);
  const dir = mkdtempSync(path.join(tmpdir(), "renche-qr-"));
  try {
    // As an <img> at 7 px per module, and inline at 4.95 px per module, on a dark page.
    const page = `<html><body style="margin:0;background:#333"><img width="287" height="287" style="margin:20px" src="data:image/svg+xml;base64,${Buffer.from(svg).toString("base64")}"><div style="width:203px;height:203px;display:inline-block;margin:20px">${svg}</div></body></html>`;
    writeFileSync(path.join(dir, "page.html"), page);
    execFileSync(chromium, ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars", `--user-data-dir=${path.join(dir, "profile")}`, "--window-size=600,340", `--screenshot=${path.join(dir, "shot.png")}`, `file://${path.join(dir, "page.html")}`], { stdio: "ignore", timeout: 60_000 });
    const png = PNG.sync.read(readFileSync(path.join(dir, "shot.png")));
    assert.deepEqual(scanner.qrScanRgba(png.data, png.width, png.height), { ok: true, texts: [text, text] });
    assert.equal(jsQR(new Uint8ClampedArray(png.data), png.width, png.height)?.data, text);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
