// The nodejs build is CommonJS; from an ES module, load it with createRequire (or a default import).
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
export const renche = require("../../pkg-node/renche.js");
// The QR scanner is the package's second module (scan/renche_scan.js).
export const scan = require("../../pkg-node/scan/renche_scan.js");
