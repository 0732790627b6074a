#!/usr/bin/env bash
# Builds the npm package three ways: pkg-web (browsers, <script type="module">), pkg-node (CommonJS for
# Node) and pkg-bundler (Vite, webpack). All three are gitignored.
#
# wasm-pack's own wasm-opt download needs the internet and Debian's binaryen is too old, so Cargo.toml turns
# wasm-pack's optimiser off and this script runs the wasm-opt of the npm `binaryen` package (a devDependency
# of tests/node, installed here when missing) on each build. Without it the script still works, unoptimised.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target/wasm}"
# The main module's dependencies are optimised for size and renche itself for speed: the decisions' hot
# paths (serde_json reading the contract types, the rules, the packed answers) are instantiated in renche,
# so this takes ~7 KB gzipped off at no cost in batch speed, where opt-level s or z for everything missed
# the speed target (docs/benchmarks.md). Native builds keep opt-level 3 throughout.
deps_for_size=(--config 'profile.release.package."*".opt-level="z"')
wasm_opt_level="${WASM_OPT_LEVEL:--O3}"

wasm_opt="${WASM_OPT:-$PWD/tests/node/node_modules/.bin/wasm-opt}"
if [[ -z "${WASM_OPT:-}" && ! -x "$wasm_opt" ]]; then
  (cd tests/node && npm ci --no-audit --no-fund --loglevel=error) || true
fi
if [[ ! -x "$wasm_opt" ]]; then
  echo "build-pkg: no wasm-opt at $wasm_opt (npm ci in tests/node); packages stay unoptimised" >&2
  wasm_opt=""
fi

optimise() {
  if [[ -n "$wasm_opt" ]]; then
    # The features are the ones rustc's wasm32 target emits by default; wasm-opt must accept them.
    "$wasm_opt" "$wasm_opt_level" --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
      --enable-mutable-globals --enable-reference-types --enable-multivalue "$1" -o "$1"
  fi
}

for target in web nodejs bundler; do
  case "$target" in
    nodejs) out=pkg-node ;;
    *) out="pkg-$target" ;;
  esac
  # The main module: everything but the QR scanner, which is the second module (scan/, built below).
  wasm-pack build --release --target "$target" --out-dir "$out" --out-name renche -- --no-default-features --features api \
    "${deps_for_size[@]}"
  optimise "$out/renche_bg.wasm"
  # npm metadata wasm-pack does not take from Cargo.toml.
  node - "$out" "$target" <<'JS'
const fs = require("fs");
const [dir, target] = process.argv.slice(2);
const file = `${dir}/package.json`;
const pkg = JSON.parse(fs.readFileSync(file, "utf8"));
pkg.name = "renche";
pkg.homepage = pkg.homepage ?? pkg.repository?.url;
pkg.keywords = [...new Set([...(pkg.keywords ?? []), "12123", "vehicle", "webassembly"])];
pkg.engines = { node: ">=18" };
pkg.files = [...new Set([...(pkg.files ?? []), "renche_bg.wasm", "renche.js", "renche.d.ts", "scan/"])];
if (target === "nodejs") pkg.main = "renche.js";
fs.writeFileSync(file, JSON.stringify(pkg, null, 2) + "\n");
JS
  rm -f "$out/.gitignore"
done

# The QR scanner as its own module inside each package (scan/renche_scan.js), for the pages that read
# camera frames. Built after the main modules so that cargo switches features once.
for target in web nodejs bundler; do
  case "$target" in
    nodejs) out=pkg-node ;;
    *) out="pkg-$target" ;;
  esac
  rm -rf "$out/scan"
  wasm-pack build --release --target "$target" --out-dir "$out/scan" --out-name renche_scan -- --no-default-features --features scan
  optimise "$out/scan/renche_scan_bg.wasm"
  rm -f "$out/scan/.gitignore" "$out/scan/package.json" "$out/scan/README.md"
done

for out in pkg-web pkg-node pkg-bundler; do
  wasm=$(gzip -9 -c "$out/renche_bg.wasm" | wc -c)
  js=$(cat "$out"/renche*.js $(find "$out/snippets" -name '*.js' 2>/dev/null) | gzip -9 | wc -c)
  echo "build-pkg: $out: wasm $(wc -c <"$out/renche_bg.wasm") bytes, gzip wasm $wasm + js $js = $((wasm + js)) bytes"
  wasm=$(gzip -9 -c "$out/scan/renche_scan_bg.wasm" | wc -c)
  js=$(cat "$out"/scan/renche_scan*.js $(find "$out/scan/snippets" -name '*.js' 2>/dev/null) | gzip -9 | wc -c)
  echo "build-pkg: $out/scan: wasm $(wc -c <"$out/scan/renche_scan_bg.wasm") bytes, gzip wasm $wasm + js $js = $((wasm + js)) bytes"
done
