#!/bin/bash
# ingest_curve.sh - single-message ingest by concurrency: rate, p50 and p99
# at 8, 16 and 64 connections (docs/BENCHMARKS.md, "Ingest server"), for
#   - the chat set: the labelled lines of ../shared/datasets/group_messages_train.tsv
#     over the district's groups in turn (57% open a lead), and
#   - the district's mix: messages of the demo year, each in its own group
#     (about 4% open a lead),
# next to GET /healthz (the HTTP ceiling) measured in the same run. Each
# point is `bench_ingest post PORT C SECONDS 1 …` on a server over a fresh
# demo database (release build, SQLite on disk under BENCH_DIR, its default
# threads), delivering to a local receiver (bench_sink) as bench/ingest.sh
# does; the chat set and the mix each get their own server and database.
# The table says at which concurrency p99 <= 10 ms holds.
# Environment: SECONDS_EACH (5), CONNS_LIST ("8 16 64"), NY (build/nuanyang),
# BENCH_BIN (build/bench/bench_ingest), SINK_BIN (build/bench/bench_sink),
# BENCH_DIR (var/bench_curve), MIX_MESSAGES (demo year size read for the mix,
# 20000), THREADS (serve --threads), SERVE_ARGS (more serve options).
set -eu
cd "$(dirname "$0")/.."
NY=${NY:-build/nuanyang}
B=${BENCH_BIN:-build/bench/bench_ingest}
secs=${SECONDS_EACH:-5} list=${CONNS_LIST:-8 16 64}
dir=${BENCH_DIR:-var/bench_curve}
rm -rf "$dir" && mkdir -p "$dir"
pid="" spid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; [ -n "$spid" ] && kill "$spid" 2>/dev/null; wait 2>/dev/null; true' EXIT

echo "creating the demo district and a year of ${MIX_MESSAGES:-20000} messages ($dir) ..."
$NY demo --db "$dir/base.db" >/dev/null
$NY import --db "$dir/base.db" policies data/policies.csv >/dev/null
$NY import --db "$dir/base.db" lexicon data/lexicon.csv >/dev/null
$NY demo --db "$dir/year.db" --messages "${MIX_MESSAGES:-20000}" >/dev/null
$NY export --db "$dir/base.db" groups - | python3 -c '
import csv, sys
for g in csv.DictReader(sys.stdin): print(g["external_id"])' >"$dir/groups"
cut -f3 ../shared/datasets/group_messages_train.tsv >"$dir/texts" # read at run time, not copied
# the mix: each message of the year with its own group, line by line (the
# client pairs line k of both files when they are as long)
python3 - "$dir/year.db" "$dir/mix_groups" "$dir/mix_texts" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
rows = db.execute("SELECT g.external_id, m.text FROM messages m JOIN chat_groups g"
                  " ON g.id = m.group_id ORDER BY m.id").fetchall()
with open(sys.argv[2], "w") as g, open(sys.argv[3], "w") as t:
    for ext, text in rows:
        text = " ".join(text.split())
        if text:
            g.write(ext + "\n")
            t.write(text + "\n")
EOF
${SINK_BIN:-build/bench/bench_sink} 0 >"$dir/sink.out" 2>&1 &
spid=$!
for _ in $(seq 50); do grep -q '^port=' "$dir/sink.out" && break; sleep 0.1; done
sport=$(sed -n 's/^port=//p' "$dir/sink.out")

val() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<" $1"; }
# run NAME GROUPS TEXTS: a server on a fresh copy, healthz, then each concurrency
run() {
    cp "$dir/base.db" "$dir/$1.db"
    $NY connector add --db "$dir/$1.db" bench >"$dir/cred_$1"
    local key secret port line
    key=$(awk '$1=="key"{print $2}' "$dir/cred_$1") secret=$(awk '$1=="secret"{print $2}' "$dir/cred_$1")
    $NY outbox rebase --db "$dir/$1.db" "http://127.0.0.1:$sport" >/dev/null
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    $NY serve --db "$dir/$1.db" --listen "127.0.0.1:$port" ${THREADS:+--threads "$THREADS"} ${SERVE_ARGS:-} \
        --outbox-rate 1000 2>"$dir/server_$1.log" &
    pid=$!
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
    line=$($B get "$port" 64 "$secs" /healthz)
    echo "== $1: get 64 conns: $line" >&2
    printf '| %s | %s req/s |' "$1" "$(val "$line" req_per_s)"
    for c in $list; do
        line=$($B post "$port" "$c" "$secs" 1 "$key" "$secret" "$2" "$3")
        echo "== $1: post $c conns: $line" >&2
        printf ' %s, %s / %s ms%s |' "$(val "$line" req_per_s)" "$(val "$line" p50_ms)" \
            "$(val "$line" p99_ms)" "$(python3 -c 'import sys; print(" ✓" if float(sys.argv[1]) <= 10 else "")' "$(val "$line" p99_ms)")"
    done
    echo
    kill -TERM "$pid"; wait "$pid" || true; pid=""
} >>"$dir/rows"
head="| messages | healthz (64 conns) |"
sep="|---|---|"
for c in $list; do head="$head C=$c req/s, p50 / p99 |"; sep="$sep---|"; done
run chat "$dir/groups" "$dir/texts"
run mix "$dir/mix_groups" "$dir/mix_texts"
kill -TERM "$spid"; wait "$spid" || true; spid=""
echo
echo "$head"
echo "$sep"
cat "$dir/rows"
echo "(✓: p99 <= 10 ms) load average: $(cut -d' ' -f1-3 /proc/loadavg)"
