#!/bin/bash
# cli_api.sh - end-to-end tests of the staff API (`nuanyang serve`): units,
# groups, messages, leads and stats on a demo district with a few thousand
# messages, and the RBAC matrix: each demo role against each resource, its
# own subtree allowed, a unit filter outside it 403, an object outside it
# 404, and no list ever holding a row of another subtree. Also: 401 without
# a session, bad query arguments 422, text search, pagination, stats that
# agree with the lists and grow with an ingested message. Knowledge: policies
# and lexicon CRUD (district/admin only, checked fields), POST /api/v1/triage
# showing an edit at once, no failed request while edits reload the
# assistant under concurrent load, and a group imported while the server
# runs accepted without a restart. Runs on SQLite,
# or on PostgreSQL when the runner has exported NUANYANG_TEST_PG. Ends with
# "N passed, N failed".
. "$(dirname "$0")/lib_cli.sh"
pid=""
trap '[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
# field EXPR: a python expression on the JSON in $tmp/body (as d)
field() { python3 -c 'import json,os,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$tmp/body" "$1" 2>/dev/null; }

db=$(fresh_db)
$NY demo --db "$db" --messages 3000 >/dev/null 2>&1 &&
    $NY import --db "$db" policies data/policies.csv >/dev/null 2>&1 &&
    $NY import --db "$db" lexicon data/lexicon.csv >/dev/null 2>&1 || { bad "demo database"; finish; exit 1; }
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port"
$NY serve --db "$db" --listen "127.0.0.1:$port" --threads 2 2>"$tmp/log" &
pid=$!
for _ in $(seq 100); do curl -sf "$url/healthz" >/dev/null 2>&1 && break; sleep 0.1; done

declare -A tok
for a in admin district1 street01 comm411571001001 gw411571001001001 dept-zhujian; do
    tok[$a]=$(curl -s -X POST "$url/api/v1/login" -d "{\"account\":\"$a\",\"password\":\"yangshan2026\"}" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])' 2>/dev/null)
done
# get ACCOUNT PATH: status of a GET, body in $tmp/body
get() { curl -s -o "$tmp/body" -w '%{http_code}' -H "Authorization: Bearer ${tok[$1]}" "$url$2"; }

is "login gives every demo role a token" "$(for a in "${!tok[@]}"; do [ ${#tok[$a]} = 43 ] && echo y; done | wc -l)" 6
for r in units groups messages leads stats; do
    is "$r without a session: 401" "$(curl -s -o /dev/null -w '%{http_code}' "$url/api/v1/$r")" 401
done

# The RBAC matrix. Each role's subtree prefix; 'all' sees the district.
declare -A prefix=([admin]=411571 [district1]=411571 [dept-zhujian]=411571 [street01]=411571001
    [comm411571001001]=411571001001 [gw411571001001001]=411571001001001)
# a unit outside each role's subtree (none for the district-wide roles)
declare -A outside=([street01]=411571002000 [comm411571001001]=411571001002
    [gw411571001001001]=411571001001002)
for a in admin district1 dept-zhujian street01 comm411571001001 gw411571001001001; do
    p=${prefix[$a]}
    is "$a: own unit" "$(get $a /api/v1/units)" 200
    for r in groups messages leads; do
        s=$(get $a "/api/v1/$r?limit=500")
        n=$(field 'len(d["items"])')
        leak=$(field "sum(1 for i in d['items'] if not i['unit'].startswith('$p'))")
        if [ "$s" = 200 ] && [ "$leak" = 0 ] && [ "${n:-0}" -gt 0 ]; then ok "$a: $r in scope ($n rows, none outside)"; else
            bad "$a: $r (status $s, rows $n, outside $leak)"; fi
    done
    is "$a: stats" "$(get $a /api/v1/stats)" 200
    if [ -n "${outside[$a]:-}" ]; then
        o=${outside[$a]}
        is "$a: unit $o outside: 404" "$(get $a /api/v1/units/$o)" 404
        for r in groups messages leads stats; do
            is "$a: $r?unit=$o outside: 403" "$(get $a "/api/v1/$r?unit=$o")" 403
        done
        is "$a: 403 says why" "$(field '"forbidden" in d["error"]')" True
    else
        is "$a: any street" "$(get $a /api/v1/units/411571002000)" 200
        is "$a: stats of any street" "$(get $a '/api/v1/stats?unit=411571002000')" 200
    fi
done
is "grid worker: the community above is outside (404)" "$(get gw411571001001001 /api/v1/units/411571001001)" 404
is "street: another street's community (404)" "$(get street01 /api/v1/units/411571002001)" 404
is "unknown unit: 404" "$(get admin /api/v1/units/411571009999)" 404
is "unknown unit filter: 404" "$(get admin '/api/v1/stats?unit=411571009999')" 404
is "malformed unit filter: 422" "$(get admin '/api/v1/messages?unit=abc')" 422
is "a street's malformed filter outside its scope: 403" "$(get street01 '/api/v1/stats?unit=411571002')" 403
# a group of another grid asked for by a grid worker: an empty list, not its messages
g2=$(get admin '/api/v1/groups?unit=411571001001002&kind=resident' >/dev/null; field 'd["items"][0]["external_id"]')
get gw411571001001001 "/api/v1/messages?group=$g2" >/dev/null
is "grid worker: another grid's group gives nothing" "$(field 'd["total"]')" 0
get admin "/api/v1/messages?group=$g2" >/dev/null
export G2=$g2
is "admin: that group's messages are there" "$(field 'd["total"] > 0 and all(i["group"] == os.environ["G2"] for i in d["items"])')" True

# arguments
is "limit over 500: 422" "$(get admin '/api/v1/messages?limit=501')" 422
is "limit names the field" "$(field 'd["field"]')" limit
is "negative offset: 422" "$(get admin '/api/v1/leads?offset=-1')" 422
is "bad from: 422" "$(get admin '/api/v1/messages?from=yesterday')" 422
is "from after to: 422" "$(get admin '/api/v1/messages?from=2026-05-02&to=2026-05-01')" 422
is "unknown intent: 422" "$(get admin '/api/v1/leads?intent=gossip')" 422
is "unknown kind: 422" "$(get admin '/api/v1/groups?kind=family')" 422
get admin '/api/v1/messages?limit=3&offset=2' >/dev/null
is "page of 3 at offset 2" "$(field 'str(len(d["items"]))+"/"+str(d["limit"])+"/"+str(d["offset"])')" "3/3/2"
is "newest first" "$(field 'all(a["sent_at"] >= b["sent_at"] for a, b in zip(d["items"], d["items"][1:]))')" True
get admin '/api/v1/messages?limit=500&q=%E8%B7%AF%E7%81%AF' >/dev/null
is "text search: every hit has the text" "$(field 'd["total"] > 0 and all("路灯" in i["text"] for i in d["items"])')" True
get admin '/api/v1/messages?limit=500&from=2026-03-01&to=2026-03-02' >/dev/null
is "time range: every hit inside" "$(field 'd["total"] > 0 and all(i["sent_at"].startswith("2026-03-01") for i in d["items"])')" True
get admin '/api/v1/leads?limit=500&intent=emergency' >/dev/null
is "lead filter by intent" "$(field 'd["total"] > 0 and all(i["intent"] == "emergency" for i in d["items"])')" True

# stats agree with the lists
for a in district1 street01 comm411571001001 gw411571001001001; do
    get $a /api/v1/messages >/dev/null; m=$(field 'd["total"]')
    get $a /api/v1/leads >/dev/null; l=$(field 'd["total"]')
    get $a /api/v1/stats >/dev/null
    is "$a: stats count the listed messages and leads" "$(field 'str(d["messages"])+"/"+str(d["leads"])')" "$m/$l"
    is "$a: by_intent and by_category add up" "$(field 'sum(d["by_intent"].values()) == d["messages"] == sum(d["by_category"].values())')" True
    is "$a: by_day adds up" "$(field 'sum(x["messages"] for x in d["by_day"]) == d["messages"] and sum(x["leads"] for x in d["by_day"]) == d["leads"]')" True
done
get district1 /api/v1/stats >/dev/null
is "district: seven streets" "$(field 'len(d["by_child"])')" 7
get admin '/api/v1/messages?from=2026-03-01&to=2026-04-01' >/dev/null; m=$(field 'd["total"]')
get admin '/api/v1/stats?from=2026-03-01&to=2026-04-01' >/dev/null
is "stats over a month match the list" "$(field 'd["messages"]')" "$m"
is "by_day covers the month only" "$(field 'all(x["date"].startswith("2026-03") for x in d["by_day"])')" True

# an ingested message counts at once, at every level
$NY connector add --db "$db" bridge >"$tmp/cred" 2>/dev/null
key=$(awk '$1=="key"{print $2}' "$tmp/cred"); secret=$(awk '$1=="secret"{print $2}' "$tmp/cred")
g1=$(get admin '/api/v1/groups?unit=411571001001001&kind=resident' >/dev/null; field 'd["items"][0]["external_id"]')
get gw411571001001001 /api/v1/stats >/dev/null; before=$(field '"%d/%d/%d" % (d["messages"], d["messages_today"], d["by_intent"]["report"])')
get district1 /api/v1/stats >/dev/null; dbefore=$(field 'd["messages"]')
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
printf '{"id":"api-1","group":"%s","sender":{"id":"u9","name":"赵六"},"text":"小区门口的路灯坏了，晚上很黑","time":"%s"}' "$g1" "$now" >"$tmp/m.json"
ts=$(date +%s)
sig=$({ printf '%s' "$ts"; cat "$tmp/m.json"; } | openssl dgst -sha256 -hmac "$secret" | awk '{print $NF}')
is "message ingested" "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$url/api/v1/messages" -H "X-Nuanyang-Key: $key" \
    -H "X-Nuanyang-Timestamp: $ts" -H "X-Nuanyang-Signature: sha256=$sig" --data-binary "@$tmp/m.json")" 200
get gw411571001001001 /api/v1/stats >/dev/null
is "grid stats: one more message, today, a report" "$(field '"%d/%d/%d" % (d["messages"], d["messages_today"], d["by_intent"]["report"])')" \
    "$(python3 -c "a,b,c='$before'.split('/'); print(f'{int(a)+1}/{int(b)+1}/{int(c)+1}')")"
get district1 /api/v1/stats >/dev/null
is "district stats: one more message" "$(field 'd["messages"]')" "$((dbefore + 1))"
get gw411571001001001 '/api/v1/messages?limit=1' >/dev/null
is "the message is the grid's newest" "$(field 'd["items"][0]["text"]')" "小区门口的路灯坏了，晚上很黑"

# ---- knowledge: policies, lexicon, live reload ----
# send ACCOUNT METHOD PATH [BODY]: status, body in $tmp/body
send() { curl -s -o "$tmp/body" -w '%{http_code}' -X "$2" -H "Authorization: Bearer ${tok[$1]}" "$url$3" ${4:+-d "$4"}; }
is "grid worker reads policies" "$(get gw411571001001001 /api/v1/policies)" 200
is "the imported policies are there" "$(field 'd["total"] > 10')" True
is "grid worker reads the lexicon" "$(get gw411571001001001 '/api/v1/lexicon?q=%E7%94%B5%E6%A2%AF&limit=5')" 200
is "lexicon search: every term has the text" "$(field 'd["total"] > 0 and all("电梯" in i["term"] for i in d["items"])')" True
pol='{"code":"test-zhuhu","title":"测试政策：住户登记","category":"城乡建设","audience":"resident","department":"区住建局","summary":"住户登记的测试条目","how_to_apply":"到社区服务站办理","keywords":"住户登记;测试登记"}'
is "street may not add a policy: 403" "$(send street01 POST /api/v1/policies "$pol")" 403
is "grid worker may not add a term: 403" "$(send gw411571001001001 POST /api/v1/lexicon '{"term":"测试热词"}')" 403
is "district adds a policy" "$(send district1 POST /api/v1/policies "$pol")" 200
is "the same code again: 409" "$(send district1 POST /api/v1/policies "$pol")" 409
is "policy read back" "$(get comm411571001001 /api/v1/policies/test-zhuhu)" 200
is "policy fields kept" "$(field 'd["department"]+"|"+d["keywords"]')" "区住建局|住户登记;测试登记"
is "policy with a bad category: 422" "$(send district1 POST /api/v1/policies '{"code":"x1","title":"x","category":"天气","audience":"resident","department":"d","summary":"s"}')" 422
is "422 names the field" "$(field 'd["field"]')" category
is "policy without a title: 422" "$(send admin POST /api/v1/policies '{"code":"x2","category":"无","audience":"both","department":"d","summary":"s"}')" 422
is "update of an unknown policy: 404" "$(send district1 PUT /api/v1/policies/no-such "$pol")" 404
is "term without text: 422" "$(send district1 POST /api/v1/lexicon '{"intent":"report"}')" 422
is "term with a bad action: 422" "$(send district1 POST /api/v1/lexicon '{"term":"测试热词","action":"shout"}')" 422
is "term whose kind does not fit: 422" "$(send district1 POST /api/v1/lexicon '{"term":"测试热词","kind":"pattern"}')" 422
send gw411571001001001 POST /api/v1/triage '{"text":"测试热词出现在小区门口"}' >/dev/null
is "before: the term is not a keyword" "$(field '"测试热词" in [k["term"] for k in d["keywords"]]')" False
is "district adds a term" "$(send district1 POST /api/v1/lexicon '{"term":"测试热词","intent":"report","category":"环境保护","weight":3}')" 200
is "triage sees the new term at once" "$(send gw411571001001001 POST /api/v1/triage '{"text":"测试热词出现在小区门口","unit":"411571001001001"}')" 200
is "the term, its position and hints" "$(field '[(k["term"],k["start"],k["end"],k["category"]) for k in d["keywords"] if k["term"]=="测试热词"]')" "[('测试热词', 0, 12, '环境保护')]"
is "triage answers the whole reading" "$(field 'sorted(d)')" "['category', 'intent', 'keywords', 'normalized', 'notify', 'overridden', 'policies', 'priority', 'reply']"
send gw411571001001001 POST /api/v1/triage '{"text":"小区门口的路灯坏了","unit":"411571001001001"}' >/dev/null
is "triage names the grid worker" "$(field 'any(n.get("account") == "gw411571001001001" for n in d["notify"])')" True
send gw411571001001001 POST /api/v1/triage '{"text":"请问住户登记怎么办理"}' >/dev/null
is "the new policy answers a question" "$(field '[p["code"] for p in d["policies"]][:1]')" "['test-zhuhu']"
is "triage with a unit outside: 403" "$(send gw411571001001001 POST /api/v1/triage '{"text":"你好","unit":"411571002001001"}')" 403
is "triage without text: 422" "$(send gw411571001001001 POST /api/v1/triage '{"kind":"resident"}')" 422
is "triage with a bad kind: 422" "$(send gw411571001001001 POST /api/v1/triage '{"text":"你好","kind":"family"}')" 422

# edits while requests run: every request answered 200
export URL=$url TOKEN=${tok[gw411571001001001]}
seq 400 | xargs -P 4 -I{} sh -c 'curl -s -o /dev/null -w "%{http_code}\n" -H "Authorization: Bearer $TOKEN" "$URL/api/v1/triage" -d "{\"text\":\"楼道里测试热词很多，电梯也坏了 {}\"}"' >"$tmp/codes" &
load=$!
for i in 1 2 3 4 5 6; do
    send district1 PUT "/api/v1/lexicon/%E6%B5%8B%E8%AF%95%E7%83%AD%E8%AF%8D" "{\"intent\":\"report\",\"category\":\"环境保护\",\"weight\":$i}" >/dev/null
    send district1 PUT /api/v1/policies/test-zhuhu "$pol" >/dev/null
done
wait $load
is "400 requests during 12 reloads: all 200" "$(sort "$tmp/codes" | uniq -c | awk '{print $2":"$1}' | tr '\n' ' ')" "200:400 "
get gw411571001001001 '/api/v1/lexicon?q=%E6%B5%8B%E8%AF%95%E7%83%AD%E8%AF%8D' >/dev/null
is "the last edit holds" "$(field 'd["items"][0]["weight"]')" 6.0
is "district deletes the term" "$(send district1 DELETE "/api/v1/lexicon/%E6%B5%8B%E8%AF%95%E7%83%AD%E8%AF%8D")" 200
is "deleting it again: 404" "$(send district1 DELETE "/api/v1/lexicon/%E6%B5%8B%E8%AF%95%E7%83%AD%E8%AF%8D")" 404
send gw411571001001001 POST /api/v1/triage '{"text":"测试热词出现在小区门口"}' >/dev/null
is "after the delete the term is gone" "$(field '"测试热词" in [k["term"] for k in d["keywords"]]')" False
is "admin deletes the policy" "$(send admin DELETE /api/v1/policies/test-zhuhu)" 200

# a group imported while the server runs is known within a second or two
printf 'platform,external_id,kind,unit_code,name,members,target\nwecom,api-new-group,resident,411571001001001,测试新群,12,\n' >"$tmp/g.csv"
$NY import --db "$db" groups "$tmp/g.csv" >/dev/null 2>&1
sleep 1.5
printf '{"id":"api-2","group":"api-new-group","sender":{"id":"u9","name":"赵六"},"text":"新群第一条消息","time":"%s"}' "$now" >"$tmp/m2.json"
ts=$(date +%s)
sig=$({ printf '%s' "$ts"; cat "$tmp/m2.json"; } | openssl dgst -sha256 -hmac "$secret" | awk '{print $NF}')
is "a message to the imported group is stored" "$(curl -s -o "$tmp/body" -w '%{http_code}' -X POST "$url/api/v1/messages" -H "X-Nuanyang-Key: $key" \
    -H "X-Nuanyang-Timestamp: $ts" -H "X-Nuanyang-Signature: sha256=$sig" --data-binary "@$tmp/m2.json")" 200
is "the new group is listed" "$(get gw411571001001001 '/api/v1/groups?limit=500' >/dev/null; field '"api-new-group" in [g["external_id"] for g in d["items"]]')" True

kill -TERM "$pid"; wait "$pid"; is "server stops cleanly" "$?" 0; pid=""
finish
