#!/bin/bash
# triage_vs_fasttext.sh - `nuanyang triage` end to end (stdin → JSON lines)
# against `fasttext predict` on the same chat messages, in the same run.
#
# fastText (Debian package fasttext) gets a supervised intent model trained
# here on the shared chat set, written to build/bench/fasttext/. Chinese has
# no spaces, so fastText is given each message as space-separated characters
# (ASCII words kept whole) with word bigrams, the usual way to run it on
# Chinese; that preparation is done beforehand and not timed, and the raw
# lines are timed too. Both read the same messages: column 3 of
# ../shared/datasets/group_messages_train.tsv repeated to LINES lines
# (default 200,000). nuanyang is timed on one thread and on its default
# threads, plus its start-up (`nuanyang triage </dev/null`: normalisation
# table, lexicon, policies, models). Timing by hyperfine (median of RUNS runs,
# default 5, after one warm-up) when installed, else by this script; with
# hyperfine the table also gives the CPU time, steadier than wall time on a
# busy machine.
# Usage: bench/triage_vs_fasttext.sh [LINES] [RUNS]; env NY (default
# build/nuanyang) and NUANYANG_DATA pass through.
set -eu
cd "$(dirname "$0")/.."
LINES=${1:-200000}
RUNS=${2:-5}
NY=${NY:-build/nuanyang}
SRC=../shared/datasets/group_messages_train.tsv
dir=build/bench/fasttext
mkdir -p "$dir"
for tool in fasttext python3; do
    command -v $tool >/dev/null || { echo "triage_vs_fasttext: $tool not found (make deps-bench)"; exit 1; }
done
[ -x "$NY" ] || { echo "triage_vs_fasttext: $NY not built"; exit 1; }

# inputs: the raw lines, the same lines split into characters, the training file
python3 - "$SRC" "$LINES" "$dir" <<'PY'
import sys
src, n, d = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def tokens(s):
    out, word = [], ""
    for ch in s:
        if ch.isascii() and ch.isalnum():
            word += ch.lower()
            continue
        if word:
            out.append(word)
            word = ""
        if not ch.isspace():
            out.append(ch)
    if word:
        out.append(word)
    return " ".join(out)
rows = [l.rstrip("\n").split("\t", 2) for l in open(src, encoding="utf-8") if l.count("\t") >= 2]
with open(d + "/train.txt", "w", encoding="utf-8") as f:
    for intent, _, text in rows:
        f.write("__label__%s %s\n" % (intent, tokens(text)))
texts = [r[2] for r in rows]
with open(d + "/lines.txt", "w", encoding="utf-8") as raw, \
     open(d + "/tokens.txt", "w", encoding="utf-8") as tok:
    for i in range(n):
        t = texts[i % len(texts)]
        raw.write(t + "\n")
        tok.write(tokens(t) + "\n")
PY
if [ ! -s "$dir/intent.bin" ] || [ "$dir/train.txt" -nt "$dir/intent.bin" ]; then
    fasttext supervised -input "$dir/train.txt" -output "$dir/intent" -dim 50 -wordNgrams 2 \
        -bucket 200000 -epoch 25 -lr 0.5 -thread 1 -verbose 0
fi

nthreads=$(nproc)
[ "$nthreads" -gt 8 ] && nthreads=8
names=("nuanyang triage --threads 1" "nuanyang triage (--threads $nthreads)"
       "fasttext predict (characters)" "fasttext predict (raw lines)"
       "nuanyang triage start-up" "fasttext predict start-up")
cmds=("$NY triage --threads 1 <$dir/lines.txt >/dev/null"
      "$NY triage <$dir/lines.txt >/dev/null"
      "fasttext predict $dir/intent.bin $dir/tokens.txt >/dev/null"
      "fasttext predict $dir/intent.bin - <$dir/lines.txt >/dev/null"
      "$NY triage </dev/null >/dev/null"
      "fasttext predict $dir/intent.bin - </dev/null >/dev/null")
lines=("$LINES" "$LINES" "$LINES" "$LINES" 0 0)

# a check that both really produce one line per input line
got=$($NY triage <"$dir/lines.txt" | wc -l)
[ "$got" = "$LINES" ] || { echo "triage_vs_fasttext: nuanyang wrote $got lines for $LINES"; exit 1; }

medians=() cpus=()
if command -v hyperfine >/dev/null; then
    hyperfine --warmup 1 --runs "$RUNS" --style none --export-json "$dir/times.json" \
        "${cmds[@]}" >/dev/null 2>"$dir/hyperfine.log"
    mapfile -t medians < <(python3 -c 'import json,sys
for r in json.load(open(sys.argv[1]))["results"]: print(r["median"])' "$dir/times.json")
    mapfile -t cpus < <(python3 -c 'import json,sys
for r in json.load(open(sys.argv[1]))["results"]: print(r["user"] + r["system"])' "$dir/times.json")
    how="hyperfine --warmup 1 --runs $RUNS"
else
    for c in "${cmds[@]}"; do
        ts=()
        bash -c "$c"
        for _ in $(seq "$RUNS"); do
            t0=$(date +%s.%N); bash -c "$c"; t1=$(date +%s.%N)
            ts+=("$(echo "$t1 - $t0" | bc)")
        done
        medians+=("$(printf '%s\n' "${ts[@]}" | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}')")
        cpus+=(0)
    done
    how="date, median of $RUNS runs after one warm-up"
fi

echo "triage_vs_fasttext: $LINES chat messages (column 3 of $SRC, repeated), timing: $how"
echo
echo "| command | median s | lines/s | time vs fasttext predict (characters) | CPU s (user+sys, mean) |"
echo "|---|---|---|---|---|"
for i in "${!names[@]}"; do
    python3 -c 'import sys
name, m, n, ref, cpu = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
rate = "%.0f" % (n / m) if n else "-"
print("| %s | %.3f | %s | %.2f | %s |" % (name, m, rate, m / ref, "%.3f" % cpu if cpu else "-"))' \
        "${names[$i]}" "${medians[$i]}" "${lines[$i]}" "${medians[2]}" "${cpus[$i]}"
done
echo
echo "commands:"
for i in "${!names[@]}"; do echo "  ${cmds[$i]}"; done
