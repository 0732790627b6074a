#!/usr/bin/env bash
# Builds what the running system serves: the WebAssembly package for the browser and the backend binary.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
bash scripts/build-pkg.sh
cargo build --release -p renche-server
