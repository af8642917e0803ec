#!/bin/bash
# ingest.sh - the server's ingest benchmarks in one run, each next to its
# ceiling measured in the same run (docs/BENCHMARKS.md, "Ingest server"):
#   1. GET /healthz req/s                     (the HTTP ceiling)
#   2. single-message signed ingest req/s, p50/p99 (and the handler's
#      p50/p99 from the access log, commits and requests per commit): the
#      chat set's lines, then the demo year's own messages one a request
#      for SECONDS_EACH (the district's mix as single messages)
#   3. batched ingest msgs/s, 1,000 per request: the chat set's labelled
#      lines (57% open a lead), then the demo year's own messages in time
#      order for SECONDS_EACH (the district's mix: about 4% open a lead)
#   4. the same rows through store_message_ingest_batch in-process, in
#      batches of 1 and of 1,000             (the storage ceilings), and in
#      batches of 1,000 with what each message causes written with it (its
#      lead, case and notifications: bench_ingest store ... effects; "-"
#      with a BENCH_BIN from before that mode); the same two ceilings for
#      the demo year's messages (store ... --from year.db)
#   5. the demo's 670,000-message year replayed through the API (time)
# Outbound messages go to a local receiver (build/bench/bench_sink, started
# here; every group and staff target rebased to it, each POST answered 200
# {"errcode":0}), so the outbox worker is measured delivering; the run ends
# with the worker's counts (sent, failed, deferred by a target's minute) and
# the sink's (requests, repeated idempotency keys). SINK=0 keeps the demo's
# targets, which never resolve: every delivery fails and is retried.
# The server runs on a fresh demo database (release build, SQLite on disk
# under var/bench, synchronous=FULL) on a free loopback port with its default
# thread count. Environment: SECONDS_EACH (default 10), CONNS (64),
# BATCH_CONNS (4), THREADS (serve --threads; default: the server's own),
# REPLAY (1; 0 skips step 5, and the year for step 3 then has 200,000
# messages), NY (build/nuanyang), BENCH_BIN (the load
# generator and storage ceiling, build/bench/bench_ingest; another build's
# for a before/after run), SINK_BIN (build/bench/bench_sink), OUTBOX_RATE
# (serve --outbox-rate, requests to one target a minute; default 1000, the
# most allowed: the bench sends a group a message every few seconds, and at
# the production 20 most rows would wait for their target's minute),
# BENCH_DIR (var/bench; a
# tmpfs directory such as /dev/shm/nyb shows the server without the disk's
# flush, which is not durable), PG (a libpq conninfo of a PostgreSQL
# maintenance database: the same run on PostgreSQL, databases nyb_* created
# there and dropped first; give the cluster fsync=on for durable figures).
set -eu
cd "$(dirname "$0")/.."
NY=${NY:-build/nuanyang}
B=${BENCH_BIN:-build/bench/bench_ingest}
secs=${SECONDS_EACH:-10} conns=${CONNS:-64} bconns=${BATCH_CONNS:-4}
dir=${BENCH_DIR:-var/bench}
rm -rf "$dir" && mkdir -p "$dir"
pid="" spid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; [ -n "$spid" ] && kill "$spid" 2>/dev/null; wait 2>/dev/null; true' EXIT

echo "creating the demo district (${PG:+PostgreSQL, }$dir) ..."
mk() { # DB: a demo district with the default policies and lexicon
    $NY demo --db "$1" >/dev/null
    $NY import --db "$1" policies data/policies.csv >/dev/null
    $NY import --db "$1" lexicon data/lexicon.csv >/dev/null
}
# db NAME: the database NAME of this run (a file, or a PostgreSQL database)
db() { if [ -n "${PG:-}" ]; then echo "$PG dbname=nyb_$1"; else echo "$dir/$1.db"; fi; }
pgsql() { psql -q -v ON_ERROR_STOP=1 "$PG" -c "$1" >/dev/null; }
if [ -n "${PG:-}" ]; then
    for d in server ceiling1 ceiling1000 ceilingfx ceilingy ceilingyfx year; do
        pgsql "DROP DATABASE IF EXISTS nyb_$d"
    done
    pgsql "CREATE DATABASE nyb_server"
fi
mk "$(db server)"
if [ -n "${PG:-}" ]; then
    pgsql "CREATE DATABASE nyb_ceiling1 TEMPLATE nyb_server"
    pgsql "CREATE DATABASE nyb_ceiling1000 TEMPLATE nyb_server"
    pgsql "CREATE DATABASE nyb_ceilingfx TEMPLATE nyb_server"
    pgsql "CREATE DATABASE nyb_ceilingy TEMPLATE nyb_server"
    pgsql "CREATE DATABASE nyb_ceilingyfx TEMPLATE nyb_server"
    pgsql "CREATE DATABASE nyb_year"
else
    for d in ceiling1 ceiling1000 ceilingfx ceilingy ceilingyfx; do cp "$dir/server.db" "$dir/$d.db"; done
fi
year_msgs=$([ "${REPLAY:-1}" = 1 ] && echo 670000 || echo 200000)
echo "creating the demo year ($year_msgs messages) as the source of the district's mix ..."
$NY demo --db "$(db year)" --messages "$year_msgs" >/dev/null
$NY export --db "$(db server)" groups - | python3 -c '
import csv, sys
for g in csv.DictReader(sys.stdin): print(g["external_id"])' >"$dir/groups"
cut -f3 ../shared/datasets/group_messages_train.tsv >"$dir/texts" # read at run time, not copied
$NY connector add --db "$(db server)" bench >"$dir/cred"
key=$(awk '$1=="key"{print $2}' "$dir/cred") secret=$(awk '$1=="secret"{print $2}' "$dir/cred")
$NY connector add --db "$(db server)" replay >"$dir/cred2"
rkey=$(awk '$1=="key"{print $2}' "$dir/cred2") rsecret=$(awk '$1=="secret"{print $2}' "$dir/cred2")
$NY connector add --db "$(db server)" mix >"$dir/cred3"
mkey=$(awk '$1=="key"{print $2}' "$dir/cred3") msecret=$(awk '$1=="secret"{print $2}' "$dir/cred3")
$NY connector add --db "$(db server)" mix1 >"$dir/cred4"
m1key=$(awk '$1=="key"{print $2}' "$dir/cred4") m1secret=$(awk '$1=="secret"{print $2}' "$dir/cred4")

sinkinfo=""
if [ "${SINK:-1}" = 1 ]; then
    ${SINK_BIN:-build/bench/bench_sink} 0 >"$dir/sink.out" 2>&1 &
    spid=$!
    for _ in $(seq 50); do grep -q '^port=' "$dir/sink.out" && break; sleep 0.1; done
    sport=$(sed -n 's/^port=//p' "$dir/sink.out")
    $NY outbox rebase --db "$(db server)" "http://127.0.0.1:$sport" >/dev/null
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
$NY serve --db "$(db server)" --listen "127.0.0.1:$port" ${THREADS:+--threads "$THREADS"} \
    --outbox-rate "${OUTBOX_RATE:-1000}" 2>"$dir/server.log" &
pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done

val() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<" $1"; }
echo "== $B get $port $conns $secs /healthz"
get=$($B get "$port" "$conns" "$secs" /healthz); echo "$get"
# metric NAME: a counter of the server's /metrics
metric() { curl -s "http://127.0.0.1:$port/metrics" | awk -v n="$1" '$1==n{print $2}'; }
c0=$(metric nuanyang_ingest_commits_total) m0=$(metric nuanyang_ingest_commit_requests_total)
l0=$(wc -l <"$dir/server.log")
echo "== $B post $port $conns $secs 1 KEY SECRET groups texts"
one=$($B post "$port" "$conns" "$secs" 1 "$key" "$secret" "$dir/groups" "$dir/texts"); echo "$one"
c1=$(metric nuanyang_ingest_commits_total) m1=$(metric nuanyang_ingest_commit_requests_total)
# the handler's share of the latency: the access log's ms of the single-message requests
handler=$(tail -n +$((l0 + 1)) "$dir/server.log" | python3 -c '
import json, sys
ms = sorted(d["ms"] for d in map(json.loads, (l for l in sys.stdin if l.startswith("{")))
            if d.get("path") == "/api/v1/messages")
print("%.2f ms / %.2f ms" % (ms[len(ms) // 2], ms[int(len(ms) * 0.99)]) if ms else "-")')
commits="$((c1 - c0)) commits ($(python3 -c "import sys; print('%.0f/s, %.1f requests each' % ((int(sys.argv[1]) - int(sys.argv[2])) / float(sys.argv[5]), (int(sys.argv[3]) - int(sys.argv[4])) / max(1, int(sys.argv[1]) - int(sys.argv[2]))))" "$c1" "$c0" "$m1" "$m0" "$secs"))"
echo "single: handler p50/p99 $handler; $commits"
echo "== $B replay $port $conns year.db KEY SECRET $secs 0 1 (the district's mix, one message a request)"
c2=$(metric nuanyang_ingest_commits_total) m2=$(metric nuanyang_ingest_commit_requests_total)
onemix=$($B replay "$port" "$conns" "$(db year)" "$m1key" "$m1secret" "$secs" 0 1 2>/dev/null) || onemix=""
c3=$(metric nuanyang_ingest_commits_total) m3=$(metric nuanyang_ingest_commit_requests_total)
echo "${onemix:-(this bench_ingest cannot replay one message a request)}"
mixcommits="$((c3 - c2)) commits ($(python3 -c "import sys; print('%.1f requests each' % ((int(sys.argv[1]) - int(sys.argv[2])) / max(1, int(sys.argv[3]) - int(sys.argv[4]))))" "$m3" "$m2" "$c3" "$c2"))"
echo "== $B post $port $bconns $secs 1000 KEY SECRET groups texts"
batch=$($B post "$port" "$bconns" "$secs" 1000 "$key" "$secret" "$dir/groups" "$dir/texts"); echo "$batch"
echo "== $B replay $port $bconns year.db KEY SECRET $secs (the district's mix)"
mix=$($B replay "$port" "$bconns" "$(db year)" "$mkey" "$msecret" "$secs" 2>/dev/null) || mix=""
echo "${mix:-(this bench_ingest cannot replay for a fixed time)}"
replay=""
if [ "${REPLAY:-1}" = 1 ]; then
    echo "== $B replay $port $bconns year.db KEY SECRET"
    replay=$($B replay "$port" "$bconns" "$(db year)" "$rkey" "$rsecret"); echo "$replay"
fi
outbox="sent $(metric nuanyang_outbox_sent_total), failed $(metric nuanyang_outbox_failures_total), deferred $(metric nuanyang_outbox_deferred_total), waiting $(metric nuanyang_outbox_depth)"
kill -TERM "$pid"; wait "$pid" || true; pid=""
if [ -n "$spid" ]; then
    kill -TERM "$spid"; wait "$spid" || true; spid=""
    sinkinfo=$(grep '^mode=sink' "$dir/sink.out")
fi

n1=$(( $(val "$one" requests) )); n1=$(( n1 < 2000 ? n1 : 2000 )) # one flush per row: a few seconds
echo "== $B store ceiling1.db 1 $n1 groups texts"
st1=$($B store "$(db ceiling1)" 1 "$n1" "$dir/groups" "$dir/texts"); echo "$st1"
echo "== $B store ceiling1000.db 1000 200000 groups texts"
st1000=$($B store "$(db ceiling1000)" 1000 200000 "$dir/groups" "$dir/texts"); echo "$st1000"
echo "== $B store ceilingfx.db 1000 20000 groups texts effects"
stfx=$($B store "$(db ceilingfx)" 1000 20000 "$dir/groups" "$dir/texts" effects 2>/dev/null) || stfx=""
echo "${stfx:-(this bench_ingest has no effects mode)}"
echo "== $B store ceilingy.db 1000 100000 --from year.db [effects] (the district's mix)"
sty=$($B store "$(db ceilingy)" 1000 100000 --from "$(db year)" 2>/dev/null) || sty=""
styfx=$($B store "$(db ceilingyfx)" 1000 50000 --from "$(db year)" effects 2>/dev/null) || styfx=""
echo "${sty:-(this bench_ingest has no --from)}"; echo "$styfx"

echo "== dd if=/dev/zero of=$dir/dd bs=4k count=500 oflag=dsync (the disk's flush)"
ddt=$(dd if=/dev/zero of="$dir/dd" bs=4k count=500 oflag=dsync 2>&1 | sed -n 's/.* copied, \([0-9.]*\) s.*/\1/p')
rm -f "$dir/dd"
flush_ms=$(python3 -c "import sys; print('%.2f' % (float(sys.argv[1]) * 1000 / 500))" "$ddt"); echo "flush_ms=$flush_ms"

ratio() { python3 -c "import sys; print('%.2f' % (float(sys.argv[1]) / float(sys.argv[2])))" "$1" "$2"; }
echo
echo "| measurement | rate | p50 | p99 | ratio to its ceiling |  (storage rows: p50/p99 of one commit)"
echo "|---|---|---|---|---|"
echo "| GET /healthz (HTTP ceiling), $conns conns | $(val "$get" req_per_s) req/s | $(val "$get" p50_ms) ms | $(val "$get" p99_ms) ms | 1 |"
echo "| single-message ingest, $conns conns | $(val "$one" req_per_s) req/s | $(val "$one" p50_ms) ms | $(val "$one" p99_ms) ms | $(ratio "$(val "$one" req_per_s)" "$(val "$get" req_per_s)") of HTTP, $(ratio "$(val "$one" req_per_s)" "$(val "$st1" rows_per_s)") of storage (1 row/commit) |"
echo "| batched ingest (1,000/request), $bconns conns | $(val "$batch" msgs_per_s) msg/s | $(val "$batch" p50_ms) ms | $(val "$batch" p99_ms) ms | $(ratio "$(val "$batch" msgs_per_s)" "$(val "$st1000" rows_per_s)") of storage (1,000 rows/commit) |"
echo "| … in the handler (access log) p50 / p99; group commits | | $handler | | $commits |"
if [ -n "$onemix" ]; then
    echo "| single-message ingest, the demo year's messages (the district's mix), $conns conns | $(val "$onemix" req_per_s) req/s | $(val "$onemix" p50_ms) ms | $(val "$onemix" p99_ms) ms | $(ratio "$(val "$onemix" req_per_s)" "$(val "$get" req_per_s)") of HTTP; $mixcommits |"
fi
echo "| storage ceiling, 1 row per commit (in-process) | $(val "$st1" rows_per_s) rows/s | $(val "$st1" commit_p50_ms) ms | $(val "$st1" commit_p99_ms) ms (max $(val "$st1" commit_max_ms)) | |"
echo "| storage ceiling, 1,000 rows per commit (in-process) | $(val "$st1000" rows_per_s) rows/s | $(val "$st1000" commit_p50_ms) ms | $(val "$st1000" commit_p99_ms) ms (max $(val "$st1000" commit_max_ms)) | |"
if [ -n "$mix" ] && [ -n "$sty" ]; then
    echo "| batched ingest, the demo year's messages (the district's mix), $bconns conns | $(val "$mix" msgs_per_s) msg/s | $(val "$mix" p50_ms) ms | $(val "$mix" p99_ms) ms | $(ratio "$(val "$mix" msgs_per_s)" "$(val "$sty" rows_per_s)") of its rows, $(ratio "$(val "$mix" msgs_per_s)" "$(val "$styfx" rows_per_s)") of its rows with effects |"
    echo "| storage ceiling of the mix, 1,000 rows per commit | $(val "$sty" rows_per_s) rows/s | $(val "$sty" commit_p50_ms) ms | $(val "$sty" commit_p99_ms) ms (max $(val "$sty" commit_max_ms)) | |"
    echo "| … with their effects ($(val "$styfx" leads) leads in $(val "$styfx" rows) rows) | $(val "$styfx" rows_per_s) rows/s | $(val "$styfx" commit_p50_ms) ms | $(val "$styfx" commit_p99_ms) ms (max $(val "$styfx" commit_max_ms)) | |"
fi
if [ -n "$stfx" ]; then
    echo "| … the same rows with their effects ($(val "$stfx" leads) leads in $(val "$stfx" rows) rows) | $(val "$stfx" rows_per_s) rows/s | $(val "$stfx" commit_p50_ms) ms | $(val "$stfx" commit_p99_ms) ms (max $(val "$stfx" commit_max_ms)) | batched ingest $(ratio "$(val "$batch" msgs_per_s)" "$(val "$stfx" rows_per_s)") of it |"
else
    echo "| … the same rows with their effects | - | | | |"
fi
[ -n "$replay" ] && echo "| replay of the demo year: $(val "$replay" messages) messages | $(val "$replay" seconds) s, $(val "$replay" msgs_per_s) msg/s | | | $(ratio "$(val "$replay" msgs_per_s)" "$(val "$st1000" rows_per_s)") of storage |"
if [ -n "$sinkinfo" ]; then sinkcol="sink: $(val "$sinkinfo" requests) requests, $(val "$sinkinfo" repeats) repeated keys"; else sinkcol="no sink: the demo's targets"; fi
echo "| outbox worker (whole run): $outbox | | | | $sinkcol |"
echo "| one synchronous 4 KiB write (dd oflag=dsync) | $flush_ms ms | | | |"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "errors: get $(val "$get" errors), single $(val "$one" errors)${onemix:+, single mix $(val "$onemix" errors)}, batch $(val "$batch" errors)${mix:+, mix $(val "$mix" errors)}${replay:+, replay $(val "$replay" errors)}"
