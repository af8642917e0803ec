#!/bin/bash
# run.sh - the benchmarks behind `make bench`. Each prints its own figures;
# docs/BENCHMARKS.md records results with the command that produced them.
set -eu
cd "$(dirname "$0")/.."
for b in build/bench/bench_*; do
    [ -x "$b" ] || continue
    echo "== $(basename "$b")"
    "$b" "$@"
done
