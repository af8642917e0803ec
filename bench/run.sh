#!/bin/bash
# run.sh - the benchmarks behind `make bench`: every build/bench/bench_*
# program (in-process measurements, each against a baseline in the same run),
# then the end-to-end comparisons driven by scripts. Each prints its own
# figures; docs/BENCHMARKS.md records results with the command that made them.
set -eu
cd "$(dirname "$0")/.."
for b in build/bench/bench_*; do
    [ -x "$b" ] || continue
    case "$(basename "$b")" in bench_ingest | bench_sink | bench_outbox) continue ;; esac # driven by ingest.sh and outbox.sh
    echo "== $(basename "$b")"
    "$b"
done
echo "== triage_vs_fasttext.sh"
bench/triage_vs_fasttext.sh
echo "== ingest.sh"
bench/ingest.sh
echo "== ingest_curve.sh"
bench/ingest_curve.sh
echo "== ingest_batch.sh"
bench/ingest_batch.sh
echo "== outbox.sh"
bench/outbox.sh
