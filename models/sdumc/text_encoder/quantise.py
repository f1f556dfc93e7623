"""Dynamic int8 quantisation of an fp32 ONNX graph, and the uint8 weight rewrite that makes its
numbers the same on every x86 CPU (sdumc.speech.quantize uses the rewrite too)."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def quantize_int8(fp32_path: Path, int8_path: Path, seven_bit: bool = False) -> Path:
    """Dynamic int8 quantisation: int8 weights with one scale per output channel, uint8
    activations scaled per tensor at run time. Per-channel scales matter here: per-tensor
    weights gave a mean-pooled cosine to fp32 of 0.949 (min 0.83) on VADER tweets, per-channel
    0.990 (min 0.96), at the same size (22.9 MB; the word-embedding Gather is int8 too).

    Weights 8-bit (default) are then stored as uint8 (`u8_weights`: U8U8 kernels). With
    `seven_bit` they are quantised to -64..64 (onnxruntime's reduce_range) and kept int8, so
    onnxruntime runs its U8S8 kernels, ~1.5x faster on this VNNI CPU (docs/benchmarks.md), and
    exact on every CPU: without VNNI, U8S8 sums pairs of u8 x s8 products in int16 (VPMADDUBSW),
    and 2 x 255 x 64 = 32,640 stays below its 32,767 limit (8-bit weights reach 64,770)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    extra = {"ActivationSymmetric": False, "WeightSymmetric": True}
    quantize_dynamic(str(fp32_path), str(int8_path), weight_type=QuantType.QInt8, per_channel=True,
                     reduce_range=seven_bit, extra_options=extra)
    if not seven_bit:
        u8_weights(Path(int8_path))
    return Path(int8_path)


QUANTISATION = ("dynamic int8: per-channel int8 weights stored as uint8 (+128, same values), "
                "uint8 activations scaled per run; U8U8 MatMulInteger")
QUANTISATION_7BIT = ("dynamic int8: per-channel 7-bit weights (-64..64, int8, zero point 0), uint8 activations "
                     "scaled per run; U8S8 MatMulInteger, exact on every CPU (pair sums <= 32,640)")


def max_abs_s8_weight(path: Path) -> int | None:
    """The largest |weight - zero point| over the int8-stored MatMulInteger weights of a graph
    (None when it has none: uint8 storage). <= 64 means U8S8 kernels cannot saturate."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(path))
    inits = {t.name: t for t in model.graph.initializer}
    worst = None
    for node in model.graph.node:
        if node.op_type != "MatMulInteger" or node.input[1] not in inits:
            continue
        w = numpy_helper.to_array(inits[node.input[1]])
        if w.dtype != np.int8:
            continue
        zp = numpy_helper.to_array(inits[node.input[3]]).astype(np.int32) if len(node.input) > 3 else 0
        m = int(np.abs(w.astype(np.int32) - zp).max())
        worst = m if worst is None else max(worst, m)
    return worst


def u8_weights(path: Path) -> int:
    """Store every MatMulInteger weight (and its zero point) as uint8, +128: (w + 128) - (zp + 128)
    is the same integer, so the graph computes the same int8 math, but onnxruntime then runs
    its U8U8 kernels instead of U8S8. Why: on x86 CPUs without VNNI, U8S8 uses VPMADDUBSW,
    which saturates pairs of u8*s8 products at 32,767, so the same graph gave different
    numbers on different machines. Measured on the golden texts: a graph run on such a CPU
    deviated from the exact int8 math by up to 0.40 (mean 0.058) on real tokens, one run on a
    VNNI CPU by 0.038 (mean 0.003), and the two by 5.3 at padded positions; the fusion
    network's valence moved by up to 0.03. U8U8 has no saturation on any CPU. Cost on the
    2-core build machine (VNNI): batch 1 2.4 -> 3.0 ms per text. Rewrites `path` in place,
    returns how many weights it converted (0 when already converted)."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(path))
    inits = {t.name: t for t in model.graph.initializer}
    n = 0
    for node in model.graph.node:
        if node.op_type != "MatMulInteger" or node.input[1] not in inits:
            continue
        for idx in (1, 3):  # B and b_zero_point
            if idx >= len(node.input) or node.input[idx] not in inits:
                continue
            t = inits[node.input[idx]]
            a = numpy_helper.to_array(t)
            if a.dtype == np.int8:
                t.CopyFrom(numpy_helper.from_array((a.astype(np.int16) + 128).astype(np.uint8), t.name))
                if idx == 1:
                    n += 1
    if n:
        onnx.save(model, str(path))
    return n
