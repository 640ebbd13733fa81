#!/usr/bin/env bash
# End-to-end checks of the `trip` program with a micro model (tests/cli/micro.json): dataset
# synthesis, training, refusal to overwrite a run, bit-identical resume, Ctrl-C and SIGTERM,
# sampling, inspection, and one-line errors with the right exit status for bad input.
# Usage: cli_test.sh PATH/TO/trip
set -uo pipefail
trip=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/trip_cli_test.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"
failures=0
check() {  # check DESCRIPTION COMMAND...: the command must succeed
  if "${@:2}" >>log 2>&1; then echo "ok: $1"; else echo "FAIL: $1"; failures=$((failures + 1)); fi
}
expect_error() {  # expect_error DESCRIPTION STATUS TEXT COMMAND...: fails with STATUS, says TEXT
  "${@:4}" >out 2>err
  status=$?
  if [ "$status" -eq "$2" ] && grep -q -- "$3" err && [ "$(wc -l <err)" -le 2 ]; then
    echo "ok: $1"
  else
    echo "FAIL: $1 (status $status, stderr: $(head -c 300 err))"
    failures=$((failures + 1))
  fi
}
config=$here/micro.json

check "data synth" "$trip" data synth --out d.h5 --videos 8 --size 16 --frames 8 --seed 3
check "data info" "$trip" data info d.h5
check "data synth, a scene choice" "$trip" data synth --out moves.h5 --videos 4 --size 16 --frames 4 \
  --motions move,rotate --directions left
"$trip" data info moves.h5 >moves.txt 2>&1
unchosen="synthetic:(bounce|grow|shrink|stripes|waves|flicker)|moves (right|up|down)"
if grep -Eq "synthetic:(move|rotate)" moves.txt && ! grep -Eq "$unchosen" moves.txt; then
  echo "ok: scene choice in the file"
else
  echo "FAIL: scene choice in the file: $(head -c 300 moves.txt)"; failures=$((failures + 1))
fi
expect_error "an unknown synthetic motion" 1 "unknown synthetic motion 'jump'" \
  "$trip" data synth --out bad.h5 --videos 2 --motions jump
check "train 4 steps" "$trip" train --config "$config" --data d.h5 --out straight
[ -f straight/ckpt-00000004.h5 ] && [ -f straight/loss.png ] && [ "$(wc -l <straight/metrics.jsonl)" -eq 4 ] \
  && echo "ok: run folder files" || { echo "FAIL: run folder files"; failures=$((failures + 1)); }
expect_error "a run folder with checkpoints is not reused without --resume" 1 "already holds checkpoints" \
  "$trip" train --config "$config" --data d.h5 --out straight

# Resume: 2 steps, then --resume to 4, must log exactly the losses of the straight run.
check "train 2 steps" "$trip" train --config "$config" --data d.h5 --out resumed --steps 2
check "resume to 4" "$trip" train --config "$config" --data d.h5 --out resumed --steps 4 --resume
losses() { sed -E 's/.*"loss":([^,]*),.*"step":([0-9]+).*/\2 \1/' "$1/metrics.jsonl"; }
if [ "$(losses straight)" = "$(losses resumed)" ]; then echo "ok: resumed losses equal"; else
  echo "FAIL: resumed losses differ:"; diff <(losses straight) <(losses resumed); failures=$((failures + 1)); fi

# Ctrl-C and SIGTERM (kill, timeout, schedulers): each saves a checkpoint and exits with status 0.
# Usage: check_stop_signal SIGNAL LABEL RUN_FOLDER
check_stop_signal() {
  local signal=$1 label=$2 out=$3 pid status
  "$trip" train --config "$config" --data d.h5 --out "$out" --steps 100000 >"$out.log" 2>&1 &
  pid=$!
  for _ in $(seq 600); do [ -s "$out/metrics.jsonl" ] && break; sleep 0.1; done
  kill -"$signal" $pid
  wait $pid
  status=$?
  if [ $status -eq 0 ] && grep -q "interrupted: saved" "$out.log" && ls "$out"/ckpt-*.h5 >/dev/null 2>&1; then
    echo "ok: $label saves and exits"; else echo "FAIL: $label (status $status): $(tail -2 "$out.log")"; failures=$((failures + 1)); fi
}
check_stop_signal INT Ctrl-C interrupted
check_stop_signal TERM SIGTERM terminated

if command -v ffmpeg >/dev/null; then
  ffmpeg -loglevel error -y -f lavfi -i "testsrc=s=24x20" -frames:v 1 first.png
  check "sample" "$trip" sample --ckpt straight/ckpt-00000004.h5 --image first.png --caption "a red circle" \
    --steps 2 --num 2 --out samples/v.gif
  [ -s samples/v-0.gif ] && [ -s samples/v-1.gif ] && [ -s samples/v.png ] && echo "ok: sample files" \
    || { echo "FAIL: sample files"; failures=$((failures + 1)); }
  check "sample, trailing timesteps" "$trip" sample --ckpt straight/ckpt-00000004.h5 \
    --image first.png --steps 2 --spacing trailing --out samples/trailing.gif
  expect_error "sample: unknown spacing" 2 "spacing" \
    "$trip" sample --ckpt straight/ckpt-00000004.h5 --image first.png --spacing sideways --out z.gif
  expect_error "sample: unsupported output" 1 "must end in .gif or .mp4" \
    "$trip" sample --ckpt straight/ckpt-00000004.h5 --image first.png --out v.avi
else
  echo "skip: sample (ffmpeg is not installed)"
fi
check "eval" "$trip" eval --ckpt straight/ckpt-00000004.h5 --data d.h5 --steps 2 --json eval.json
grep -q "consistency" eval.json && echo "ok: eval json" || { echo "FAIL: eval json"; failures=$((failures + 1)); }
check "ablate" "$trip" ablate --data d.h5 --out abl --config "$config" --clips 2 --sample-steps 2
[ -s abl/ablation.md ] && grep -q "TRIP_TE" abl/ablation.md && echo "ok: ablation table" \
  || { echo "FAIL: ablation table"; failures=$((failures + 1)); }
"$trip" inspect straight/ckpt-00000004.h5 >inspect.txt 2>&1 && grep -q "unet.conv_in.weight" inspect.txt \
  && grep -q '"trip.model"' inspect.txt && echo "ok: inspect" || { echo "FAIL: inspect"; failures=$((failures + 1)); }

expect_error "missing dataset" 2 "File does not exist" "$trip" train --data nope.h5 --out x
echo '{"stepz": 3}' >bad.json
expect_error "unknown config key" 1 "unknown key 'stepz'" "$trip" train --config bad.json --data d.h5 --out y
printf 'not a checkpoint' >junk.h5
expect_error "corrupt checkpoint" 1 "junk.h5" "$trip" sample --ckpt junk.h5 --image d.h5 --out z.gif
expect_error "image that is not an image" 1 "d.h5" "$trip" sample --ckpt straight/ckpt-00000004.h5 --image d.h5 --out z.gif
expect_error "no subcommand" 2 "subcommand" "$trip"
[ $failures -eq 0 ] && echo "all cli checks passed" || { echo "$failures cli check(s) failed; log:"; tail -20 log; }
exit $((failures > 0))
