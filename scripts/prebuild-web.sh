#!/usr/bin/env bash
# Rebuilds prebuilt/pkg-web, the browser's WebAssembly package that scripts/start.sh serves without
# building it (no wasm-bindgen CLI, no wasm32 compile on a first start), and records the hash of the sources
# it came from. Run it after changing the core and commit the result; the test suite fails while the
# prebuilt package is older than its sources.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
# The tests build pkg-web with wasm-pack (scripts/setup.sh installs it) and compare it with this one.
command -v wasm-pack >/dev/null || { echo "prebuild-web: needs wasm-pack (bash scripts/setup.sh)" >&2; exit 1; }
bash scripts/build-pkg.sh --web
rm -rf prebuilt/pkg-web
mkdir -p prebuilt
cp -r pkg-web prebuilt/pkg-web
# wasm-pack copies the repository's README into the package; the served package does not need it, and a
# README edit must not make the prebuilt package stale.
rm -f prebuilt/pkg-web/README.md
bash scripts/web-sources.sh > prebuilt/pkg-web.sources
echo "prebuild-web: prebuilt/pkg-web from sources $(cat prebuilt/pkg-web.sources)"
