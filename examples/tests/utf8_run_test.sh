#!/usr/bin/env bash
# translate on a user's own UTF-8 corpus (utf8_pairs.tsv: accents, Greek, Cyrillic, CJK, an emoji,
# typographic apostrophes, « », no-break spaces U+00A0 and U+202F before punctuation): everything
# it prints and writes is valid UTF-8, and the run loaded back with --load translates its training
# sources to the expected tokens (the corpus's third column, which translate ignores) — the text
# round-trips from the file through training, the run folder and --load.
# Usage: utf8_run_test.sh path/to/translate path/to/utf8_pairs.tsv
set -euo pipefail
export LC_ALL=C.UTF-8  # grep's character classes on code points (C.UTF-8 is built into glibc)
exe=$1
corpus=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
valid_utf8() { iconv -f UTF-8 -t UTF-8 "$1" > /dev/null 2>&1 || { echo "FAIL: $1 is not valid UTF-8"; exit 1; }; }

"$exe" --data "$corpus" --runs "$dir" --name u --d-model 32 --heads 2 --layers 1 --ffn 64 --epochs 60 \
  --batch-size 8 --lr 0.01 --warmup 10 --target 0 --valid-fraction 0.05 --test-fraction 0.05 --export-splits \
  > "$dir/train.log"
for f in "$dir/train.log" "$dir/u/vocab.src.txt" "$dir/u/vocab.tgt.txt" "$dir/u/train.tsv" "$dir/u/config.ini"; do
  valid_utf8 "$f"
done
# Lowercased by Unicode's rules (the corpus's capitals include É Σ Ω Ο Φ Ι Α Η М Д С), and some Cyrillic trained.
if grep -v '^<' "$dir/u/vocab.tgt.txt" | grep -q '[A-ZÀÉÈÊËÎÏÔÙÛÜÇΣΩΟΦΙΑΗМДСВ]'; then echo "FAIL: a capital in the vocabulary"; exit 1; fi
grep -qxE 'москва|доброе|утро|спасибо|мир' "$dir/u/vocab.tgt.txt" || { echo "FAIL: no Cyrillic word in the vocabulary"; exit 1; }
grep -qx 'j’ai' "$dir/u/vocab.tgt.txt" || { echo "FAIL: a typographic apostrophe split a word"; exit 1; }
if grep -q $'\xc2\xa0\|\xe2\x80\xaf' "$dir/u/vocab.tgt.txt"; then echo "FAIL: a no-break space inside a token"; exit 1; fi

cut -f1 "$dir/u/train.tsv" > "$dir/sources.txt"
"$exe" --load "$dir/u" < "$dir/sources.txt" > "$dir/out.tsv"
valid_utf8 "$dir/out.tsv"
cmp <(cut -f1 "$dir/out.tsv") "$dir/sources.txt" || { echo "FAIL: --load did not echo its inputs unchanged"; exit 1; }
read -r ok n < <(awk -F'\t' 'NR == FNR { want[$1] = $3; next } { n++; if ($2 == want[$1]) ok++ } END { print ok + 0, n }' \
  "$corpus" "$dir/out.tsv")
echo "--load reproduced $ok of $n training targets"
awk -F'\t' 'NR == FNR { want[$1] = $3; next } $2 != want[$1] { print "  " $1 " -> " $2 "  (want " want[$1] ")" }' \
  "$corpus" "$dir/out.tsv" | head -5
[ "$n" -ge 30 ] && [ $((ok * 10)) -ge $((n * 9)) ] || { echo "FAIL: fewer than 90% right"; exit 1; }
