#!/usr/bin/env bash
# scripts/demo end to end, as a user runs it: `quick` (fast suite: 40 clips, 2 training steps,
# 2 sampling steps) checks the pipeline and every file it promises; `full` (slow suite: the
# default demo) also checks the samples start from the given image (first-frame PSNR of the
# held-out evaluation at least 20 dB) and prints the evaluation.
# Usage: demo_test.sh SCRIPTS_DEMO BUILD_DIR quick|full
set -euo pipefail
demo=$1 build=$2 mode=$3
out="$build/demo-test-$mode"
rm -rf "$out"
fail() { echo "demo_test: FAIL: $*" >&2; exit 1; }
case $mode in
  quick) args=(--steps 2 --videos 40 --sample-steps 2) ;;
  full) args=() ;;
  *) fail "mode must be quick or full, got '$mode'" ;;
esac
BUILD_DIR=$build "$demo" --no-build --out "$out" "${args[@]}" | tee "$out.log"
for f in run/loss.png eval.json; do [ -s "$out/$f" ] || fail "missing $out/$f"; done
for video in 0 10 20 30; do
  for f in first-$video.png sample-$video.gif sample-$video.png real-$video.gif; do
    [ -s "$out/$f" ] || fail "missing $out/$f"
    grep -q -- "$out/$f" "$out.log" || fail "the demo did not print $out/$f"
  done
done
# The overall value (in "metrics"), not the per-kind ones that come before it in the file.
psnr=$(tr -d '\n' <"$out/eval.json" |
  sed -n 's/.*"metrics": *{[^}]*"psnr_first": *\([0-9.eE+-]*\).*/\1/p')
[ -n "$psnr" ] || fail "no psnr_first in $out/eval.json"
echo "demo_test: first-frame PSNR $psnr dB"
if [ "$mode" = full ]; then
  awk -v p="$psnr" 'BEGIN { exit !(p >= 20) }' || fail "first-frame PSNR $psnr dB < 20 dB"
fi
# Running it again continues the run instead of starting over (and keeps the dataset).
if [ "$mode" = quick ]; then
  BUILD_DIR=$build "$demo" --no-build --out "$out" "${args[@]}" --steps 3 >"$out.again.log"
  grep -q "resum" "$out.again.log" || fail "a second run did not resume the first"
  [ -f "$out/run/ckpt-00000003.h5" ] || fail "no checkpoint at step 3 after continuing"
fi
echo "demo_test: OK ($mode)"
