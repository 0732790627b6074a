// The rules core, compiled to WebAssembly. Everything the page knows about plates, IDs, eligibility,
// routes and QR codes comes from here; this file only loads the module and holds the parsed policy.

let wasm = null;
let scanner = null;
let scannerLoading = null;
let rules = null;

/** Loads and instantiates the package built by wasm-pack (`--target web`). */
export async function loadCore() {
  if (wasm) return wasm;
  const module = await import('/pkg/renche.js');
  await module.default();
  wasm = module;
  return wasm;
}

/**
 * The QR scanner is a second, smaller module (`/pkg/scan/`) that only the scan page needs, so it is
 * loaded when that page opens rather than with the app. A package that still has the scanner in its
 * main module is used as it is.
 */
export function loadScanner() {
  if (scanner) return Promise.resolve(scanner);
  if (wasm?.qrScanRgba) {
    scanner = wasm;
    return Promise.resolve(scanner);
  }
  scannerLoading ??= import('/pkg/scan/renche_scan.js').then(async (module) => {
    await module.default();
    scanner = module;
    return scanner;
  });
  return scannerLoading;
}

export function core() {
  if (!wasm) throw new Error('core not loaded');
  return wasm;
}

/** Parses the server's policy document once and keeps it (the core re-uses the parsed form per call). */
export function usePolicy(policyDocument) {
  // The previous Rules is not freed: pages may still hold it for a check under way.
  rules = core().Rules.fromPolicy(policyDocument);
  return rules;
}

export function currentRules() {
  return rules;
}

/** Parsed rules for another policy document (a vehicle's city), kept by version. */
const rulesByVersion = new Map();
export function rulesFor(policyDocument) {
  if (!policyDocument) return rules;
  const version = policyDocument.version;
  if (version === rules?.policyVersion) return rules;
  // A policy's version names its content, so a version parsed once stays valid.
  if (!rulesByVersion.has(version)) rulesByVersion.set(version, core().Rules.fromPolicy(policyDocument));
  return rulesByVersion.get(version);
}

/** The core's QR functions (src/wasm/qr.rs). */
export function qrExports() {
  const m = core();
  return {
    renderSvg: m.qrSvg,
    // Paints into a <canvas> through the canvas's 2D context (web-sys in the core).
    paintCanvas: m.qrPaintCanvas,
    // Present once loadScanner() has finished.
    scanRgba: scanner?.qrScanRgba,
    decodePayload: m.qrDecodePayload,
    secondsLeft: m.qrSecondsLeft,
  };
}

/** The current instant as the core wants it (RFC 3339, UTC). */
export function nowInstant() {
  return new Date().toISOString();
}
