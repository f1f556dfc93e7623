"""int8 quantisation of the exported Whisper graphs, exact on every x86 CPU.

Dynamic int8 (onnxruntime `quantize_dynamic`, MatMul weights only, one scale per output
channel; activations quantised per run), then `text_encoder.u8_weights` (weights stored as
uint8 so onnxruntime runs U8U8 kernels: U8S8 saturates on CPUs without VNNI, docs/model.md),
then `share_embedding` in the decoder. Convolutions and attention products stay float.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..text_encoder import u8_weights

TABLE = "table"  # graphs.DecoderGraph's (d, V) token matrix


def quantize(fp32_path: Path, int8_path: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(fp32_path), str(int8_path), weight_type=QuantType.QInt8, per_channel=True,
                     op_types_to_quantize=["MatMul"])
    u8_weights(Path(int8_path))


def share_embedding(path: Path) -> None:
    """Makes the decoder's token embedding read the int8 table of the output projection
    (`table_quantized`, uint8 [d, V] with per-token scale and zero point) and drops the float
    table: Gather(table, ids, axis 1) becomes (Gather(q) - Gather(zp)) * Gather(scale). The
    embedding is then the int8 table's dequantised column (error <= scale/2 per value)."""
    import onnx
    from onnx import helper

    model = onnx.load(str(path))
    g = model.graph
    gathers = [n for n in g.node if n.op_type == "Gather" and n.input[0] == TABLE]
    if len(gathers) != 1:
        raise ValueError(f"{path}: expected one Gather of {TABLE}, found {len(gathers)}")
    old = gathers[0]
    ids, out = old.input[1], old.output[0]
    f = onnx.TensorProto.FLOAT
    new = [
        helper.make_node("Gather", [f"{TABLE}_quantized", ids], ["emb_q"], axis=1),
        helper.make_node("Gather", [f"{TABLE}_zero_point", ids], ["emb_zp"], axis=0),
        helper.make_node("Gather", [f"{TABLE}_scale", ids], ["emb_scale"], axis=0),
        helper.make_node("Cast", ["emb_q"], ["emb_qf"], to=f),
        helper.make_node("Cast", ["emb_zp"], ["emb_zpf"], to=f),
        helper.make_node("Sub", ["emb_qf", "emb_zpf"], ["emb_centred"]),
        helper.make_node("Mul", ["emb_centred", "emb_scale"], [out]),
    ]
    at = list(g.node).index(old)
    g.node.remove(old)
    for i, n in enumerate(new):
        g.node.insert(at + i, n)
    keep = [t for t in g.initializer if t.name != TABLE]
    if len(keep) == len(g.initializer):
        raise ValueError(f"{path}: no float {TABLE} initializer to drop")
    del g.initializer[:]
    g.initializer.extend(keep)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def int8_table_error(path: Path, table: np.ndarray) -> float:
    """Largest |dequantised - float| over the shared table (a check of share_embedding)."""
    import onnx
    from onnx import numpy_helper

    inits = {t.name: numpy_helper.to_array(t) for t in onnx.load(str(path)).graph.initializer
             if t.name.startswith(TABLE)}
    q = inits[f"{TABLE}_quantized"].astype(np.float32) - inits[f"{TABLE}_zero_point"].astype(np.float32)
    return float(np.abs(q * inits[f"{TABLE}_scale"] - table).max())
