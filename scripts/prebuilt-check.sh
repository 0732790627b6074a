#!/usr/bin/env bash
# The prebuilt browser package must be what today's sources build: its source hash must be today's, and
# it must hold the same files as the package just built in pkg-web/ (scripts/build-pkg.sh), with the same
# JavaScript glue and type declarations byte for byte.
set -euo pipefail
cd "$(dirname "$0")/.."
want=$(bash scripts/web-sources.sh)
have=$(cat prebuilt/pkg-web.sources 2>/dev/null || echo none)
if [ "$want" != "$have" ]; then
  echo "prebuilt/pkg-web was built from other sources ($have, today's are $want): run scripts/prebuild-web.sh and commit it" >&2
  exit 1
fi
if [ -d pkg-web ]; then
  diff <(cd pkg-web && find . -type f | LC_ALL=C sort) <(cd prebuilt/pkg-web && find . -type f | LC_ALL=C sort) \
    || { echo "prebuilt/pkg-web holds other files than a fresh build" >&2; exit 1; }
  while IFS= read -r f; do
    cmp -s "pkg-web/$f" "prebuilt/pkg-web/$f" || { echo "prebuilt/pkg-web/$f differs from a fresh build" >&2; exit 1; }
  done < <(cd pkg-web && find . -type f \( -name '*.js' -o -name '*.d.ts' -o -name '*.json' \) | LC_ALL=C sort)
fi
echo "prebuilt/pkg-web matches its sources ($want)"
