#!/bin/bash
# tests/web/run.sh - the web front end end to end: a fresh demo district
# (SQLite) with the default policies and lexicon, `nuanyang serve --web web`
# on a free loopback port, then the static file rules over plain HTTP (content
# types, ETag and 304, no path traversal, no dotfiles or npm internals, the
# Chinese 404 page for pages and the JSON 404 for API paths) and the pages in
# headless Chromium (tests/web/browser.mjs, playwright-core). Screenshots of
# every page go to build/screenshots/. Ends with "N passed, N failed".
. "$(dirname "$0")/../lib_cli.sh"
unset NUANYANG_TEST_PG
pid=""
trap '[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT

db=$(fresh_db)
if ! { $NY demo --db "$db" && $NY import --db "$db" policies data/policies.csv &&
    $NY import --db "$db" lexicon data/lexicon.csv; } >"$tmp/demo.log" 2>&1; then
    bad "demo district"; cat "$tmp/demo.log"; finish; exit 1
fi
# a connector and a resident group of the grid worker's grid, so the browser
# test can post a message and watch it arrive in the live feed
$NY connector add --db "$db" webtest >"$tmp/cred" 2>/dev/null
export WEB_TEST_KEY=$(awk '$1=="key"{print $2}' "$tmp/cred")
export WEB_TEST_SECRET=$(awk '$1=="secret"{print $2}' "$tmp/cred")
export WEB_TEST_GROUP=$($NY export --db "$db" groups - 2>/dev/null | python3 -c '
import csv, sys
rows = [g for g in csv.DictReader(sys.stdin) if g["unit_code"] == "411571001001001" and g["kind"] == "resident"]
print(rows[0]["external_id"] if rows else "")')
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port"
$NY serve --db "$db" --listen "127.0.0.1:$port" --threads 2 --web web --test-clock 2>"$tmp/log" &
pid=$!
for _ in $(seq 100); do curl -sf "$url/healthz" >/dev/null 2>&1 && break; sleep 0.1; done

# get PATH [CURL ARGS...]: status code; body in $tmp/body, headers in $tmp/head
get() {
    local p=$1; shift
    curl -s --path-as-is -o "$tmp/body" -D "$tmp/head" -w '%{http_code}' "$@" "$url$p"
}
header() { tr -d '\r' <"$tmp/head" | awk -F': ' -v h="$1" 'tolower($1)==h{print $2}'; }

is "GET / is the front end" "$(get /)" 200
is "index.html is HTML" "$(header content-type)" "text/html; charset=utf-8"
contains "index.html loads the app module" "$tmp/body" 'src="/js/app.js"'
is "pages are revalidated" "$(header cache-control)" no-cache
if header content-security-policy | grep -q "script-src 'self'"; then ok "pages carry a CSP"; else bad "no CSP"; fi
etag=$(header etag)
is "ETag revalidation answers 304" "$(get / -H "If-None-Match: $etag")" 304
is "HEAD / answers" "$(get / -I)" 200
is "JS module type" "$(get /js/app.js >/dev/null; header content-type)" "text/javascript; charset=utf-8"
is "CSS type" "$(get /app.css >/dev/null; header content-type)" "text/css; charset=utf-8"
is "ECharts from npm" "$(get /node_modules/echarts/dist/echarts.esm.min.mjs)" 200
is "npm files are cached for a day" "$(header cache-control)" "public, max-age=86400"
is "other npm files are not served" "$(get /node_modules/echarts/package.json)" 404
is "package.json is not served" "$(get /package.json)" 404
is "dot-dot is refused" "$(get /../Makefile)" 404
is "dot-dot inside a path is refused" "$(get /js/../../Makefile)" 404
is "encoded dot-dot is refused" "$(get /%2e%2e/%2e%2e/etc/passwd)" 404
is "dotfiles are refused" "$(get /.gitignore)" 404
is "unknown page" "$(get /nothing.html)" 404
contains "unknown page is a Chinese page" "$tmp/body" "页面不存在"
is "unknown API path" "$(get /api/v1/nothing)" 404
is "unknown API path is JSON" "$(header content-type)" application/json
is "POST to a page" "$(get / -X POST)" 405

# the pages in the browser; each line it prints is "ok - …" or "FAIL - …"
mkdir -p build/screenshots
if [ -n "${NUANYANG_SKIP_BROWSER:-}" ]; then
    echo "NOTE: browser tests skipped because NUANYANG_SKIP_BROWSER is set"
else
    node tests/web/browser.mjs "$url" build/screenshots >"$tmp/browser.out" 2>&1
    rc=$?
    while IFS= read -r line; do
        case $line in
        "ok - "*) ok "${line#ok - }" ;;
        "FAIL - "*) bad "${line#FAIL - }" ;;
        *) echo "    $line" ;;
        esac
    done <"$tmp/browser.out"
    [ "$rc" = 0 ] || bad "browser tests ended with status $rc"
fi

kill -TERM "$pid"; wait "$pid"; rc=$?; pid=""
is "server stopped cleanly" "$rc" 0
finish
