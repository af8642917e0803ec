#!/bin/bash
# cli_user.sh - end-to-end tests of `nuanyang user` and of the demo logins:
# help and exit codes, add (new and imported staff), the password policy,
# passwd, disable/enable, list (never a hash), and the one login per role
# that `nuanyang demo` sets up and prints. Runs on SQLite, or on PostgreSQL
# when the runner has exported NUANYANG_TEST_PG. Ends with "N passed, N failed".
. "$(dirname "$0")/lib_cli.sh"
lacks() { # NAME FILE TEXT
    if grep -qF -- "$3" "$2"; then bad "$1 ('$3' in output)"; else ok "$1"; fi
}
password() { printf '%s\n' "$1" >"$tmp/in"; }
# account_field ACCOUNT FIELD : from `user list --json` of $db
account_field() {
    $NY user list --db "$db" --json </dev/null >"$tmp/list.json" 2>/dev/null
    python3 -c 'import json,sys
rows=[r for r in json.load(open(sys.argv[1])) if r["account"]==sys.argv[2]]
print(rows[0][sys.argv[3]] if rows else "absent")' "$tmp/list.json" "$1" "$2"
}
: >"$tmp/in"
EXPECT_IN=$tmp/in # every command reads the password file

# usage and help
expect 0 "user --help" $NY user --help
contains "help lists the commands" "$tmp/out" "disable ACCOUNT"
expect 2 "user without a command" $NY user
expect 2 "user with an unknown command" $NY user frobnicate
for c in add passwd disable enable list; do
    expect 0 "user $c --help" $NY user $c --help
    expect 2 "user $c with a bad option" $NY user $c --no-such-option
done
expect 2 "user list without a database" env -u NUANYANG_DB $NY user list
expect 2 "user passwd without an account" $NY user passwd --db "$tmp/x.db"

# a district with one community and grid
db=$(fresh_db)
cat >"$tmp/units.csv" <<'CSV'
code,name,level,parent_code
411571000000,羊山新区,district,
411571001000,前进街道,street,411571000000
411571001001,新都社区,community,411571001000
411571001001001,新都社区第一网格,grid,411571001001
CSV
$NY init --db "$db" >/dev/null 2>&1 && $NY import --db "$db" units "$tmp/units.csv" >/dev/null 2>&1 ||
    bad "set up the district"

# add: the policy, then a new staff member
add_gw() { $NY user add --db "$db" wangfang --name 王芳 --role grid_worker --unit 411571001001001 --password-stdin; }
for weak in 'short1' '1234567890' 'wangfang' 'WangFang'; do
    password "$weak"
    expect 1 "weak password '$weak' refused" add_gw
done
contains "the reason is given in Chinese and English" "$tmp/err" "不能与账号相同 / the password may not equal"
is "a refused add writes nothing" "$(account_field wangfang state)" absent
: >"$tmp/in"
expect 1 "no password line on stdin" add_gw
expect 2 "no password source off a terminal" \
    $NY user add --db "$db" wangfang --name 王芳 --role grid_worker --unit 411571001001001
password 'Xindu-2026'
expect 0 "add creates a grid worker with a password" add_gw
is "the new account is active" "$(account_field wangfang state)" active
is "its unit" "$(account_field wangfang unit)" 411571001001001
expect 1 "add of an account with a password" add_gw
contains "add points to passwd" "$tmp/err" "user passwd"
expect 2 "add of a new account needs --name, --role and --unit" \
    $NY user add --db "$db" lisi --role community --unit 411571001001 --password-stdin
expect 2 "add with an unknown role" \
    $NY user add --db "$db" lisi --name 李四 --role mayor --unit 411571001001 --password-stdin
expect 2 "role department needs --department" \
    $NY user add --db "$db" dept-x --name 李四 --role department --unit 411571000000 --password-stdin
expect 1 "add with an unknown unit" \
    $NY user add --db "$db" lisi --name 李四 --role community --unit 411571009009 --password-stdin
is "the failed add writes no staff row" "$(account_field lisi state)" absent
expect 0 "add a department account" $NY user add --db "$db" dept-zhujian --name 赵六 \
    --role department --unit 411571000000 --department 区住建局 --phone 13900001111 --password-stdin
is "department recorded" "$(account_field dept-zhujian department)" 区住建局

# add: staff imported from CSV get their first password
cat >"$tmp/staff.csv" <<'CSV'
account,name,phone,role,unit_code,department
comm411571001001,张敏,13900002222,community,411571001001,
CSV
$NY import --db "$db" staff "$tmp/staff.csv" >/dev/null 2>&1 || bad "import staff"
is "imported staff have no password" "$(account_field comm411571001001 state)" no-password
expect 1 "add with details other than the stored ones" \
    $NY user add --db "$db" comm411571001001 --name 别人 --password-stdin
expect 0 "add gives an imported account its password" \
    $NY user add --db "$db" comm411571001001 --password-stdin
is "imported account now active" "$(account_field comm411571001001 state)" active

# passwd
password '12345678'
expect 1 "passwd refuses a weak password" $NY user passwd --db "$db" wangfang --password-stdin
password 'Another-2026'
expect 0 "passwd" $NY user passwd --db "$db" wangfang --password-stdin
expect 1 "passwd of an unknown account" $NY user passwd --db "$db" nobody --password-stdin
contains "unknown account named" "$tmp/err" "nobody"

# disable and enable
expect 0 "disable" $NY user disable --db "$db" wangfang
is "disabled in the list" "$(account_field wangfang state)" disabled
expect 0 "passwd keeps the account disabled" $NY user passwd --db "$db" wangfang --password-stdin
is "still disabled" "$(account_field wangfang disabled)" True
expect 0 "enable" $NY user enable --db "$db" wangfang
is "active again" "$(account_field wangfang state)" active
expect 1 "disable an unknown account" $NY user disable --db "$db" nobody
expect 2 "disable takes one account" $NY user disable --db "$db" a b

# list never shows a hash
expect 0 "list" $NY user list --db "$db"
contains "list has a header" "$tmp/out" "account"
contains "list names the grid worker" "$tmp/out" "wangfang"
lacks "list shows no hash" "$tmp/out" 'argon2'
expect 0 "list --json" $NY user list --db "$db" --json
lacks "list --json shows no hash" "$tmp/out" 'argon2'
n=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$tmp/out")
is "list --json has every account" "$n" 3
if [ -z "${NUANYANG_TEST_PG:-}" ]; then
    n=$(sqlite3 "$db" "SELECT count(*) FROM credentials WHERE password_hash LIKE '\$argon2id\$%'")
    is "hashes are argon2id" "$n" 3
fi

# the demo: one login per role with the printed password
db=$(fresh_db)
: >"$tmp/in"
expect 0 "demo" $NY demo --db "$db"
contains "demo prints its logins" "$tmp/out" "demo logins"
for acc in admin district1 street01 comm411571001001 gw411571001001001 dept-zhujian; do
    grep -qE "^ +[a-z_]+ +$acc +yangshan2026 " "$tmp/out" && ok "demo table has $acc" ||
        bad "demo table has $acc"
    is "demo login $acc is active" "$(account_field $acc state)" active
done
for role in admin district street community grid_worker department; do
    grep -qE "^ +$role +" "$tmp/out" && ok "demo table has role $role" || bad "demo table has role $role"
done
n=$(python3 -c 'import json,sys; print(sum(r["password"] for r in json.load(open(sys.argv[1]))))' "$tmp/list.json")
is "only the six demo logins have a password" "$n" 6
is "other demo accounts cannot log in" "$(account_field district2 state)" no-password

finish
