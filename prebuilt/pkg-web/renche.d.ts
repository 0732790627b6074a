export * from "./renche_core.js";
export { default } from "./renche_core.js";
export * from "./client.js";
export * from "./errors.js";
