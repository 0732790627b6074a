#!/usr/bin/env bash
# Sets up, builds and starts the whole system: the backend on an embedded SQLite file with demo data,
# serving the web app and the WebAssembly package. Prints the URL to open. Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

# The browser's package comes prebuilt (prebuilt/pkg-web) while it matches the sources, so a first start
# compiles only the server; after a change to the core it is built here (scripts/build-web.sh).
pkg=prebuilt/pkg-web
if [ "$(bash scripts/web-sources.sh)" = "$(cat prebuilt/pkg-web.sources 2>/dev/null)" ]; then
  bash scripts/setup.sh --server
  bash scripts/build-web.sh --server
else
  echo "start: the core's sources changed since prebuilt/pkg-web was built; building the package here" >&2
  # Only what running needs: the test-only tools (fuzzing toolchain, Chromium) come with scripts/test.sh.
  bash scripts/setup.sh --running
  bash scripts/build-web.sh
  pkg=pkg-web
fi
mkdir -p data
exec ./target/start/renche-server serve \
  --listen "${RENCHE_LISTEN:-127.0.0.1:8080}" \
  --database "${RENCHE_DATABASE:-sqlite://data/renche.sqlite3}" \
  --policy-dir policies --www www --pkg "$pkg" --dev --demo
