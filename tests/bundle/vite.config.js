import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";
import wasm from "vite-plugin-wasm";

// What an app's own vite.config.js needs for the package (run.mjs sets the app's root, a fresh folder that
// installed the tarball). The bundler build imports its .wasm as an ES module (the WebAssembly/ESM integration), which Vite does
// not do by itself: vite-plugin-wasm does. Top-level await needs an esnext target (or
// vite-plugin-top-level-await for older browsers).
export default defineConfig({
  plugins: [wasm()],
  build: { target: "esnext", outDir: fileURLToPath(new URL("../../test-output/bundle", import.meta.url)), emptyOutDir: true },
  logLevel: "warn",
});
