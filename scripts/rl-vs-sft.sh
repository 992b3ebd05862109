#!/usr/bin/env bash
# RL against more supervised training at equal compute (issue 4):
#   1. continue pretraining BASE on the same traces for as many FLOPs as the RL run spent
#      (constant learning rate, where the base run's cosine ended);
#   2. evaluate base, RL and SFT models greedily on the same held-out problems.
#
#   scripts/rl-vs-sft.sh BASE_RUN RL_RUN OUT_DIR [FAMILIES] [LEVELS] [N]
#
# PRETRAIN_ARGS adds flags to step 1, e.g. the RL run's families and levels as pretraining
# data and the base run's final learning rate:
#   PRETRAIN_ARGS="--lr 1.5e-4 --families count,word --levels count:2-3 --levels word:1-2"
set -euo pipefail
base="$1"; rl="$2"; out="$3"
families="${4:-count,letters,word}"; levels="${5:-1,2,3}"; n="${6:-32}"
ponder="${PONDER:-./target/release/ponder}"

# FLOPs the RL run spent (last curve point), and the base run's FLOPs per step.
read -r rl_flops steps <<<"$(python3 - "$base" "$rl" <<'PY'
import json, sys
base, rl = sys.argv[1], sys.argv[2]
curve = json.load(open(f"{rl}/curve.json"))
rl_flops = curve[-1]["flops"]
log = [json.loads(l) for l in open(f"{base}/log.jsonl")]
per_step = log[-1]["flops"] / log[-1]["step"]
print(rl_flops, max(1, round(rl_flops / per_step)))
PY
)"
echo "RL spent ${rl_flops} FLOPs = ${steps} pretraining steps of ${base}"
"$ponder" pretrain --init "$base" --out "$out" --steps "$steps" --heldout 0 ${PRETRAIN_ARGS:-}
for model in "$base" "$rl" "$out"; do
  echo "== $model"
  "$ponder" eval --model "$model" --families "$families" --levels "$levels" -n "$n" --samples 0 \
    --max-tokens 512 --out "$model/eval-rl-levels.json"
done
