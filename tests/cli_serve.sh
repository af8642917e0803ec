#!/bin/bash
# cli_serve.sh - end-to-end tests of `nuanyang serve` and `nuanyang connector`:
# a fresh demo district, a connector, the server on a free loopback port, then
# healthz, metrics, signed ingest (stored and triaged, duplicate, batch), every
# refusal with its status and JSON reason (wrong or stale signature, unknown
# key, unknown group with its index, missing field, bad time, malformed JSON,
# invalid UTF-8, oversized body, batch over the limit, unknown route, wrong
# method, disabled connector) storing nothing, and SIGTERM ending the server with exit 0 and every
# acknowledged message in the database. Runs on SQLite, or on PostgreSQL when
# the runner has exported NUANYANG_TEST_PG. Ends with "N passed, N failed".
. "$(dirname "$0")/lib_cli.sh"
pid=""
trap '[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
messages() { $NY stats --db "$db" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["messages"])'; }
# jq-like: field PATH of the JSON in $tmp/body (python expression on d)
field() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$tmp/body" "$1" 2>/dev/null; }

db=$(fresh_db)
$NY demo --db "$db" >/dev/null 2>&1 || { bad "demo database"; echo "$pass passed, $fail failed"; exit 1; }
$NY connector add --db "$db" bridge >"$tmp/cred" 2>"$tmp/err"
key=$(awk '$1=="key"{print $2}' "$tmp/cred"); secret=$(awk '$1=="secret"{print $2}' "$tmp/cred")
if [ ${#key} = 32 ] && [ ${#secret} = 64 ]; then ok "connector add prints key and secret"; else bad "connector add"; fi
$NY connector list --db "$db" >"$tmp/list"
if grep -q "^bridge	webhook	enabled$" "$tmp/list" && ! grep -q "$secret" "$tmp/list"; then
    ok "connector list shows the connector, not the secret"; else bad "connector list"; fi
before=$(messages)
group=$($NY export --db "$db" groups - 2>/dev/null | python3 -c 'import csv,sys; r=list(csv.DictReader(sys.stdin)); print([g for g in r if g["kind"]=="resident"][0]["external_id"])')

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port"
$NY serve --db "$db" --listen "127.0.0.1:$port" --threads 2 2>"$tmp/log" &
pid=$!
for _ in $(seq 100); do curl -sf "$url/healthz" >/dev/null 2>&1 && break; sleep 0.1; done

get() { curl -s -o "$tmp/body" -w '%{http_code}' "$@"; }
# post FILE [TIMESTAMP] [SECRET] [KEY] : signed POST of the file's bytes
post() {
    local ts=${2:-$(date +%s)} sec=${3:-$secret} k=${4:-$key} sig
    sig=$({ printf '%s' "$ts"; cat "$1"; } | openssl dgst -sha256 -hmac "$sec" | awk '{print $NF}')
    curl -s -o "$tmp/body" -w '%{http_code}' -X POST "$url/api/v1/messages" \
        -H "X-Nuanyang-Key: $k" -H "X-Nuanyang-Timestamp: $ts" \
        -H "X-Nuanyang-Signature: sha256=$sig" -H 'Content-Type: application/json' \
        --data-binary "@$1"
}
msg() { # ID TEXT [GROUP] [TIME]
    printf '{"id":"%s","group":"%s","sender":{"id":"u1","name":"张三"},"text":"%s","time":%s}' \
        "$1" "${3:-$group}" "$2" "${4:-\"2026-05-01T08:30:00+08:00\"}"
}

is "healthz" "$(get "$url/healthz")" 200
is "healthz says ok" "$(field 'd["status"]')" ok
is "healthz names the engine" "$(field 'd["engine"]')" "$([ -n "${NUANYANG_TEST_PG:-}" ] && echo postgresql || echo sqlite)"
is "healthz gives the schema version" "$(field 'd["schema_version"]')" 16
if grep -q '"level":"warn"' "$tmp/log"; then bad "start-up logged a warning: $(grep -m1 '"level":"warn"' "$tmp/log")"
else ok "start-up logs no warning (libmicrohttpd's logger set first)"; fi

msg e1 "着火了！3栋楼道冒烟，快来人" >"$tmp/one.json"
is "signed message accepted" "$(post "$tmp/one.json")" 200
is "stored" "$(field 'd["results"][0]["status"]')" stored
is "triaged as emergency" "$(field 'd["results"][0]["intent"]')" emergency
is "grid, community and street told" "$(field '",".join(n["role"] for n in d["results"][0]["notify"])')" "grid_worker,community,street"
is "urgent" "$(field 'd["results"][0]["priority"]')" urgent
is "repeat accepted" "$(post "$tmp/one.json")" 200
is "repeat is a duplicate" "$(field 'd["results"][0]["status"]')" duplicate
{ printf '{"messages":['; msg b1 "请问低保怎么申请"; printf ','; msg b2 "小区路灯坏了好几天了" "$group" 1777595400; printf ','; msg b3 "谢谢网格员"; printf ']}'; } >"$tmp/three.json"
is "batch of 3 accepted" "$(post "$tmp/three.json")" 200
is "batch of 3 stored" "$(field '",".join(r["status"] for r in d["results"])')" "stored,stored,stored"
is "batch results keep the order" "$(field '",".join(r["id"] for r in d["results"])')" "b1,b2,b3"

msg n1 "新消息" >"$tmp/new.json"
is "wrong signature" "$(post "$tmp/new.json" "" "0000")" 401
is "wrong signature names the header" "$(field 'd["field"]')" X-Nuanyang-Signature
is "stale timestamp" "$(post "$tmp/new.json" $(( $(date +%s) - 400 )))" 401
is "stale timestamp says so" "$(field '"stale" in d["error"]')" True
is "unknown key" "$(post "$tmp/new.json" "" "" nosuchkey)" 401
{ printf '{"messages":['; msg n2 "好的"; printf ','; msg n3 "在吗" "no-such-group"; printf ']}'; } >"$tmp/grp.json"
is "unknown group" "$(post "$tmp/grp.json")" 422
is "unknown group: field and index" "$(field 'd["field"]+"@"+str(d["index"])')" "group@1"
printf '{"id":"n4","group":"%s","sender":{"id":"u1","name":"x"},"time":1}' "$group" >"$tmp/notext.json"
is "missing text" "$(post "$tmp/notext.json")" 422
is "missing text: field" "$(field 'd["field"]')" text
msg n5 "你好" "$group" '"2026-05-01 08:30"' >"$tmp/badtime.json"
is "time without offset" "$(post "$tmp/badtime.json")" 422
is "bad time: field" "$(field 'd["field"]')" time
printf '{"messages":[' >"$tmp/bad.json"
is "malformed JSON" "$(post "$tmp/bad.json")" 400
printf '{"id":"n6","group":"%s","sender":{"id":"u","name":"x"},"text":"\xff\xfe","time":1}' "$group" >"$tmp/utf8.json"
is "invalid UTF-8" "$(post "$tmp/utf8.json")" 400
is "invalid UTF-8 says so" "$(field '"UTF-8" in d["error"]')" True
python3 -c 'import sys; sys.stdout.write("{\"pad\":\"" + "x"*(1<<20) + "\"}")' >"$tmp/big.json"
is "body over 1 MiB" "$(post "$tmp/big.json")" 413
python3 -c '
import json,sys
m=[{"id":"o%d"%i,"group":sys.argv[1],"sender":{"id":"u","name":"x"},"text":"hi","time":1} for i in range(1001)]
sys.stdout.write(json.dumps({"messages":m}))' "$group" >"$tmp/1001.json"
is "batch of 1001" "$(post "$tmp/1001.json")" 413
is "batch limit says so" "$(field '"1000" in d["error"]')" True
# bodies read without jansson (server_ingest_read) and those left to it give
# the same answers: \u escapes (Python's json.dumps), integer ids, keys in
# any order and white space read fast (10 messages stored in all); mentions,
# repeated keys, NUL, a
# fractional time or an id too long go to jansson and its reasons
body() { python3 -c 'import json,sys; sys.stdout.write(eval(sys.argv[1]))' "$1" >"$tmp/$2.json"; }
raw='{"id":"j1","group":"'"$group"'","sender":{"id":"u9","name":"李四"},"text":"楼道里的灯坏了，晚上很黑","time":1777595400}'
printf '%s' "$raw" >"$tmp/j1.json"
is "read: plain body" "$(post "$tmp/j1.json")" 200
cp "$tmp/body" "$tmp/j1.out"
body 'json.dumps({"time":1777595400,"text":"楼道里的灯坏了，晚上很黑","sender":{"name":"李四","id":"u9"},"group":"'"$group"'","id":"j2"})' j2
is "read: \\u escapes, keys in another order" "$(post "$tmp/j2.json")" 200
is "read: the escaped text triaged as the plain one" "$(python3 -c '
import json,sys
a=json.load(open(sys.argv[1]))["results"][0]; b=json.load(open(sys.argv[2]))["results"][0]
print(all(a[k]==b[k] for k in ("intent","category","keywords","policies","reply")))' "$tmp/j1.out" "$tmp/body")" True
body '"{\n \"id\" : 12345678901 , \"group\":\"'"$group"'\",\"sender\":{\"id\":-7,\"name\":\"a\\\"b\\\\c\\/\"},\"text\":\"\\ud83d\\ude00 好\",\"time\":\"2026-05-01T08:30:00+08:00\"}\n"' j3
is "read: integer ids, escapes, a surrogate pair, an ISO time" "$(post "$tmp/j3.json")" 200
is "read: integer id answered as text" "$(field 'd["results"][0]["id"]')" 12345678901
body 'json.dumps({"id":"j4","group":"'"$group"'","sender":{"id":"u","name":"x"},"text":"@网格员 在吗","time":1,"mentions":["bot"]})' j4
is "read: mentions (jansson)" "$(post "$tmp/j4.json")" 200
printf '{"id":"j5","id":"j6","group":"%s","sender":{"id":"u","name":"x"},"text":"hi","time":1}' "$group" >"$tmp/j5.json"
is "read: a repeated key (jansson)" "$(post "$tmp/j5.json")" 400
printf '{"id":"j7","group":"%s","sender":{"id":"u","name":"x"},"text":"a\\u0000b","time":1}' "$group" >"$tmp/j7.json"
is "read: NUL in the text (jansson)" "$(post "$tmp/j7.json")" 400
is "read: NUL in the text is malformed JSON" "$(field '"malformed JSON" in d["error"]')" True
# reasons quoting the client's bytes cut inside a character: still 4xx with a JSON reason
printf '{"id":"j11","group":"%s","sender":{"id":"u","name":"x"},"text":"a\\u路灯","time":1}' "$group" >"$tmp/j11.json"
is "a bad \\u escape before Chinese text" "$(post "$tmp/j11.json")" 400
is "… its reason is JSON" "$(field '"malformed JSON" in d["error"]')" True
printf '{"id":"j12","group":"a%s","sender":{"id":"u","name":"x"},"text":"hi","time":1}' "$(printf '群%.0s' $(seq 60))" >"$tmp/j12.json"
is "an unknown group of 181 bytes" "$(post "$tmp/j12.json")" 422
is "… its reason, cut at 120 bytes, names group" "$(field 'd["field"]+" "+str("unknown group" in d["error"])')" "group True"
printf '{"id":"j8","group":"%s","sender":{"id":"u","name":"x"},"text":"hi","time":1.5}' "$group" >"$tmp/j8.json"
is "read: a fractional time (jansson)" "$(post "$tmp/j8.json")" 422
is "read: a fractional time names time" "$(field 'd["field"]')" time
body 'json.dumps({"messages":[{"id":"j9","group":"'"$group"'","sender":{"id":"u","name":"x"},"text":"hi","time":1},{"id":"x"*129,"group":"'"$group"'","sender":{"id":"u","name":"x"},"text":"hi","time":1}]})' j9
is "read: an id of 129 bytes (jansson)" "$(post "$tmp/j9.json")" 422
is "read: it names id and index 1" "$(field 'd["field"]+"@"+str(d["index"])')" "id@1"
printf '{"messages":[]}' >"$tmp/j10.json"
is "read: an empty batch (jansson)" "$(post "$tmp/j10.json")" 422
is "unknown route" "$(get "$url/api/v1/nothing")" 404
is "unknown route is JSON" "$(field '"error" in d')" True
is "wrong method" "$(get -X DELETE "$url/api/v1/messages")" 405

jpost() { curl -s -o "$tmp/body" -w '%{http_code}' -X POST -H 'Content-Type: application/json' "$@"; }
is "login, wrong password" "$(jpost "$url/api/v1/login" -d '{"account":"street01","password":"nope-nope"}')" 401
is "login error is Chinese and English" "$(field '"账号或密码错误" in d["error"]')" True
is "login, no password" "$(jpost "$url/api/v1/login" -d '{"account":"street01"}')" 422
is "login names the field" "$(field 'd["field"]')" password
is "login" "$(jpost "$url/api/v1/login" -d '{"account":"street01","password":"yangshan2026"}')" 200
token=$(field 'd["token"]')
is "login gives the role" "$(field 'd["role"]')" street
is "login gives the unit's level" "$(field 'd["level"]')" street
is "me without a token" "$(get "$url/api/v1/me")" 401
is "me" "$(get -H "Authorization: Bearer $token" "$url/api/v1/me")" 200
is "me names the account" "$(field 'd["account"]')" street01
is "logout" "$(jpost -H "Authorization: Bearer $token" "$url/api/v1/logout")" 200
is "me after logout" "$(get -H "Authorization: Bearer $token" "$url/api/v1/me")" 401
is "test clock absent without --test-clock" "$(jpost "$url/api/v1/admin/clock" -d '{"now":"2026-05-01T00:00:00Z"}')" 404
allow=$(curl -s -D - -o /dev/null -X DELETE "$url/api/v1/login" | tr -d '\r' | awk -F': ' 'tolower($1)=="allow"{print $2}')
is "405 lists the allowed methods" "$allow" POST

# a committed lead reaches an open event stream of a caller whose scope holds it
jpost "$url/api/v1/login" -d '{"account":"district1","password":"yangshan2026"}' >/dev/null
dtoken=$(field 'd["token"]')
curl -sN --max-time 5 -H "Authorization: Bearer $dtoken" "$url/api/v1/stream" >"$tmp/stream" &
spid=$!
sleep 1
msg s1 "救命！楼下着火了，浓烟很大" >"$tmp/s1.json"
is "stream: emergency message accepted" "$(post "$tmp/s1.json")" 200
wait "$spid"
if grep -q '^event: lead' "$tmp/stream" && grep -q '楼下着火了' "$tmp/stream"; then
    ok "stream: the new lead arrived as an event"; else bad "stream: no lead event ($(head -c 300 "$tmp/stream"))"; fi

# the server remembers a connector for at most a second (server_ingest.c):
# a disable made by the CLI on the same database is honoured after that
is "connector cached by the last request (a duplicate)" "$(post "$tmp/s1.json")" 200
$NY connector disable --db "$db" bridge
sleep 1.2
is "disabled connector" "$(post "$tmp/new.json")" 403
is "disabled connector, again" "$(post "$tmp/new.json")" 403
$NY connector enable --db "$db" bridge
sleep 1.2
is "enabled again" "$(post "$tmp/new.json")" 200

get "$url/metrics" >/dev/null
metric() { awk -v n="$1" '$1==n{print $2}' "$tmp/body"; }
is "metrics: ingested" "$(metric nuanyang_messages_ingested_total)" 10
is "metrics: duplicates" "$(metric nuanyang_messages_duplicate_total)" 2
is "metrics: 401s" "$(metric 'nuanyang_http_responses_total{code="401"}')" 6
is "metrics: triage histogram" "$(metric 'nuanyang_triage_seconds_bucket{le="+Inf"}')" 12

kill -TERM "$pid"; wait "$pid"; rc=$?; pid=""
is "SIGTERM: exit 0" "$rc" 0
if grep -q '"msg":"stopped"' "$tmp/log"; then ok "stopped cleanly"; else bad "no stop line in the log"; fi
if python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$tmp/log"; then
    ok "log is JSON lines"; else bad "log is not JSON lines"; fi
is "exactly the 10 acknowledged messages stored" "$(( $(messages) - before ))" 10

finish
