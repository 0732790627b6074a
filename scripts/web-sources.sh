#!/usr/bin/env bash
# Prints one hash of every file the browser's WebAssembly package is built from (the core's sources, its
# manifest and lock file, the patched crates under vendor/, the build scripts). prebuilt/pkg-web.sources holds the hash of the sources that
# prebuilt/pkg-web was built from: when the two agree, the prebuilt package is what a build would give.
set -euo pipefail
cd "$(dirname "$0")/.."
{
  git ls-files -co --exclude-standard -- src vendor Cargo.toml Cargo.lock scripts/build-pkg.sh scripts/one-package.mjs \
    | LC_ALL=C sort | while IFS= read -r f; do
      [ -f "$f" ] && printf '%s %s\n' "$(sha256sum < "$f" | cut -d' ' -f1)" "$f"
    done
} | sha256sum | cut -d' ' -f1
