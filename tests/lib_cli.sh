# lib_cli.sh - helpers shared by the CLI test scripts (tests/cli_*.sh), which
# source it first. Afterwards the working directory is the repository root,
# $NY is the binary under test, $tmp a scratch directory removed at exit (a
# script that sets its own EXIT trap removes it there), and the functions
# below count checks; `finish` prints the closing "N passed, N failed" line
# that tests/run.sh reads and returns the status.
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/.."
NY=${NY:-build/nuanyang}
tmp=$(mktemp -d "/tmp/nuanyang-$(basename "$0" .sh).XXXXXX")
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0

ok() { pass=$((pass + 1)); echo "ok - $1"; }
bad() { fail=$((fail + 1)); echo "FAIL - $1"; }

# expect CODE NAME CMD...: the command exits with CODE. Its output goes to
# $tmp/out and $tmp/err; its input is the file $EXPECT_IN when that is set,
# else the caller's (e.g. `expect 0 name cmd <file`).
expect() {
    local want=$1 name=$2 got
    shift 2
    if [ -n "${EXPECT_IN:-}" ]; then
        "$@" <"$EXPECT_IN" >"$tmp/out" 2>"$tmp/err"
    else
        "$@" >"$tmp/out" 2>"$tmp/err"
    fi
    got=$?
    if [ "$got" = "$want" ]; then ok "$name"; else
        bad "$name (exit $got, wanted $want)"
        sed 's/^/    /' "$tmp/err" | head -5
    fi
}

# is NAME GOT WANT: two strings are equal.
is() {
    if [ "$2" = "$3" ]; then ok "$1"; else bad "$1 (got '$2', wanted '$3')"; fi
}

# contains NAME FILE TEXT: FILE holds TEXT.
contains() {
    if grep -qF -- "$3" "$2"; then ok "$1"; else
        bad "$1 (no '$3' in output)"
        sed 's/^/    /' "$2" | head -5
    fi
}

# fresh_db: prints the URI of a new empty database — a SQLite file, or a
# PostgreSQL database on the runner's cluster when NUANYANG_TEST_PG is set.
# Called as $(fresh_db), in a subshell, so it keeps no counters.
fresh_db() {
    local serial name
    serial=$(mktemp -u XXXXXX | tr 'A-Z' 'a-z')
    if [ -n "${NUANYANG_TEST_PG:-}" ]; then
        name="ny_$(basename "$0" .sh | tr -c 'a-z0-9\n' '_')_${serial}"
        psql -q "$NUANYANG_TEST_PG" -c "CREATE DATABASE $name" >/dev/null || return 1
        echo "$NUANYANG_TEST_PG dbname=$name"
    else
        echo "$tmp/db$serial.db"
    fi
}

finish() {
    echo "$pass passed, $fail failed"
    [ "$fail" = 0 ]
}
