#!/usr/bin/env bash
# One GPU visit for the embedded model (docs/embedded-model.md, stage 3; docs/sinks.md, retrain):
# 1. `retrain` on the shipped model (blocks 2,3), 2. three direction-contrast stage-3 runs side by side, filling the
# time that is left. Usage: OUT=DIR tiny-stage3.sh BUNDLE BUDGET_SECONDS (run from the repository root; results and
# logs are written under DIR).
set -u
bundle=$1 budget=$2
out=${OUT:?}
t0=$(date +%s)
elapsed() { echo $(( $(date +%s) - t0 )); }
log=$out/log.txt
runner=${TINY_STAGE3_RUNNER:-scripts/gpu/run --bundle $bundle} # override to test the flow
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv >"$log" 2>&1

echo "== retrain (t=$(elapsed) s)" >>"$log"
s=$(date +%s)
timeout 110 $runner retrain --model models/vditlens-tiny --blocks 2,3 --scope block --target block \
  --train-steps 500 --device cuda --dtype float32 --out /tmp/retrain --report /tmp/retrain-report >/tmp/retrain-log.txt 2>&1
echo "retrain rc=$? wall=$(( $(date +%s) - s )) s" >>"$log"
cp /tmp/retrain-log.txt /tmp/retrain-report/ 2>/dev/null
tar -czf "$out/retrain.tgz" -C /tmp retrain-report retrain/pipeline/retrain.json retrain/checkpoint/state.json 2>>"$log"

# Each run: training M minutes + ~30 s of start-up, export and evaluation, + packing.
minutes=$(python3 -c "print(round(max(1.0, ($budget - $(elapsed) - 50) / 60), 2))")
echo "== stage 3, $minutes minutes each (t=$(elapsed) s)" >>"$log"
train() { # name weight lr
  local work=/tmp/t3-$1
  local common=(--device cuda --batch 128 --warmup 100 --seed 2 --long-text-share 0 --direction-contrast 0.25
    --direction-weight "$2" --lr "$3" --checkpoint-every 500 --eval 3 --work "$work" --out "$work/vditlens-tiny")
  timeout $(( budget - $(elapsed) - 12 )) $runner train-tiny "${common[@]}" --train-steps 0 \
    --max-minutes "$minutes" --init-from models/vditlens-tiny >"$work.log" 2>&1
  local rc=$?
  echo "$1: rc=$rc at t=$(elapsed) s" >>"$log"
  local left=$(( budget - $(elapsed) - 45 ))
  if [ $rc -ne 0 ] && [ -f "$work/checkpoint/state.json" ] && [ $left -gt 30 ]; then
    timeout $(( budget - $(elapsed) - 12 )) $runner train-tiny "${common[@]}" --resume --train-steps 0 --max-minutes "$(python3 -c "print($left / 60)")" >>"$work.log" 2>&1
    echo "$1: resumed, rc=$? at t=$(elapsed) s" >>"$log"
  fi
  cp "$work.log" "$work/log.txt"
  tar -czf "$out/$1.tgz" -C "$work" vditlens-tiny loss.csv loss.png log.txt evaluation.json heldout.png 2>>"$log"
}
mkdir -p /tmp/t3-w0.1 /tmp/t3-w0.05 /tmp/t3-w0.1-lr2e-4
train w0.1 0.1 5e-4 &
train w0.05 0.05 5e-4 &
train w0.1-lr2e-4 0.1 2e-4 &
wait
echo "== done (t=$(elapsed) s)" >>"$log"
