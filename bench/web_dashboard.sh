#!/bin/bash
# web_dashboard.sh - how fast the command centre opens on a year of the demo
# district (670,000 messages, about 28,000 cases): the time of every API call
# the dashboard makes (20 runs each, median and worst, hardened build, over
# loopback with curl) against GET /healthz measured in the same run (the KPI
# both as the dashboard gets it, memoised, and recomputed on every request;
# static files plain and gzip-compressed), and the
# dashboard's first paint and time until every figure is filled in headless
# Chromium (bench/web_paint.mjs, 5 cold loads) against the login page's.
#   bench/web_dashboard.sh [DB]   DB default /tmp/nuanyang-bench-670k.db, made
#                                 once with `nuanyang demo --messages 670000`
# Targets (issue 6): first paint < 1 s, every API call < 100 ms.
set -eu
cd "$(dirname "$0")/.."
db=${1:-/tmp/nuanyang-bench-670k.db}
NY=build/nuanyang
if [ ! -s "$db" ]; then
    echo "making $db (670,000 messages; about 20 s) ..."
    $NY demo --db "$db" --messages 670000 >/dev/null
    $NY import --db "$db" policies data/policies.csv >/dev/null
    $NY import --db "$db" lexicon data/lexicon.csv >/dev/null
fi
$NY stats --db "$db" | grep -E "messages|cases" || true
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port"
$NY serve --db "$db" --listen "127.0.0.1:$port" --web web 2>/dev/null &
pid=$!
trap 'kill $pid 2>/dev/null' EXIT
for _ in $(seq 100); do curl -sf "$url/healthz" >/dev/null 2>&1 && break; sleep 0.1; done

login=$(curl -s -X POST -H 'Content-Type: application/json' \
    -d '{"account":"district1","password":"yangshan2026"}' "$url/api/v1/login")
token=$(printf '%s' "$login" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
unit=$(printf '%s' "$login" | python3 -c 'import json,sys; print(json.load(sys.stdin)["unit"])')

# time PATH [CURL ARGS]: "median worst status bytes" in ms over 20 runs (after one
# warm-up); a PATH containing @ has @ replaced by the run's number (distinct URLs)
time_call() {
    local i out p=$1; shift
    curl -s -o /dev/null -H "Authorization: Bearer $token" "$@" "${p//@/00}"
    for i in $(seq 20); do
        curl -s -o /dev/null -w '%{time_total} %{http_code} %{size_download}\n' \
            -H "Authorization: Bearer $token" "$@" "${p//@/$(printf %02d "$i")}"
    done | python3 -c '
import sys, statistics
rows = [l.split() for l in sys.stdin]
t = [float(a) * 1000 for a, _, _ in rows]
print("%.2f %.2f %s %s" % (statistics.median(t), max(t), rows[-1][1], rows[-1][2]))'
}
read -r base_med base_max _ _ <<<"$(time_call "$url/healthz")"
row() { # LABEL PATH [CURL ARGS]
    local label=$1 med max status bytes; shift
    read -r med max status bytes <<<"$(time_call "$@")"
    printf '%-58s %9s %9s %7s %9s %s\n' "$label" "$med" "$max" "$status" "$bytes" \
        "$(python3 -c "print('%.1f' % ($med / $base_med))")"
}
uptime
printf '%-58s %9s %9s %7s %9s %s\n' "call" "median ms" "worst ms" "status" "bytes" "x healthz"
printf '%-58s %9s %9s %7s %9s %s\n' "GET /healthz (baseline)" "$base_med" "$base_max" 200 - 1.0
street=${unit:0:6}001000 # 前进街道
for p in "/api/v1/units/$unit" "/api/v1/stats?unit=$unit" "/api/v1/kpi?unit=$unit" \
    "/api/v1/units/$street" "/api/v1/stats?unit=$street" "/api/v1/kpi?unit=$street"; do
    row "GET $p" "$url$p"
done
# the KPI computed afresh each time (a distinct range end per request, so the
# memo never answers): what the first request after a case change costs
row "GET /api/v1/kpi?unit=$unit (recomputed each time)" \
    "$url/api/v1/kpi?unit=$unit&to=2026-11-29T10:00:@%2B08:00"
row "GET /api/v1/kpi?unit=$street (recomputed each time)" \
    "$url/api/v1/kpi?unit=$street&to=2026-11-29T10:00:@%2B08:00"
for p in "/" "/js/app.js" "/node_modules/echarts/dist/echarts.esm.min.mjs"; do
    row "GET $p" "$url$p"
    row "GET $p (Accept-Encoding: gzip)" "$url$p" -H 'Accept-Encoding: gzip'
done
# server CPU per request: user + system time of the server process (/proc),
# which the machine's load disturbs far less than wall-clock time
cpu_ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
cpu_per() { # N PATH: CPU ms per request (@ in PATH: the request's number)
    local n=$1 p=$2 a b i
    a=$(cpu_ticks)
    for i in $(seq "$n"); do
        curl -s -o /dev/null -H "Authorization: Bearer $token" "${p//@/$(printf %02d "$i")}"
    done
    b=$(cpu_ticks)
    python3 -c "print('%.2f' % (($b - $a) * 1000.0 / $(getconf CLK_TCK) / $n))"
}
echo
printf '%-58s %s\n' "server CPU per request" "ms"
printf '%-58s %s\n' "GET /healthz (200 requests)" "$(cpu_per 200 "$url/healthz")"
printf '%-58s %s\n' "GET /api/v1/kpi?unit=$unit, memoised (200)" "$(cpu_per 200 "$url/api/v1/kpi?unit=$unit")"
printf '%-58s %s\n' "GET /api/v1/kpi?unit=$unit, recomputed (20)" \
    "$(cpu_per 20 "$url/api/v1/kpi?unit=$unit&to=2026-11-29T11:@:00%2B08:00")"
echo
node bench/web_paint.mjs "$url" district1 yangshan2026
