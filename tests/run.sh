#!/bin/bash
# run.sh - the test runner behind `make test`.
# Runs every unit test binary (built with ASan+UBSan) and every CLI test
# script, first on SQLite, then on a throw-away PostgreSQL cluster (skipped
# only with NUANYANG_SKIP_PG=1, and then said so), the browser tests of the
# web front end once (tests/web/run.sh), and ends with the line
# "N passed, N failed" summed over everything.
set -u
cd "$(dirname "$0")/.."
pass=0 fail=0 failed_names=""
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

count() { # name output rc
    local name=$1 out=$2 rc=$3 p f
    p=$(printf '%s\n' "$out" | sed -n 's/.*\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -n 1)
    f=$(printf '%s\n' "$out" | sed -n 's/.*\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -n 1)
    if [ -z "$p$f" ]; then # a script's own closing line
        p=$(printf '%s\n' "$out" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed.*/\1/p' | tail -n 1)
        f=$(printf '%s\n' "$out" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed.*/\2/p' | tail -n 1)
    fi
    p=${p:-0} f=${f:-0}
    if [ "$rc" != 0 ] && [ "$f" = 0 ]; then f=1; fi # crashed or sanitizer abort
    pass=$((pass + p)) fail=$((fail + f))
    [ "$f" != 0 ] && failed_names="$failed_names $name"
}

suite() { # engine label
    local engine=$1 t out rc
    for t in build/asan/tests/test_*; do
        [ -x "$t" ] || continue
        out=$("$t" 2>&1); rc=$?
        printf '%s\n' "$out" | sed "s/^/[$engine] /"
        count "$engine:$(basename "$t")" "$out" $rc
    done
    for t in tests/cli_*.sh; do
        [ -f "$t" ] || continue
        out=$(bash "$t" 2>&1); rc=$?
        printf '%s\n' "$out" | sed "s/^/[$engine] /"
        count "$engine:$(basename "$t")" "$out" $rc
    done
}

unset NUANYANG_TEST_PG
suite sqlite

# The web front end in headless Chromium (tests/web/run.sh), on SQLite only.
out=$(bash tests/web/run.sh 2>&1); rc=$?
printf '%s\n' "$out" | sed "s/^/[web] /"
count "web:tests/web/run.sh" "$out" $rc

if [ "${NUANYANG_SKIP_PG:-}" = 1 ]; then
    echo "NOTE: PostgreSQL run skipped because NUANYANG_SKIP_PG=1"
else
    pgdir=$(mktemp -d /tmp/nuanyang-pg.XXXXXX)
    trap 'tests/pg.sh stop "$pgdir"' EXIT
    if conninfo=$(tests/pg.sh start "$pgdir"); then
        export NUANYANG_TEST_PG="$conninfo"
        suite postgresql
    else
        echo "FAILED: could not start the PostgreSQL test cluster"
        fail=$((fail + 1)) failed_names="$failed_names postgresql-cluster"
    fi
fi

[ -n "$failed_names" ] && echo "failed:$failed_names"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
