#!/usr/bin/env bash
# Time to result on short epochs: translate and bench/translate_torch.py (PyTorch 1.13) train the
# same d2l-sized Transformer (d2l 10.7: width 256, 2+2 layers, 4 heads, ffn 64, dropout 0.2, Adam
# 1.5e-3, batch 128) for 30 epochs of 4 steps on the same generated word-level corpus, each
# validating and writing a checkpoint at every epoch's end; both print where their time went.
# Usage: scripts/short_epochs.sh [build] [torch threads...]
set -euo pipefail
build=${1:-build}
shift || true
threads=("${@:-1 2}")
here="$(dirname "$0")/.."
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
/usr/bin/python3 "$here/bench/make_corpus.py" "$dir/corpus.tsv" --pairs 560
flags=(--d-model 256 --heads 4 --layers 2 --ffn 64 --dropout 0.2 --batch-size 128 --epochs 30 --lr 0.0015
       --time-budget 1000 --target 0)
keep='^(time in|trained|test|PyTorch)'
echo "xgrad, $(nproc) threads:"
"$build/examples/translate" --data "$dir/corpus.tsv" --runs "$dir" --name short --export-splits "${flags[@]}" |
  grep -E "$keep"
for t in ${threads[*]}; do
  /usr/bin/python3 "$here/bench/translate_torch.py" "$dir/short" --words --threads "$t" --save "$dir/torch.pt" \
    "${flags[@]}" 2>/dev/null | grep -E "$keep"
done
