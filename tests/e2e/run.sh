#!/usr/bin/env bash
# Runs the browser tests of the web app against a fresh backend per test file.
# Needs: Debian's chromium (/usr/bin/chromium), a built server (target/{release,debug}/renche-server or
# $RENCHE_SERVER) and the wasm package in pkg-web/ (scripts/build-pkg.sh).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$here"

# Chinese text in screenshots needs a CJK font; the page itself works without one.
if command -v fc-list >/dev/null && [ -z "$(fc-list :lang=zh 2>/dev/null)" ] && [ "$(id -u)" = 0 ]; then
  (apt-get install -y -qq fonts-wqy-microhei >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq fonts-wqy-microhei >/dev/null 2>&1; }) \
    || echo "e2e: no CJK font could be installed; screenshots will show boxes for Chinese text" >&2
fi

if [ ! -d node_modules/playwright-core ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi

if [ ! -f "$root/pkg-web/renche_core.js" ]; then
  echo "e2e: $root/pkg-web is missing; build it with scripts/build-pkg.sh" >&2
  exit 1
fi

mkdir -p "$root/test-output/screenshots"
# One file at a time: each starts its own server and browser, and the machine has few cores.
# Files named on the command line run alone (bash tests/e2e/run.sh identity.test.js); else all of them.
files=()
flags=()
for arg in "$@"; do
  case "$arg" in
    *.test.js) files+=("./$(basename "$arg")") ;;
    *) flags+=("$arg") ;;
  esac
done
[ ${#files[@]} -gt 0 ] || files=(./*.test.js)
run_file() { node --test --test-concurrency=1 --test-timeout=180000 "${flags[@]}" "$1"; }
# A file that fails is run once more on a fresh server and browser: a real break fails twice, while a
# moment of starvation on a busy two-core machine (a wait that ran out) does not turn the whole run red.
# Each retry is named in the output, so a test that needs it often is seen and fixed.
failed=()
for f in "${files[@]}"; do
  run_file "$f" || failed+=("$f")
done
still=()
for f in "${failed[@]}"; do
  echo "e2e: $f failed; running it once more" >&2
  run_file "$f" || still+=("$f")
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "e2e: retried ${failed[*]}; failed again: ${still[*]:-none}" >&2
fi
[ ${#still[@]} -eq 0 ]
