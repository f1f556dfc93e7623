"""int8 quantisation of the exported Whisper graphs, exact on every x86 CPU.

Dynamic int8 (onnxruntime `quantize_dynamic`, MatMul weights only, one scale per output
channel; activations quantised per run), then `text_encoder.quantise.u8_weights` (weights stored as
uint8 so onnxruntime runs U8U8 kernels: U8S8 saturates on CPUs without VNNI, docs/model.md),
then `nbits_table` in the decoder. Convolutions and attention products stay float.
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


TABLE_BLOCK = 128  # MatMulNBits block along d (384 = 3 blocks): one scale and zero point per block
TABLE_LEVELS = 63  # 7-bit weights: stored as q + 64 in 1..127 (see nbits_table)


def nbits_table(path: Path, block: int = TABLE_BLOCK) -> float:
    """Stores the decoder's (d, V) token table once, as onnxruntime's MatMulNBits 8-bit blocks,
    and reads it twice:

    - the logits: MatMulNBits with accuracy_level 4 (int8 compute; the activation is quantised
      per block of `block` values, not with one scale per run as MatMulInteger does). The float
      logits product over 51,864 tokens was ~60 % of a decoder step (docs/benchmarks.md); this
      one reads a quarter of the bytes and uses the int8 dot-product units.
    - the embedding: a Gather of the token's blocks, dequantised in the graph (a few rows per
      step).

    Weights are 7-bit: q in -63..63 per block (scale max|w| / 63), stored as q + 64 with zero
    point 64, so every stored byte is <= 127: onnxruntime's int8 kernels multiply these unsigned
    bytes by int8 activations, and a pair of such products stays <= 2 x 127 x 127 = 32,258 <
    32,767, so CPUs without VNNI (VPMADDUBSW, 16-bit pair sums) cannot saturate (the rule of the
    other int8 weights here, docs/model.md). Returns the largest |dequantised - float| value."""
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(path))
    g = model.graph
    found = [t for t in g.initializer if t.name == TABLE]
    if len(found) != 1:
        raise ValueError(f"{path}: no float {TABLE} initializer")
    w = numpy_helper.to_array(found[0]).astype(np.float32)  # (d, V)
    d, vocab = w.shape
    if d % block:
        raise ValueError(f"{path}: table depth {d} is not a multiple of the block {block}")
    blocks = w.T.reshape(vocab, d // block, block)  # (V, kb, block): MatMulNBits' layout of B
    scale = np.maximum(np.abs(blocks).max(-1), 1e-12) / TABLE_LEVELS  # (V, kb)
    q = np.clip(np.round(blocks / scale[..., None]), -TABLE_LEVELS, TABLE_LEVELS)
    zero = TABLE_LEVELS + 1
    gather = [n for n in g.node if n.op_type == "Gather" and n.input[0] == TABLE]
    logits = [n for n in g.node if n.op_type == "MatMul" and TABLE in n.input]
    if len(gather) != 1 or len(logits) != 1 or [a.i for a in gather[0].attribute if a.name == "axis"] != [1]:
        raise ValueError(f"{path}: expected one Gather (axis 1) and one MatMul on {TABLE}")
    transpose = [n for n in g.node if gather[0].output[0] in n.input]
    if len(transpose) != 1 or transpose[0].op_type != "Transpose":
        raise ValueError(f"{path}: the embedding Gather must feed one Transpose")
    ids, emb = gather[0].input[1], transpose[0].output[0]
    embedding = [
        helper.make_node("Reshape", [f"{TABLE}_scales", f"{TABLE}_scales_shape"], [f"{TABLE}_scales_vk"]),
        helper.make_node("Gather", [f"{TABLE}_q", ids], ["emb_q"], axis=0),  # (n, kb, block)
        helper.make_node("Cast", ["emb_q"], ["emb_f"], to=onnx.TensorProto.FLOAT),
        helper.make_node("Sub", ["emb_f", f"{TABLE}_zero"], ["emb_c"]),
        helper.make_node("Gather", [f"{TABLE}_scales_vk", ids], ["emb_s"], axis=0),  # (n, kb)
        helper.make_node("Unsqueeze", ["emb_s", f"{TABLE}_last_axis"], ["emb_s1"]),
        helper.make_node("Mul", ["emb_c", "emb_s1"], ["emb_b"]),
        helper.make_node("Reshape", ["emb_b", f"{TABLE}_row_shape"], [emb]),  # (n, d)
    ]
    matmul = helper.make_node("MatMulNBits", [logits[0].input[0], f"{TABLE}_q", f"{TABLE}_scales", f"{TABLE}_zp"],
                              list(logits[0].output), domain="com.microsoft",
                              K=d, N=vocab, bits=8, block_size=block, accuracy_level=4)
    nodes = []
    for n in g.node:
        if n is gather[0]:
            nodes += embedding
        elif n is logits[0]:
            nodes.append(matmul)
        elif n is not transpose[0]:
            nodes.append(n)
    del g.node[:]
    g.node.extend(nodes)
    g.initializer.remove(found[0])
    kb = d // block
    g.initializer.extend([
        numpy_helper.from_array((q + zero).astype(np.uint8), f"{TABLE}_q"),
        numpy_helper.from_array(scale.reshape(-1).astype(np.float32), f"{TABLE}_scales"),
        numpy_helper.from_array(np.full(vocab * kb, zero, np.uint8), f"{TABLE}_zp"),
        numpy_helper.from_array(np.array(float(zero), np.float32), f"{TABLE}_zero"),
        numpy_helper.from_array(np.array([vocab, kb], np.int64), f"{TABLE}_scales_shape"),
        numpy_helper.from_array(np.array([-1], np.int64), f"{TABLE}_last_axis"),
        numpy_helper.from_array(np.array([-1, d], np.int64), f"{TABLE}_row_shape"),
    ])
    if not any(o.domain == "com.microsoft" for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    # Node names carry no meaning for onnxruntime; without them (~20 kB) the decoder stays < 30 MB.
    for n in g.node:
        n.name = ""
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return float(np.abs((q * scale[..., None]).reshape(vocab, d).T - w).max())
