#!/bin/bash
# cli_open311.sh - the Open311 GeoReport v2 endpoints end to end: discovery,
# services and a service definition; api keys issued by `connector add
# --kind open311` and bound to a street; POST requests.json opens a case at
# the unit its address names (or at the key's unit), which staff then see
# in GET /api/v1/cases; GET requests.json with its filters and GET
# requests/{id}.json; the status turns closed when staff close the case;
# every error path answers the right status with an Open311 error array;
# reads never show a reporter's name, phone or e-mail, nor a chat sender;
# `serve --open311 key` makes reads need a key and limits them to its area,
# `--open311 off` removes the routes. Runs on SQLite, or on PostgreSQL when
# the runner has exported NUANYANG_TEST_PG.
. "$(dirname "$0")/lib_cli.sh"
pid=""
trap '[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
field() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$tmp/body" "$1" 2>/dev/null; }

db=$(fresh_db)
$NY demo --db "$db" >/dev/null 2>&1 || { bad "demo database"; finish; exit 1; }
expect 0 "issue an Open311 key for 前进街道" $NY connector add --db "$db" --kind open311 --unit 411571001000 fms
fms=$(awk '$1=="api_key"{print $2}' "$tmp/out")
is "the key is 32 hex digits" "$(printf '%s' "$fms" | grep -cE '^[0-9a-f]{32}$')" 1
$NY connector add --db "$db" --kind open311 --unit 411571002000 other >"$tmp/out" 2>&1
other=$(awk '$1=="api_key"{print $2}' "$tmp/out")
expect 2 "open311 needs --unit" $NY connector add --db "$db" --kind open311 x
expect 1 "unknown unit" $NY connector add --db "$db" --kind open311 --unit 411571099000 x
expect 1 "a connector cannot take the name" $NY connector add --db "$db" fms
expect 0 "list" $NY connector list --db "$db"
contains "list shows the client and its unit" "$tmp/out" "fms	open311	enabled	411571001000 前进街道"
if grep -q "$fms" "$tmp/out"; then bad "list shows the key"; else ok "list never shows the key"; fi
$NY connector add --db "$db" bridge >"$tmp/cred" 2>&1
key=$(awk '$1=="key"{print $2}' "$tmp/cred"); secret=$(awk '$1=="secret"{print $2}' "$tmp/cred")
group=$($NY export --db "$db" groups - 2>/dev/null | python3 -c 'import csv,sys; print([g for g in csv.DictReader(sys.stdin) if g["unit_code"]=="411571001001001" and g["kind"]=="resident"][0]["external_id"])')

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port"
o="$url/open311/v2"
start() { # extra serve options
    $NY serve --db "$db" --listen "127.0.0.1:$port" --threads 2 --test-clock "$@" 2>"$tmp/log" &
    pid=$!
    for _ in $(seq 100); do curl -sf "$url/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
}
stop() {
    kill -TERM "$pid"; wait "$pid"; local rc=$?; pid=""
    [ "$rc" = 0 ] || grep -A14 "leak of" "$tmp/log" | head -60
    is "server stops cleanly" "$rc" 0
}
get() { curl -s -o "$tmp/body" -w '%{http_code}' "$@"; }
jpost() { curl -s -o "$tmp/body" -w '%{http_code}' -X POST -H 'Content-Type: application/json' "$@"; }
# report FIELD=VALUE...: POST requests.json as a form (api_key first unless given)
report() {
    local args=() kv
    for kv in "$@"; do args+=(--data-urlencode "$kv"); done
    curl -s -o "$tmp/body" -w '%{http_code}' -X POST "$o/requests.json" "${args[@]}"
}
# open311_error STATUS NAME CURL-RESULT: the status and the Open311 error shape
open311_error() {
    is "$2" "$1" "$3"
    is "$2: error array" "$(field '(len(d), d[0]["code"], isinstance(d[0]["description"], str))')" "(1, $3, True)"
}
login() {
    jpost "$url/api/v1/login" -d "{\"account\":\"$1\",\"password\":\"yangshan2026\"}" >/dev/null
    field 'd["token"]'
}
start
admin=$(login admin) comm=$(login comm411571001001) gw=$(login gw411571001001001)
street=$(login street01) dist=$(login district1)
clock() { jpost -H "Authorization: Bearer $admin" "$url/api/v1/admin/clock" -d "{\"now\":\"$1\"}" >/dev/null; }
action() { jpost -H "Authorization: Bearer $1" "$url/api/v1/cases/$2/actions" -d "$3"; }

# discovery and services
is "discovery" "$(get "$o/discovery.json")" 200
is "discovery: the endpoint" "$(field 'd["endpoints"][0]["url"]+" "+",".join(d["endpoints"][0]["formats"])')" "$o application/json"
is "discovery: the specification" "$(field 'd["endpoints"][0]["specification"]')" "http://wiki.open311.org/GeoReport_v2"
is "services" "$(get "$o/services.json")" 200
is "services: the eight codes" "$(field '",".join(s["service_code"] for s in d)')" "urban,environment,transport,education,labour,commerce,health,other"
is "services: Chinese names" "$(field 'd[0]["service_name"]+" "+d[7]["service_name"]')" "城乡建设 其他"
is "services: group is the department" "$(field 'd[0]["group"]')" 区住建局
is "services: realtime, with metadata and keywords" "$(field 'all(s["type"]=="realtime" and s["metadata"] is True and s["keywords"] and s["description"] for s in d)')" True
is "service definition" "$(get "$o/services/environment.json")" 200
is "definition: the urgency attribute" "$(field 'd["service_code"]+" "+d["attributes"][0]["code"]+" "+d["attributes"][0]["datatype"]')" "environment urgency singlevaluelist"
is "definition: its values" "$(field '",".join(v["key"] for v in d["attributes"][0]["values"])')" "general,utility,complex,emergency"
open311_error "$(get "$o/services/nope.json")" "unknown service" 404
open311_error "$(get "$o/services/urban.xml")" "definition in XML" 404

# POST: a request lands at the unit its address names, inside the key's street
clock 2026-03-16T10:00:00+08:00
is "POST a request" "$(report "api_key=$fms" service_code=urban "description=新都社区幸福小区3号楼前井盖松动，请尽快处理。联系电话13812345678" \
    "address_string=前进街道新都社区幸福小区3号楼" lat=32.1301 long=114.0912 first_name=三 last_name=张 phone=13812345678 \
    email=zhangsan@example.com media_url=https://img.example.com/a.jpg)" 201
id1=$(field 'd[0]["service_request_id"]')
is "the answer carries the id and a notice" "$(field 'd[0]["service_notice"].startswith("已受理，由新都社区办理")')" True
is "staff see the case" "$(get -H "Authorization: Bearer $comm" "$url/api/v1/cases/$id1")" 200
is "the case is at the community the address names" "$(field 'd["unit"]+" "+d["level"]+" "+d["status"]')" "411571001001 community reported"
is "the case: category, source, location, photo" "$(field '" ".join([d["category"], d["source"], d["location"], d["photo_url"]])')" "城乡建设 hotline 前进街道新都社区幸福小区3号楼 https://img.example.com/a.jpg"
is "staff see the reporter's contact" "$(field 'd["reporter"]')" "张三 电话 13812345678 邮箱 zhangsan@example.com"
is "the log names the client" "$(field 'd["events"][0]["actor"]+" "+d["events"][0]["note"]')" "open311:fms Open311 接口受理"
is "accept deadline: 4 working hours" "$(field 'd["sla"]["due_at"]')" "2026-03-16T15:00:00+08:00"
get -H "Authorization: Bearer $comm" "$url/api/v1/cases?status=reported" >/dev/null
is "it is in the community's case list" "$(field 'd["items"][0]["id"]')" "$id1"
is "the grid does not hold it" "$(get -H "Authorization: Bearer $gw" "$url/api/v1/cases/$id1")" 404

clock 2026-03-16T10:02:00+08:00

is "POST with a grid's address_id" "$(report "api_key=$fms" service_code=environment "description=502室门口楼道堆放杂物，可联系 li.si@example.org 或１３９１２３４５６７８，身份证41150219800101123X" address_id=411571001001001)" 201
id2=$(field 'd[0]["service_request_id"]')
get -H "Authorization: Bearer $gw" "$url/api/v1/cases" >/dev/null
is "the grid worker's list has it" "$(field '[i["unit"] for i in d["items"] if str(i["id"])=="'"$id2"'"][0]')" 411571001001001
is "POST with coordinates only" "$(report "api_key=$fms" service_code=transport "description=路口红绿灯不亮" lat=32.12 long=114.08 phone=0376-1234567)" 201
id3=$(field 'd[0]["service_request_id"]')
get -H "Authorization: Bearer $street" "$url/api/v1/cases/$id3" >/dev/null
is "without a known place it opens at the key's street" "$(field 'd["unit"]+" "+d["location"]')" "411571001000 经纬度 32.120000,114.080000"
is "a phone without a name" "$(field 'd["reporter"]')" "电话 0376-1234567"
is "POST with the urgency attribute" "$(report "api_key=$fms" service_code=urban "attribute[urgency]=emergency" "address_string=新都社区第一网格")" 201
id4=$(field 'd[0]["service_request_id"]')
get -H "Authorization: Bearer $gw" "$url/api/v1/cases/$id4" >/dev/null
is "an emergency at the grid named, 30 minutes to accept" "$(field '" ".join([d["urgency"], d["unit"], d["sla"]["due_at"], d["title"]])')" "emergency 411571001001001 2026-03-16T10:32:00+08:00 城乡建设（Open311）"

# a resident's report in a chat group is a case too, and shows without who sent it
printf '{"id":"m1","group":"%s","sender":{"id":"res-7","name":"赵大爷"},"text":"小区3栋门口的路灯坏了好几天了，晚上很黑，有事打我电话139 1234 5678","time":"2026-03-16T10:05:00+08:00"}' "$group" >"$tmp/msg.json"
ts=$(date -d 2026-03-16T10:05:00+08:00 +%s)
sig=$({ printf '%s' "$ts"; cat "$tmp/msg.json"; } | openssl dgst -sha256 -hmac "$secret" | awk '{print $NF}')
is "a resident reports in the group" "$(curl -s -o "$tmp/body" -w '%{http_code}' -X POST "$url/api/v1/messages" -H "X-Nuanyang-Key: $key" \
    -H "X-Nuanyang-Timestamp: $ts" -H "X-Nuanyang-Signature: sha256=$sig" --data-binary "@$tmp/msg.json")" 200

# GET requests.json: public, de-personalised
clock 2026-03-16T11:00:00+08:00
is "requests" "$(get "$o/requests.json")" 200
is "requests: all five, newest first" "$(field 'len(d)')" 5
is "requests: the chat report is one" "$(field 'd[0]["service_code"]+" "+d[0]["agency_responsible"]')" "urban 新都社区第一网格"
cp "$tmp/body" "$tmp/public"
for secret_text in 张三 13812345678 0376-1234567 zhangsan@example.com "139 1234 5678" 赵大爷 res-7 "$group" reporter sender; do
    if grep -qF -- "$secret_text" "$tmp/public"; then bad "requests show '$secret_text'"; else ok "requests do not show '$secret_text'"; fi
done
is "contact numbers in the text are masked" "$(field '[r["description"] for r in d if r["service_request_id"]=="'"$id1"'"][0]')" "新都社区幸福小区3号楼前井盖松动，请尽快处理。联系电话***"
is "request fields" "$(field '" ".join(sorted([r for r in d if r["service_request_id"]=="'"$id1"'"][0].keys()))')" \
    "address address_id agency_responsible description expected_datetime lat long media_url requested_datetime service_code service_name service_notice service_request_id status status_notes updated_datetime zipcode"
is "request values" "$(field '[(r["status"], r["service_name"], r["agency_responsible"], r["status_notes"], r["requested_datetime"], r["expected_datetime"], r["lat"], r["long"], r["address"], r["media_url"]) for r in d if r["service_request_id"]=="'"$id1"'"][0]')" \
    "('open', '城乡建设', '新都社区', '受理：Open311 接口受理', '2026-03-16T10:00:00+08:00', '2026-03-16T15:00:00+08:00', 32.1301, 114.0912, '前进街道新都社区幸福小区3号楼', 'https://img.example.com/a.jpg')"
is "full-width digits, e-mail and ID numbers masked, short numbers kept" "$(field '[r["description"] for r in d if r["service_request_id"]=="'"$id2"'"][0]')" "502室门口楼道堆放杂物，可联系 *** 或***，身份证***"
is "address_id echoed" "$(field '[r["address_id"] for r in d if r["service_request_id"]=="'"$id2"'"][0]')" 411571001001001

# filters
get "$o/requests.json?service_code=environment" >/dev/null
is "filter: service_code" "$(field '",".join(r["service_request_id"] for r in d)')" "$id2"
get "$o/requests.json?service_request_id=$id1,$id3" >/dev/null
is "filter: ids (others ignored)" "$(field '",".join(sorted(r["service_request_id"] for r in d))')" "$(printf '%s\n' "$id1" "$id3" | sort | paste -sd,)"
get "$o/requests.json?status=closed" >/dev/null
is "filter: none closed yet" "$(field 'len(d)')" 0
get "$o/requests.json?status=open&service_code=transport" >/dev/null
is "filter: open transport" "$(field '",".join(r["service_request_id"] for r in d)')" "$id3"
get "$o/requests.json?start_date=2026-03-16T10:01:00%2B08:00&end_date=2026-03-16T10:10:00%2B08:00" >/dev/null
is "filter: a time window" "$(field 'len(d)')" 4
get "$o/requests.json?start_date=2026-01-01T00:00:00Z&end_date=2026-03-01T00:00:00Z" >/dev/null
is "filter: an earlier window is empty" "$(field 'len(d)')" 0
get "$o/requests.json?end_date=2026-03-16T09:00:00+08:00" >/dev/null
is "filter: end_date only (a '+' decoded as a space)" "$(field 'len(d)')" 0
open311_error "$(get "$o/requests.json?start_date=2026-03-16")" "bad start_date" 400
open311_error "$(get "$o/requests.json?end_date=yesterday")" "bad end_date" 400
open311_error "$(get "$o/requests.json?start_date=2026-03-16T00:00:00Z&end_date=2026-03-01T00:00:00Z")" "end before start" 400
open311_error "$(get "$o/requests.json?start_date=2025-12-01T00:00:00Z&end_date=2026-03-16T00:00:00Z")" "more than 90 days" 400
open311_error "$(get "$o/requests.json?status=pending")" "bad status" 400
open311_error "$(get "$o/requests.json?service_code=weather")" "unknown service_code filter" 400
open311_error "$(get "$o/requests.json?service_request_id=1,x")" "bad id list" 400

# one request
is "one request" "$(get "$o/requests/$id3.json")" 200
is "one request: an array of one" "$(field 'len(d), d[0]["service_request_id"], d[0]["agency_responsible"]')" "(1, '$id3', '前进街道')"
open311_error "$(get "$o/requests/999999.json")" "unknown request" 404
open311_error "$(get "$o/requests/abc.json")" "malformed request id" 404

# closing through the staff API closes the request
is "street accepts the coordinates-only case" "$(action "$street" "$id3" '{"action":"accept"}')" 200
is "resolves it" "$(action "$street" "$id3" '{"action":"resolve","note":"已修复信号灯，联系人 13700001111"}')" 200
get "$o/requests/$id3.json" >/dev/null
is "resolved is still open, with the note" "$(field 'd[0]["status"]+" "+d[0]["status_notes"]')" "open 已处置：已修复信号灯，联系人 ***"
is "the district verifies" "$(action "$dist" "$id3" '{"action":"verify"}')" 200
clock 2026-03-17T09:00:00+08:00
is "and closes" "$(action "$dist" "$id3" '{"action":"close"}')" 200
get "$o/requests/$id3.json" >/dev/null
is "the request is closed" "$(field 'd[0]["status"]+" "+d[0]["status_notes"]+" "+str(d[0]["expected_datetime"])')" "closed 结案：已修复信号灯，联系人 *** None"
is "updated_datetime follows the log" "$(field 'd[0]["updated_datetime"]')" "2026-03-17T09:00:00+08:00"
get "$o/requests.json?status=closed" >/dev/null
is "filter: closed" "$(field '",".join(r["service_request_id"] for r in d)')" "$id3"

# errors of POST
open311_error "$(report "api_key=$fms" "description=x" "address_string=y")" "missing service_code" 400
open311_error "$(report "api_key=$fms" service_code=weather "description=x" "address_string=y")" "unknown service_code" 400
open311_error "$(report service_code=urban "description=x" "address_string=y")" "missing api_key" 403
open311_error "$(report api_key=0123456789abcdef0123456789abcdef service_code=urban "description=x" "address_string=y")" "bad api_key" 403
open311_error "$(report "api_key=$fms" service_code=urban "address_string=y")" "missing description" 400
open311_error "$(report "api_key=$fms" service_code=urban "description=x")" "missing location" 400
open311_error "$(report "api_key=$fms" service_code=urban "description=x" lat=95 long=114)" "latitude out of range" 400
open311_error "$(report "api_key=$fms" service_code=urban "description=x" lat=32.1)" "lat without long" 400
open311_error "$(report "api_key=$fms" service_code=urban "description=x" address_id=411571002001)" "address_id outside the key's street" 400
open311_error "$(report "api_key=$fms" service_code=urban "description=x" "address_string=y" media_url=javascript:alert)" "bad media_url" 400
open311_error "$(report "api_key=$fms" service_code=urban "description=x" "address_string=y" "attribute[urgency]=now")" "bad urgency" 400
open311_error "$(report "api_key=$fms" service_code=urban "description=x" "address_string=y" "email=not-an-address")" "bad email" 400
open311_error "$(curl -s -o "$tmp/body" -w '%{http_code}' -X POST "$o/requests.json" -d "api_key=$fms&service_code=urban&description=%zz&lat=1&long=2")" "badly escaped form" 400
open311_error "$(jpost "$o/requests.json" -d "{\"api_key\":\"$fms\",\"service_code\":\"urban\"}")" "a JSON body" 400
expect 0 "disable the key" $NY connector disable --db "$db" fms
open311_error "$(report "api_key=$fms" service_code=urban "description=x" "address_string=y")" "disabled key" 403
expect 0 "enable it again" $NY connector enable --db "$db" fms
is "enabled key works" "$(report "api_key=$fms" service_code=other "description=其他问题" "address_string=新都社区")" 201
expect 1 "disable an unknown name" $NY connector disable --db "$db" nobody
stop

# reads that need a key, limited to its area
start --open311 key
open311_error "$(get "$o/requests.json")" "key mode: no key" 403
open311_error "$(get "$o/requests/$id1.json")" "key mode: no key for one" 403
is "key mode: services stay public" "$(get "$o/services.json")" 200
get "$o/requests.json?api_key=$fms&start_date=2026-03-01T00:00:00Z" >/dev/null
is "key mode: the key's street sees its requests (escalated ones too)" "$(field 'len(d)')" 6
is "key mode: another street's key sees none of them" "$(get "$o/requests/$id1.json?api_key=$other")" 404
stop
start --open311 off
open311_error "$(get "$o/discovery.json")" "off: no discovery" 404
open311_error "$(report "api_key=$fms" service_code=urban "description=x" "address_string=y")" "off: no POST" 404
stop
expect 2 "serve: a bad --open311" $NY serve --db "$db" --open311 maybe
finish
