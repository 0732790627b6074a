// QR rendering and scanning: the renche WebAssembly package (nodejs build) against the npm `qrcode`
// package (SVG) and `jsqr` (decoding), on the same payloads.
//
//   wasm-pack build --target nodejs --out-dir pkg-node --release   # or: bash scripts/build-pkg.sh
//   cd benches && npm ci && node qr-vs-npm.mjs
//
// RENCHE_PKG_NODE=<dir> picks another build; QR_BENCH_MS=<ms> sets the time spent per measurement.
// Exits 1 when our SVG render is less than twice as fast as npm `qrcode`, or any of our SVGs is larger.
import { createRequire } from "node:module";
import { createHmac, randomBytes } from "node:crypto";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const pkgDir = path.resolve(process.env.RENCHE_PKG_NODE ?? path.join(here, "..", "pkg-node"));
const renche = require(path.join(pkgDir, "renche.js"));
// The scanner is the package's second module.
const scanner = require(path.join(pkgDir, "scan", "renche_scan.js"));
const QRCode = require("qrcode");
const jsQR = require("jsqr");

const BUDGET_MS = Number(process.env.QR_BENCH_MS ?? 400);
const MIN_RATIO = 2;

// ---- Vehicle codes as the server makes them (format: docs/qr.md) ----
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
export function vehicleCode({ token, expiresAtMs, maskedPlate, key }) {
  const [head, serial] = maskedPlate.split("·");
  const index = PROVINCES.indexOf(head[0]);
  const plate = String(index).padStart(2, "0") + head[1] + serial.replace("挂", "+").replace("学", "-");
  const body = Buffer.alloc(22);
  token.copy(body, 0);
  body.writeUIntBE(expiresAtMs, 16, 6);
  const signed = `RC1:${plate}:${base32(body)}`;
  return signed + base32(createHmac("sha256", key).update(signed).digest().subarray(0, 16));
}

const key = randomBytes(32);
const plates = ["粤S·1**45", "京A·8**C9", "沪A·D1**45", "川A·F2**78", "新Z·0**01", "鲁O·1**45", "粤B·D5**88", "浙A·1**4挂"];
const now = Date.now();
const payloads = plates.flatMap((maskedPlate, i) =>
  [0, 1].map((j) => vehicleCode({ token: randomBytes(16), expiresAtMs: now + 180_000 + i * 1000 + j, maskedPlate, key })),
);
const fixed = [
  "HELLO WORLD",
  "https://example.com/renche/bind?code=RC1",
  "0123456789012345678901234567890123456789012345678901",
  "粤S·1**45 扫码绑定 — vehicle code",
];
const all = [...payloads, ...fixed];

// ---- Timing: interleaved rounds, median of per-call means ----
function perCall(fn) {
  let n = 0;
  const start = process.hrtime.bigint();
  const stop = start + BigInt(Math.round((BUDGET_MS / 5) * 1e6));
  let t;
  do {
    for (let i = 0; i < 10; i++) fn();
    n += 10;
    t = process.hrtime.bigint();
  } while (t < stop);
  return Number(t - start) / n / 1000; // µs
}
function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}
function compare(label, a, b, rounds = 5) {
  for (let i = 0; i < 50; i++) (a(), b()); // warm up both JITs
  const ra = [], rb = [];
  for (let r = 0; r < rounds; r++) {
    ra.push(perCall(a));
    rb.push(perCall(b));
  }
  return { label, ours: median(ra), theirs: median(rb) };
}

const npmSvg = (text) => {
  let out;
  QRCode.toString(text, { type: "svg" }, (err, s) => {
    if (err) throw err;
    out = s;
  });
  return out;
};

let failed = false;
const rows = [];
let k = 0;
const cycle = (list) => () => list[k++ % list.length];
{
  const next = cycle(payloads);
  rows.push(compare(`SVG, ${payloads.length} vehicle codes (round robin)`, () => renche.qrSvg(next()), () => npmSvg(next())));
}
for (const text of fixed) {
  rows.push(compare(`SVG, ${JSON.stringify(text.length > 24 ? text.slice(0, 21) + "…" : text)}`, () => renche.qrSvg(text), () => npmSvg(text)));
}

console.log(`renche ${pkgDir}\nqrcode ${require("qrcode/package.json").version}, jsqr ${require("jsqr/package.json").version}, node ${process.version}\n`);
console.log("render to SVG                               renche µs    qrcode µs    ratio");
for (const r of rows) {
  const ratio = r.theirs / r.ours;
  console.log(`${r.label.padEnd(42)} ${r.ours.toFixed(1).padStart(9)} ${r.theirs.toFixed(1).padStart(12)} ${ratio.toFixed(2).padStart(8)}×`);
  if (ratio < MIN_RATIO) failed = true;
}

console.log("\nSVG bytes                                   renche       qrcode   version");
const sizes = { ours: 0, theirs: 0 };
for (const text of all) {
  const a = Buffer.byteLength(renche.qrSvg(text));
  const b = Buffer.byteLength(npmSvg(text));
  sizes.ours += a;
  sizes.theirs += b;
  if (a > b) failed = true;
  const version = renche.qrMatrix(text).version;
  const label = text.startsWith("RC1:") ? `vehicle code (${text.length} chars)` : JSON.stringify(text.slice(0, 30));
  if (text === payloads[0] || !text.startsWith("RC1:")) {
    console.log(`${label.padEnd(42)} ${String(a).padStart(7)} ${String(b).padStart(12)} ${String(version).padStart(9)}`);
  }
}
console.log(`${"all payloads".padEnd(42)} ${String(sizes.ours).padStart(7)} ${String(sizes.theirs).padStart(12)}`);

// ---- Decoding a camera-sized frame ----
function frame(text, w = 640, h = 480, scale = 6) {
  const { size, modules } = renche.qrMatrix(text);
  const grey = new Uint8Array(w * h).fill(255);
  const side = (size + 8) * scale;
  const x0 = (w - side) >> 1, y0 = (h - side) >> 1;
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++)
      if (modules[y * size + x])
        for (let dy = 0; dy < scale; dy++)
          grey.fill(0, (y0 + (y + 4) * scale + dy) * w + x0 + (x + 4) * scale, (y0 + (y + 4) * scale + dy) * w + x0 + (x + 5) * scale);
  const rgba = new Uint8ClampedArray(w * h * 4);
  for (let i = 0; i < w * h; i++) rgba.fill(grey[i], i * 4, i * 4 + 3), (rgba[i * 4 + 3] = 255);
  return { grey, rgba, w, h };
}
const f = frame(payloads[0]);
const scanned = scanner.qrScanGrey(f.grey, f.w, f.h);
const seen = jsQR(f.rgba, f.w, f.h);
if (!scanned.ok || scanned.texts[0] !== payloads[0]) {
  console.error("renche did not read its own frame", scanned);
  failed = true;
}
if (!seen || seen.data !== payloads[0]) {
  console.error("jsQR did not read our frame");
  failed = true;
}
const dec = compare("decode", () => scanner.qrScanGrey(f.grey, f.w, f.h), () => jsQR(f.rgba, f.w, f.h), 3);
const decRgba = perCall(() => scanner.qrScanRgba(f.rgba, f.w, f.h));
console.log("\ndecode one 640×480 frame                    renche ms      jsQR ms");
console.log(`${"greyscale (renche) / RGBA (jsQR)".padEnd(42)} ${(dec.ours / 1000).toFixed(2).padStart(9)} ${(dec.theirs / 1000).toFixed(2).padStart(12)}`);
console.log(`${"RGBA (renche)".padEnd(42)} ${(decRgba / 1000).toFixed(2).padStart(9)}`);

if (failed) {
  console.error(`\nFAIL: renche must render at least ${MIN_RATIO}× faster than npm qrcode, with SVGs no larger, and its frames must scan`);
  process.exit(1);
}
console.log(`\nok: at least ${MIN_RATIO}× faster on every row, and no SVG larger`);
