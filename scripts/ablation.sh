#!/usr/bin/env bash
# Does self-play add anything over plain RLVR on simulator tasks? Three arms on the same step
# budget, the same seeds and the same starting adapter, then one evaluation of each:
#   (a) rlvr      simulator tasks only, no proposer     selfplay.env_tasks=1, propose=0 for every type
#   (b) selfplay  the main config (configs/clinical.yaml): the solver trains on what the proposer makes
#   (c) mix       half simulator tasks, half proposed   selfplay.env_tasks=0.5
# The starting adapter is the main config's warm-up on the environment's demonstrations (run once
# here, or given by WARMUP_ADAPTER), so the arms differ only in where the solver's tasks come from.
#
#   bash scripts/ablation.sh                      # writes docs/results/ablation/
#   STEPS=10 OUT=runs/ablation bash scripts/ablation.sh
#   WARMUP_ADAPTER=runs/clinical/warmup-adapter bash scripts/ablation.sh   # the main run's, saved when
#                                                                          # its warm-up ended
#   BASE_EVAL=runs/clinical/heldout-base.json bash scripts/ablation.sh   # reuse the base model's scores
#       (the main run's final check scores the base model on the same suites, n and settings)
#
# Environment: OUT (default docs/results/ablation), STEPS (self-play steps per arm, default 10),
# WARMUP_STEPS (default: the config's selfplay.warmup.steps), CONFIG (default configs/clinical.yaml),
# LIMIT (MedCalc-Bench rows per calculator in the evaluation, default 1), N (sim-heldout tasks,
# default 120), THREADS (torch threads, default 0 = torch's choice), SUITES (default "sim-heldout
# medcalc"), SETTING (direct, tools or both, default both). Each arm's run folder keeps its config, metrics, samples and adapter; the
# evaluation writes eval-<arm>.json and the table `ablation.md` (python -m azmed.ablation).
# Runs one model job at a time; about STEPS x 110 s per arm plus ~4 min of evaluation per model
# on 2 CPU cores with AVX-512 bf16.
set -euo pipefail
cd "$(dirname "$0")/.."
py=.venv/bin/python
azmed=.venv/bin/azmed
OUT=${OUT:-docs/results/ablation}
STEPS=${STEPS:-10}
CONFIG=${CONFIG:-configs/clinical.yaml}
N=${N:-120}
LIMIT=${LIMIT:-1}
THREADS=${THREADS:-0}
SUITES=${SUITES:-sim-heldout medcalc}
SETTING=${SETTING:-both}
suite_flags=()
for s in $SUITES; do suite_flags+=(--suite "$s"); done
mkdir -p "$OUT"
flags=(--env clinical --config "$CONFIG")
common=(eval.at_end=false run.progress=false trainer.time_budget_min=null run.checkpoint_every=1000
        "model.threads=$THREADS")

warm=${WARMUP_ADAPTER:-}
if [ -z "$warm" ]; then
    ws=${WARMUP_STEPS:-$($py -c "from azmed.selfplay.config import load_config; print(load_config('$CONFIG').selfplay.warmup.steps)")}
    if [ ! -f "$OUT/warmup/adapter/adapter_config.json" ]; then
        echo "[ablation] warm-up: $ws steps on the environment's demonstrations"
        $azmed train "${flags[@]}" "${common[@]}" "trainer.steps=$ws" "run.out_dir=$OUT/warmup"
    fi
    warm=$OUT/warmup/adapter
fi

types=$($py -c "from azmed.selfplay.config import load_config
c = load_config('$CONFIG'); print(' '.join(t for t, s in c.envs['clinical'].task_types.items() if s.enabled))")
no_proposer=()
for t in $types; do no_proposer+=("envs.clinical.task_types.$t.propose=0"); done

arm() {  # name, overrides...
    local name=$1; shift
    if [ ! -f "$OUT/$name/adapter/adapter_config.json" ]; then
        echo "[ablation] arm $name: $STEPS self-play steps from $warm"
        $azmed train "${flags[@]}" --init-adapter "$warm" "${common[@]}" selfplay.warmup.steps=0 "trainer.steps=$STEPS" \
            "run.out_dir=$OUT/$name" "$@"
    fi
}
arm rlvr selfplay.env_tasks=1 "${no_proposer[@]}"
arm selfplay
arm mix selfplay.env_tasks=0.5

# the evaluation asks as the main run's final check does (its guided values, batches and padding)
read -r -a check_flags <<< "$($py -c "from azmed.selfplay.config import load_config
c = load_config('$CONFIG'); e = c.eval; v = str(e.guided_values).lower()
print(f'medcalc.guided_values={v} sim_heldout.guided_values={v} max_batch_tokens={e.max_batch_tokens} '
      f'batch_size={e.batch_size} model.pad_multiple={c.model.pad_multiple}')")"
evaluate() {  # label, [--adapter DIR]
    local label=$1; shift
    if [ ! -f "$OUT/eval-$label.json" ]; then
        echo "[ablation] evaluating $label"
        $azmed eval "${suite_flags[@]}" --setting "$SETTING" "$@" --out "$OUT/eval-$label.json" \
            sim_heldout.n="$N" medcalc.per_calculator="$LIMIT" progress=false "model.threads=$THREADS" "${check_flags[@]}"
    fi
}
if [ -n "${BASE_EVAL:-}" ] && [ ! -f "$OUT/eval-base.json" ]; then cp "$BASE_EVAL" "$OUT/eval-base.json"; fi
evaluate base
evaluate warmup --adapter "$warm"
for name in rlvr selfplay mix; do evaluate "$name" --adapter "$OUT/$name/adapter"; done
$py -m azmed.ablation "$OUT" | tee "$OUT/ablation.md"
