#!/usr/bin/env bash
# A rank that throws, is killed, or stops answering ends the whole job: mpirun exits non-zero within
# 60 s with a message naming the rank, and the last checkpoint rank 0 wrote still loads.
#   failure_test.sh PROGRAM MPIRUN...
set -uo pipefail
prog=$1; shift
mpirun=("$@")
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail=0

run_case() {  # mode, what the output must name
  local mode=$1 want=$2 start end rc
  rm -f "$dir/model.npz"
  start=$(date +%s%N)
  timeout 120 "${mpirun[@]}" -np 2 "$prog" "$dir" "$mode" 1 20 > "$dir/out.txt" 2>&1
  rc=$?
  end=$(date +%s%N)
  local ms=$(( (end - start) / 1000000 ))
  echo "== $mode: exit $rc after $ms ms"
  if [[ $rc -eq 0 || $rc -eq 124 ]]; then echo "FAIL: $mode: the job should end non-zero (124 = hung)"; fail=1; fi
  if (( ms >= 60000 )); then echo "FAIL: $mode took $ms ms (limit 60 s)"; fail=1; fi
  if ! grep -Eq "$want" "$dir/out.txt"; then echo "FAIL: $mode: no message matching '$want'"; cat "$dir/out.txt"; fail=1; fi
  grep -E "$want" "$dir/out.txt" | head -2
  if ! "$prog" "$dir" load; then echo "FAIL: $mode: the checkpoint does not load"; fail=1; fi
}

"${mpirun[@]}" -np 2 "$prog" "$dir" none 1 20 > "$dir/out.txt" 2>&1 || { echo "FAIL: a clean run failed"; cat "$dir/out.txt"; fail=1; }
grep -c "finished" "$dir/out.txt" | grep -q 2 || { echo "FAIL: both ranks should finish"; fail=1; }
run_case throw "xgrad: rank 1: exiting with status 1"
run_case kill "rank 1 .*(signal 9|Killed)"
XGRAD_DISTRIBUTED_TIMEOUT=5 run_case hang "xgrad: rank 0: .*did not complete within 5 s"
exit $fail
