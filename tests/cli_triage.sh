#!/bin/bash
# cli_triage.sh - end-to-end tests of `nuanyang triage`, the assistant's
# command-line contract: one JSON object per input line with the documented
# fields, line counts kept for long lines, empty lines, CRLF and invalid
# UTF-8, the audience of policies per group kind, groups from a database,
# --help and exit codes. The default data comes from $NUANYANG_DATA or the
# data/ directory next to the build directory. Runs on SQLite, or on
# PostgreSQL when the runner exported NUANYANG_TEST_PG. Ends with
# "N passed, N failed".
. "$(dirname "$0")/lib_cli.sh"
check() { # NAME CMD... : the command succeeds
    local name=$1; shift
    if "$@" >"$tmp/check" 2>&1; then ok "$name"; else bad "$name"; sed 's/^/    /' "$tmp/check" | head -5; fi
}
# jsonl FILE LINES : FILE holds LINES JSON objects with the contract's fields
jsonl() {
    python3 - "$1" "$2" <<'PY'
import json, sys
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
assert lines[-1] == "", "output does not end with a newline"
lines = lines[:-1]
assert len(lines) == int(sys.argv[2]), "%d lines, wanted %s" % (len(lines), sys.argv[2])
intents = {"consult", "help", "report", "emergency", "complaint", "other"}
cats = {"城乡建设", "环境保护", "交通运输", "教育文体", "劳动和社会保障", "商贸旅游", "卫生计生", "无"}
for i, l in enumerate(lines):
    o = json.loads(l)
    assert o["intent"] in intents, (i, o["intent"])
    assert o["category"] in cats, (i, o["category"])
    assert all(isinstance(k, str) for k in o["keywords"])
    for p in o["policies"]:
        assert isinstance(p["id"], str) and isinstance(p["title"], str) and p["score"] > 0
    scores = [p["score"] for p in o["policies"]]
    assert scores == sorted(scores, reverse=True), "policies not best first"
    for n in o["notify"]:
        assert n["role"] in {"grid_worker", "community", "street", "district", "department"}
        assert "unit" in n
    assert o["reply"] is None or isinstance(o["reply"], str)
    assert o["priority"] in {"urgent", "high", "normal", "low"}
PY
}
# field FILE LINE EXPR : prints the Python expression EXPR over object o of line LINE (1-based)
field() {
    python3 -c 'import json,sys
o=json.loads(open(sys.argv[1],encoding="utf-8").read().split("\n")[int(sys.argv[2])-1])
print(eval(sys.argv[3]))' "$1" "$2" "$3" 2>/dev/null || echo "(no such field)"
}
is() { # NAME GOT WANT
    if [ "$2" = "$3" ]; then ok "$1"; else bad "$1 (got '$2', wanted '$3')"; fi
}

# usage
expect 0 "triage --help" $NY triage --help
grep -q "group-kind" "$tmp/out" && ok "help names --group-kind" || bad "help names --group-kind"
expect 2 "bad option" $NY triage --frobnicate
expect 2 "bad group kind" $NY triage --group-kind school
expect 2 "stray argument" $NY triage extra
expect 2 "option without value" $NY triage --group
expect 1 "missing data directory" $NY triage --data "$tmp/none" </dev/null
grep -qF "$tmp/none" "$tmp/err" && ok "missing data is named" || bad "missing data is named"
expect 0 "empty input" $NY triage </dev/null
is "empty input gives empty output" "$(wc -c <"$tmp/out")" 0

# JSON lines, one per input line, in order
cat >"$tmp/in.txt" <<'TXT'
楼下着火了 快来人
请问低保怎么申请 需要什么材料

3号楼电梯又坏了 好几天了没人修
好的 谢谢
隔壁装修天天半夜吵 跟他说也不听
TXT
printf '电梯坏了\r\n最后一行没有换行' >>"$tmp/in.txt"
expect 0 "triage of 8 lines" $NY triage <"$tmp/in.txt"
check "8 JSON lines with the contract's fields" jsonl "$tmp/out" 8
is "emergency first" "$(field "$tmp/out" 1 'o["intent"]')" emergency
is "emergency is urgent" "$(field "$tmp/out" 1 'o["priority"]')" urgent
is "emergency reply" "$(field "$tmp/out" 1 '"网格员已收到" in o["reply"] and "119" in o["reply"]')" True
is "emergency tells grid, community, street" \
    "$(field "$tmp/out" 1 '",".join(n["role"] for n in o["notify"])')" "grid_worker,community,street"
is "no unit without a group" "$(field "$tmp/out" 1 'o["notify"][0]["unit"]')" None
is "keywords found" "$(field "$tmp/out" 1 '"着火" in o["keywords"]')" True
is "consult gets a policy" "$(field "$tmp/out" 2 'o["policies"][0]["id"]')" dibao
is "consult reply quotes the title" "$(field "$tmp/out" 2 'o["policies"][0]["title"] in o["reply"]')" True
is "empty line is other" "$(field "$tmp/out" 3 'o["intent"], o["reply"]')" "('other', None)"
is "chit-chat has no reply" "$(field "$tmp/out" 5 'o["reply"]')" None
is "CRLF line" "$(field "$tmp/out" 7 '"电梯" in o["keywords"]')" True

# long lines and invalid UTF-8
python3 -c 'import sys
sys.stdout.write("小区门口的路灯坏了好久了，晚上很黑，老人孩子出门都不方便。" * 400 + "\n")
sys.stdout.write("短的一行\n")
sys.stdout.write("垃圾" * 20000 + "\n")' >"$tmp/long.txt"
expect 0 "long lines" $NY triage <"$tmp/long.txt"
check "long lines keep the line count" jsonl "$tmp/out" 3
printf 'abc\xff\xfe电梯\xe5坏了\n\xc0\xaf\x00\x01\n\xed\xa0\x80着火了\n正常的一行\n' >"$tmp/bad.txt"
expect 0 "invalid UTF-8 is repaired" $NY triage <"$tmp/bad.txt"
check "invalid UTF-8 keeps the line count, output is valid JSON" jsonl "$tmp/out" 4

# the audience of policies
echo "请问我们公司的稳岗返还今年怎么申请" >"$tmp/q.txt"
expect 0 "enterprise group" $NY triage --group-kind enterprise <"$tmp/q.txt"
is "enterprise group gets the enterprise policy" \
    "$(field "$tmp/out" 1 '"wengang_fanhuan" in [p["id"] for p in o["policies"]]')" True
expect 0 "resident group" $NY triage --group-kind resident <"$tmp/q.txt"
is "resident group does not" \
    "$(field "$tmp/out" 1 '"wengang_fanhuan" in [p["id"] for p in o["policies"]]')" False
echo "请问低保怎么申请 需要什么材料" >"$tmp/q2.txt"
expect 0 "resident policy in an enterprise group" $NY triage --group-kind enterprise <"$tmp/q2.txt"
is "enterprise group does not get 低保" \
    "$(field "$tmp/out" 1 '"dibao" in [p["id"] for p in o["policies"]]')" False

# groups from a database: units and names of who is told
db=$(fresh_db)
if $NY demo --db "$db" >/dev/null 2>&1 && $NY export --db "$db" groups "$tmp/groups.csv" >/dev/null 2>&1; then
    ok "demo district for groups"
    gid=$(python3 -c 'import csv,sys
for r in csv.DictReader(open(sys.argv[1], encoding="utf-8")):
    if r["kind"] == "resident" and len(r["unit_code"]) == 15:
        print(r["external_id"]); break' "$tmp/groups.csv")
    echo "3号楼楼道里着火了 快来人" >"$tmp/fire.txt"
    expect 0 "triage in a resident group of the database" $NY triage --db "$db" --group "$gid" <"$tmp/fire.txt"
    check "database run gives a JSON line" jsonl "$tmp/out" 1
    is "the grid is told by code" "$(field "$tmp/out" 1 'len(o["notify"][0]["unit"])')" 15
    is "the street is told" "$(field "$tmp/out" 1 'o["notify"][2]["role"], len(o["notify"][2]["unit"])')" "('street', 12)"
    is "the grid worker has an account" "$(field "$tmp/out" 1 'o["notify"][0]["account"].startswith("gw")')" True
    echo "我家楼下的路灯坏了 晚上很黑" >"$tmp/lamp.txt"
    expect 0 "a report in the group" $NY triage --db "$db" --group "$gid" <"$tmp/lamp.txt"
    is "the acknowledgement names the grid worker" \
        "$(field "$tmp/out" 1 'o["intent"], "网格员" + o["notify"][0]["name"] in o["reply"]')" "('report', True)"
    expect 1 "unknown group" $NY triage --db "$db" --group no-such-group </dev/null
    grep -q "no-such-group" "$tmp/err" && ok "unknown group is named" || bad "unknown group is named"
else
    bad "demo district for groups"
fi
if [ -z "${NUANYANG_TEST_PG:-}" ]; then
    expect 1 "missing database file" $NY triage --db "$tmp/none.db" </dev/null
fi

# eval --cv --quick: the quick proxy (every model at one C) on a small file of
# our own, trained on its folds alone; a bad C is a usage error
if [ -z "${NUANYANG_TEST_PG:-}" ]; then
    for i in 1 2 3 4 5 6; do
        printf 'report\t城乡建设\t%s号楼的电梯又坏了\n' "$i"
        printf 'report\t交通运输\t%s路公交车站的站牌倒了\n' "$i"
        printf 'consult\t劳动和社会保障\t请问第%s批低保什么时候发\n' "$i"
        printf 'other\t无\t谢谢大家 第%s次辛苦了\n' "$i"
    done >"$tmp/tiny.tsv"
    expect 0 "eval --cv --quick runs" $NY eval --task intent "$tmp/tiny.tsv" --cv 2 --only \
        --quick 1 --lexicon ""
    contains "eval --quick says so" "$tmp/out" "quick (fixed C)"
    is "eval --quick scores the tiny set" "$(grep -c 'macro-F1' "$tmp/out")" 1
    expect 2 "eval --quick 0 is refused" $NY eval --task category "$tmp/tiny.tsv" --cv 2 --quick 0
    contains "the refusal names --quick" "$tmp/err" "--quick"
fi

finish
