#!/usr/bin/env bash
# The prebuilt browser package must be what today's sources build: its source hash must be today's, and
# it must be, byte for byte, the package just built in pkg-web/ (scripts/build-pkg.sh), but for the
# repository README that wasm-pack copies in.
set -euo pipefail
cd "$(dirname "$0")/.."
want=$(bash scripts/web-sources.sh)
have=$(cat prebuilt/pkg-web.sources 2>/dev/null || echo none)
if [ "$want" != "$have" ]; then
  echo "prebuilt/pkg-web was built from other sources ($have, today's are $want): run scripts/prebuild-web.sh and commit it" >&2
  exit 1
fi
if [ -d pkg-web ]; then
  # The builds are reproducible (the same bytes from another checkout path), so all of it is compared.
  # Except the README wasm-pack copies from the repository's (prebuild-web.sh leaves it out).
  diff -r -x README.md pkg-web prebuilt/pkg-web >/dev/null \
    || { diff -rq -x README.md pkg-web prebuilt/pkg-web >&2; echo "prebuilt/pkg-web differs from a fresh build: run scripts/prebuild-web.sh" >&2; exit 1; }
fi
echo "prebuilt/pkg-web matches its sources ($want)"
