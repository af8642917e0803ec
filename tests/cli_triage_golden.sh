#!/bin/bash
# cli_triage_golden.sh - `nuanyang triage` gives, line for line, the answers
# recorded in tests/data/triage_golden.txt: the shared chat messages, the
# shared appeals (title and body on one line), the texts of data/train and
# 2,000 lines made from them by a fixed recipe (cut and spliced, shuffled,
# joined, full-width, bytes overwritten so that some are invalid UTF-8), each
# without a group and with --group-kind enterprise. The file holds one digest
# per output line (the first 8 hex digits of its MD5; the lines without a
# group, then the enterprise ones), so no text from the shared data is copied
# into the repository.
#
# Work on the speed of the pipeline must not change one answer. The models,
# the lexicon, the policies or the decision table changing on purpose do:
# then regenerate the file with
#     UPDATE=1 bash tests/cli_triage_golden.sh
# and commit it with the change that explains it. Ends with "N passed, N
# failed".
. "$(dirname "$0")/lib_cli.sh"
golden=tests/data/triage_golden.txt
shared=../shared/datasets

python3 - "$shared" "$tmp/in.txt" <<'PY' || { bad "make the input lines"; finish; exit; }
import glob, random, sys
shared, out = sys.argv[1], sys.argv[2]
lines = []
for l in open(shared + "/group_messages_train.tsv", encoding="utf-8"):
    lines.append(l.rstrip("\n").split("\t")[2])
for l in open(shared + "/appeals_train.tsv", encoding="utf-8"):
    f = l.rstrip("\n").split("\t")
    lines.append(f[1] + f[2])
intents = {"consult", "help", "report", "emergency", "complaint", "other"}
for path in sorted(glob.glob("data/train/*.tsv")):
    for l in open(path, encoding="utf-8"):
        f = l.rstrip("\n").split("\t")
        if l.startswith("#") or len(f) < 3:
            continue
        lines.append(f[2] if f[0] in intents else f[1] + f[2])
base = list(lines)
rnd = random.Random(5)
made = []
for _ in range(2000):
    a, b = rnd.choice(base), rnd.choice(base)
    r = rnd.random()
    if r < 0.3:
        s = a[: rnd.randint(0, len(a))] + b[rnd.randint(0, len(b)):]
    elif r < 0.5:
        s = list(a)
        rnd.shuffle(s)
        s = "".join(s)
    elif r < 0.7:
        s = a + " " + b
    elif r < 0.8:
        s = a.translate({ord(c): ord(c) + 0xFEE0 for c in "abcdefghijklmnopqrstuvwxyz0123456789"})
    else:
        s = a
    bs = bytearray(s.encode("utf-8"))
    if rnd.random() < 0.15:
        for _ in range(rnd.randint(1, 4)):
            if bs:
                bs[rnd.randrange(len(bs))] = rnd.randrange(1, 256)
    made.append(bytes(bs).replace(b"\n", b" ").replace(b"\r", b" "))
with open(out, "wb") as f:
    for s in lines:
        f.write(s.encode("utf-8") + b"\n")
    for s in made:
        f.write(s + b"\n")
PY
nin=$(wc -l <"$tmp/in.txt")

# digests FILE: one line per JSON line of FILE, the first 8 hex digits of its MD5
digests() {
    python3 -c '
import hashlib, sys
for l in open(sys.argv[1], "rb"):
    print(hashlib.md5(l).hexdigest()[:8])' "$1"
}
for kind in none enterprise; do
    args=(triage --threads 1)
    [ "$kind" = none ] || args+=(--group-kind "$kind")
    expect 0 "triage ($kind) runs" "$NY" "${args[@]}" <"$tmp/in.txt"
    is "triage ($kind) answers every line" "$(wc -l <"$tmp/out")" "$nin"
    cp "$tmp/out" "$tmp/out.$kind"
    digests "$tmp/out" >>"$tmp/got"
done

if [ "${UPDATE:-}" = 1 ]; then
    {
        echo "# tests/cli_triage_golden.sh: the MD5 (8 hex digits) of each line nuanyang"
        echo "# triage writes for its input lines, without a group, then as enterprise."
        echo "# Regenerate with UPDATE=1 bash tests/cli_triage_golden.sh when answers change"
        echo "# on purpose (models, lexicon, policies, decision table)."
        cat "$tmp/got"
    } >"$golden"
    ok "wrote $golden ($(grep -vc '^#' "$golden") lines)"
    finish
    exit
fi

grep -v '^#' "$golden" >"$tmp/want"
if cmp -s "$tmp/want" "$tmp/got"; then
    ok "every answer as recorded ($(wc -l <"$tmp/got") lines)"
else
    bad "answers differ from $golden (if the models, lexicon, policies or decisions changed on purpose: UPDATE=1 bash tests/cli_triage_golden.sh)"
    diff "$tmp/want" "$tmp/got" | grep -c '^>' | sed 's/^/    lines that differ: /'
    paste -d' ' "$tmp/want" "$tmp/got" | awk '$1 != $2 { print NR; if (++c == 3) exit }' |
        while read -r n; do
            k=none i=$n
            [ "$n" -le "$nin" ] || k=enterprise i=$((n - nin))
            echo "    line $i ($k): $(sed -n "${i}p" "$tmp/out.$k" | head -c 300)"
        done
fi
finish
