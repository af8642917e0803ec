#!/bin/bash
# tests/web/run.sh - the web front end end to end: a fresh demo district
# (SQLite) with the default policies and lexicon, `nuanyang serve --web web`
# on a free loopback port, then the static file rules over plain HTTP (content
# types, ETag and 304, no path traversal, no dotfiles or npm internals, the
# Chinese 404 page for pages and the JSON 404 for API paths; gzip copies sent
# only when accepted and fresh) and the pages in
# headless Chromium (tests/web/browser.mjs, playwright-core). Screenshots of
# every page go to build/screenshots/. Ends with "N passed, N failed".
. "$(dirname "$0")/../lib_cli.sh"
unset NUANYANG_TEST_PG
pid="" pid2=""
trap '[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; [ -n "$pid2" ] && kill -KILL "$pid2" 2>/dev/null; rm -rf "$tmp"' EXIT

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
# precompressed copies (make web_gz): sent when the browser accepts gzip
is "app.js without gzip" "$(get /js/app.js)" 200
is "no Content-Encoding unless asked" "$(header content-encoding)" ""
if cmp -s "$tmp/body" web/js/app.js; then ok "the plain body is the file"; else bad "plain body differs"; fi
plain_etag=$(header etag)
is "app.js with gzip" "$(get /js/app.js -H 'Accept-Encoding: gzip, deflate, br')" 200
is "Content-Encoding: gzip" "$(header content-encoding)" gzip
is "Vary: Accept-Encoding" "$(header vary)" Accept-Encoding
if gzip -dc <"$tmp/body" | cmp -s - web/js/app.js; then ok "the gzip body unpacks to the file"; else bad "gzip body differs"; fi
gz_etag=$(header etag)
if [ -n "$gz_etag" ] && [ "$gz_etag" != "$plain_etag" ]; then ok "the compressed copy has its own ETag"; else bad "ETag $gz_etag"; fi
is "its ETag revalidates" "$(get /js/app.js -H 'Accept-Encoding: gzip' -H "If-None-Match: $gz_etag")" 304
is "gzip;q=0 is not gzip" "$(get /js/app.js -H 'Accept-Encoding: gzip;q=0, identity' >/dev/null; header content-encoding)" ""
is "ECharts compressed" "$(get /node_modules/echarts/dist/echarts.esm.min.mjs -H 'Accept-Encoding: gzip' >/dev/null; header content-encoding)" gzip
size=$(stat -c %s "$tmp/body")
if [ "$size" -lt 400000 ]; then ok "ECharts goes out in $size bytes (1 MB plain)"; else bad "ECharts gzip is $size bytes"; fi
is "the .gz itself is not a page" "$(get /js/app.js.gz)" 404
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

# a copy older than its file is not used (the file was edited since make)
mkdir -p "$tmp/web"
echo 'export const v = 2;' >"$tmp/web/a.js"
echo 'export const v = 1;' | gzip -9 >"$tmp/web/a.js.gz"
touch -d '2020-01-01' "$tmp/web/a.js.gz"
port2=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
$NY serve --db "$db" --listen "127.0.0.1:$port2" --threads 1 --web "$tmp/web" --no-outbox 2>/dev/null &
pid2=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port2/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
is "a stale .gz is not sent" "$(curl -s -o /dev/null -w '%{content_type} %header{content-encoding}' -H 'Accept-Encoding: gzip' "http://127.0.0.1:$port2/a.js")" "text/javascript; charset=utf-8 "
touch "$tmp/web/a.js.gz"
is "a fresh one is" "$(curl -s -o /dev/null -w '%header{content-encoding}' -H 'Accept-Encoding: gzip' "http://127.0.0.1:$port2/a.js")" gzip
kill -TERM "$pid2"; wait "$pid2"; pid2=""

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
