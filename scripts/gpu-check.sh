#!/usr/bin/env bash
# Check AZ-Med's GPU path: a few self-play steps of configs/gpu-example.yaml on the CUDA GPU
# (bf16 weights, rollout.backend auto = vLLM when installed), then one line per step and a
# summary: the generation backend used, the model's device and precision, tokens/s, and the peak
# GPU memory (torch.cuda.max_memory_allocated) or, on CPU, the peak resident memory.
#
#   bash scripts/gpu-check.sh                          # on a machine with an NVIDIA GPU
#   bash scripts/gpu-check.sh --model /models/Qwen2.5-1.5B-Instruct --steps 5
#   bash scripts/gpu-check.sh --cpu --steps 1          # dry run of the same path on the CPU
#   bash scripts/gpu-check.sh --out runs/gpu-check trainer.lr=1e-5   # extra key=value overrides
#
# Options: --cpu (model.device=cpu, model.dtype=auto, rollout.backend=hf: checks the script and the
# config without a GPU), --model NAME (default: embedded), --steps N (default 3), --out DIR (the
# run folder, default a new temporary folder), then any `azmed train` key=value override. Only the
# clinical environment plays (the code environment's sandbox has its own check, `azmed exec`).
# Exit 0 when the steps ran, 2 when no CUDA device is visible (without --cpu) or an option is
# bad, else the exit status of `azmed train`. Python: $PYTHON, else .venv/bin/python, else python3.
set -euo pipefail

cd "$(dirname "$0")/.."
PY="${PYTHON:-}"
if [[ -z "$PY" ]]; then
  if [[ -x .venv/bin/python ]]; then PY=.venv/bin/python; else PY=python3; fi
fi

cpu=0; model=embedded; steps=3; out=""; overrides=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --cpu) cpu=1; shift ;;
    --model) model="${2:?--model needs a name or folder}"; shift 2 ;;
    --steps) steps="${2:?--steps needs a number}"; shift 2 ;;
    --out) out="${2:?--out needs a folder}"; shift 2 ;;
    -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *=*) overrides+=("$1"); shift ;;
    *) echo "gpu-check: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
if ! [[ "$steps" =~ ^[1-9][0-9]*$ ]]; then
  echo "gpu-check: --steps must be a whole number >= 1, not '$steps'" >&2; exit 2
fi

if [[ $cpu -eq 0 ]]; then
  if ! "$PY" - <<'EOF'
import sys
import torch
if not torch.cuda.is_available():
    built = torch.version.cuda or "none (a CPU-only build)"
    sys.exit(f"gpu-check: no CUDA device is visible to torch {torch.__version__} (its CUDA: {built}). Run this on a "
             "machine with an NVIDIA GPU and a CUDA build of torch in .venv (install it first, as pytorch.org "
             "shows for your CUDA version; scripts/setup.sh keeps a torch it finds), or use --cpu for a dry "
             "run of the same path on the CPU.")
print(f"gpu-check: {torch.cuda.get_device_name(0)}, torch {torch.__version__}, CUDA {torch.version.cuda}")
EOF
  then
    exit 2
  fi
  device=(model.device=cuda)
else
  echo "gpu-check: --cpu dry run (model.device=cpu, rollout.backend=hf): this checks the script, not a GPU"
  device=(model.device=cpu model.dtype=auto rollout.backend=hf)
fi

if [[ -z "$out" ]]; then out="$(mktemp -d -t azmed-gpu-check-XXXXXX)/run"; fi
"$PY" -m azmed.cli train --config configs/gpu-example.yaml "model.name=$model" "${device[@]}" \
  "trainer.steps=$steps" "run.out_dir=$out" run.checkpoint_every=1000 run.progress=false eval.at_end=false \
  envs.code.enabled=false ${overrides[@]+"${overrides[@]}"}

"$PY" - "$out" <<'EOF'
import json
import sys
from pathlib import Path

rows = [json.loads(line) for line in (Path(sys.argv[1]) / "metrics.jsonl").read_text().splitlines() if line.strip()]
if not rows:
    sys.exit("gpu-check: the run wrote no step to metrics.jsonl")
for r in rows:
    mem = r["memory"]
    peak = f"GPU peak {mem['cuda_peak_mb']} MB" if "cuda_peak_mb" in mem else f"peak RSS {mem.get('peak_rss_mb')} MB"
    print(f"gpu-check: step {r['step']} | {r['tokens']['generated']} tokens in {r['time']['generate']:.1f} s = "
          f"{r['tokens']['per_s']} tokens/s | update {r['time']['update']:.1f} s | step {r['time']['total']:.1f} s | {peak}")
last = rows[-1]
mem = last["memory"]
peak = f"{mem['cuda_peak_mb']} MB GPU (torch.cuda.max_memory_allocated)" if "cuda_peak_mb" in mem \
    else f"{mem.get('peak_rss_mb')} MB resident (no GPU)"
rates = [r["tokens"]["per_s"] for r in rows[1:] or rows]  # the first step includes warm-up of the kernels
which = "mean of steps 2 on" if len(rows) > 1 else "step 1, kernel warm-up included"
print(f"gpu-check: OK | backend {last['tokens']['backend']} | {last['device']} ({last['precision']}) | "
      f"{len(rows)} steps | generation {sum(rates) / len(rates):.0f} tokens/s ({which}) | "
      f"peak memory {peak} | run folder {sys.argv[1]}")
EOF
