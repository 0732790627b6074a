#!/usr/bin/env bash
# The bundled-page test: needs the pkg-bundler build (scripts/build-pkg.sh) and Chromium at /usr/bin/chromium.
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund --loglevel=error
node run.mjs
