#!/usr/bin/env bash
# tests/fuzz/run.sh: builds the fuzz preset (build-fuzz/, clang + libFuzzer +
# ASan/UBSan) and runs each fuzz target for SECONDS, one after the other, then
# prints the executions per target and in total. Exits non-zero if a target
# found a crash, a leak, undefined behaviour or a hang (its reproducer is left
# in build-fuzz/tests/fuzz/<target>-crash-* etc.; make it a unit test).
#   tests/fuzz/run.sh                 # 30 s per target
#   tests/fuzz/run.sh 600 decoder     # one target for 10 minutes
#   nice -n 19 tests/fuzz/run.sh 300  # the long run of docs/FUZZING.md
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-30}
shift || true
targets=("$@")
((${#targets[@]})) || targets=(decoder jsonl rules labels meta config)

[[ -f build-fuzz/CMakeCache.txt ]] || cmake --preset fuzz >/dev/null
cmake --build build-fuzz --parallel "$(nproc)" >/dev/null

dir=build-fuzz/tests/fuzz
status=0 total=0
for t in "${targets[@]}"; do
  mkdir -p "$dir/corpus/$t"
  log="$dir/$t.log"
  dict=()
  [[ -f tests/fuzz/$t.dict ]] && dict=(-dict="tests/fuzz/$t.dict")
  # New inputs go to the build's corpus (first dir); the repo's seeds are read only.
  "$dir/${t}_fuzz" -max_total_time="$seconds" -timeout=10 -print_final_stats=1 "${dict[@]}" \
    -artifact_prefix="$dir/$t-" "$dir/corpus/$t" "tests/fuzz/corpus/$t" >"$log" 2>&1 || {
    status=1
    echo "run.sh: $t FAILED, see $log" >&2
  }
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  echo "$t: ${runs:-?} executions in ${seconds} s, corpus $(ls "$dir/corpus/$t" | wc -l) inputs"
  total=$((total + ${runs:-0}))
done
echo "total: $total executions"
exit $status
