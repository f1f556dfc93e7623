#!/usr/bin/env bash
# The served ONNX graphs (scorer: text encoder + fusion; speech path: Whisper tiny.en encoder +
# greedy decoder) on the CUDA execution provider and on the CPU provider in the same run, batch 1
# and 32: segments/s, speech audio-s per s, and the provider each graph's nodes actually ran on.
# For the lent GPU machine (H100/H200, 16 cores, Python 3.12 with numpy and a CPU onnxruntime, no
# Node, no registry): it unpacks the onnxruntime-gpu that scripts/fetch-gpu-wheels.sh prepared
# (.gpu/ort-sm90.tar.xz.part-*, carried) and runs bench/gpu/run.py with it. Without that pack,
# without a GPU, or with --cpu-only, it measures the CPU provider alone and says why.
#
#   bash bench/gpu.sh [--cpu-only] [--seconds 3]      # results: $OUT/gpu-bench.{json,log} (else /tmp)
set -euo pipefail
cd "$(dirname "$0")/.."

py=${PYTHON:-python3}  # the GPU machine's python3 (3.12, numpy, torch); PYTHON=... to choose
[ -z "${PYTHON:-}" ] && [ -x .venv/bin/python ] && py=.venv/bin/python  # this repository's machines
out=${OUT:-/tmp}
cpu_only=0
for a in "$@"; do [ "$a" = --cpu-only ] && cpu_only=1; done

command -v nvidia-smi >/dev/null && nvidia-smi -L || echo "gpu.sh: no nvidia-smi / no GPU visible" >&2
if [ "$cpu_only" = 0 ]; then
  if ls .gpu/ort-sm90.tar.xz.part-* >/dev/null 2>&1 && [ -f .gpu/ort-sm90.tar.xz.sha256 ]; then
    site=/tmp/ort-gpu-$(cut -c1-12 .gpu/ort-sm90.tar.xz.sha256)  # one folder per pack: a new pack is unpacked anew
    if [ ! -d "$site/onnxruntime" ]; then
      cat .gpu/ort-sm90.tar.xz.part-* >/tmp/ort-sm90.tar.xz
      (cd /tmp && sha256sum -c --quiet "$OLDPWD/.gpu/ort-sm90.tar.xz.sha256") || { echo "error: the carried parts do not reassemble the pack (sha256): carry every part" >&2; exit 2; }
      mkdir -p "$site"
      "$py" -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2], filter="data")' /tmp/ort-sm90.tar.xz "$site"
      rm /tmp/ort-sm90.tar.xz
    fi
    export PYTHONPATH="$site${PYTHONPATH:+:$PYTHONPATH}"
    # the CUDA provider's libcublas/libcudart/libcurand (.13/.10) live in the machine's nvidia-* packages
    libs=$("$py" -c 'import glob, os, site; print(":".join(sorted({os.path.dirname(p) for s in site.getsitepackages() for p in glob.glob(s + "/nvidia/**/lib*.so*", recursive=True)})))' || true)
    export LD_LIBRARY_PATH="$libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  else
    echo "gpu.sh: no .gpu/ort-sm90.tar.xz.part-* carried (scripts/fetch-gpu-wheels.sh makes them): the machine's onnxruntime decides" >&2
  fi
fi
set -o pipefail
"$py" bench/gpu/run.py "$@" --json "$out/gpu-bench.json" 2>&1 | tee "$out/gpu-bench.log"
echo "gpu.sh: results in $out/gpu-bench.json, everything it printed in $out/gpu-bench.log"
