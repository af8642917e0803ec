#!/bin/bash
# cli_wecom.sh - end-to-end tests of the WeCom callback, GET/POST
# /connectors/wecom/{name}: `nuanyang connector add --kind wecom`, every
# vector of ../shared/vectors/wecom_callback.json through HTTP (URL checks
# answered with the echo, the decrypt vectors decrypted, the encrypt vector
# matched by the test's own peer, tests/wecom_peer.py), group messages in XML
# (group robot) and JSON (AI bot, receive_id "") envelopes stored once and
# answered with an encrypted reply the peer verifies and decrypts, and the
# refusals (wrong signature, stale or malformed timestamp, missing
# parameters, garbage envelope, ciphertext for another receive id, unknown
# group, unknown, webhook or disabled connector) storing nothing. Runs on
# SQLite, or on PostgreSQL when NUANYANG_TEST_PG is set.
. "$(dirname "$0")/lib_cli.sh"
pid=""
trap '[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
vec=../shared/vectors/wecom_callback.json
peer="python3 tests/wecom_peer.py"
messages() { $NY stats --db "$db" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["messages"])'; }
field() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$tmp/body" "$1" 2>/dev/null; }
v() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[int(sys.argv[2])][sys.argv[3]])' "$vec" "$1" "$2"; }

if [ ! -f "$vec" ]; then bad "no $vec"; finish; exit; fi
is "the test's WeCom peer reproduces every vector" "$($peer selftest "$vec")" ok

db=$(fresh_db)
$NY demo --db "$db" >/dev/null 2>&1 || { bad "demo database"; finish; exit; }
group=$($NY export --db "$db" groups - 2>/dev/null | python3 -c 'import csv,sys; r=list(csv.DictReader(sys.stdin)); print([g for g in r if g["kind"]=="resident"][0]["external_id"])')
# connectors: one per vector key, an AI bot (receive id ""), a webhook
add() { $NY connector add --db "$db" --kind wecom "$@"; }
add v1 --token "$(v 0 token)" --aes-key "$(v 0 encoding_aes_key)" --receive-id "$(v 0 receive_id)" >"$tmp/out"
is "connector add --kind wecom prints the callback path" "$(cat "$tmp/out")" "callback /connectors/wecom/v1"
add v3 --token "$(v 2 token)" --aes-key "$(v 2 encoding_aes_key)" --receive-id "$(v 2 receive_id)" >/dev/null
add v5 --token "$(v 4 token)" --aes-key "$(v 4 encoding_aes_key)" --receive-id "$(v 4 receive_id)" >/dev/null
bot_token=botToken2026 bot_key=$(v 2 encoding_aes_key)
add bot --token "$bot_token" --aes-key "$bot_key" >/dev/null
$NY connector add --db "$db" hook >/dev/null
expect 2 "wecom connector without --token" $NY connector add --db "$db" --kind wecom x --aes-key "$bot_key"
expect 2 "wecom connector with a bad aes key" $NY connector add --db "$db" --kind wecom x --token t --aes-key short
expect 2 "--token without --kind wecom" $NY connector add --db "$db" x --token t
$NY connector list --db "$db" >"$tmp/list"
contains "connector list shows the wecom kind" "$tmp/list" "bot	wecom	enabled"
before=$(messages)

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port"
$NY serve --db "$db" --listen "127.0.0.1:$port" --threads 2 --test-clock 2>"$tmp/log" &
pid=$!
for _ in $(seq 100); do curl -sf "$url/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
jpost() { curl -s -o "$tmp/body" -w '%{http_code}' -X POST -H 'Content-Type: application/json' "$@"; }
jpost "$url/api/v1/login" -d '{"account":"admin","password":"yangshan2026"}' >/dev/null
admin=$(field 'd["token"]')
clock() { # UNIX: the server's test clock
    jpost -H "Authorization: Bearer $admin" "$url/api/v1/admin/clock" \
        -d "{\"now\":\"$(date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ)\"}" >/dev/null
}
get() { curl -s -o "$tmp/body" -w '%{http_code}' "$@"; }
# wpost NAME QUERY BODYFILE: POST a callback body
wpost() { curl -s -o "$tmp/body" -w '%{http_code}' -X POST --data-binary "@$3" "$url/connectors/wecom/$1?$2"; }
q() { python3 -c 'import sys,urllib.parse as u; print(u.urlencode(dict(zip(sys.argv[1::2],sys.argv[2::2]))))' "$@"; }

# ---- the vectors -------------------------------------------------------------
for i in 1 2; do # URL verification (V2, V3)
    name=$([ $i = 1 ] && echo v1 || echo v3)
    clock "$(v $i timestamp)"
    is "$(v $i name): GET answers 200" "$(get "$url/connectors/wecom/$name?$(q msg_signature "$(v $i msg_signature)" timestamp "$(v $i timestamp)" nonce "$(v $i nonce)" echostr "$(v $i encrypt)")")" 200
    is "$(v $i name): the body is the echo" "$(cat "$tmp/body")" "$(v $i plaintext)"
done
for i in 0 3; do # app messages (V1, V4): decrypted, not group messages, not stored
    name=$([ $i = 0 ] && echo v1 || echo v3)
    clock "$(v $i timestamp)"
    if [ $i = 0 ]; then
        printf '<xml><ToUserName><![CDATA[%s]]></ToUserName>\n<Encrypt><![CDATA[%s]]></Encrypt>\n<AgentID><![CDATA[218]]></AgentID>\n</xml>' "$(v $i receive_id)" "$(v $i encrypt)" >"$tmp/env"
    else # plain text instead of CDATA
        printf '<xml><ToUserName>%s</ToUserName><Encrypt>%s</Encrypt></xml>' "$(v $i receive_id)" "$(v $i encrypt)" >"$tmp/env"
    fi
    qs=$(q msg_signature "$(v $i msg_signature)" timestamp "$(v $i timestamp)" nonce "$(v $i nonce)")
    is "$(v $i name): POST answers 200" "$(wpost $name "$qs" "$tmp/env")" 200
    is "$(v $i name): with an empty body (no reply)" "$(wc -c <"$tmp/body")" 0
    from=$(v $i plaintext | python3 -c 'import re,sys; print(re.search(r"<FromUserName>(?:<!\[CDATA\[)?(\w+)", sys.stdin.read()).group(1))')
    contains "$(v $i name): decrypted (sender logged), not stored" "$tmp/log" "\"reason\":\"not a group message\",\"msgtype\":\"text\",\"msgid\":\"$(v $i plaintext | sed -n 's/.*<MsgId>\([0-9]*\)<.*/\1/p')\",\"from\":\"$from\""
    sig=$(v $i msg_signature)
    qs=$(q msg_signature "${sig%?}0" timestamp "$(v $i timestamp)" nonce "$(v $i nonce)")
    [ "${sig: -1}" = 0 ] && qs=$(q msg_signature "${sig%?}1" timestamp "$(v $i timestamp)" nonce "$(v $i nonce)")
    is "$(v $i name): one wrong signature digit is 401" "$(wpost $name "$qs" "$tmp/env")" 401
done
clock "$(v 4 timestamp)" # V5: the encrypt vector posted back decrypts (its text is no message)
printf '<xml><Encrypt><![CDATA[%s]]></Encrypt></xml>' "$(v 4 encrypt)" >"$tmp/env"
is "$(v 4 name): POST answers 200" "$(wpost v5 "$(q msg_signature "$(v 4 msg_signature)" timestamp "$(v 4 timestamp)" nonce "$(v 4 nonce)")" "$tmp/env")" 200
contains "$(v 4 name): decrypted, not a text message" "$tmp/log" '"connector":"v5","reason":"not a text message"'
printf '{"encrypt":"%s"}' "$(v 4 encrypt)" >"$tmp/env"
is "$(v 4 name) in a JSON envelope: not JSON inside" "$(wpost v5 "$(q msg_signature "$(v 4 msg_signature)" timestamp "$(v 4 timestamp)" nonce "$(v 4 nonce)")" "$tmp/env")" 400
is "... says so" "$(field '"not a JSON object" in d["error"]')" True
is "vectors stored nothing" "$(messages)" "$before"

# ---- group messages ----------------------------------------------------------
now=$(date +%s)
clock "$now"
bot() { # MSGID CHATID TEXT -> $tmp/msg (AI-bot JSON message)
    printf '{"msgid":"%s","aibotid":"AIBOT1","chatid":"%s","chattype":"group","from":{"userid":"zhangsan"},"response_url":"https://example.invalid/r","msgtype":"text","text":{"content":"%s"}}' "$1" "$2" "$3" >"$tmp/msg"
}
bot m1 "$group" "@暖羊阳 请问低保怎么申请"
qs=$($peer post json "$bot_token" "$bot_key" "" "$now" n0nce1 "$tmp/msg" "$tmp/env")
is "AI bot: group question accepted" "$(wpost bot "$qs" "$tmp/env")" 200
cp "$tmp/body" "$tmp/reply"
$peer open "$bot_token" "$bot_key" "" "$tmp/reply" >"$tmp/plain" 2>"$tmp/err"
is "AI bot: the reply is signed and encrypted for receive id \"\"" "$?" 0
is "AI bot: a finished stream message" "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["msgtype"], d["stream"]["finish"], d["stream"]["id"])' "$tmp/plain")" "stream True ny-m1"
contains "AI bot: the reply is the policy answer" "$tmp/plain" "低保"
is "AI bot: stored" "$(messages)" "$((before + 1))"
is "AI bot: WeCom's retry answers again" "$(wpost bot "$qs" "$tmp/env")" 200
is "AI bot: the retry is stored once" "$(messages)" "$((before + 1))"
bot m2 "$group" "谢谢网格员"
qs=$($peer post json "$bot_token" "$bot_key" "" "$now" n0nce2 "$tmp/msg" "$tmp/env")
is "AI bot: thanks accepted" "$(wpost bot "$qs" "$tmp/env")" 200
is "AI bot: no reply to thanks" "$(wc -c <"$tmp/body")" 0
printf '{"msgid":"m3","chatid":"x","chattype":"single","from":{"userid":"u"},"msgtype":"text","text":{"content":"你好"}}' >"$tmp/msg"
qs=$($peer post json "$bot_token" "$bot_key" "" "$now" n0nce3 "$tmp/msg" "$tmp/env")
is "AI bot: one-to-one chat acknowledged" "$(wpost bot "$qs" "$tmp/env")" 200
contains "AI bot: one-to-one chat logged, not stored" "$tmp/log" '"connector":"bot","reason":"not a group message"'

rid=$(v 0 receive_id) tok=$(v 0 token) key=$(v 0 encoding_aes_key)
printf '<xml><WebhookUrl><![CDATA[https://example.invalid/w]]></WebhookUrl><ChatId><![CDATA[%s]]></ChatId><ChatType>group</ChatType><From><UserId><![CDATA[lisi]]></UserId><Name><![CDATA[李四]]></Name><Alias><![CDATA[ls]]></Alias></From><CreateTime>%s</CreateTime><MsgType><![CDATA[text]]></MsgType><Text><Content><![CDATA[着火了！3栋楼道冒烟，快来人 <Content>x]]></Content></Text><MsgId><![CDATA[x1]]></MsgId></xml>' "$group" "$now" >"$tmp/msg"
qs=$($peer post xml "$tok" "$key" "$rid" "$now" abc123 "$tmp/msg" "$tmp/env")
is "group robot XML: emergency accepted" "$(wpost v1 "$qs" "$tmp/env")" 200
cp "$tmp/body" "$tmp/reply"
$peer open "$tok" "$key" "$rid" "$tmp/reply" >"$tmp/plain" 2>"$tmp/err"
is "XML: the reply is signed and encrypted for the receive id" "$?" 0
contains "XML: a text reply" "$tmp/plain" "<xml><MsgType>text</MsgType><Text><Content><![CDATA["
contains "XML: the reply gives the fire number" "$tmp/plain" "119"
contains "XML: the reply mentions the sender" "$tmp/plain" "<MentionedList><Item><![CDATA[lisi]]></Item></MentionedList>"
is "XML: stored" "$(messages)" "$((before + 3))"

# ---- refusals ----------------------------------------------------------------
bot r1 "$group" "新消息"
qs=$($peer post json "$bot_token" "$bot_key" "" "$now" n1 "$tmp/msg" "$tmp/env")
is "wrong token (signature)" "$(wpost bot "$($peer post json wrongtoken "$bot_key" "" "$now" n1 "$tmp/msg" /dev/null)" "$tmp/env")" 401
is "wrong signature names msg_signature" "$(field 'd["field"]')" msg_signature
stale=$((now - 400))
qs=$($peer post json "$bot_token" "$bot_key" "" "$stale" n1 "$tmp/msg" "$tmp/env")
is "stale timestamp" "$(wpost bot "$qs" "$tmp/env")" 401
is "stale timestamp says so" "$(field '"5-minute" in d["error"]')" True
is "malformed timestamp" "$(wpost bot "$(q msg_signature 0 timestamp 12ab nonce n)" "$tmp/env")" 400
is "missing nonce" "$(wpost bot "$(q msg_signature 0 timestamp "$now")" "$tmp/env")" 400
is "missing nonce names it" "$(field 'd["field"]')" nonce
printf 'hello, world' >"$tmp/garbage"
is "garbage body" "$(wpost bot "$(q msg_signature 0 timestamp "$now" nonce n)" "$tmp/garbage")" 400
is "garbage body says what is wrong" "$(field '"envelope" in d["error"]')" True
printf '<xml><Encrypt><![CDATA[not*base64]]></Encrypt></xml>' >"$tmp/junk"
sig=$(python3 -c 'import hashlib,sys; print(hashlib.sha1("".join(sorted(sys.argv[1:])).encode()).hexdigest())' "$bot_token" "$now" n9 'not*base64')
is "signed garbage ciphertext" "$(wpost bot "$(q msg_signature "$sig" timestamp "$now" nonce n9)" "$tmp/junk")" 400
is "... is a decryption error" "$(field '"decrypt" in d["error"]')" True
qs=$($peer post json "$bot_token" "$bot_key" "wx-other" "$now" n2 "$tmp/msg" "$tmp/env")
is "ciphertext for another receive id" "$(wpost bot "$qs" "$tmp/env")" 400
bot r2 "no-such-chat" "在吗"
qs=$($peer post json "$bot_token" "$bot_key" "" "$now" n3 "$tmp/msg" "$tmp/env")
is "unknown group" "$(wpost bot "$qs" "$tmp/env")" 422
is "unknown group names chatid" "$(field 'd["field"]')" chatid
is "unknown connector" "$(wpost nosuch "$qs" "$tmp/env")" 404
is "errors are Chinese and English" "$(field '"没有这个企业微信连接器 / no WeCom connector" in d["error"]')" True
is "webhook connector has no WeCom callback" "$(wpost hook "$qs" "$tmp/env")" 404
is "GET without echostr" "$(get "$url/connectors/wecom/bot?$(q msg_signature 0 timestamp "$now" nonce n)")" 400
is "wrong method" "$(get -X PUT "$url/connectors/wecom/bot")" 405
$NY connector disable --db "$db" bot
bot r3 "$group" "在吗"
qs=$($peer post json "$bot_token" "$bot_key" "" "$now" n4 "$tmp/msg" "$tmp/env")
is "disabled connector" "$(wpost bot "$qs" "$tmp/env")" 403
is "refusals stored nothing" "$(messages)" "$((before + 3))"

get "$url/metrics" >/dev/null
is "metrics count the callback messages" "$(awk '$1=="nuanyang_messages_ingested_total"{print $2}' "$tmp/body")" 3
kill -TERM "$pid"; wait "$pid"; rc=$?; pid=""
is "SIGTERM: exit 0" "$rc" 0
finish
