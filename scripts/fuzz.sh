#!/usr/bin/env bash
# Runs every fuzz target for a while (default 20 s each; `scripts/fuzz.sh 600` for a longer run).
# New inputs go to a scratch corpus so the committed seeds stay small; crashes land in fuzz/artifacts/.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
export PATH="$HOME/.cargo/bin:$PATH"
seconds=${1:-20}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for target in $(cargo +nightly fuzz list); do
  mkdir -p "$scratch/$target"
  echo "fuzz target $target for ${seconds}s"
  status=0
  cargo +nightly fuzz run "$target" "$scratch/$target" "corpus/$target" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -print_final_stats=1 >"$scratch/$target.log" 2>&1 || status=$?
  grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb)|^#[0-9]+ *DONE|panicked|ERROR|SUMMARY' "$scratch/$target.log" || true
  if [ "$status" -ne 0 ]; then
    tail -40 "$scratch/$target.log" >&2
    echo "fuzz target $target failed (exit $status); see fuzz/artifacts/$target" >&2
    exit 1
  fi
done
