#!/bin/bash
# stats_http.sh - GET /api/v1/stats over HTTP at every level of the unit
# tree, as the dashboard calls it: the median of 21 requests (curl's
# time_total) for the district, a street, a community and a grid, each
# logged in as that level's demo account, next to GET /healthz (the HTTP
# floor) in the same run. Needs a demo database with messages, e.g.
#     build/nuanyang demo --db var/big.db --messages 670000
#     bench/stats_http.sh var/big.db
set -eu
cd "$(dirname "$0")/.."
db=${1:?usage: bench/stats_http.sh DB}
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port"
build/nuanyang serve --db "$db" --listen "127.0.0.1:$port" 2>/dev/null &
pid=$!
trap 'kill $pid 2>/dev/null' EXIT
for _ in $(seq 100); do curl -sf "$url/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
# median ms of 21 requests: median AUTH URL
median() {
    for _ in $(seq 21); do curl -s -o /dev/null -w '%{time_total}\n' -H "$1" "$2"; done |
        sort -n | sed -n 11p | awk '{printf "%.2f", $1 * 1000}'
}
floor=$(median "X-None: 1" "$url/healthz")
echo "GET /healthz: $floor ms"
for a in district1 street01 comm411571001001 gw411571001001001; do
    tok=$(curl -s -X POST "$url/api/v1/login" -d "{\"account\":\"$a\",\"password\":\"yangshan2026\"}" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
    curl -s -H "Authorization: Bearer $tok" "$url/api/v1/stats" >/dev/null # first call folds waiting deltas
    ms=$(median "Authorization: Bearer $tok" "$url/api/v1/stats")
    echo "GET /api/v1/stats as $a: $ms ms ($(awk -v a="$ms" -v b="$floor" 'BEGIN{printf "%.1f", a/b}')x healthz)"
done
