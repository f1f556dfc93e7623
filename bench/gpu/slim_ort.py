"""Shrink an onnxruntime-gpu wheel to what bench/gpu.sh needs on an sm_90 GPU (H100, H200), packed
small enough to travel to the lent GPU machine (which reaches no package registry).

  python3 bench/gpu/slim_ort.py WHEEL OUT.tar.xz [--arch 90]

The wheel (onnxruntime-gpu 1.31.1, cp312: 256 MB) is mostly `libonnxruntime_providers_cuda.so`
(284 MB), and most of that is CUDA machine code for six GPU generations (sm_75, 80, 86, 89, 90,
120; no PTX). A GPU runs only cubins of its own major generation, so for sm_90 the other five
are dead weight. This keeps the Python package (`onnxruntime/`, without the C API library
`libonnxruntime.so.*`, the TensorRT provider, and the transformers/tools/quantization helpers,
none of which `import onnxruntime` loads) and, in the CUDA provider, rewrites every embedded
fatbin to hold only the `--arch` cubins: kept entries are moved to the front of their fatbin,
its size field is shortened, and the freed tail is zeroed (so xz packs it to nothing). Nothing
else of the library moves: addresses, symbols and the fatbins' starts stay as built.

Fatbin layout read here (documented by reverse engineering, not by NVIDIA): a 16-byte header
(magic 0xBA55ED50, u16 version 1, u16 header size 16, u64 size of the entries), then entries,
each a header (u16 kind: 1 PTX, 2 cubin; u16 version; u32 header size; u64 payload size; the
sm number as u32 at byte 28) and its payload. An entry running past its fatbin stops with an
error; a fatbin with no cubin for --arch (9 small sm_120-only ones) is left whole: its kernels
never ran on an sm_90 GPU in the original either.
Checked without a GPU: with --cuobjdump (scripts/fetch-gpu-wheels.sh passes NVIDIA's cuobjdump
13.4, PyPI nvidia-cuda-cuobjdump), NVIDIA's reader lists exactly the kept cubins; on 2026-12-07
`cuobjdump -xelf all` gave the 600 sm_90a cubins byte-identical to the original library's.
UNTESTED ON A GPU (none was lent): whether the CUDA driver loads the rewritten fatbins is what
bench/gpu.sh's first session call shows; it falls back to the CPU provider and says so if not.
"""
from __future__ import annotations

import argparse
import io
import re
import struct
import subprocess
import sys
import tempfile
import tarfile
import zipfile
from collections import Counter

MAGIC = 0xBA55ED50
DROP = ("onnxruntime/capi/libonnxruntime.so", "onnxruntime/capi/libonnxruntime_providers_tensorrt.so",
        "onnxruntime/transformers/", "onnxruntime/tools/", "onnxruntime/quantization/", "onnxruntime/datasets/")
CUDA_LIB = "onnxruntime/capi/libonnxruntime_providers_cuda.so"


class SlimError(Exception):
    """The wheel is not laid out as this script expects."""


def prune_fatbins(lib: bytearray, arch: int) -> Counter:
    """Keep only `arch` cubins in every fatbin of `lib` (in place). Returns bytes kept/dropped by (kind, sm)."""
    view = memoryview(lib)
    seen: Counter = Counter()
    magic = struct.pack("<I", MAGIC)
    pos, blobs = 0, 0
    while (i := lib.find(magic, pos)) >= 0:
        version, hsize, size = struct.unpack_from("<HHQ", lib, i + 4)
        if version != 1 or hsize != 16 or i + 16 + size > len(lib):
            pos = i + 4  # the magic's bytes inside other data
            continue
        start, end, p, kept = i + 16, i + 16 + size, i + 16, []
        while p < end:
            kind, _ver, ehsize, psize = struct.unpack_from("<HHIQ", lib, p)
            sm = struct.unpack_from("<I", lib, p + 28)[0]
            if ehsize < 32 or p + ehsize + psize > end:
                raise SlimError(f"fatbin at {i:#x}: entry at {p:#x} (header {ehsize}, payload {psize}) runs past its end")
            keep = kind == 2 and sm == arch
            seen[("kept" if keep else "dropped", kind, sm)] += ehsize + psize
            if keep:
                kept.append(bytes(view[p:p + ehsize + psize]))
            p += ehsize + psize
        if not kept:  # kernels built for other GPUs only (sm_120: 9 small fatbins): never run on
            seen[("left whole", 0, 0)] += 1  # `arch`, as in the original; left as they are
            pos = end
            continue
        body = b"".join(kept)
        view[start:start + len(body)] = body
        view[start + len(body):end] = bytes(end - start - len(body))
        struct.pack_into("<Q", lib, i + 8, len(body))
        blobs += 1
        pos = end
    if blobs == 0:
        raise SlimError(f"{CUDA_LIB}: no fatbin found")
    seen[("fatbins", 0, 0)] = blobs
    return seen


def cubins(lib: bytes | bytearray) -> Counter:
    """Cubin entries per sm number over every fatbin of `lib` (this script's reading)."""
    n: Counter = Counter()
    magic, pos = struct.pack("<I", MAGIC), 0
    while (i := lib.find(magic, pos)) >= 0:
        version, hsize, size = struct.unpack_from("<HHQ", lib, i + 4)
        if version != 1 or hsize != 16 or i + 16 + size > len(lib):
            pos = i + 4
            continue
        p, end = i + 16, i + 16 + size
        while p < end:
            kind, _ver, ehsize, psize = struct.unpack_from("<HHIQ", lib, p)
            if kind == 2:
                n[struct.unpack_from("<I", lib, p + 28)[0]] += 1
            p += ehsize + psize
        pos = end
    return n


def check_with_cuobjdump(lib: bytes, tool: str) -> Counter:
    """NVIDIA's own reader on the rewritten library: `cuobjdump -lelf` must read it and list
    exactly the cubins this script kept (sm_90a counts as 90)."""
    with tempfile.NamedTemporaryFile(suffix=".so") as f:
        f.write(lib)
        f.flush()
        r = subprocess.run([tool, "-lelf", f.name], capture_output=True, text=True)
    if r.returncode != 0:
        raise SlimError(f"cuobjdump could not read the rewritten library: {r.stderr.strip()[:300]}")
    listed = Counter(int(m) for m in re.findall(r"\.sm_(\d+)[a-z]?\.cubin", r.stdout))
    if listed != cubins(lib):
        raise SlimError(f"cuobjdump lists {dict(listed)} cubins per sm, this script kept {dict(cubins(lib))}")
    return listed


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("wheel")
    ap.add_argument("out")
    ap.add_argument("--arch", type=int, default=90, help="sm number to keep (90: H100, H200)")
    ap.add_argument("--cuobjdump", help="NVIDIA's cuobjdump: check that it reads the rewritten library")
    a = ap.parse_args(argv)
    try:
        with zipfile.ZipFile(a.wheel) as z, tarfile.open(a.out, "w:xz", preset=6) as tar:
            names = [n for n in z.namelist() if n.startswith("onnxruntime/") and not n.endswith("/")
                     and not n.startswith(DROP)]
            if CUDA_LIB not in names:
                raise SlimError(f"{a.wheel} has no {CUDA_LIB}: not an onnxruntime-gpu wheel")
            for n in names:
                data = z.read(n)
                if n == CUDA_LIB:
                    lib = bytearray(data)
                    seen = prune_fatbins(lib, a.arch)
                    data = bytes(lib)
                    if a.cuobjdump:
                        listed = check_with_cuobjdump(data, a.cuobjdump)
                        print(f"cuobjdump reads it: {sum(listed.values())} cubins, per sm {dict(listed)}", file=sys.stderr)
                    mb = lambda k: sum(v for (s, *_), v in seen.items() if s == k) / 1e6  # noqa: E731
                    print(f"{n}: {seen[('fatbins', 0, 0)]} fatbins, sm_{a.arch} cubins kept {mb('kept'):.1f} MB, "
                          f"other generations dropped {mb('dropped'):.1f} MB, {seen[('left whole', 0, 0)]} fatbins without "
                          f"sm_{a.arch} left whole", file=sys.stderr)
                info = tarfile.TarInfo(n)
                info.size, info.mode = len(data), 0o755 if n.endswith(".so") or ".so." in n else 0o644
                tar.addfile(info, io.BytesIO(data))
    except (SlimError, zipfile.BadZipFile, FileNotFoundError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
