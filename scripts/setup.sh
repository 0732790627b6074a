#!/usr/bin/env bash
# Installs what building and testing need, skipping whatever is already there. Safe to run again.
# `--running` installs only what building and running the system need (the start command): no fuzzing
# toolchain, no browser for the tests. `--server` only what building the backend needs (the start command
# when it serves the prebuilt browser package): cargo.
set -euo pipefail
cd "$(dirname "$0")/.."
for_tests=1
if [ "${1:-}" = "--running" ]; then for_tests=""; fi

log() { printf '\033[1;34m[setup]\033[0m %s\n' "$*"; }
export PATH="$HOME/.cargo/bin:$PATH"

if [ "${1:-}" = "--server" ]; then
  command -v cargo >/dev/null || { echo "cargo is needed (install Rust with rustup first)" >&2; exit 1; }
  log "ready to build the server: $(cargo --version)"
  exit 0
fi

if ! command -v cargo >/dev/null; then
  echo "cargo is needed (install Rust with rustup first)" >&2
  exit 1
fi

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# The wasm-bindgen CLI must be exactly the version of the crate in Cargo.lock.
bindgen_version=$(awk '/^name = "wasm-bindgen"$/ {getline; gsub(/"/, "", $3); print $3; exit}' Cargo.lock)
if ! wasm-bindgen --version 2>/dev/null | grep -qF " ${bindgen_version}"; then
  log "installing wasm-bindgen-cli ${bindgen_version} (builds from source, about 3 minutes)"
  # Without its TLS feature: its test runner only talks to a local ChromeDriver here, and leaving out
  # rustls (and ring's C build) shortens the install.
  cargo install wasm-bindgen-cli --version "${bindgen_version}" --no-default-features --force
fi
# wasm-pack runs the WebAssembly tests (`wasm-pack test`); building what the system serves needs only
# cargo and wasm-bindgen (scripts/build-pkg.sh --web).
if [ -n "$for_tests" ] && ! command -v wasm-pack >/dev/null; then
  log "installing wasm-pack (builds from source, about 2 minutes)"
  cargo install wasm-pack
fi

if [ -n "$for_tests" ] && ! rustup toolchain list | grep -q '^nightly'; then
  log "installing the nightly toolchain (for cargo fuzz)"
  rustup toolchain install nightly --profile minimal
fi
if [ -n "$for_tests" ] && ! command -v cargo-fuzz >/dev/null; then
  log "installing cargo-fuzz (builds from source, about 1 minute)"
  cargo install cargo-fuzz
fi

apt_updated=""
apt_install() {
  if [ -z "$apt_updated" ]; then apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}
if [ -n "$for_tests" ] && { [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; }; then
  log "installing Debian's chromium and chromium-driver"
  apt_install chromium chromium-driver
fi
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  log "installing node and npm"
  apt_install nodejs npm
fi
# schemathesis (PyPI) for the API schema checks (scripts/api-schema-test.sh), in a virtual environment under
# the ignored target/ folder.
schemathesis_version=4.32.5
if [ -n "$for_tests" ] && ! target/schemathesis-venv/bin/st --version 2>/dev/null | grep -qF "$schemathesis_version"; then
  log "installing schemathesis ${schemathesis_version} into target/schemathesis-venv (about 1 minute)"
  if ! command -v python3 >/dev/null || ! python3 -m venv --help >/dev/null 2>&1; then
    apt_install python3 python3-venv
  fi
  python3 -m venv target/schemathesis-venv || { apt_install python3-venv && python3 -m venv target/schemathesis-venv; }
  target/schemathesis-venv/bin/pip install -q --disable-pip-version-check \
    "schemathesis==${schemathesis_version}" "openapi-spec-validator==0.9.0"
fi
# PostgreSQL (for the conformance and multi-instance tests) is started with the machine; start it if not.
if [ -n "$for_tests" ] && command -v pg_ctlcluster >/dev/null && ! (echo > /dev/tcp/127.0.0.1/5432) 2>/dev/null; then
  log "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
fi
log "toolchain ready: $(cargo --version), $(wasm-pack --version 2>/dev/null || echo "no wasm-pack"), $(wasm-bindgen --version), node $(node --version)"
