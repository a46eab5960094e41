#!/bin/bash
# Kill trials: SIGKILL a training run at random moments after its first checkpoint (often while it
# writes the next one) and check that the last checkpoint always loads and the run resumes from it.
#   kill_test.sh <translate binary> <scratch dir> <trials>
set -euo pipefail
bin=$1 dir=$2 trials=$3
rm -rf "$dir" && mkdir -p "$dir"
# Tiny epochs (4 steps), so checkpoints are written several times a second.
opts=(--runs "$dir" --name run --task reverse --train-size 120 --eval-size 10 --batch-size 32 --epochs 100000
      --eval-every 1000000 --d-model 16 --heads 2 --layers 1 --ffn 32 --time-budget 60)
pid=
trap 'if [ -n "$pid" ]; then kill -9 "$pid" 2>/dev/null || true; fi' EXIT  # never leave a training run behind
killed=0 resumed=0 early=0
for ((t = 1; t <= trials; ++t)); do
  rm -rf "$dir/run"
  "$bin" "${opts[@]}" > "$dir/train.log" 2>&1 &
  pid=$!
  # Once a first checkpoint exists (however slow the machine), kill at a random moment after it.
  for ((w = 0; w < 600; ++w)); do [ -f "$dir/run/checkpoint.npz" ] && break; sleep 0.1; done
  sleep "$(awk -v s=$RANDOM 'BEGIN { srand(s); printf "%.3f", rand() * 1.0 }')"
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
