#!/usr/bin/env bash
# Builds what the running system serves: the WebAssembly package for the browser and the backend binary.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
bash scripts/build-pkg.sh --web
# The `start` profile: release code without whole-program LTO, built in a fraction of the time.
cargo build --profile start -p renche-server
