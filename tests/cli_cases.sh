#!/bin/bash
# cli_cases.sh - the case loop through the HTTP API with the test clock: a
# staff-opened case at a grid misses its accept deadline and the scheduler
# escalates it to the community, the community escalates it to the street,
# the street resolves it, the district verifies and closes it with a rating;
# refused actions answer 409 with the allowed list; another grid cannot see
# the case (404) nor list outside its area (403); a case suspended across the
# National Day holiday gets its deadline moved by the time left; on-the-spot
# handling; bad requests answer 422 naming the field. Runs on SQLite, or on
# PostgreSQL when the runner has exported NUANYANG_TEST_PG.
. "$(dirname "$0")/lib_cli.sh"
pid=""
trap '[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
# the sqlite3 shell waits for the write lock (its default is to fail at once, and the
# running server's threads take that lock briefly at any time)
sql() { if [ -n "${NUANYANG_TEST_PG:-}" ]; then psql -qAt "$db" -c "$1"; else sqlite3 -cmd ".timeout 10000" "$db" "$1"; fi; }
field() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$tmp/body" "$1" 2>/dev/null; }

db=$(fresh_db)
$NY demo --db "$db" >/dev/null 2>&1 || { bad "demo database"; finish; exit 1; }
echo yangshan2026 | $NY user add --db "$db" gw-two --name 李网格 --role grid_worker \
    --unit 411571001001002 --password-stdin >/dev/null 2>&1 || bad "second grid worker"
$NY connector add --db "$db" bridge >"$tmp/cred" 2>"$tmp/err"
key=$(awk '$1=="key"{print $2}' "$tmp/cred"); secret=$(awk '$1=="secret"{print $2}' "$tmp/cred")
group=$($NY export --db "$db" groups - 2>/dev/null | python3 -c 'import csv,sys; print([g for g in csv.DictReader(sys.stdin) if g["unit_code"]=="411571001001001" and g["kind"]=="resident"][0]["external_id"])')
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port"
$NY serve --db "$db" --listen "127.0.0.1:$port" --threads 2 --test-clock 2>"$tmp/log" &
pid=$!
for _ in $(seq 100); do curl -sf "$url/healthz" >/dev/null 2>&1 && break; sleep 0.1; done

get() { curl -s -o "$tmp/body" -w '%{http_code}' "$@"; }
jpost() { curl -s -o "$tmp/body" -w '%{http_code}' -X POST -H 'Content-Type: application/json' "$@"; }
login() {
    jpost "$url/api/v1/login" -d "{\"account\":\"$1\",\"password\":\"yangshan2026\"}" >/dev/null
    field 'd["token"]'
}
admin=$(login admin) gw=$(login gw411571001001001) gw2=$(login gw-two)
comm=$(login comm411571001001) street=$(login street01) dist=$(login district1)
as() { local t=$1; shift; echo "-H" "Authorization: Bearer $t" "$@"; }
clock() { jpost -H "Authorization: Bearer $admin" "$url/api/v1/admin/clock" -d "{\"now\":\"$1\"}" >/dev/null; }
action() { # TOKEN ID JSON
    jpost -H "Authorization: Bearer $1" "$url/api/v1/cases/$2/actions" -d "$3"
}
# wait_for ID PYEXPR VALUE: polls the case until the expression has the value
wait_for() {
    local i
    for i in $(seq 200); do # the scheduler ticks every 0.2 s; slow under load
        get -H "Authorization: Bearer $admin" "$url/api/v1/cases/$1" >/dev/null
        [ "$(field "$2")" = "$3" ] && return 0
        sleep 0.1
    done
    return 1
}

# live streams: the grid worker, the community, and another grid (out of scope)
spids=""
for who in gw comm gw2; do
    curl -sN --max-time 120 -H "Authorization: Bearer ${!who}" "$url/api/v1/stream" >"$tmp/stream.$who" &
    spids="$spids $!"
done
sleep 0.5
clock 2026-03-16T10:00:00+08:00
is "open a case (patrol)" "$(jpost -H "Authorization: Bearer $gw" "$url/api/v1/cases" -d '{"source":"patrol","title":"3号楼前井盖松动","description":"巡查发现井盖松动，有安全隐患","category":"城乡建设","unit":"411571001001001","location":"新都小区3号楼前"}')" 201
id=$(field 'd["id"]')
is "new case is reported at the grid" "$(field 'd["status"]+"@"+d["level"]')" "reported@grid"
is "a staff-opened case has no messages" "$(field 'd["messages"]')" "[]"
is "accept deadline: 4 working hours, lunch skipped" "$(field 'd["sla"]["due_at"]')" "2026-03-16T15:00:00+08:00"
is "working minutes left" "$(field 'd["sla"]["working_minutes_left"]')" 240
is "the grid worker may accept" "$(field '"accept" in d["allowed"]')" True
is "the log starts with the report" "$(field 'd["events"][0]["action"]')" report
is "another grid cannot see it" "$(get -H "Authorization: Bearer $gw2" "$url/api/v1/cases/$id")" 404
is "another grid cannot act on it" "$(action "$gw2" "$id" '{"action":"accept"}')" 404
is "list outside one's area" "$(get -H "Authorization: Bearer $gw2" "$url/api/v1/cases?unit=411571001001001")" 403
get -H "Authorization: Bearer $gw2" "$url/api/v1/cases" >/dev/null
is "another grid's list leaves it out" "$(field 'd["total"]')" 0
get -H "Authorization: Bearer $comm" "$url/api/v1/cases?status=reported" >/dev/null
is "the community's list has it" "$(field 'd["items"][0]["id"]')" "$id"
is "resolve before accept" "$(action "$gw" "$id" '{"action":"resolve","note":"x"}')" 409
is "409 lists the allowed actions" "$(field '",".join(d["allowed"])')" "accept,handle_on_spot,return,escalate,merge"

clock 2026-03-16T14:00:00+08:00
if wait_for "$id" 'd["events"][-1]["action"]' remind; then ok "reminder when 75% of the time is used"; else bad "no reminder"; fi
clock 2026-03-16T15:00:01+08:00
if wait_for "$id" 'd["level"]' community; then ok "missed accept deadline: escalated to the community"; else bad "no automatic escalation"; fi
is "escalated case is overdue" "$(field 'd["overdue"]')" True
is "escalation by the system is logged" "$(field '[e["actor"] for e in d["events"] if e["action"]=="escalate"][0]')" system
is "the log shows the unit change" "$(field '[e["changes"]["unit"] for e in d["events"] if e["action"]=="escalate"][0][1]')" 411571001001
is "the grid worker no longer holds it" "$(get -H "Authorization: Bearer $gw" "$url/api/v1/cases/$id")" 404
# case events: staff and scheduler actions, after commit, to the units in scope
events() { # FILE: the "case" events as "action status level unit overdue" lines
    python3 -c 'import json,sys
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
for i, l in enumerate(lines):
    if l == "event: case":
        d = json.loads(lines[i + 2][6:])
        if d["case_id"] == int(sys.argv[2]):
            print(d["action"], d["status"], d["level"], d["unit"], d["overdue"], d.get("from_unit", "-"))' "$1" "$id"
}
for _ in $(seq 100); do grep -q '"action":"escalate"' "$tmp/stream.comm" && break; sleep 0.1; done
events "$tmp/stream.comm" >"$tmp/ev.comm"
is "stream: the community saw the case opened" "$(sed -n 1p "$tmp/ev.comm")" "report reported grid 411571001001001 False -"
is "stream: then the scheduler's reminder" "$(sed -n 2p "$tmp/ev.comm")" "remind reported grid 411571001001001 False -"
is "stream: then the escalation to it" "$(sed -n 3p "$tmp/ev.comm")" "escalate reported community 411571001001 True 411571001001001"
events "$tmp/stream.gw" >"$tmp/ev.gw"
is "stream: the grid it left saw the escalation" "$(cut -d' ' -f1 "$tmp/ev.gw" | paste -sd,)" "report,remind,escalate"
grep -c '^event: case' "$tmp/stream.gw2" >"$tmp/n.gw2"
is "stream: another grid got no case event" "$(cat "$tmp/n.gw2")" 0
is "escalate needs a note" "$(action "$comm" "$id" '{"action":"escalate"}')" 422
is "community escalates to the street" "$(action "$comm" "$id" '{"action":"escalate","note":"需街道协调市政"}')" 200
for _ in $(seq 50); do [ "$(events "$tmp/stream.comm" | wc -l)" -ge 4 ] && break; sleep 0.1; done
is "stream: the unit it left saw it go to the street" "$(events "$tmp/stream.comm" | sed -n 4p)" "escalate reported street 411571001000 True 411571001001"
is "stream: the grid no longer hears of it" "$(events "$tmp/stream.gw" | wc -l)" 3
kill $spids 2>/dev/null; wait $spids 2>/dev/null
get -H "Authorization: Bearer $admin" "$url/api/v1/cases/$id" >/dev/null
is "now at the street" "$(field 'd["unit"]')" 411571001000
is "street accepts" "$(action "$street" "$id" '{"action":"accept"}')" 200
is "resolve needs a note" "$(action "$street" "$id" '{"action":"resolve"}')" 422
is "street resolves" "$(action "$street" "$id" '{"action":"resolve","note":"已更换井盖"}')" 200
is "resolver cannot verify" "$(action "$street" "$id" '{"action":"verify"}')" 409
is "district verifies" "$(action "$dist" "$id" '{"action":"verify","note":"现场核查"}')" 200
is "close with a rating" "$(action "$dist" "$id" '{"action":"close","rating":"满意"}')" 200
is "closed" "$(field 'd["status"]')" closed
is "rated" "$(field 'd["satisfaction"]')" 5
is "the whole loop is in the log" "$(field '",".join(e["action"] for e in d["events"])')" "report,remind,escalate,escalate,accept,resolve,verify,close"
is "unknown action" "$(action "$dist" "$id" '{"action":"fly"}')" 422
is "unknown action names the field" "$(field 'd["field"]')" action

# suspension across National Day: 7 working days to resolve, stopped for the holiday
clock 2026-09-30T09:00:00+08:00
jpost -H "Authorization: Bearer $gw" "$url/api/v1/cases" -d '{"source":"walk_in","title":"围墙开裂","category":"城乡建设","unit":"411571001001001"}' >/dev/null
id2=$(field 'd["id"]')
is "accept" "$(action "$gw" "$id2" '{"action":"accept"}')" 200
is "resolve deadline across the holiday" "$(field 'd["sla"]["due_at"]')" "2026-10-14T18:00:00+08:00"
clock 2026-09-30T10:00:00+08:00
is "suspend" "$(action "$gw" "$id2" '{"action":"suspend","note":"等待业委会决议"}')" 200
is "suspended has no deadline" "$(field 'd["sla"]["due_at"]')" None
clock 2026-10-12T09:00:00+08:00
is "resume" "$(action "$gw" "$id2" '{"action":"resume"}')" 200
is "deadline moved by the time left" "$(field 'd["sla"]["due_at"]')" "2026-10-20T17:00:00+08:00"

# on the spot
jpost -H "Authorization: Bearer $gw" "$url/api/v1/cases" -d '{"source":"patrol","title":"楼道杂物","category":"环境保护","unit":"411571001001001"}' >/dev/null
id3=$(field 'd["id"]')
is "handled on the spot" "$(action "$gw" "$id3" '{"action":"handle_on_spot","note":"已清理"}')" 200
is "on the spot: resolved at once" "$(field 'd["status"]')" resolved

# figures for the community: the escalated case (closed, overdue, rated 满意), the
# suspended one (accepted on time) and the on-the-spot one
auth="Authorization: Bearer $comm"
is "kpi" "$(get -H "$auth" "$url/api/v1/kpi?unit=411571001001&from=2026-03-01&to=2026-12-01")" 200
is "kpi: cases" "$(field 'd["total"]')" 3
is "kpi: 响应率 2 of 3 accepted on time" "$(field 'd["rates"]["response"]')" 0.6667
is "kpi: 按期处置率" "$(field 'd["rates"]["on_time_resolve"]')" 1.0
is "kpi: 按期结案率 (closed late)" "$(field 'd["rates"]["on_time_close"]')" 0.0
is "kpi: 结案率" "$(field 'd["rates"]["close"]')" 1.0
is "kpi: 满意率" "$(field 'd["rates"]["satisfaction"]')" 1.0
is "kpi: 超期" "$(field 'd["overdue"]')" 1
is "kpi: on the spot" "$(field 'd["on_spot"]')" 0
is "kpi: by child grid" "$(field '[c["total"] for c in d["by_child"] if c["unit"]=="411571001001001"][0]')" 3
is "kpi: by level" "$(field 'd["by_level"]["street"]')" 1
is "kpi: by category" "$(field 'd["by_category"]["城乡建设"]["total"]')" 2
is "kpi outside one's area" "$(get -H "$auth" "$url/api/v1/kpi?unit=411571002000")" 403
is "kpi: bad date" "$(get -H "$auth" "$url/api/v1/kpi?from=2026-13-01")" 422
is "workers table" "$(get -H "$auth" "$url/api/v1/kpi/workers?from=2026-03-01&to=2026-12-01")" 200
is "workers: the grid worker's row" "$(field '[(w["total"], w["on_spot"]) for w in d["items"] if w["account"]=="gw411571001001001"][0]')" "(3, 1)"
get -H "$auth" "$url/api/v1/kpi/workers?from=2026-03-01&to=2026-12-01&format=csv" >/dev/null
is "workers CSV header" "$(head -1 "$tmp/body")" "网格代码,网格,账号,姓名,案件数,即办数,上报数,超期数,响应率,按期处置率,按期结案率,结案率,满意率"
contains "workers CSV row" "$tmp/body" "411571001001001,新都社区第一网格,gw411571001001001,"
is "digest" "$(get -H "$auth" "$url/api/v1/digest?date=2026-10-12")" 200
contains_field() { field "$1" >"$tmp/f"; contains "$2" "$tmp/f" "$3"; }
contains_field 'd["text"]' "digest counts the day's new cases" "新增案件1件"
# the rectification ledger (整改台账)
is "open a rectification item" "$(jpost -H "$auth" "$url/api/v1/cases" -d '{"source":"patrol","kind":"rectification","title":"消防通道堆放杂物整改","category":"城乡建设","unit":"411571001001001","due_at":"2026-10-20T18:00:00+08:00"}')" 201
is "rectification starts accepted with its deadline" "$(field 'd["status"]+" "+d["sla"]["due_at"]')" "accepted 2026-10-20T18:00:00+08:00"
is "ledger" "$(get -H "$auth" "$url/api/v1/ledger")" 200
is "ledger lists it, not overdue" "$(field '[(i["title"], i["overdue"]) for i in d["items"]][0]')" "('消防通道堆放杂物整改', False)"
clock 2026-10-22T09:00:00+08:00
get -H "$auth" "$url/api/v1/ledger" >/dev/null
is "ledger: overdue after the deadline" "$(field 'd["items"][0]["overdue"]')" True
get -H "$auth" "$url/api/v1/ledger?format=csv" >/dev/null
contains "ledger CSV" "$tmp/body" "消防通道堆放杂物整改,411571001001001,新都社区第一网格,立案,"
get -H "Authorization: Bearer $gw2" "$url/api/v1/ledger" >/dev/null
is "another grid's ledger is empty" "$(field 'd["total"]')" 0

# the daily digest goes to every staff member with a notification target once digest_at
# (08:30) passes; here the community's target is pointed at a local address
sql "UPDATE staff SET notify_channel = 'webhook', notify_target = 'http://127.0.0.1:9/hook' WHERE account = 'comm411571001001'"
digests() { sql "SELECT COUNT(*) FROM outbox WHERE kind = 'notify' AND idem_key LIKE 'digest:2026-10-22:%' ${1:-}"; }
clock 2026-10-23T08:29:00+08:00
sleep 0.5
is "no digest before 08:30" "$(digests)" 0
clock 2026-10-23T08:31:00+08:00
for _ in $(seq 300); do # every unit's digest: a few seconds on PostgreSQL under ASan
    n=$(digests "AND target = 'http://127.0.0.1:9/hook'")
    [ "$n" = 1 ] && break; sleep 0.1
done
is "the community's digest queued once" "$n" 1
sql "SELECT payload FROM outbox WHERE idem_key LIKE 'digest:2026-10-22:%' AND target = 'http://127.0.0.1:9/hook'" >"$tmp/digest"
contains "the digest names the unit and the day" "$tmp/digest" "新都社区 2026-10-22"
is "the day's digest job ran once" "$(sql "SELECT COUNT(*) FROM jobs WHERE dedupe_key = 'case_digest:2026-10-23' AND status = 'done'")" 1

# catch-up: the server is down at 08:30 on 24 October and starts again at 07:00 on the
# 25th (before that day's digest time): the missed digest (of the 23rd) goes out once
# per staff member at start, and not again after another restart
restart() { # TIME
    kill -TERM "$pid"; wait "$pid"; pid=""
    $NY serve --db "$db" --listen "127.0.0.1:$port" --threads 2 --test-clock="$1" 2>>"$tmp/log" &
    pid=$!
    for _ in $(seq 100); do curl -sf "$url/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
}
d23() { sql "SELECT COUNT(*) FROM outbox WHERE kind = 'notify' AND idem_key LIKE 'digest:2026-10-23:%' ${1:-}"; }
staff=$(sql "SELECT COUNT(*) FROM staff WHERE role <> 'admin' AND COALESCE(notify_target, '') <> ''")
restart 2026-10-25T07:00:00+08:00
for _ in $(seq 300); do [ "$(d23)" = "$staff" ] && break; sleep 0.1; done
is "catch-up: the missed digest went to every staff member with a target" "$(d23)" "$staff"
is "catch-up: the community's digest once" "$(d23 "AND target = 'http://127.0.0.1:9/hook'")" 1
restart 2026-10-25T07:30:00+08:00
sleep 1
is "catch-up: no second digest after a restart" "$(d23)" "$staff"
is "catch-up: the missed day's job ran once" "$(sql "SELECT COUNT(*) FROM jobs WHERE dedupe_key = 'case_digest:2026-10-24'")" 1

# a resident's report in the group opens a case; their "满意" closes it after the on-the-spot fix
ingest() { # ID TEXT TIME [SENDER]
    printf '{"id":"%s","group":"%s","sender":{"id":"%s","name":"赵大爷"},"text":"%s","time":"%s"}' \
        "$1" "$group" "${4:-res-9}" "$2" "$3" >"$tmp/msg.json"
    local ts sig; ts=$(date -d "$3" +%s) # the signature window follows the test clock
    sig=$({ printf '%s' "$ts"; cat "$tmp/msg.json"; } | openssl dgst -sha256 -hmac "$secret" | awk '{print $NF}')
    curl -s -o "$tmp/body" -w '%{http_code}' -X POST "$url/api/v1/messages" -H "X-Nuanyang-Key: $key" \
        -H "X-Nuanyang-Timestamp: $ts" -H "X-Nuanyang-Signature: sha256=$sig" --data-binary "@$tmp/msg.json"
}
clock 2026-11-02T10:00:00+08:00
is "a resident reports in the group" "$(ingest r1 "小区3栋门口的路灯坏了好几天了，晚上很黑" 2026-11-02T10:00:00+08:00)" 200
get -H "Authorization: Bearer $gw" "$url/api/v1/cases?status=reported" >/dev/null
lid=$(field '[i["id"] for i in d["items"] if i["source"]=="lead"][0]')
if [ -n "$lid" ]; then ok "the report opened a case at the grid"; else bad "no case from the report"; fi
get -H "Authorization: Bearer $gw" "$url/api/v1/cases/$lid" >/dev/null
is "the reporter is on the case" "$(field 'd["reporters"][0]["sender_id"]')" res-9
is "the message that started it" "$(field '[(m["text"], m["sender"]["name"], m["sent_at"]) for m in d["messages"]]')" \
    "[('小区3栋门口的路灯坏了好几天了，晚上很黑', '赵大爷', '2026-11-02T10:00:00+08:00')]"
is "its group" "$(field 'd["messages"][0]["group"]==d["reporters"][0]["group"] and d["messages"][0]["group_name"]!=""')" True
is "the assistant's reading of it" "$(field 'd["messages"][0]["intent"]+" "+d["messages"][0]["triage"]["intent"]')" "report report"
is "fixed on the spot" "$(action "$gw" "$lid" '{"action":"handle_on_spot","note":"已更换灯泡"}')" 200
clock 2026-11-02T11:00:00+08:00
is "the reporter answers 满意" "$(ingest r2 "满意" 2026-11-02T11:00:00+08:00)" 200
get -H "Authorization: Bearer $admin" "$url/api/v1/cases/$lid" >/dev/null
is "the rating closed the case" "$(field 'd["status"]+" "+str(d["satisfaction"])')" "closed 5"
is "verified by the reporter" "$(field '[e["actor"] for e in d["events"] if e["action"]=="verify"][0]')" "resident:res-9"
get -H "Authorization: Bearer $gw" "$url/api/v1/cases?q=满意" >/dev/null
is "the rating opened no case" "$(field 'd["total"]')" 0

# the whole loop from a resident's report: the grid misses the accept deadline, the
# scheduler sends it to the community, the community to the street, the street resolves
# it, the group is asked for a rating, the reporter's 满意 verifies and closes it
clock 2026-11-03T10:00:00+08:00
is "another resident reports" "$(ingest r3 "小区北门的下水道堵了，污水漫到路上了" 2026-11-03T10:00:00+08:00 res-7)" 200
get -H "Authorization: Bearer $gw" "$url/api/v1/cases?status=reported" >/dev/null
rid=$(field '[i["id"] for i in d["items"] if i["source"]=="lead"][0]')
if [ -n "$rid" ]; then ok "the report is a case at the grid"; else bad "no case from the second report"; fi
clock 2026-11-03T15:00:01+08:00
if wait_for "$rid" 'd["level"]' community; then ok "e2e: not accepted in time, at the community"; else bad "e2e: no escalation"; fi
is "e2e: the community sends it up" "$(action "$comm" "$rid" '{"action":"escalate","note":"需街道协调"}')" 200
is "e2e: the street accepts" "$(action "$street" "$rid" '{"action":"accept"}')" 200
is "e2e: the street resolves" "$(action "$street" "$rid" '{"action":"resolve","note":"已疏通下水道"}')" 200
is "e2e: the group is told and asked for a rating" "$(sql "SELECT COUNT(*) FROM outbox WHERE idem_key LIKE 'case:$rid:%' AND payload LIKE '%已疏通下水道%' AND payload LIKE '%满意%'")" 1
clock 2026-11-03T16:00:00+08:00
is "e2e: the reporter rates" "$(ingest r4 "满意" 2026-11-03T16:00:00+08:00 res-7)" 200
get -H "Authorization: Bearer $admin" "$url/api/v1/cases/$rid" >/dev/null
is "e2e: closed with the rating" "$(field 'd["status"]+" "+str(d["satisfaction"])')" "closed 5"
is "e2e: the log of the loop" "$(field '",".join(e["action"] for e in d["events"])')" "report,escalate,escalate,accept,resolve,rate,verify,close"

is "open: missing title" "$(jpost -H "Authorization: Bearer $gw" "$url/api/v1/cases" -d '{"source":"patrol","category":"城乡建设","unit":"411571001001001"}')" 422
is "open: the field is named" "$(field 'd["field"]')" title
is "open: unknown category" "$(jpost -H "Authorization: Bearer $gw" "$url/api/v1/cases" -d '{"source":"patrol","title":"x","category":"天气","unit":"411571001001001"}')" 422
is "open: outside one's area" "$(jpost -H "Authorization: Bearer $gw" "$url/api/v1/cases" -d '{"source":"patrol","title":"x","category":"城乡建设","unit":"411571001001002"}')" 403
is "open: no login" "$(jpost "$url/api/v1/cases" -d '{}')" 401
is "unknown case" "$(get -H "Authorization: Bearer $admin" "$url/api/v1/cases/999999")" 404

# KPI answers are memoised until a case changes (server_kpi_memo.c)
kpi_nov() { get -H "Authorization: Bearer $comm" "$url/api/v1/kpi?unit=411571001001&from=2026-11-01&to=2026-11-04" >/dev/null; field 'd["total"]'; }
n=$(kpi_nov)
is "kpi asked again: the same figures" "$(kpi_nov)" "$n"
is "open a case (walk-in)" "$(jpost -H "Authorization: Bearer $gw" "$url/api/v1/cases" -d '{"source":"walk_in","title":"楼道堆放杂物","category":"城乡建设","unit":"411571001001001"}')" 201
is "kpi after a new case counts it" "$(kpi_nov)" "$((n + 1))"
is "another unit's kpi is its own" "$(get -H "Authorization: Bearer $comm" "$url/api/v1/kpi?unit=411571001001001&from=2026-11-01&to=2026-11-03" >/dev/null; field 'd["unit"]')" 411571001001001

kill -TERM "$pid"; wait "$pid"; rc=$?; pid=""
[ "$rc" = 0 ] || grep -A14 "leak of" "$tmp/log" | head -60
is "server stops cleanly" "$rc" 0

# a new database whose server first starts after the day's digest time missed nothing:
# no digest job at start (before, every staff member got that morning's digest at once)
db=$(fresh_db)
$NY init --db "$db" >/dev/null 2>&1 || bad "a new database"
$NY serve --db "$db" --listen "127.0.0.1:$port" --threads 2 --test-clock=2026-10-20T09:00:00+08:00 2>>"$tmp/log" &
pid=$!
for _ in $(seq 100); do curl -sf "$url/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
sleep 1
is "a new database started after digest time queues no digest" "$(sql "SELECT COUNT(*) FROM jobs WHERE kind = 'case_digest'")" 0
kill -TERM "$pid"; wait "$pid"; pid=""
finish
