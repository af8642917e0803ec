#!/bin/sh
# deps.sh - make sure the Debian packages nuanyang builds and tests with are
# installed. As root, missing ones are installed with apt-get; otherwise the
# exact command is printed and the script fails.
#   scripts/deps.sh build   packages to build and run
#   scripts/deps.sh test    also those the test suite needs (PostgreSQL server,
#                           Chromium and CJK fonts for the browser tests)
#   scripts/deps.sh bench   also those the benchmarks compare against
set -eu
build_pkgs="gcc make pkg-config libsqlite3-dev libjansson-dev libpq-dev libssl-dev
    libutf8proc-dev libopencc-dev opencc liblinear-dev libsodium-dev libmicrohttpd-dev
    libcurl4-openssl-dev python3-jieba"
test_pkgs="libcmocka-dev postgresql sqlite3 python3 curl openssl chromium fonts-noto-cjk"
bench_pkgs="libhyperscan-dev fasttext hyperfine"
want="$build_pkgs"
case "${1:-build}" in
test) want="$want $test_pkgs" ;;
bench) want="$want $bench_pkgs" ;;
esac
missing=""
for p in $want; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing="$missing $p"
done
# Node.js and npm install the web front end's packages (web/package-lock.json);
# a Node.js from elsewhere that brings its own npm is fine too.
command -v node >/dev/null 2>&1 || missing="$missing nodejs"
command -v npm >/dev/null 2>&1 || missing="$missing npm"
[ -z "$missing" ] && exit 0
cmd="apt-get install -y --no-install-recommends$missing"
if [ "$(id -u)" = 0 ]; then
    echo "deps: installing$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && $cmd >/dev/null
else
    echo "deps: missing Debian packages:$missing" >&2
    echo "deps: run as root:  apt-get update && $cmd" >&2
    exit 1
fi
