#!/bin/bash
# Kill trials: SIGKILL a training run at random moments (often while it writes a checkpoint) and
# check that the last checkpoint always loads and the run resumes from it.
#   kill_test.sh <translate binary> <scratch dir> <trials>
set -euo pipefail
bin=$1 dir=$2 trials=$3
rm -rf "$dir" && mkdir -p "$dir"
# Tiny epochs (4 steps), so checkpoints are written several times a second.
opts=(--runs "$dir" --name run --task reverse --train-size 120 --eval-size 10 --batch-size 32 --epochs 100000
      --eval-every 1000000 --d-model 16 --heads 2 --layers 1 --ffn 32 --time-budget 1000)
killed=0 resumed=0 early=0
for ((t = 1; t <= trials; ++t)); do
  rm -rf "$dir/run"
  "$bin" "${opts[@]}" > "$dir/train.log" 2>&1 &
  pid=$!
  sleep "$(awk -v s=$RANDOM 'BEGIN { srand(s); printf "%.3f", 0.6 + rand() * 1.4 }')"
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  killed=$((killed + 1))
  if [ ! -f "$dir/run/checkpoint.npz" ]; then early=$((early + 1)); continue; fi
  # The checkpoint left behind must load and the run continue from it (one more step, then stop).
  if ! "$bin" --runs "$dir" --name run --resume --time-budget 0.1 > "$dir/resume.log" 2>&1; then
    echo "FAIL: trial $t: resuming after the kill failed:"; cat "$dir/resume.log"; exit 1
  fi
  grep -q "resumed from" "$dir/resume.log" || { echo "FAIL: trial $t: did not resume"; cat "$dir/resume.log"; exit 1; }
  leftovers=$(find "$dir/run" -name '*.tmp.*' | wc -l)
  [ "$leftovers" -eq 0 ] || { echo "FAIL: trial $t: $leftovers temporary files left after the next save"; exit 1; }
  resumed=$((resumed + 1))
done
echo "kill trials: $killed killed, $resumed resumed from their last checkpoint, $early killed before the first checkpoint"
[ "$resumed" -gt 0 ] || { echo "FAIL: no trial reached a checkpoint"; exit 1; }
