"""The eager SDUMC network rebuilt from an exported fusion graph (no training checkpoint needed).

  python -m sdumc.rebuild sdumc-v1     # rebuild, then compare with the graph on golden.json

The training checkpoint a manifest names (`runs/<run>/best.pt`) is not committed, so anything
that needs the eager network of a published model (bench/model_throughput.py) reads its weights
back from `sdumc.onnx` instead. torch.onnx keeps a parameter's name as the initializer's name
(`model.pool.0.ln.weight`) except where it rewrites the op: a Linear applied to a 3-D input is
exported as MatMul + Add with its weight TRANSPOSED under a generated name (`onnx::MatMul_1425`);
the Add's other input is the bias, which keeps its name, so `<prefix>.bias` names the weight
`<prefix>.weight`. Nothing else is renamed or folded in sdumc-v1. The log-mel front-end has no
parameters (its buffers are computed from LogMelConfig), and `model.rnc_proj` is a training-only
head (the Rank-N-Contrast projection, not on the serving outputs), so it is absent from the graph
and set to zeros. Any other parameter or buffer without a value, any MatMul weight that cannot
be named, or a shape that differs raises RebuildError naming them: a silent half-loaded network
would time the right shapes and compute garbage.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

from . import golden
from .export import FUSION_INPUTS, FUSION_OUTPUTS, ServingFusion

# parameters that the serving graph does not compute, so torch.onnx left them out
TRAINING_ONLY = ("model.rnc_proj.weight", "model.rnc_proj.bias")


class RebuildError(Exception):
    """The graph's initializers do not give every parameter of the network."""


def _model_config(manifest: dict):
    from .model import ModelConfig

    cfg = manifest["model"]["config"]
    return ModelConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in cfg.items()})


def graph_weights(onnx_path: Path) -> dict[str, np.ndarray]:
    """The fusion graph's initializers by torch parameter name: names kept as exported, plus each
    generated MatMul weight renamed after its Add's bias and transposed back to (out, in)."""
    import onnx
    from onnx import numpy_helper

    g = onnx.load(str(onnx_path)).graph
    inits = {i.name: numpy_helper.to_array(i) for i in g.initializer}
    consumers: dict[str, list] = {}
    for n in g.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    out = {k: v for k, v in inits.items() if not k.startswith("onnx::")}
    unnamed = []
    for n in g.node:
        if n.op_type != "MatMul" or len(n.input) != 2 or not n.input[1].startswith("onnx::"):
            continue
        w = n.input[1]
        if w not in inits:
            continue  # a MatMul of two activations (attention scores)
        biases = [i for c in consumers.get(n.output[0], []) if c.op_type == "Add"
                  for i in c.input if i.endswith(".bias") and i in inits]
        if len(biases) != 1:
            unnamed.append(f"{w} (MatMul {n.name}: {len(biases)} bias Adds follow it)")
            continue
        name = biases[0][: -len(".bias")] + ".weight"
        weight = inits[w].T.copy()
        if name in out and not np.array_equal(out[name], weight):
            raise RebuildError(f"{name}: two different graph tensors claim it ({w} and another)")
        out[name] = weight
    left = [k for k in inits if k.startswith("onnx::") and inits[k].ndim >= 2
            and not any(k == n.input[1] for n in g.node if n.op_type == "MatMul" and len(n.input) == 2)]
    if unnamed or left:
        raise RebuildError(f"{onnx_path}: weights with no parameter name: {unnamed + left}")
    return out


def rebuild(model_dir: Path) -> ServingFusion:
    """The eager ServingFusion of `model_dir` (manifest config + fusion graph weights), in eval mode."""
    from .model import SDUMC

    model_dir = Path(model_dir)
    m = json.loads((model_dir / "manifest.json").read_text())
    net = ServingFusion(SDUMC(_model_config(m))).eval()
    weights = graph_weights(model_dir / m["graphs"]["fusion"]["file"])
    state = net.state_dict()
    missing = [k for k in state if k not in weights and k not in TRAINING_ONLY]
    wrong = [f"{k} graph {tuple(weights[k].shape)} vs network {tuple(v.shape)}"
             for k, v in state.items() if k in weights and tuple(weights[k].shape) != tuple(v.shape)]
    extra = [k for k in weights if k not in state and np.asarray(weights[k]).ndim >= 1
             and np.issubdtype(weights[k].dtype, np.floating) and weights[k].size > 1]
    if missing or wrong or extra:
        raise RebuildError(f"{model_dir}: cannot rebuild the eager network from its fusion graph: "
                           f"missing {missing}, shape {wrong}, unused graph tensors {extra}")
    new = {k: torch.from_numpy(np.array(weights[k], dtype=np.float32)) if k in weights else torch.zeros_like(v)
           for k, v in state.items()}
    net.load_state_dict(new, strict=True)
    return net


def compare(model_dir: Path, net: ServingFusion) -> list[tuple[str, str, float, float]]:
    """(case, output, max |eager - onnxruntime|, max |eager - recorded|) for every fusion case of
    golden.json: the rebuilt network against the graph it came from, on the committed inputs."""
    model_dir = Path(model_dir)
    m = json.loads((model_dir / "manifest.json").read_text())
    cases = json.loads((model_dir / m.get("golden", golden.GOLDEN_FILE)).read_text())["cases"]
    rows, sessions = [], {}
    for c in cases:
        if c["graph"] != "fusion":
            continue
        feeds = {r: golden.from_json(t) for r, t in c["inputs"].items()}
        with torch.no_grad():
            eager = net(*(torch.from_numpy(feeds[role]) for _, role, _ in FUSION_INPUTS))
        ort_out = golden.run_case(m, model_dir, c, sessions)
        for (_, role, _), e in zip(FUSION_OUTPUTS, eager):
            ref = golden.from_json(c["outputs"][role])
            rows.append((c["name"], role, float(np.abs(e.numpy() - ort_out[role]).max()),
                         float(np.abs(e.numpy() - ref).max())))
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m sdumc.rebuild", description=__doc__.split("\n\n")[0])
    ap.add_argument("model", type=Path, help="model version folder, e.g. sdumc-v1")
    a = ap.parse_args(argv)
    try:
        net = rebuild(a.model)
    except (RebuildError, FileNotFoundError, KeyError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    rows = compare(a.model, net)
    for name, role, d_ort, d_ref in rows:
        print(f"{name:16} {role:8} eager vs onnxruntime {d_ort:.2e}   eager vs recorded {d_ref:.2e}")
    worst = max(max(r[2], r[3]) for r in rows)
    print(f"{'ok' if worst <= golden.TOLERANCE else 'DIFFERS'}: max {worst:.2e} (tolerance {golden.TOLERANCE:.0e})")
    return 0 if worst <= golden.TOLERANCE else 1


if __name__ == "__main__":
    sys.exit(main())
