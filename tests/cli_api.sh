#!/bin/bash
# cli_api.sh - end-to-end tests of the staff API (`nuanyang serve`): units,
# groups, messages, leads and stats on a demo district with a few thousand
# messages, and the RBAC matrix: each demo role against each resource, its
# own subtree allowed, a unit filter outside it 403, an object outside it
# 404, and no list ever holding a row of another subtree. Also: 401 without
# a session, bad query arguments 422, text search, pagination, stats that
# agree with the lists and grow with an ingested message. Runs on SQLite,
# or on PostgreSQL when the runner has exported NUANYANG_TEST_PG. Ends with
# "N passed, N failed".
. "$(dirname "$0")/lib_cli.sh"
pid=""
trap '[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
# field EXPR: a python expression on the JSON in $tmp/body (as d)
field() { python3 -c 'import json,os,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$tmp/body" "$1" 2>/dev/null; }

db=$(fresh_db)
$NY demo --db "$db" --messages 3000 >/dev/null 2>&1 || { bad "demo database"; finish; exit 1; }
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

kill -TERM "$pid"; wait "$pid"; is "server stops cleanly" "$?" 0; pid=""
finish
