#!/usr/bin/env bash
# Prepares what bench/gpu.sh carries to the lent GPU machine (no package registry there, no Node):
# onnxruntime-gpu 1.31.1 for its Python 3.12 (CUDA 13, like the machine's torch 2.11+cu130 and its
# nvidia-* packages), slimmed to sm_90 (H100, H200) by bench/gpu/slim_ort.py and packed with xz,
# then split into parts of at most 30 MiB so that each part can travel in its own call (the device
# tool's limit is 64 MiB per call, working tree included; carried paths stay on a warm machine).
# Writes into .gpu/ (ignored): ort-sm90.tar.xz.part-aa, -ab, ... and ort-sm90.tar.xz.sha256.
# Checks the result with NVIDIA's cuobjdump. Takes ~1 CPU-minute (5 under load) after a 256 MB download. The machine's own numpy, flatbuffers, packaging and
# protobuf satisfy the wheel's requirements (device README, KINDS.md package list).
set -euo pipefail
cd "$(dirname "$0")/.."

version=1.31.1
wheel=onnxruntime_gpu-$version-cp312-cp312-manylinux_2_28_x86_64.whl
want=05d548956197b9d01f59b625de740e0d6be3593f874e241a12dc0362650ecdf7  # PyPI, 2026-12-07 (MIT)
dir=.gpu
py=.venv/bin/python
[ -x "$py" ] || py=python3
mkdir -p "$dir/download"
if [ ! -f "$dir/download/$wheel" ]; then
  "$py" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 -d "$dir/download" "onnxruntime-gpu==$version"
fi
got=$(sha256sum "$dir/download/$wheel" | cut -d' ' -f1)
if [ "$got" != "$want" ]; then
  echo "error: $dir/download/$wheel has sha256 $got, expected $want" >&2
  exit 2
fi
# NVIDIA's cuobjdump (PyPI, 0.4 MB) checks that the rewritten library still reads as it should
tool_wheel=nvidia_cuda_cuobjdump-13.4.92-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl
tool_want=fb72ca80d0cdd8f5e8e232ce17d3c5aa2a37c3153bb8ef4e010010ed4fdef6c5
if [ ! -f "$dir/download/$tool_wheel" ]; then
  "$py" -m pip download -q --no-deps --only-binary=:all: --platform manylinux_2_17_x86_64 \
    -d "$dir/download" nvidia-cuda-cuobjdump==13.4.92
fi
got=$(sha256sum "$dir/download/$tool_wheel" | cut -d' ' -f1)
[ "$got" = "$tool_want" ] || { echo "error: $tool_wheel has sha256 $got, expected $tool_want" >&2; exit 2; }
unzip -q -o "$dir/download/$tool_wheel" 'nvidia/cu13/bin/cuobjdump' -d "$dir/download/cuobjdump"
chmod +x "$dir/download/cuobjdump/nvidia/cu13/bin/cuobjdump"
rm -f "$dir"/ort-sm90.tar.xz*
nice python3 bench/gpu/slim_ort.py "$dir/download/$wheel" "$dir/ort-sm90.tar.xz" --cuobjdump "$dir/download/cuobjdump/nvidia/cu13/bin/cuobjdump"
(cd "$dir" && sha256sum ort-sm90.tar.xz >ort-sm90.tar.xz.sha256 && split -b 30M ort-sm90.tar.xz ort-sm90.tar.xz.part- && rm ort-sm90.tar.xz)
ls -l "$dir"/ort-sm90.tar.xz.*
echo "fetch-gpu-wheels: carry each $dir/ort-sm90.tar.xz.part-* (one per device call) and $dir/ort-sm90.tar.xz.sha256; see bench/README.md, gpu"
