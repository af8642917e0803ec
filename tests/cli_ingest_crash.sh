#!/bin/bash
# cli_ingest_crash.sh - what is acknowledged survives a crash: eight clients
# post signed single messages concurrently (so the server's group commit
# coalesces them) while the server is killed with SIGKILL; after a restart
# every message that had been answered "stored" is answered "duplicate" when
# posted again (it is in the database, once), and the group commit's
# counters show requests sharing commits. Runs on SQLite, or on PostgreSQL
# when NUANYANG_TEST_PG is set.
. "$(dirname "$0")/lib_cli.sh"
pid=""
trap '[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT

db=$(fresh_db)
$NY demo --db "$db" >/dev/null 2>&1 || { bad "demo database"; finish; exit; }
$NY connector add --db "$db" bridge >"$tmp/cred"
key=$(awk '$1=="key"{print $2}' "$tmp/cred") secret=$(awk '$1=="secret"{print $2}' "$tmp/cred")
group=$($NY export --db "$db" groups - 2>/dev/null | python3 -c 'import csv,sys; print(next(csv.DictReader(sys.stdin))["external_id"])')
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
start() {
    $NY serve --db "$db" --listen "127.0.0.1:$port" --threads 8 2>>"$tmp/log" &
    pid=$!
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
}

tests_dir=$(cd "$(dirname "$0")" && pwd) # ingest_client.py
cat >"$tmp/client.py" <<'EOF'
import hashlib, hmac, http.client, json, os, signal, sys, threading, time
port, key, secret, group, mode, pid = sys.argv[1:7]
out = sys.argv[7]

sys.path.insert(0, os.environ["NY_TESTS"])
from ingest_client import post as signed_post, msg as group_msg
def post(conn, body): return signed_post(conn, key, secret, body)
def msg(i): return group_msg(group, i)

if mode == "load":  # 8 clients until the server dies; ids answered "stored" to out
    acked, lock = [], threading.Lock()
    def client(k):
        conn = http.client.HTTPConnection("127.0.0.1", int(port), timeout=10)
        for n in range(100000):
            i = "c%d-%d" % (k, n)
            try:
                st, d = post(conn, json.dumps(msg(i)).encode())
            except Exception:
                return
            if st == 200 and d["results"][0]["status"] == "stored":
                with lock:
                    acked.append(i)
    ts = [threading.Thread(target=client, args=(k,)) for k in range(8)]
    for t in ts:
        t.start()
    time.sleep(2.0)
    os.kill(int(pid), signal.SIGKILL)
    for t in ts:
        t.join()
    open(out, "w").write("\n".join(acked))
    print(len(acked))
else:  # post the ids of out again; print how many are not "duplicate"
    ids = [l for l in open(out).read().split("\n") if l]
    conn = http.client.HTTPConnection("127.0.0.1", int(port), timeout=30)
    wrong = 0
    for k in range(0, len(ids), 1000):
        st, d = post(conn, json.dumps({"messages": [msg(i) for i in ids[k:k + 1000]]}).encode())
        wrong += len(ids[k:k + 1000]) if st != 200 else sum(r["status"] != "duplicate" for r in d["results"])
    print(wrong)
EOF

start
n=$(NY_TESTS="$tests_dir" python3 "$tmp/client.py" "$port" "$key" "$secret" "$group" load "$pid" "$tmp/acked")
wait "$pid" 2>/dev/null; pid=""
if [ "${n:-0}" -gt 20 ]; then ok "$n messages acknowledged before SIGKILL"; else bad "only '${n:-}' messages acknowledged"; fi
start
is "after the crash every acknowledged message is stored (re-post: all duplicate)" \
    "$(NY_TESTS="$tests_dir" python3 "$tmp/client.py" "$port" "$key" "$secret" "$group" check 0 "$tmp/acked")" 0
curl -s "http://127.0.0.1:$port/metrics" >"$tmp/metrics"
kill -TERM "$pid"; wait "$pid"; rc=$?; pid=""
is "restarted server stops cleanly" "$rc" 0
stored=$($NY stats --db "$db" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["messages"])')
if [ "$stored" -ge "$n" ]; then ok "stored ($stored) >= acknowledged ($n)"; else bad "stored $stored < acknowledged $n"; fi
contains "metrics count group commits" "$tmp/metrics" "nuanyang_ingest_commits_total"
finish
