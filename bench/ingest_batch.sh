#!/bin/bash
# ingest_batch.sh - batched ingest by concurrency ({"messages":[…]}, 1,000 and
# 100 messages a request, 1/2/4/8 requests in flight): msg/s, p50 and p99 of
# a request, for
#   - the district's mix: messages of the demo year, each in its own group
#     (about 4% open a lead), and
#   - the chat set: the labelled lines of ../shared/datasets/group_messages_train.tsv
#     over the district's groups in turn (57% open a lead),
# each on a server over a fresh demo database (release build, SQLite on disk
# under BENCH_DIR, synchronous=FULL, its default threads), delivering its
# outbox to a local receiver (bench_sink) while it ingests. Beside them, in
# the same run: GET /healthz (the HTTP ceiling) on each server, and the
# in-process storage ceilings of the same rows (`bench_ingest store`, 1,000
# rows a commit: the rows alone, and with what they cause written with them).
# Each point also gives the server's CPU per message (utime + stime of the
# process over the point, /proc/PID/stat), the load generator's own CPU per
# message (it shares the two cores), the rows the outbox worker delivered
# during the point and the backlog it left (nuanyang_outbox_depth).
# Environment: SECONDS_EACH (5), CONNS_LIST ("1 2 4 8"), BATCHES ("1000 100"),
# SETS ("mix chat"), NY (build/nuanyang), BENCH_BIN (build/bench/bench_ingest),
# SINK_BIN (build/bench/bench_sink), BENCH_DIR (var/bench_batch),
# MIX_MESSAGES (demo year size read for the mix, 50000), CEILING_ROWS
# (rows of each storage ceiling, 50000; 20000 with effects), THREADS (serve
# --threads), SERVE_ARGS (more serve options, e.g. "--pool-nice 0"), CEILINGS
# (1; 0 skips them).
set -eu
cd "$(dirname "$0")/.."
NY=${NY:-build/nuanyang}
B=${BENCH_BIN:-build/bench/bench_ingest}
secs=${SECONDS_EACH:-5} list=${CONNS_LIST:-1 2 4 8} batches=${BATCHES:-1000 100}
dir=${BENCH_DIR:-var/bench_batch}
crows=${CEILING_ROWS:-50000}
rm -rf "$dir" && mkdir -p "$dir"
pid="" spid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; [ -n "$spid" ] && kill "$spid" 2>/dev/null; wait 2>/dev/null; true' EXIT

echo "creating the demo district and a year of ${MIX_MESSAGES:-50000} messages ($dir) ..."
$NY demo --db "$dir/base.db" >/dev/null
$NY import --db "$dir/base.db" policies data/policies.csv >/dev/null
$NY import --db "$dir/base.db" lexicon data/lexicon.csv >/dev/null
$NY demo --db "$dir/year.db" --messages "${MIX_MESSAGES:-50000}" >/dev/null
$NY export --db "$dir/base.db" groups - | python3 -c '
import csv, sys
for g in csv.DictReader(sys.stdin): print(g["external_id"])' >"$dir/chat_groups"
cut -f3 ../shared/datasets/group_messages_train.tsv >"$dir/chat_texts" # read at run time, not copied
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
val() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<" $1"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
py() { python3 -c "import sys; a = [float(x) for x in sys.argv[1:]]; print($1)" "${@:2}"; }
# run NAME: a server on a fresh copy, healthz, then each batch size and concurrency
run() {
    local groups="$dir/$1_groups" texts="$dir/$1_texts"
    cp "$dir/base.db" "$dir/$1.db"
    $NY connector add --db "$dir/$1.db" bench >"$dir/cred_$1"
    local key secret port line hz metric t0 t1 s0 s1 tick sent depth n cpu sport
    # a receiver of its own: the idempotency keys of two databases may meet
    ${SINK_BIN:-build/bench/bench_sink} 0 >"$dir/sink_$1.out" 2>&1 &
    spid=$!
    for _ in $(seq 50); do grep -q '^port=' "$dir/sink_$1.out" && break; sleep 0.1; done
    sport=$(sed -n 's/^port=//p' "$dir/sink_$1.out")
    key=$(awk '$1=="key"{print $2}' "$dir/cred_$1") secret=$(awk '$1=="secret"{print $2}' "$dir/cred_$1")
    $NY outbox rebase --db "$dir/$1.db" "http://127.0.0.1:$sport" >/dev/null
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    $NY serve --db "$dir/$1.db" --listen "127.0.0.1:$port" ${THREADS:+--threads "$THREADS"} ${SERVE_ARGS:-} \
        --outbox-rate 1000 2>"$dir/server_$1.log" &
    pid=$!
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
    metric() { curl -s "http://127.0.0.1:$port/metrics" | awk -v n="$1" '$1==n{print $2}'; }
    tick=$(getconf CLK_TCK)
    line=$($B get "$port" 64 "$secs" /healthz)
    echo "== $1: get 64 conns: $line" >&2
    hz=$(val "$line" req_per_s)
    for b in $batches; do
        for c in $list; do
            t0=$(cpu_ticks "$pid") s0=$(metric nuanyang_outbox_sent_total)
            line=$($B post "$port" "$c" "$secs" "$b" "$key" "$secret" "$groups" "$texts")
            t1=$(cpu_ticks "$pid") s1=$(metric nuanyang_outbox_sent_total)
            depth=$(metric nuanyang_outbox_depth)
            n=$(( $(val "$line" requests) * b ))
            sent=$((s1 - s0))
            cpu=$(py "'%.1f' % ((a[1] - a[0]) / a[2] * 1e6 / max(1, a[3]))" "$t0" "$t1" "$tick" "$n")
            echo "== $1: post batch $b, $c in flight: $line server_cpu_us_per_msg=$cpu outbox_sent=$sent outbox_depth=$depth" >&2
            printf '| %s | %s | %s | %s | %s / %s ms | %s | %s | %s | %s |\n' "$1" "$b" "$c" \
                "$(val "$line" msgs_per_s)" "$(val "$line" p50_ms)" "$(val "$line" p99_ms)" "$cpu" \
                "$(py "'%.1f' % (a[0] * 1e6 / max(1, a[1]))" "$(val "$line" client_cpu_s)" "$n")" \
                "$sent" "$depth" >>"$dir/rows"
        done
    done
    local commits members
    commits=$(metric nuanyang_ingest_commit_size_count) members=$(metric nuanyang_ingest_commit_size_sum)
    local summary sinkinfo
    summary="$1: healthz $hz req/s (64 conns); $commits group commits, $(py "'%.1f' % (a[0] / max(1, a[1]))" "$members" "$commits") requests each; outbox sent $(metric nuanyang_outbox_sent_total), failed $(metric nuanyang_outbox_failures_total), waiting at the end $(metric nuanyang_outbox_depth)"
    kill -TERM "$pid"; wait "$pid" || true; pid=""
    kill -TERM "$spid"; wait "$spid" || true; spid=""
    sinkinfo=$(grep '^mode=sink' "$dir/sink_$1.out" || true)
    echo "| $summary; sink: $(val "$sinkinfo" requests) requests, $(val "$sinkinfo" repeats) repeated keys |" >>"$dir/notes"
}
for set in ${SETS:-mix chat}; do run "$set"; done

ceil=""
if [ "${CEILINGS:-1}" = 1 ]; then
    fx=$((crows < 20000 ? crows : 20000))
    for d in cmix cmixfx cchat cchatfx; do cp "$dir/base.db" "$dir/$d.db"; done
    cm=$($B store "$dir/cmix.db" 1000 "$crows" --from "$dir/year.db"); echo "== ceiling mix: $cm" >&2
    cmf=$($B store "$dir/cmixfx.db" 1000 "$fx" --from "$dir/year.db" effects); echo "== ceiling mix effects: $cmf" >&2
    cc=$($B store "$dir/cchat.db" 1000 "$crows" "$dir/chat_groups" "$dir/chat_texts"); echo "== ceiling chat: $cc" >&2
    ccf=$($B store "$dir/cchatfx.db" 1000 "$fx" "$dir/chat_groups" "$dir/chat_texts" effects); echo "== ceiling chat effects: $ccf" >&2
    ceil=$(printf '| storage ceiling, the mix, 1,000 rows a commit | %s rows/s (commit p50 %s ms, p99 %s ms) |\n' \
        "$(val "$cm" rows_per_s)" "$(val "$cm" commit_p50_ms)" "$(val "$cm" commit_p99_ms)"
        printf '| … with their effects (%s leads in %s rows) | %s rows/s |\n' "$(val "$cmf" leads)" "$(val "$cmf" rows)" "$(val "$cmf" rows_per_s)"
        printf '| storage ceiling, the chat set, 1,000 rows a commit | %s rows/s (commit p50 %s ms, p99 %s ms) |\n' \
        "$(val "$cc" rows_per_s)" "$(val "$cc" commit_p50_ms)" "$(val "$cc" commit_p99_ms)"
        printf '| … with their effects (%s leads in %s rows) | %s rows/s |\n' "$(val "$ccf" leads)" "$(val "$ccf" rows)" "$(val "$ccf" rows_per_s)")
fi
ddt=$(dd if=/dev/zero of="$dir/dd" bs=4k count=500 oflag=dsync 2>&1 | sed -n 's/.* copied, \([0-9.]*\) s.*/\1/p')
rm -f "$dir/dd"

echo
echo "| messages | batch | in flight | msg/s | p50 / p99 of a request | server CPU µs/msg | client CPU µs/msg | outbox rows delivered | outbox waiting after |"
echo "|---|---|---|---|---|---|---|---|---|"
cat "$dir/rows"
echo
cat "$dir/notes"
[ -n "$ceil" ] && echo "$ceil"
echo "| one synchronous 4 KiB write (dd oflag=dsync) | $(py "'%.2f' % (a[0] * 1000 / 500)" "$ddt") ms |"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
