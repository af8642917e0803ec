#!/bin/bash
# cli_effects.sh - end-to-end tests of what one ingest request causes when
# its effects are written together (server_effects.c): in one batch, a
# report, a near-identical report of the same problem by a second resident
# in the same group (it joins the first one's lead, which is written in the
# same transaction just before), a report in another group, a consultation
# the bot answers and a message repeated inside the batch; then the cases
# with their log entries and reporters, the leads, the outbox rows and the
# statistics as the staff API shows them, and the same request again
# changing nothing; then one request over 39 groups of grids, communities
# and streets (read together before the commit), each case held by its own
# group's unit at that unit's level; then two single-message reports of one
# problem by two residents in one commit group (another connection holds the
# write lock meanwhile): one lead, its case with both reporters. Runs on SQLite, or on PostgreSQL when the runner has
# exported NUANYANG_TEST_PG. Ends with "N passed, N failed".
. "$(dirname "$0")/lib_cli.sh"
pid=""
trap '[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
field() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$tmp/body" "$1" 2>/dev/null; }

db=$(fresh_db)
$NY demo --db "$db" >/dev/null 2>&1 || { bad "demo database"; echo "$pass passed, $fail failed"; exit 1; }
$NY connector add --db "$db" bridge >"$tmp/cred" 2>"$tmp/err"
key=$(awk '$1=="key"{print $2}' "$tmp/cred"); secret=$(awk '$1=="secret"{print $2}' "$tmp/cred")
$NY outbox rebase --db "$db" http://127.0.0.1:9 >/dev/null 2>&1 # targets nobody listens on
read -r g1 g2 < <($NY export --db "$db" groups - 2>/dev/null | python3 -c '
import csv, sys
r = [g for g in csv.DictReader(sys.stdin) if g["kind"] == "resident"]
print(r[0]["external_id"], r[1]["external_id"])')

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port"
$NY serve --db "$db" --listen "127.0.0.1:$port" --threads 2 2>"$tmp/log" &
pid=$!
for _ in $(seq 100); do curl -sf "$url/healthz" >/dev/null 2>&1 && break; sleep 0.1; done

get() { curl -s -o "$tmp/body" -w '%{http_code}' -H "Authorization: Bearer $token" "$@"; }
post() { # FILE [OUT]: signed POST of the file's bytes, the answer to OUT ($tmp/body)
    local ts sig
    ts=$(date +%s)
    sig=$({ printf '%s' "$ts"; cat "$1"; } | openssl dgst -sha256 -hmac "$secret" | awk '{print $NF}')
    curl -s -o "${2:-$tmp/body}" -w '%{http_code}' -X POST "$url/api/v1/messages" \
        -H "X-Nuanyang-Key: $key" -H "X-Nuanyang-Timestamp: $ts" \
        -H "X-Nuanyang-Signature: sha256=$sig" -H 'Content-Type: application/json' \
        --data-binary "@$1"
}
msg() { # ID GROUP SENDER TEXT
    printf '{"id":"%s","group":"%s","sender":{"id":"%s","name":"居民%s"},"text":"%s","time":%s}' \
        "$1" "$2" "$3" "$3" "$4" "$(date +%s)"
}
metric() { curl -s "$url/metrics" | awk -v m="$1" '$1==m{print $2}'; }

curl -s "$url/api/v1/login" -d '{"account":"admin","password":"yangshan2026"}' >"$tmp/body"
token=$(field 'd["token"]')
depth0=$(metric nuanyang_outbox_depth)
{
    printf '{"messages":['
    msg x1 "$g1" r1 "3号楼楼道的灯坏了好几天了，晚上太黑了，请物业来修一下"; printf ','
    msg x2 "$g1" r2 "3号楼楼道的灯坏了好几天了，晚上太黑了，请尽快来修一下"; printf ','
    msg x3 "$g2" r3 "小区门口的垃圾好几天没人清运了，臭气熏天"; printf ','
    msg x4 "$g1" r4 "请问低保怎么申请"; printf ','
    msg x1 "$g1" r1 "3号楼楼道的灯坏了好几天了，晚上太黑了，请物业来修一下"
    printf ']}'
} >"$tmp/batch.json"
is "batch accepted" "$(post "$tmp/batch.json")" 200
is "stored, the repeat inside the batch a duplicate" "$(field '",".join(r["status"] for r in d["results"])')" \
    "stored,stored,stored,stored,duplicate"
is "the reports are leads for a person" "$(field 'all(len(r["notify"]) > 0 for r in d["results"][:3])')" True
is "the consultation has a reply" "$(field 'bool(d["results"][3]["reply"])')" True

is "leads listed" "$(get "$url/api/v1/leads")" 200
field 'json.dumps(d["items"])' >"$tmp/leads.json"
is "two leads: the second report joined the first" "$(field 'len(d["items"])')" 2
is "each lead has its case" "$(field 'all(l["case_id"] for l in d["items"])')" True
case1=$(field '[l for l in d["items"] if l["group"]=="'"$g1"'"][0]["case_id"]')
case2=$(field '[l for l in d["items"] if l["group"]=="'"$g2"'"][0]["case_id"]')
is "the case of the first group" "$(get "$url/api/v1/cases/$case1")" 200
is "both residents are its reporters" "$(field '",".join(sorted(r["sender_id"] for r in d["reporters"]))')" "r1,r2"
is "both reports are its messages" "$(field '",".join(m["sender"]["id"] for m in d["messages"])')" "r1,r2"
is "opened, then the repeated report logged" "$(field '",".join(e["action"] for e in d["events"])')" "report,report"
is "the opening entry is the lead's" "$(field 'd["events"][0]["note"]')" "群消息线索自动立案"
is "with its unit and deadline" "$(field 'd["events"][0]["changes"]["unit"][1] == d["unit"] and d["events"][0]["changes"]["due_at"][1] == d["due_at"]')" True
is "reported, held by the group's grid" "$(field 'd["status"] + " " + d["level"]')" "reported grid"
is "the case of the other group" "$(get "$url/api/v1/cases/$case2")" 200
is "its one reporter" "$(field '",".join(r["sender_id"] for r in d["reporters"])')" r3
is "its message" "$(field 'len(d["messages"])')" 1

sleep 0.5 # the worker claims what it can send at once
depth1=$(metric nuanyang_outbox_depth)
sent=$(( $(metric nuanyang_outbox_failures_total) + $(metric nuanyang_outbox_sent_total) ))
queued=$(( depth1 - depth0 ))
if [ "$queued" -ge 3 ]; then ok "notifications and the reply queued ($queued pending)"; else
    bad "notifications and the reply queued (pending $depth0 -> $depth1, tried $sent)"; fi

is "the same batch again" "$(post "$tmp/batch.json")" 200
is "every message a duplicate" "$(field '",".join(r["status"] for r in d["results"])')" \
    "duplicate,duplicate,duplicate,duplicate,duplicate"
get "$url/api/v1/leads" >/dev/null
is "no new lead" "$(field 'len(d["items"])')" 2
get "$url/api/v1/cases/$case1" >/dev/null
is "no new reporter or log entry" "$(field 'str(len(d["reporters"])) + " " + str(len(d["events"]))')" "2 2"
is "nothing more queued" "$(metric nuanyang_outbox_depth)" "$depth1"

# a request over many groups with ids close together (the demo numbers the
# resident groups in unit order, then the enterprise groups): their targets and units are
# read in one range read before the commit (server_effects.c, prefetch_groups)
$NY export --db "$db" groups - 2>/dev/null | python3 -c '
import csv, sys
rows = list(csv.DictReader(sys.stdin))
r = sorted((g for g in rows if g["kind"] == "resident"), key=lambda g: g["unit_code"])[-8:]
r += [g for g in rows if g["kind"] == "enterprise"]
level = lambda c: "grid" if len(c) == 15 else "street" if c.endswith("000") else "community"
print("\n".join(g["external_id"] + " " + g["unit_code"] + " " + level(g["unit_code"]) for g in r))' >"$tmp/many"
{
    printf '{"messages":['
    n=0
    while read -r g _ _; do
        [ $n -gt 0 ] && printf ','
        msg "m$n" "$g" "s$n" "$n号楼下水道堵了，污水都漫到路上了，请尽快派人来疏通"
        n=$((n + 1))
    done <"$tmp/many"
    printf ']}'
} >"$tmp/many.json"
nmany=$(wc -l <"$tmp/many")
is "a batch over the district's last resident and every enterprise group" "$(post "$tmp/many.json")" 200
is "every message a lead" "$(field 'all(len(r["notify"]) > 0 for r in d["results"])')" True
get "$url/api/v1/leads" >/dev/null
field 'json.dumps(d["items"])' >"$tmp/leads.json"
ok_units=0
while read -r g u lv; do
    c=$(python3 -c 'import json,sys; print([l for l in json.load(open(sys.argv[1])) if l["group"]==sys.argv[2]][0]["case_id"])' "$tmp/leads.json" "$g" 2>/dev/null)
    [ -n "$c" ] && [ "$(get "$url/api/v1/cases/$c")" = 200 ] &&
        [ "$(field 'd["unit"] + " " + d["level"] + " " + d["events"][0]["changes"]["unit"][1]')" = "$u $lv $u" ] &&
        ok_units=$((ok_units + 1))
done <"$tmp/many"
is "each group's case held by its own unit, at its level" "$ok_units" "$nmany"

# two single-message requests in one commit group (server_commit.c writes
# their effects with one call, server_effects_apply over both): another
# connection holds the write lock while a first request waits for it in the
# committer, so the two reports queue behind it and are taken together; the
# second resident's report still joins the first one's lead, and its case
# gets both reporters
hold() { # SECONDS: holds the database's write lock that long, in the background
    rm -f "$tmp/held"
    if [ -n "${NUANYANG_TEST_PG:-}" ]; then
        psql -q "$db" -c "BEGIN" -c "LOCK TABLE messages IN EXCLUSIVE MODE" \
            -c "\\! touch $tmp/held" -c "SELECT pg_sleep($1)" -c "COMMIT" >/dev/null 2>&1 &
    else
        python3 -c 'import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("BEGIN IMMEDIATE"); open(sys.argv[2], "w").close()
time.sleep(float(sys.argv[3])); c.execute("ROLLBACK")' "$db" "$tmp/held" "$1" &
    fi
    hpid=$!
    for _ in $(seq 100); do [ -e "$tmp/held" ] && break; sleep 0.05; done
}
c0=$(metric nuanyang_ingest_commits_total) q0=$(metric nuanyang_ingest_commit_requests_total)
msg p0 "$g2" s0 "大家早上好" >"$tmp/p0.json"
msg p1 "$g2" r5 "5号楼电梯坏了好几天了，老人上不了楼，请尽快派人来修" >"$tmp/p1.json"
msg p2 "$g2" r6 "5号楼电梯坏了好几天了，老人上不了楼，请尽快派人来修理" >"$tmp/p2.json"
hold 3
post "$tmp/p0.json" "$tmp/b0" >"$tmp/s0" & # taken alone; waits for the lock
w0=$!
sleep 0.5
post "$tmp/p1.json" "$tmp/b1" >"$tmp/s1" &
w1=$!
sleep 0.1
post "$tmp/p2.json" "$tmp/b2" >"$tmp/s2" &
w2=$!
wait "$w0" "$w1" "$w2" "$hpid"
is "three requests answered" "$(cat "$tmp/s0" "$tmp/s1" "$tmp/s2" | tr -d '\n')" 200200200
c1=$(metric nuanyang_ingest_commits_total) q1=$(metric nuanyang_ingest_commit_requests_total)
is "the two reports shared one commit" "$((c1 - c0)) commits, $((q1 - q0)) requests" \
    "2 commits, 3 requests"
get "$url/api/v1/leads" >/dev/null
is "one lead for the two reports" "$(field 'len([l for l in d["items"] if l["group"]=="'"$g2"'" and "电梯" in l["text"]])')" 1
case3=$(field '[l for l in d["items"] if l["group"]=="'"$g2"'" and "电梯" in l["text"]][0]["case_id"]')
is "its case" "$(get "$url/api/v1/cases/$case3")" 200
is "both residents are its reporters" "$(field '",".join(sorted(r["sender_id"] for r in d["reporters"]))')" "r5,r6"
is "opened, then the second report logged" "$(field '",".join(e["action"] for e in d["events"])')" "report,report"

kill -TERM "$pid"
wait "$pid"
is "stopped cleanly" "$?" 0
pid=""
finish
