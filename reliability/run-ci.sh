#!/usr/bin/env bash
# The CI-sized reliability checks: concurrent histories on two server processes (also with SIGKILL
# restarts), the authorisation matrix, one-time codes, sessions, enumeration timing and the bad-request
# catalogue. Debug build: faster overall than a release build with LTO on two cores.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target/server}"
exec cargo test -p renche-reliability --test reliability -- --test-threads 3 "$@"
