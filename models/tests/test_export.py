"""Export: golden test on the committed model, exporter end to end, dynamic dims, bad input."""
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from sdumc import export as ex
from sdumc import golden, manifest
from sdumc.text_encoder.contract import INT8_FILE, TOKENIZER_FILE
from sdumc.text_encoder.tokens import tokenize

MODELS = Path(__file__).resolve().parent.parent
V1 = MODELS / (MODELS / "CURRENT").read_text().strip()


def test_committed_manifest_is_valid_and_small():
    m = json.loads((V1 / "manifest.json").read_text())
    manifest.validate(m, V1, check_hashes=True)
    for g in m["graphs"].values():
        assert g["bytes"] < 30e6, g["file"]
    assert (V1 / "golden.json").stat().st_size < 2e6
    assert m["audio"]["frontEnd"]["hopLength"] == 160 and m["text"]["maxTokens"] == 64
    assert len(m["video"]["features"]) == m["video"]["featureDim"] == 24


def test_golden_onnxruntime_matches_recorded_outputs():
    """PyTorch (fusion), int8 onnxruntime (text) and pipeline references vs onnxruntime python."""
    rows = golden.check(V1)
    assert {r[0] for r in rows} == {"textEncoder.int8", "fusion.flows", "fusion.single", "pipeline.flows"}
    cases = {c["name"]: c for c in json.loads((V1 / "golden.json").read_text())["cases"]}
    assert cases["textEncoder.int8"]["crossCpuTolerance"] == golden.CROSS_CPU_TOLERANCE
    assert all("crossCpuTolerance" not in c for n, c in cases.items() if n != "textEncoder.int8"), "fusion is exact"
    bad = [r for r in rows if not r[2] <= r[3]]
    assert not bad, bad
    for name, role, d, _ in rows:
        if d > golden.TOLERANCE:
            print(f"NOTE: {name} {role} differs by {d:.2e}: this CPU's float path is not the recording's")


def test_golden_texts_tokenize_to_recorded_ids():
    g = json.loads((V1 / "golden.json").read_text())
    c = next(c for c in g["cases"] if c["graph"] == "textEncoder")
    ids = tokenize(c["texts"])["input_ids"]
    assert np.array_equal(ids, golden.from_json(c["inputs"]["text.input_ids"]))


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A fresh random-init export (reusing the committed text encoder to save a minute)."""
    out = tmp_path_factory.mktemp("v") / "sdumc-test"
    out.mkdir()
    for f in (INT8_FILE, TOKENIZER_FILE):
        shutil.copy(V1 / f, out / f)
    m = ex.export(out, None, seed=3)
    model, _ = ex.load_model(None, 3)
    return out, m, ex.ServingFusion(model).eval()


def _feeds(B, S, Tt, Tv, seed=0, text=1.0):
    rng = np.random.default_rng(seed)
    length = rng.integers(1, S + 1, B).astype(np.int64)
    tmask = (np.arange(Tt)[None] < rng.integers(1, Tt + 1, B)[:, None]).astype(np.float32) * text
    vmask = (np.arange(Tv)[None] < rng.integers(0, Tv + 1, B)[:, None]).astype(np.float32)
    pres = np.stack([np.full(B, text), np.ones(B), (vmask.sum(1) > 0)], 1).astype(np.float32)
    return {"audio.pcm": rng.uniform(-0.5, 0.5, (B, S)).astype(np.float32), "audio.length": length,
            "text.embeddings": rng.standard_normal((B, Tt, 384)).astype(np.float32) * tmask[..., None],
            "text.mask": tmask, "video.frames": rng.uniform(0, 2, (B, Tv, 24)).astype(np.float32) * vmask[..., None],
            "video.mask": vmask, "presence": pres}


def _run(out, m, feeds):
    c = {"graph": "fusion", "inputs": {r: golden.to_json(a) for r, a in feeds.items()}}
    return golden.run_case(m, out, c)


@pytest.mark.parametrize("B,S,Tt,Tv,text", [(3, 16000, 20, 30, 1.0), (1, 1, 1, 1, 1.0), (5, 8000, 1, 12, 0.0)])
def test_dynamic_dims_match_torch(exported, B, S, Tt, Tv, text):
    out, m, net = exported
    feeds = _feeds(B, S, Tt, Tv, seed=B, text=text)
    got = _run(out, m, feeds)
    ref = ex.torch_outputs(net, feeds)
    for role in ("valence", "alpha", "beta"):
        assert got[role].shape == ref[role].shape
        assert np.abs(got[role] - ref[role]).max() <= 1e-4, role


def test_padding_content_is_ignored(exported):
    """Garbage past audio.length / in masked tokens and frames must not move any output: the
    server pads batches however it likes."""
    out, m, _ = exported
    feeds = _feeds(4, 8000, 10, 10, seed=7)
    base = _run(out, m, feeds)
    noisy = {k: v.copy() for k, v in feeds.items()}
    rng = np.random.default_rng(1)
    for b in range(4):
        noisy["audio.pcm"][b, feeds["audio.length"][b]:] = rng.uniform(-1, 1, 8000 - feeds["audio.length"][b])
    noisy["text.embeddings"][feeds["text.mask"] == 0] = 5.0
    noisy["video.frames"][feeds["video.mask"] == 0] = 3.0
    got = _run(out, m, noisy)
    for role in base:
        assert np.abs(got[role] - base[role]).max() <= 1e-5, role


def test_export_writes_what_the_manifest_says(exported):
    out, m, _ = exported
    assert m["model"]["trained"] is False and m["model"]["seed"] == 3
    manifest.validate(json.loads((out / "manifest.json").read_text()), out)
    names = [t["name"] for t in m["graphs"]["fusion"]["inputs"]]
    import onnxruntime as ort
    sess = ort.InferenceSession(str(out / ex.FUSION_FILE), providers=["CPUExecutionProvider"])
    assert [i.name for i in sess.get_inputs()] == names
    assert [o.name for o in sess.get_outputs()] == ["valence", "alpha", "beta"]


def test_cli_missing_checkpoint_is_one_line(tmp_path, capsys):
    assert ex.main(["--checkpoint", str(tmp_path / "nope.pt"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"error: checkpoint not found: {tmp_path / 'nope.pt'}"


def test_cli_wrong_dims_checkpoint(tmp_path, capsys):
    from sdumc.model import SDUMC, ModelConfig

    p = tmp_path / "bad.pt"
    torch.save(SDUMC(ModelConfig(n_mels=40)).checkpoint(), p)
    assert ex.main(["--checkpoint", str(p), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert "n_mels=40" in err and "\n" not in err


def test_cli_not_a_checkpoint(tmp_path, capsys):
    p = tmp_path / "junk.pt"
    torch.save({"hello": 1}, p)
    assert ex.main(["--checkpoint", str(p), "--out", str(tmp_path / "o")]) == 2
    assert "not an SDUMC checkpoint" in capsys.readouterr().err
