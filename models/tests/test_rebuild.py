"""The eager network rebuilt from the committed fusion graph (sdumc.rebuild): it reproduces the
graph and the recorded PyTorch outputs on golden.json, and a graph it cannot fully name fails."""
import json
import shutil
from pathlib import Path

import onnx
import pytest

from sdumc import golden
from sdumc.rebuild import TRAINING_ONLY, RebuildError, compare, graph_weights, rebuild

MODELS = Path(__file__).resolve().parent.parent
V1 = MODELS / (MODELS / "CURRENT").read_text().strip()


@pytest.fixture(scope="module")
def net():
    return rebuild(V1)


def test_rebuilt_eager_reproduces_the_graph_on_golden_inputs(net):
    rows = compare(V1, net)
    assert {r[0] for r in rows} == {"fusion.flows", "fusion.single", "pipeline.flows"}
    assert {r[1] for r in rows} == {"valence", "alpha", "beta"}
    bad = [r for r in rows if not (r[2] <= golden.TOLERANCE and r[3] <= golden.TOLERANCE)]
    assert not bad, bad


def test_every_serving_parameter_comes_from_the_graph(net):
    weights = graph_weights(V1 / "sdumc.onnx")
    state = net.state_dict()
    assert set(state) - set(weights) == set(TRAINING_ONLY)
    renamed = [k for k in weights if k.endswith(".weight") and weights[k].ndim == 2]
    assert "model.audio.proj.weight" in renamed and "model.beta_score.weight" in renamed
    assert tuple(weights["model.audio.proj.weight"].shape) == (128, 96)  # transposed back from MatMul


def _broken_copy(tmp_path: Path, edit) -> Path:
    out = tmp_path / "sdumc-broken"
    out.mkdir()
    for f in ("manifest.json", "golden.json"):
        shutil.copy(V1 / f, out / f)
    m = onnx.load(str(V1 / "sdumc.onnx"))
    edit(m.graph)
    onnx.save(m, str(out / json.loads((V1 / "manifest.json").read_text())["graphs"]["fusion"]["file"]))
    return out


def test_a_missing_initializer_fails_naming_the_parameter(tmp_path):
    def drop(g):
        g.initializer.remove(next(i for i in g.initializer if i.name == "model.pool.0.ln.weight"))

    with pytest.raises(RebuildError, match=r"missing \['model.pool.0.ln.weight'\]"):
        rebuild(_broken_copy(tmp_path, drop))


def test_a_matmul_weight_without_its_bias_fails_naming_the_tensor(tmp_path):
    def rename_bias(g):
        for i in g.initializer:
            if i.name == "model.audio.proj.bias":
                i.name = "renamed_bias"
        for n in g.node:
            for k, x in enumerate(n.input):
                if x == "model.audio.proj.bias":
                    n.input[k] = "renamed_bias"

    with pytest.raises(RebuildError, match=r"onnx::MatMul_\d+ \(MatMul /model/audio/proj/MatMul"):
        rebuild(_broken_copy(tmp_path, rename_bias))
