#!/bin/bash
# cli_cluster.sh - two `nuanyang serve` nodes on one database. On either
# engine both nodes ingest into the same store (each message once, however
# many nodes it was sent to). On PostgreSQL, where several nodes are the
# supported deployment, the live feed crosses nodes: a lead ingested on node
# A reaches an event stream opened on node B for a caller whose scope holds
# it, once; not a caller outside that scope; A's own stream gets it once (no
# echo back through the database); and a long message's event arrives with
# its text cut to the channel's limit. Ends with "N passed, N failed".
. "$(dirname "$0")/lib_cli.sh"
pids=""
trap 'for p in $pids; do kill -KILL "$p" 2>/dev/null; done; rm -rf "$tmp"' EXIT
field() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$tmp/body" "$1" 2>/dev/null; }

db=$(fresh_db)
$NY demo --db "$db" >/dev/null 2>&1 || { bad "demo database"; finish; exit 1; }
$NY connector add --db "$db" bridge >"$tmp/cred"
key=$(awk '$1=="key"{print $2}' "$tmp/cred"); secret=$(awk '$1=="secret"{print $2}' "$tmp/cred")
$NY export --db "$db" groups - >"$tmp/groups.csv"
# a resident group of 前进街道 (street01's street) and one of another street
pick() { python3 -c 'import csv,sys; print([g["external_id"] for g in csv.DictReader(open(sys.argv[1])) if g["kind"]=="resident" and eval(sys.argv[2])][0])' "$tmp/groups.csv" "$1"; }
g_in=$(pick 'g["unit_code"].startswith("411571001")')
g_out=$(pick 'not g["unit_code"].startswith("411571001")')

start() { # NAME: starts a node on a free port, sets url_NAME
    local port
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    $NY serve --db "$db" --listen "127.0.0.1:$port" --threads 2 --no-outbox 2>"$tmp/log_$1" &
    pids="$pids $!"
    eval "url_$1=http://127.0.0.1:$port"
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && return; sleep 0.1; done
}
start a
start b
get() { curl -s -o "$tmp/body" -w '%{http_code}' "$@"; }
jpost() { curl -s -o "$tmp/body" -w '%{http_code}' -X POST -H 'Content-Type: application/json' "$@"; }
post() { # URL FILE: signed ingest
    local ts sig
    ts=$(date +%s)
    sig=$({ printf '%s' "$ts"; cat "$2"; } | openssl dgst -sha256 -hmac "$secret" | awk '{print $NF}')
    curl -s -o "$tmp/body" -w '%{http_code}' -X POST "$1/api/v1/messages" -H "X-Nuanyang-Key: $key" \
        -H "X-Nuanyang-Timestamp: $ts" -H "X-Nuanyang-Signature: sha256=$sig" --data-binary "@$2"
}
msg() { # ID TEXT GROUP
    printf '{"id":"%s","group":"%s","sender":{"id":"u-%s","name":"张三"},"text":"%s","time":"2026-05-01T08:30:00+08:00"}' \
        "$1" "$3" "$1" "$2"
}
token() { jpost "$url_a/api/v1/login" -d "{\"account\":\"$1\",\"password\":\"yangshan2026\"}" >/dev/null; field 'd["token"]'; }

is "node a is up" "$(get "$url_a/healthz")" 200
is "node b is up" "$(get "$url_b/healthz")" 200

# ---- one store behind both nodes ------------------------------------------------
msg m1 "请问低保怎么申请" "$g_in" >"$tmp/m1.json"
is "node a stores a message" "$(post "$url_a" "$tmp/m1.json")" 200
is "node b sees it as a duplicate" "$(post "$url_b" "$tmp/m1.json")" 200
is "duplicate across nodes" "$(field 'd["results"][0]["status"]')" duplicate
street=$(token street01)
get -H "Authorization: Bearer $street" "$url_b/api/v1/messages?q=%E4%BD%8E%E4%BF%9D" >/dev/null
is "node b lists the message once" "$(field 'd["total"]')" 1

# ---- the live feed across nodes (PostgreSQL) -------------------------------------
if [ -z "${NUANYANG_TEST_PG:-}" ]; then
    echo "# events between nodes need PostgreSQL (SQLite serves one node): checks skipped"
    finish
    exit
fi
gw=$(token gw411571001001001)
curl -sN --max-time 6 -H "Authorization: Bearer $street" "$url_b/api/v1/stream" >"$tmp/s_b" &
s1=$!
curl -sN --max-time 6 -H "Authorization: Bearer $street" "$url_a/api/v1/stream" >"$tmp/s_a" &
s2=$!
curl -sN --max-time 6 -H "Authorization: Bearer $gw" "$url_b/api/v1/stream" >"$tmp/s_gw" &
s4=$!
sleep 1
msg m2 "救命！三楼着火了，浓烟很大" "$g_in" >"$tmp/m2.json"
is "emergency ingested on node a" "$(post "$url_a" "$tmp/m2.json")" 200
msg m3 "小区门口的路灯坏了一个星期了" "$g_out" >"$tmp/m3.json"
is "report of another street ingested on node a" "$(post "$url_a" "$tmp/m3.json")" 200
long=$(python3 -c 'print("楼道里的电线老化冒火花，" + "非常危险，" * 900)')
msg m4 "$long" "$g_in" >"$tmp/m4.json"
is "long report ingested on node a" "$(post "$url_a" "$tmp/m4.json")" 200
wait "$s1" "$s2" "$s4" 2>/dev/null
is "node b's stream got the lead from node a" "$(grep -c '三楼着火了' "$tmp/s_b")" 1
is "as a lead event" "$(grep -B2 '三楼着火了' "$tmp/s_b" | grep -c '^event: lead')" 1
is "node a's own stream got it once (no echo)" "$(grep -c '三楼着火了' "$tmp/s_a")" 1
is "another street's lead is not shown on node b" "$(grep -c '路灯坏了' "$tmp/s_b")" 0
is "the long report arrived on node b" "$(grep -c '电线老化' "$tmp/s_b")" 1
is "its text was cut for the channel" "$(grep '电线老化' "$tmp/s_b" | python3 -c 'import sys; print(len(sys.stdin.read().encode()) < 8000)')" True
is "the long report is whole on node a" "$(grep '电线老化' "$tmp/s_a" | python3 -c 'import sys; print(len(sys.stdin.read().encode()) > 8000)')" True
grid_unit=$(python3 -c 'import csv,sys; print([g["unit_code"] for g in csv.DictReader(open(sys.argv[1])) if g["external_id"]==sys.argv[2]][0])' "$tmp/groups.csv" "$g_in")
if [ "$grid_unit" = 411571001001001 ]; then
    is "the grid worker of that grid got it on node b" "$(grep -c '三楼着火了' "$tmp/s_gw")" 1
else
    is "a grid worker of another grid did not get it" "$(grep -c '三楼着火了' "$tmp/s_gw")" 0
fi
for p in $pids; do kill -TERM "$p"; done
for p in $pids; do wait "$p"; done; rc=$?
pids=""
is "both nodes stop cleanly" "$rc" 0
finish
