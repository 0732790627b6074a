#!/usr/bin/env bash
# Sets up what the tests need and runs every test: lint, native, WebAssembly (Node and Chromium), npm
# package, browser end-to-end, the API against its OpenAPI document, fuzz smoke and reliability checks. Prints one summary line at the end.
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_TERM_COLOR=never

bash scripts/setup.sh || { echo "setup failed"; exit 1; }

passed=0
failed=0
failures=()
step() {
  local name=$1
  shift
  printf '\n\033[1;34m=== %s\033[0m\n' "$name"
  local start=$SECONDS
  if "$@"; then
    passed=$((passed + 1))
    printf '\033[1;32m--- ok: %s (%ss)\033[0m\n' "$name" $((SECONDS - start))
  else
    failed=$((failed + 1))
    failures+=("$name")
    printf '\033[1;31m--- FAILED: %s (%ss)\033[0m\n' "$name" $((SECONDS - start))
  fi
}

npm_ci() { (cd "$1" && npm ci --no-audit --no-fund --loglevel=error); }

# wasm-opt for the package build comes from tests/node's npm dependencies.
step "npm dependencies of the Node tests" npm_ci tests/node
step "format" cargo fmt --all -- --check
step "clippy (native)" cargo clippy --workspace --all-targets -- -D warnings
step "clippy (wasm32)" cargo clippy -p renche --target wasm32-unknown-unknown --all-targets -- -D warnings
# Core scenarios and properties, backend API flows, the SQLite/PostgreSQL conformance suite, three
# instances on PostgreSQL, a synchronous standby promoted after SIGKILL of its primary (initdb'd in a
# temporary folder, as the postgres OS user when run as root), and the reliability checks (histories,
# SIGKILL restarts, authorisation matrix, bad-request catalogue).
step "native tests" cargo test --workspace
step "API against its OpenAPI document (schemathesis)" bash scripts/api-schema-test.sh
step "build npm package (web, nodejs, bundler)" bash scripts/build-pkg.sh
step "prebuilt browser package matches its sources" bash scripts/prebuilt-check.sh
step "wasm tests in Node" wasm-pack test --node
step "wasm tests in Chromium" wasm-pack test --headless --chrome --chromedriver /usr/bin/chromedriver
step "node tests (package, ESM, CommonJS, types, QR interop, Client)" bash -c 'cd tests/node && npm test'
step "bundled page in Chromium" bash tests/bundle/run.sh
step "browser end-to-end" bash tests/e2e/run.sh
step "fuzz smoke (every target, 15 s each)" bash scripts/fuzz.sh 15

total=$((passed + failed))
echo
if [ "$failed" -gt 0 ]; then
  printf 'failed steps: %s\n' "${failures[*]}"
fi
echo "steps: ${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ] && [ "$total" -gt 0 ]
