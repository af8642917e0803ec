#!/bin/bash
# cli_ingest_suspend.sh - ingest requests waiting for the group commit hold
# no pool thread: with a single pool thread, 64 clients posting single
# messages at once are all answered "stored" with their triage results, and
# requests share commits (a thread that waited for its commit would commit
# one request at a time). Then SIGTERM while 32 clients keep posting: the
# server exits 0, every request it answered was answered 200, and every
# message answered "stored" is in the database once (a re-post is answered
# "duplicate"). Runs on SQLite, or on PostgreSQL when NUANYANG_TEST_PG is
# set.
. "$(dirname "$0")/lib_cli.sh"
pid=""
trap '[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT

db=$(fresh_db)
$NY demo --db "$db" >/dev/null 2>&1 || { bad "demo database"; finish; exit; }
$NY connector add --db "$db" bridge >"$tmp/cred"
key=$(awk '$1=="key"{print $2}' "$tmp/cred") secret=$(awk '$1=="secret"{print $2}' "$tmp/cred")
group=$($NY export --db "$db" groups - 2>/dev/null | python3 -c 'import csv,sys; print(next(csv.DictReader(sys.stdin))["external_id"])')
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
start() { # THREADS
    $NY serve --db "$db" --listen "127.0.0.1:$port" --threads "$1" 2>>"$tmp/log" &
    pid=$!
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
}
messages() { $NY stats --db "$db" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["messages"])'; }

tests_dir=$(cd "$(dirname "$0")" && pwd) # ingest_client.py
cat >"$tmp/client.py" <<'EOF'
import hashlib, hmac, http.client, json, os, signal, sys, threading, time
port, key, secret, group, mode, arg = sys.argv[1:7]

sys.path.insert(0, os.environ["NY_TESTS"])
from ingest_client import post as signed_post, msg as group_msg
def post(conn, body): return signed_post(conn, key, secret, body)
def msg(i): return group_msg(group, i)

if mode == "burst":  # 64 clients, 5 messages each, all at once; prints the wrong answers
    wrong, lock, go = [], threading.Lock(), threading.Barrier(64)
    def client(k):
        conn = http.client.HTTPConnection("127.0.0.1", int(port), timeout=30)
        go.wait()
        for n in range(5):
            i = "b%d-%d" % (k, n)
            try:
                st, d = post(conn, json.dumps(msg(i)).encode())
                r = d["results"][0] if st == 200 else {}
                good = r.get("id") == i and r.get("status") == "stored" and r.get("intent")
            except Exception as ex:
                st, good = str(ex), False
            if not good:
                with lock:
                    wrong.append("%s: %s" % (i, st))
    ts = [threading.Thread(target=client, args=(k,)) for k in range(64)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print(len(wrong), *wrong[:3])
elif mode == "term":  # 32 clients until SIGTERM ends the server; "acked other" to stdout
    acked, other, lock = [], [], threading.Lock()
    def client(k):
        conn = http.client.HTTPConnection("127.0.0.1", int(port), timeout=30)
        for n in range(100000):
            i = "t%d-%d" % (k, n)
            try:
                st, d = post(conn, json.dumps(msg(i)).encode())
            except Exception:
                return  # the server closed the connection: not acknowledged
            with lock:
                if st == 200 and d["results"][0]["status"] == "stored":
                    acked.append(i)
                else:
                    other.append(st)
    ts = [threading.Thread(target=client, args=(k,)) for k in range(32)]
    for t in ts:
        t.start()
    time.sleep(1.5)
    os.kill(int(arg), signal.SIGTERM)
    for t in ts:
        t.join()
    open(os.environ["ACKED"], "w").write("\n".join(acked))
    print(len(acked), len(other))
else:  # post the ids of file arg again; print how many are not "duplicate"
    ids = [l for l in open(arg).read().split("\n") if l]
    conn = http.client.HTTPConnection("127.0.0.1", int(port), timeout=30)
    wrong = 0
    for k in range(0, len(ids), 1000):
        st, d = post(conn, json.dumps({"messages": [msg(i) for i in ids[k:k + 1000]]}).encode())
        wrong += len(ids[k:k + 1000]) if st != 200 else sum(r["status"] != "duplicate" for r in d["results"])
    print(wrong)
EOF

start 1
is "64 concurrent clients on one pool thread: every message stored with its result" \
    "$(NY_TESTS="$tests_dir" python3 "$tmp/client.py" "$port" "$key" "$secret" "$group" burst 0)" 0
curl -s "http://127.0.0.1:$port/metrics" >"$tmp/metrics"
commits=$(awk '$1=="nuanyang_ingest_commits_total"{print $2}' "$tmp/metrics")
members=$(awk '$1=="nuanyang_ingest_commit_requests_total"{print $2}' "$tmp/metrics")
is "the group commit held all 320 requests" "$members" 320
if [ "${commits:-0}" -ge 1 ] && [ "$commits" -lt "$members" ]; then
    ok "requests waiting on one thread share commits ($members requests in $commits commits)"
else bad "requests did not share commits ($members requests in ${commits:-?} commits)"; fi
is "all 320 messages in the database" "$(messages)" 320
kill -TERM "$pid"; wait "$pid"; rc=$?; pid=""
is "stops cleanly after the burst" "$rc" 0

start 2
read -r acked other < <(ACKED="$tmp/acked" NY_TESTS="$tests_dir" python3 "$tmp/client.py" "$port" "$key" "$secret" "$group" term "$pid")
wait "$pid"; rc=$?; pid=""
is "SIGTERM under load: exits 0" "$rc" 0
if [ "${acked:-0}" -gt 20 ]; then ok "$acked messages acknowledged before SIGTERM"; else bad "only '${acked:-}' acknowledged"; fi
is "every request answered before the stop was answered 200 stored" "${other:-x}" 0
if grep -qi "panic\|suspended connections" "$tmp/log"; then bad "libmicrohttpd complained at stop"; grep -i "panic\|suspended" "$tmp/log" | head -3; else ok "no suspended connection at stop"; fi
stored=$(messages)
if [ "$stored" -ge $((320 + acked)) ]; then ok "stored ($stored) >= acknowledged (320 + $acked)"; else bad "stored $stored < acknowledged 320 + $acked"; fi
start 2
is "after the stop every acknowledged message is stored once (re-post: all duplicate)" \
    "$(NY_TESTS="$tests_dir" python3 "$tmp/client.py" "$port" "$key" "$secret" "$group" check "$tmp/acked")" 0
kill -TERM "$pid"; wait "$pid"; pid=""
finish
