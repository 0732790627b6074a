// renche: the rules (renche_core.js, WebAssembly) and the backend's Client (client.js).
export * from "./renche_core.js";
export { default } from "./renche_core.js";
export { Client } from "./client.js";
export { RencheInputError } from "./snippets/renche-5d4c0a44dcaa7a77/src/wasm/errors.js";
