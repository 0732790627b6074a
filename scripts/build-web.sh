#!/usr/bin/env bash
# Builds what the running system serves: the WebAssembly package for the browser and the backend binary.
# `--server` builds only the backend (the prebuilt package is served).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
if [ "${1:-}" != "--server" ]; then bash scripts/build-pkg.sh --web; fi
# The `start` profile: release code without whole-program LTO, built in a fraction of the time.
cargo build --profile start -p renche-server
