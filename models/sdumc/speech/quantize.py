"""int8 quantisation of the exported Whisper graphs, exact on every x86 CPU.

Dynamic int8 (onnxruntime `quantize_dynamic`, MatMul weights only, one scale per output
channel; activations quantised per run), then `text_encoder.quantise.u8_weights` (weights stored as
uint8 so onnxruntime runs U8U8 kernels: U8S8 saturates on CPUs without VNNI, docs/model.md),
then `int8_table` in the decoder. Convolutions and attention products stay float.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..text_encoder.quantise import u8_weights

TABLE = "table"  # graphs.DecoderGraph's (d, V) token matrix


def quantize(fp32_path: Path, int8_path: Path) -> None:
    """Dynamic int8 of every MatMul with a weight, except the decoder's logits (see int8_table)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    table_users = [n.name for n in onnx.load(str(fp32_path)).graph.node if n.op_type == "MatMul" and TABLE in n.input]
    quantize_dynamic(str(fp32_path), str(int8_path), weight_type=QuantType.QInt8, per_channel=True,
                     op_types_to_quantize=["MatMul"], nodes_to_exclude=table_users)
    u8_weights(Path(int8_path))


def int8_table(path: Path) -> float:
    """Stores the decoder's (d, V) token table as uint8 with one scale per token (symmetric int8,
    +128) and computes the float table from it inside the graph (Cast, Sub, Mul on initializers:
    onnxruntime folds them once when the session opens). The embedding Gather and the logits
    MatMul both read that float table, so the file holds one 20 MB copy and the logits are a
    float product. Why not MatMulInteger for the logits: its activations are quantised per run
    with one scale, which changed the greedy transcript of 3 of 10 espeak-ng lines (weights
    alone change none, bench/speech_wer.py). Returns the largest |dequantised - float| value."""
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(path))
    g = model.graph
    found = [t for t in g.initializer if t.name == TABLE]
    if len(found) != 1:
        raise ValueError(f"{path}: no float {TABLE} initializer")
    w = numpy_helper.to_array(found[0]).astype(np.float32)  # (d, V)
    scale = np.maximum(np.abs(w).max(0), 1e-12) / 127.0  # (V,)
    q = np.clip(np.round(w / scale), -127, 127)
    g.initializer.remove(found[0])
    g.initializer.extend([numpy_helper.from_array((q + 128).astype(np.uint8), f"{TABLE}_u8"),
                          numpy_helper.from_array(scale.astype(np.float32), f"{TABLE}_scale"),
                          numpy_helper.from_array(np.array(128.0, np.float32), f"{TABLE}_zero")])
    nodes = [helper.make_node("Cast", [f"{TABLE}_u8"], [f"{TABLE}_f"], to=onnx.TensorProto.FLOAT),
             helper.make_node("Sub", [f"{TABLE}_f", f"{TABLE}_zero"], [f"{TABLE}_centred"]),
             helper.make_node("Mul", [f"{TABLE}_centred", f"{TABLE}_scale"], [TABLE])]
    for i, n in enumerate(nodes):
        g.node.insert(i, n)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return float(np.abs((q * scale) - w).max())
