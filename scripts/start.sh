#!/usr/bin/env bash
# Sets up, builds and starts the whole system: the backend on an embedded SQLite file with demo data,
# serving the web app and the WebAssembly package. Prints the URL to open. Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

# Only what running needs: the test-only tools (fuzzing toolchain, Chromium) come with scripts/test.sh.
bash scripts/setup.sh --running
bash scripts/build-web.sh
mkdir -p data
exec ./target/start/renche-server serve \
  --listen "${RENCHE_LISTEN:-127.0.0.1:8080}" \
  --database "${RENCHE_DATABASE:-sqlite://data/renche.sqlite3}" \
  --policy-dir policies --www www --pkg pkg-web --dev --demo
