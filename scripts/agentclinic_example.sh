#!/usr/bin/env bash
# The worked example of the README's "Fine-tuning on real cases": AgentClinic MedQA OSCE cases,
# scored on one held-out part (30 %, the same cases for every starting model) for
#   1. the base model               (run 1, before fine-tuning)
#   2. the base model fine-tuned    (run 1, after)
#   3. the self-play adapter        (run 2, before)
#   4. self-play then fine-tuned    (run 2, after)
#
#   bash scripts/agentclinic_example.sh [SELF_PLAY_ADAPTER [key=value ...]]
#   (default adapter runs/clinical/adapter; overrides go to both `azmed finetune` runs,
#   e.g. model.threads=1 when other jobs share the cores)
#
# Writes runs/agentclinic-cases.jsonl, runs/ft-agentclinic-base/, runs/ft-agentclinic-selfplay/
# (replaced if present) and prints the table.
set -euo pipefail
cd "$(dirname "$0")/.."
ADAPTER="${1:-runs/clinical/adapter}"
shift || true
AZ=.venv/bin/azmed
[ -f "$ADAPTER/adapter_config.json" ] || { echo "no LoRA adapter in $ADAPTER: pass a self-play run's adapter folder (runs/<run>/adapter), or train with run.out_dir=runs/clinical first" >&2; exit 2; }
mkdir -p runs
rm -rf runs/ft-agentclinic-base runs/ft-agentclinic-selfplay
$AZ data convert --from agentclinic azmed/eval/data/agentclinic_medqa.jsonl runs/agentclinic-cases.jsonl
$AZ finetune --data runs/agentclinic-cases.jsonl --eval-fraction 0.3 run.out_dir=runs/ft-agentclinic-base "$@"
$AZ finetune --data runs/agentclinic-cases.jsonl --eval-fraction 0.3 --from-adapter "$ADAPTER" \
    run.out_dir=runs/ft-agentclinic-selfplay "$@"
.venv/bin/python - <<'PY'
import json

rows = []
for run, before, after in [("runs/ft-agentclinic-base", "base model", "fine-tuned"),
                           ("runs/ft-agentclinic-selfplay", "self-play adapter", "self-play, then fine-tuned")]:
    r = json.load(open(f"{run}/report.json"))
    b, a = r.get("score_before") or {}, r["score_after"]
    rows.append((before, b.get("correct"), b.get("n"), b.get("accuracy"), r["eval_loss_start"]))
    rows.append((after, a["correct"], a["n"], a["accuracy"], r["eval_loss_end"]))
print("| model | held-out correct | accuracy | held-out loss |")
print("|---|---|---|---|")
for name, c, n, acc, loss in rows:
    print(f"| {name} | {c}/{n} | {acc:.3f} | {loss:.3f} |")
PY
