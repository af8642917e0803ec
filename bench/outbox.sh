#!/bin/bash
# outbox.sh - the outbox worker's delivery ceiling, next to the receiver's
# own, and what it does beside ingest (docs/BENCHMARKS.md, "Ingest server",
# the session-7 outbox worker subsection):
#   1. the receiver's ceiling: build/bench/bench_sink answering POSTs from
#      bench_ingest's load generator (CONNS connections, 5 s)
#   2. the worker alone: ROWS rows queued beforehand for 1,000 targets on the
#      sink (bench_outbox fill), drained by the worker with nothing else
#      running (bench_outbox drain): deliveries a second and CPU seconds
#   3. beside ingest: `nuanyang serve` on a fresh demo district whose targets
#      all point at the sink (--outbox-rate 1000, as bench/ingest.sh), signed
#      single-message ingest for SECONDS_EACH at 8, 16 and 64 connections
#      (rate, p50, p99, and the group commits' mean time from /metrics, which
#      includes waiting for the write lock the worker's turns take), then the
#      time the worker takes to drain what was left waiting (depth from
#      /metrics, polled every 0.1 s)
# Environment: ROWS (100000), SECONDS_EACH (5), CONNS (16), NY
# (build/nuanyang), OUTBOX_BIN (build/bench/bench_outbox), BENCH_BIN
# (build/bench/bench_ingest), SINK_BIN (build/bench/bench_sink) - another
# build's programs for a before/after run -, NICE (serve --outbox-nice N;
# unset: the server's default), SERVE_ARGS (more serve options), BENCH_DIR
# (var/bench-outbox), STEPS ("1 2 3").
set -eu
cd "$(dirname "$0")/.."
NY=${NY:-build/nuanyang}
OB=${OUTBOX_BIN:-build/bench/bench_outbox}
B=${BENCH_BIN:-build/bench/bench_ingest}
rows=${ROWS:-100000} secs=${SECONDS_EACH:-5} conns=${CONNS:-16} steps=${STEPS:-1 2 3}
dir=${BENCH_DIR:-var/bench-outbox}
rm -rf "$dir" && mkdir -p "$dir"
pid="" spid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; [ -n "$spid" ] && kill "$spid" 2>/dev/null; wait 2>/dev/null; true' EXIT
has() { case " $steps " in *" $1 "*) return 0 ;; esac; return 1; }
val() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<" $1"; }

${SINK_BIN:-build/bench/bench_sink} 0 >"$dir/sink.out" 2>&1 &
spid=$!
for _ in $(seq 50); do grep -q '^port=' "$dir/sink.out" && break; sleep 0.1; done
sport=$(sed -n 's/^port=//p' "$dir/sink.out")
cut -f3 ../shared/datasets/group_messages_train.tsv >"$dir/texts" # read at run time, not copied
seq 1 50 | sed 's/^/g/' >"$dir/sinkgroups"

if has 1; then
    echo "== $B post $sport $conns 5 1 k s ... (the receiver's own ceiling)"
    sink=$($B post "$sport" "$conns" 5 1 k s "$dir/sinkgroups" "$dir/texts"); echo "$sink"
fi
if has 2; then
    echo "== $OB fill $dir/drain.db $rows http://127.0.0.1:$sport; $OB drain $dir/drain.db $rows"
    $OB fill "$dir/drain.db" "$rows" "http://127.0.0.1:$sport"
    drain=$($OB drain "$dir/drain.db" "$rows" 300); echo "$drain"
fi
if has 3; then
    echo "creating the demo district ..."
    $NY demo --db "$dir/server.db" >/dev/null
    $NY import --db "$dir/server.db" policies data/policies.csv >/dev/null
    $NY import --db "$dir/server.db" lexicon data/lexicon.csv >/dev/null
    $NY export --db "$dir/server.db" groups - | python3 -c '
import csv, sys
for g in csv.DictReader(sys.stdin): print(g["external_id"])' >"$dir/groups"
    $NY connector add --db "$dir/server.db" bench >"$dir/cred"
    key=$(awk '$1=="key"{print $2}' "$dir/cred") secret=$(awk '$1=="secret"{print $2}' "$dir/cred")
    $NY outbox rebase --db "$dir/server.db" "http://127.0.0.1:$sport" >/dev/null
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    # shellcheck disable=SC2086
    $NY serve --db "$dir/server.db" --listen "127.0.0.1:$port" --outbox-rate 1000 \
        ${NICE:+--outbox-nice "$NICE"} ${SERVE_ARGS:-} 2>"$dir/server.log" &
    pid=$!
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
    metric() { curl -s "http://127.0.0.1:$port/metrics" | awk -v n="$1" '$1==n{print $2}'; }
    declare -A single commit
    for c in 8 16 64; do
        s0=$(metric nuanyang_ingest_commit_seconds_sum) n0=$(metric nuanyang_ingest_commit_seconds_count)
        single[$c]=$($B post "$port" "$c" "$secs" 1 "$key" "$secret" "$dir/groups" "$dir/texts")
        s1=$(metric nuanyang_ingest_commit_seconds_sum) n1=$(metric nuanyang_ingest_commit_seconds_count)
        # the group commits' mean time, begin (waiting for the write lock) to durable
        commit[$c]=$(python3 -c "import sys; a=[float(x) for x in sys.argv[1:]]; print('%.2f ms over %d commits' % ((a[1] - a[0]) * 1000 / max(1, a[3] - a[2]), a[3] - a[2]))" "$s0" "$s1" "$n0" "$n1")
        echo "== single, $c conns: ${single[$c]}; commits ${commit[$c]}"
    done
    left=$(metric nuanyang_outbox_depth) t0=$(date +%s.%N)
    while [ "$(metric nuanyang_outbox_depth)" != 0 ]; do sleep 0.1; done
    drain_s=$(python3 -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$t0" "$(date +%s.%N)")
    outbox="sent $(metric nuanyang_outbox_sent_total), failed $(metric nuanyang_outbox_failures_total), deferred $(metric nuanyang_outbox_deferred_total)"
    kill -TERM "$pid"; wait "$pid" || true; pid=""
fi
kill -TERM "$spid"; wait "$spid" || true; spid=""
sinkinfo=$(grep '^mode=sink' "$dir/sink.out")

echo
echo "| measurement | rate | p50 | p99 | |"
echo "|---|---|---|---|---|"
has 1 && echo "| the receiver alone (bench_sink), $conns conns | $(val "$sink" req_per_s) req/s | $(val "$sink" p50_ms) ms | $(val "$sink" p99_ms) ms | ceiling |"
has 2 && echo "| the worker alone, $rows rows queued for 1,000 targets | $(val "$drain" rows_per_s) rows/s | | | $(val "$drain" seconds) s, CPU $(val "$drain" cpu_s) s$(has 1 && python3 -c "import sys; print(', %.2f of the receiver' % (float(sys.argv[1]) / float(sys.argv[2])))" "$(val "$drain" rows_per_s)" "$(val "$sink" req_per_s)") |"
if has 3; then
    for c in 8 16 64; do
        echo "| single-message ingest beside the worker, $c conns | $(val "${single[$c]}" req_per_s) req/s | $(val "${single[$c]}" p50_ms) ms | $(val "${single[$c]}" p99_ms) ms | errors $(val "${single[$c]}" errors); commit ${commit[$c]} |"
    done
    echo "| left waiting after ingest: $left rows, drained in | $drain_s s | | | outbox: $outbox |"
fi
echo "| the sink over the whole run | $(val "$sinkinfo" requests) requests | | | $(val "$sinkinfo" connections) connections, $(val "$sinkinfo" repeats) repeated keys |"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
