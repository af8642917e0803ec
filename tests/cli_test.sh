#!/bin/bash
# cli_test.sh - end-to-end tests of the nuanyang binary: exit codes, help,
# init, import errors, demo district counts, export round trip and the
# schema-version guard. Runs on SQLite, or on PostgreSQL when the runner has
# exported NUANYANG_TEST_PG. Ends with "N passed, N failed".
. "$(dirname "$0")/lib_cli.sh"
json_field() { # FILE PATH (e.g. groups.resident)
    python3 -c 'import json,sys; v=json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."): v=v[k]
print(v)' "$1" "$2"
}

# usage and help
expect 2 "no arguments is a usage error" $NY
expect 0 "--help" $NY --help
expect 2 "unknown command" $NY frobnicate
for c in init import export demo stats; do
    expect 0 "$c --help" $NY $c --help
    expect 2 "$c with a bad option" $NY $c --no-such-option
done
NUANYANG_DB= expect 2 "stats without a database" env -u NUANYANG_DB $NY stats
contains "missing database is explained" "$tmp/err" "--db"
expect 2 "import of an unknown kind" $NY import --db "$tmp/x.db" planets x.csv
expect 2 "demo with a bad --messages" $NY demo --db "$tmp/x.db" --messages lots

# init and stats on an empty database
db=$(fresh_db)
expect 0 "init creates a database" $NY init --db "$db"
grep -qE "schema version [0-9]+" "$tmp/out" && ok "init reports the schema version" || bad "init reports the schema version"
expect 0 "stats --json on an empty database" $NY stats --db "$db" --json
[ "$(json_field "$tmp/out" households)" = 0 ] && ok "empty database has no households" || bad "empty database has no households"
if [ -z "${NUANYANG_TEST_PG:-}" ]; then
    expect 1 "stats on a missing file fails" $NY stats --db "$tmp/none.db"
    contains "missing file is named" "$tmp/err" "none.db"
fi

# import errors name FILE:LINE and write nothing
cat >"$tmp/units.csv" <<'CSV'
code,name,level,parent_code
411571000000,羊山新区,district,
411571001000,前进街道,street,411571000000
411571001001,新都社区,community,411571001000
411571001001001,新都社区第一网格,grid,411571001001
CSV
cp "$tmp/units.csv" "$tmp/bad.csv"
echo '411571009001,无名社区,community,411571009000' >>"$tmp/bad.csv"
expect 1 "import with an unknown parent fails" $NY import --db "$db" units "$tmp/bad.csv"
contains "unknown parent reported as FILE:LINE: column" "$tmp/err" "bad.csv:6: parent_code"
$NY stats --db "$db" --json >"$tmp/s.json"
[ "$(json_field "$tmp/s.json" units.district)" = 0 ] && ok "failed import wrote nothing" || bad "failed import wrote nothing"
expect 0 "valid units import" $NY import --db "$db" units "$tmp/units.csv"
expect 0 "export units" $NY export --db "$db" units "$tmp/units.out.csv"
cmp -s "$tmp/units.csv" "$tmp/units.out.csv" && ok "units export reproduces the input" || bad "units export reproduces the input"

# the demo district
demo=$(fresh_db)
expect 0 "demo creates the district" $NY demo --db "$demo"
expect 0 "stats --json on the demo" $NY stats --db "$demo" --json
cp "$tmp/out" "$tmp/demo.json"
check() { # NAME PATH MIN MAX
    local v; v=$(json_field "$tmp/demo.json" "$2")
    if [ "$v" -ge "$3" ] && [ "$v" -le "$4" ]; then ok "$1 ($v)"; else bad "$1 ($v not in $3..$4)"; fi
}
check "820 resident groups" groups.resident 820 820
check "31 enterprise groups" groups.enterprise 31 31
check "at least 400 grids" units.grid 400 100000
check "at least 6 streets" units.street 6 100
check "about 70 communities" units.community 60 80
check "125k-135k households" households 125000 135000
check "2.2k-2.4k enterprises" enterprises 2200 2400
expect 1 "demo refuses a database that has a district" $NY demo --db "$demo"
if [ -n "${NUANYANG_TEST_PG:-}" ]; then # the same district on both engines
    $NY demo --db "$tmp/same.db" 2>/dev/null
    $NY stats --db "$tmp/same.db" --json --digest | sed 's/"engine":"[a-z]*",//' >"$tmp/sq.json"
    $NY stats --db "$demo" --json --digest | sed 's/"engine":"[a-z]*",//' >"$tmp/pg.json"
    grep -q '"digest":"[0-9a-f]\{64\}"' "$tmp/pg.json" && cmp -s "$tmp/sq.json" "$tmp/pg.json" &&
        ok "PostgreSQL and SQLite demo: same counts and digest" ||
        bad "PostgreSQL and SQLite demo: same counts and digest"
fi
expect 0 "stats table" $NY stats --db "$demo"
contains "table names the groups" "$tmp/out" "resident groups"

# round trip of every kind through a second database
copy=$(fresh_db)
for k in units groups staff households enterprises; do
    $NY export --db "$demo" --full-phones $k "$tmp/$k.csv" 2>/dev/null || bad "export $k"
    expect 0 "import $k into a copy" $NY import --db "$copy" $k "$tmp/$k.csv"
    $NY export --db "$copy" --full-phones $k "$tmp/$k.2.csv" 2>/dev/null
    cmp -s "$tmp/$k.csv" "$tmp/$k.2.csv" && ok "$k round trip" || bad "$k round trip"
done
$NY export --db "$demo" households - 2>/dev/null | sed -n 2p >"$tmp/masked"
grep -qE '\*\*\*\*' "$tmp/masked" && ok "phones are masked by default" || bad "phones are masked by default"

# a database from a newer nuanyang is refused
if [ -z "${NUANYANG_TEST_PG:-}" ]; then
    sqlite3 "$db" "UPDATE meta SET value='99' WHERE key='schema_version'"
    expect 1 "newer schema is refused" $NY stats --db "$db"
    contains "refusal says newer" "$tmp/err" "newer"
fi

finish
