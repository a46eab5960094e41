#!/usr/bin/env bash
# The examples under mpirun with no other change: translate and char_lm train on 2 ranks (only rank
# 0 prints its summary and writes the run folder), and a checkpoint written by the 2-rank run
# resumes in one process, and one from one process resumes on 2 ranks.
#   distributed_run_test.sh TRANSLATE CHAR_LM MPIRUN...
set -euo pipefail
translate=$1 char_lm=$2; shift 2
mpirun=("$@")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
small=(--task reverse --train-size 400 --eval-size 20 --eval-every 20 --d-model 16 --heads 2 --layers 1 --ffn 32 --batch-size 16)

"${mpirun[@]}" -np 2 "$translate" "${small[@]}" --max-steps 30 --name two > two.txt 2>&1 || { cat two.txt; exit 1; }
grep -q "data-parallel on 2 ranks: 16 examples per step, about 8 on each" two.txt
test "$(grep -c '^trained 30 steps' two.txt)" -eq 1  # one summary: rank 1 is quiet
test -f runs/two/checkpoint.npz && test -f runs/two/metrics.csv
cut -d, -f1,2,4- runs/two/metrics.csv > two_metrics.csv  # without the seconds column

# ZeRO-1 (--zero): each rank steps its shard; the run is the same as without it, and its checkpoint
# holds the whole optimizer state, so it resumes in one process.
"${mpirun[@]}" -np 2 "$translate" "${small[@]}" --max-steps 30 --zero --name zero > zero.txt 2>&1 || { cat zero.txt; exit 1; }
cut -d, -f1,2,4- runs/zero/metrics.csv | diff - two_metrics.csv
"$translate" "${small[@]}" --max-steps 40 --name zero --resume > zero1.txt 2>&1 || { cat zero1.txt; exit 1; }
grep -q "resumed from runs/zero/checkpoint.npz at step 30" zero1.txt
"$translate" "${small[@]}" --max-steps 40 --name two --resume > one.txt 2>&1 || { cat one.txt; exit 1; }
grep -q "resumed from runs/two/checkpoint.npz at step 30" one.txt
grep -q "^trained 40 steps" one.txt

"$translate" "${small[@]}" --max-steps 30 --name one > a.txt 2>&1
"${mpirun[@]}" -np 2 "$translate" "${small[@]}" --max-steps 40 --name one --resume > b.txt 2>&1 || { cat b.txt; exit 1; }
grep -q "resumed from runs/one/checkpoint.npz at step 30" b.txt
test "$(grep -c '^trained 40 steps' b.txt)" -eq 1

"${mpirun[@]}" -np 2 "$char_lm" --d-model 32 --heads 2 --layers 1 --context 32 --batch-size 8 --max-steps 20 --eval-every 10 \
  --eval-chars 2000 --generate 20 --name lm > lm.txt 2>&1 || { cat lm.txt; exit 1; }
grep -q "data-parallel on 2 ranks: 8 windows per step" lm.txt
test "$(grep -c '^trained 20 steps' lm.txt)" -eq 1
test -f runs/lm/attention.svg
echo "distributed examples: ok"
