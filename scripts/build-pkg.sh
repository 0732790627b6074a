#!/usr/bin/env bash
# Builds the npm package three ways: pkg-web (browsers, <script type="module">), pkg-node (CommonJS for
# Node) and pkg-bundler (Vite, webpack). All three are gitignored.
#
# wasm-pack's own wasm-opt download needs the internet and Debian's binaryen is too old, so Cargo.toml turns
# wasm-pack's optimiser off and this script runs the wasm-opt of the npm `binaryen` package (a devDependency
# of tests/node, installed here when missing) on each build. Without it the script still works, unoptimised.
#
# `--web` builds only pkg-web, the one the running system serves (scripts/start.sh). Where wasm-pack is not
# installed (start.sh does not install it), cargo and wasm-bindgen build the modules directly: the same
# two steps wasm-pack runs, without its package metadata, which pkg-web does not need.
set -euo pipefail
cd "$(dirname "$0")/.."
targets=(web nodejs bundler)
if [[ "${1:-}" == "--web" ]]; then targets=(web); fi
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target/wasm}"
# The main module is optimised for size: renche and its dependencies at opt-level z. Its hot paths cross the
# boundary without JSON (route answers as columns of numbers, src/wasm/packed.rs; binding calls as packed
# fields, src/wasm/binding.rs), which left enough speed to spare for this; docs/benchmarks.md has the sizes
# and speeds of each level. Native builds and the scanner module (decoding frames is its hot path) keep
# opt-level 3.
# At z LLVM inlines almost nothing (a threshold of 5), which leaves the small parsers of the binding path as
# calls. An inline threshold of 40 given to LLVM replaces that one limit and keeps every other size
# optimisation: measured, binding checks take about a fifth less time for no more bytes (with wasm-opt -Os,
# which is as fast here as -O3 and 0.6 KB smaller). 25 was slower, 60 and 100 larger and no faster.
for_size=(--config 'profile.release.opt-level="z"' --config 'profile.release.package."*".opt-level="z"'
  --config 'target.wasm32-unknown-unknown.rustflags=["-C", "llvm-args=-inline-threshold=40"]')
wasm_opt_level="${WASM_OPT_LEVEL:--Os}"
# The scanner decodes camera frames, and keeps wasm-opt's speed level.
scan_opt_level=-O3

wasm_opt="${WASM_OPT:-$PWD/tests/node/node_modules/.bin/wasm-opt}"
if [[ -z "${WASM_OPT:-}" && ! -x "$wasm_opt" ]] || [[ -z "${TERSER:-}" && ! -x tests/node/node_modules/.bin/terser ]]; then
  (cd tests/node && npm ci --no-audit --no-fund --loglevel=error) || true
fi
if [[ ! -x "$wasm_opt" ]]; then
  echo "build-pkg: no wasm-opt at $wasm_opt (npm ci in tests/node); packages stay unoptimised" >&2
  wasm_opt=""
fi

# wasm_build TARGET OUT NAME CARGO-ARGS...: one WebAssembly module and its JS glue.
wasm_build() {
  local target=$1 out=$2 name=$3
  shift 3
  if command -v wasm-pack >/dev/null; then
    wasm-pack build --release --target "$target" --out-dir "$out" --out-name "$name" -- "$@"
    return
  fi
  cargo build --lib --release --target wasm32-unknown-unknown "$@"
  wasm-bindgen --target "$target" --out-dir "$out" --out-name "$name" \
    "$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/renche.wasm"
  if [[ ! -f "$out/package.json" ]]; then
    local version
    version=$(awk -F'"' '/^version = / {print $2; exit}' Cargo.toml)
    printf '{\n  "name": "renche",\n  "version": "%s",\n  "license": "MIT"\n}\n' "$version" >"$out/package.json"
  fi
}

# The shipped JavaScript minified by terser (a devDependency of tests/node, like wasm-opt): the glue, the
# Client and the snippets are a sixth of what a page loads, and minifying takes about a quarter off their
# gzipped size. Export names, property names and class names stay as they are; the .d.ts files keep the
# documentation. Without terser the files stay as they are.
terser="${TERSER:-$PWD/tests/node/node_modules/.bin/terser}"
if [[ ! -x "$terser" ]]; then
  echo "build-pkg: no terser at $terser (npm ci in tests/node); JavaScript stays unminified" >&2
  terser=""
fi

# minify DIR TARGET: every .js file of DIR and of its snippets/ (ES modules in every target).
minify() {
  [[ -n "$terser" ]] || return 0
  local dir=$1 target=$2 scope f
  for f in "$dir"/*.js $(find "$dir/snippets" -name '*.js' 2>/dev/null); do
    scope=--module
    # The nodejs build's own files are CommonJS: not modules, but their top level is the module wrapper's,
    # so it is as safe to mangle.
    if [[ "$target" == "nodejs" && "$(dirname "$f")" == "$dir" ]]; then scope=--toplevel; fi
    "$terser" "$f" "$scope" --compress --mangle --keep-classnames --ecma 2020 --comments '/@ts-self-types/' -o "$f"
  done
}

# optimise WASM LEVEL
optimise() {
  if [[ -n "$wasm_opt" ]]; then
    # The features are the ones rustc's wasm32 target emits by default; wasm-opt must accept them.
    "$wasm_opt" "$2" --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
      --enable-mutable-globals --enable-reference-types --enable-multivalue --strip-producers --strip-target-features \
      "$1" -o "$1"
  fi
}

for target in "${targets[@]}"; do
  case "$target" in
    nodejs) out=pkg-node ;;
    *) out="pkg-$target" ;;
  esac
  # The main module, renche_core.js: everything but the QR scanner, which is the second module (scan/, built
  # below). The package's entry, renche.js, adds the Client (src/wasm/client.js) to its exports.
  rm -f "$out"/renche_core* "$out"/renche_bg* "$out"/renche.js "$out"/renche.d.ts "$out"/client.*
  wasm_build "$target" "$out" renche_core --no-default-features --features api \
    "${for_size[@]}"
  optimise "$out/renche_core_bg.wasm" "$wasm_opt_level"
  node - "$out" "$target" <<'JS'
const fs = require("fs");
const path = require("path");
const [dir, target] = process.argv.slice(2);
const write = (name, text) => fs.writeFileSync(path.join(dir, name), text);
// Comments (line and JSDoc) cost the pages bytes; the declarations (.d.ts) keep the same documentation
// for editors.
const client = fs.readFileSync("src/wasm/client.js", "utf8")
  .replace(/^[ \t]*\/\*\*[\s\S]*?\*\/[ \t]*\n/gm, "")
  .replace(/^[ \t]*\/\/.*\n/gm, "");
for (const file of ["renche_core.js", "renche_core_bg.js"].map((f) => path.join(dir, f)).filter(fs.existsSync)) {
  fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace(/^[ \t]*\/\*\*[\s\S]*?\*\/[ \t]*\n/gm, ""));
}
const clientTypes = fs.readFileSync("src/wasm/client.d.ts", "utf8");
const header = "// renche: the rules (renche_core.js, WebAssembly) and the backend's Client (client.js).\n";
// The class of the errors the module throws (src/wasm/errors.js), which wasm-bindgen copies under snippets/.
const snippets = path.join(dir, "snippets");
const errorsJs = fs.readdirSync(snippets).map((d) => `./snippets/${d}/src/wasm/errors.js`)
  .find((f) => fs.existsSync(path.join(dir, f)));
if (!errorsJs) throw new Error("no snippets/*/src/wasm/errors.js");
if (target === "nodejs") {
  // The same client as CommonJS; its only import is from the core.
  const importLine = 'import { Rules, relationships } from "./renche_core.js";';
  if (!client.includes(importLine) || !client.includes("\nexport class Client ")) throw new Error("client.js changed shape");
  write("client.js", client.replace(importLine, 'const { Rules, relationships } = require("./renche_core.js");')
    .replace("\nexport class Client ", "\nclass Client ") + "\nexports.Client = Client;\n");
  // Each name assigned on its own line, so that Node's ES-module import of CommonJS finds them.
  const names = Object.keys(require(path.resolve(dir, "renche_core.js"))).filter((n) => !n.startsWith("__"));
  write("renche.js", header + '"use strict";\nconst core = require("./renche_core.js");\n' +
    names.map((n) => `exports.${n} = core.${n};\n`).join("") + 'exports.Client = require("./client.js").Client;\n' +
    `exports.RencheInputError = require("${errorsJs}").RencheInputError;\n`);
} else {
  write("client.js", client);
  const loader = target === "web" ? 'export { default } from "./renche_core.js";\n' : "";
  write("renche.js", header + 'export * from "./renche_core.js";\n' + loader + 'export { Client } from "./client.js";\n' +
    `export { RencheInputError } from "${errorsJs}";\n`);
}
write("client.d.ts", clientTypes);
write("errors.d.ts", fs.readFileSync("src/wasm/errors.d.ts", "utf8"));
write("renche.d.ts", 'export * from "./renche_core.js";\n' +
  (target === "web" ? 'export { default } from "./renche_core.js";\n' : "") + 'export * from "./client.js";\n' +
  'export * from "./errors.js";\n');

// npm metadata wasm-pack does not take from Cargo.toml.
const file = path.join(dir, "package.json");
const pkg = JSON.parse(fs.readFileSync(file, "utf8"));
pkg.name = "renche";
pkg.homepage = pkg.homepage ?? pkg.repository?.url;
pkg.keywords = [...new Set([...(pkg.keywords ?? []), "12123", "vehicle", "webassembly"])];
pkg.engines = { node: ">=18" };
pkg.files = [...fs.readdirSync(dir).filter((f) => /\.(js|d\.ts|wasm)$/.test(f)).sort(), "scan/",
  ...(fs.existsSync(path.join(dir, "snippets")) ? ["snippets/"] : [])];
pkg.main = "renche.js";
if (target !== "nodejs") pkg.module = "renche.js";
pkg.types = "renche.d.ts";
if (target === "bundler") pkg.sideEffects = ["./renche_core.js", "./snippets/*"];
write("package.json", JSON.stringify(pkg, null, 2) + "\n");
JS
  rm -f "$out/.gitignore" "$out/renche_core_bg.wasm.d.ts.bak"
  minify "$out" "$target"
done

# The QR scanner as its own module inside each package (scan/renche_scan.js), for the pages that read
# camera frames. Built after the main modules so that cargo switches features once.
for target in "${targets[@]}"; do
  case "$target" in
    nodejs) out=pkg-node ;;
    *) out="pkg-$target" ;;
  esac
  rm -rf "$out/scan"
  wasm_build "$target" "$out/scan" renche_scan --no-default-features --features scan
  optimise "$out/scan/renche_scan_bg.wasm" "$scan_opt_level"
  minify "$out/scan" "$target"
  rm -f "$out/scan/.gitignore" "$out/scan/package.json" "$out/scan/README.md"
done

# The one package, pkg/, with the three builds inside it, and its npm pack tarball.
if [[ ${#targets[@]} -eq 3 ]]; then node scripts/one-package.mjs; fi

for target in "${targets[@]}"; do
  case "$target" in
    nodejs) out=pkg-node ;;
    *) out="pkg-$target" ;;
  esac
  # Each file gzipped on its own, as a server sends them.
  wasm=$(gzip -9 -c "$out/renche_core_bg.wasm" | wc -c)
  js=0
  for f in "$out"/*.js $(find "$out/snippets" -name '*.js' 2>/dev/null); do
    js=$((js + $(gzip -9 -c "$f" | wc -c)))
  done
  echo "build-pkg: $out: wasm $(wc -c <"$out/renche_core_bg.wasm") bytes, gzip wasm $wasm + js $js = $((wasm + js)) bytes"
  wasm=$(gzip -9 -c "$out/scan/renche_scan_bg.wasm" | wc -c)
  js=$(cat "$out"/scan/renche_scan*.js $(find "$out/scan/snippets" -name '*.js' 2>/dev/null) | gzip -9 | wc -c)
  echo "build-pkg: $out/scan: wasm $(wc -c <"$out/scan/renche_scan_bg.wasm") bytes, gzip wasm $wasm + js $js = $((wasm + js)) bytes"
done
