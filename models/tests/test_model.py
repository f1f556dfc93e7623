"""The network: shapes, padding masks, alpha over present modalities, the presence switch,
checkpoints and ONNX export (opset 17) of the one graph that serves both flows."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from sdumc.model import SDUMC, ModelConfig

SMALL = ModelConfig(d=32, n_heads=2, audio_channels=16, sim_slots=4, mia_hidden=16, fused_dim=32, rnc_dim=8)


def make_model(**kw) -> SDUMC:
    torch.manual_seed(0)
    cfg = ModelConfig(**{**SMALL.__dict__, **kw})
    m = SDUMC(cfg).eval()
    # non-trivial MIA decoders (they start at zero = identity) so the tests see them act
    with torch.no_grad():
        for mia in (m.mia1, m.mia2):
            mia.dec.weight.normal_(0, 0.2)
    return m


def inputs(B=3, Ta=57, Tt=9, Tv=11, seed=1, presence=None):
    g = torch.Generator().manual_seed(seed)
    p = torch.ones(B, 3) if presence is None else torch.tensor(presence, dtype=torch.float32)
    return [torch.randn(B, Ta, 64, generator=g), torch.ones(B, Ta), torch.randn(B, Tt, 384, generator=g),
            torch.ones(B, Tt), torch.randn(B, Tv, 24, generator=g), torch.ones(B, Tv), p]


def pad(x, extra, seed=7):
    """Append `extra` frames of random junk with mask 0 to every modality."""
    g = torch.Generator().manual_seed(seed)
    a, am, t, tm, v, vm, p = x
    B = a.shape[0]
    return [torch.cat([a, torch.randn(B, extra, 64, generator=g) * 5], 1), torch.cat([am, torch.zeros(B, extra)], 1),
            torch.cat([t, torch.randn(B, extra, 384, generator=g)], 1), torch.cat([tm, torch.zeros(B, extra)], 1),
            torch.cat([v, torch.randn(B, extra, 24, generator=g)], 1), torch.cat([vm, torch.zeros(B, extra)], 1), p]


PRESENCES = [[1, 1, 1], [0, 1, 1], [1, 0, 1], [1, 1, 0], [0, 1, 0], [0, 0, 1], [1, 0, 0]]


@pytest.mark.parametrize("T", [16, 90, 97, 1])
def test_audio_patch_matmul_equals_the_exported_conv(T):
    """Eager training runs the audio patch layers as matmuls, the ONNX graph as convs."""
    torch.manual_seed(0)
    enc = SDUMC(SMALL).audio.eval()
    x = torch.randn(3, T, 64)
    mask = torch.ones(3, T)
    mask[1, T // 2 + 1:] = 0  # a shorter row
    with torch.no_grad():
        h_mm, m_mm = enc(x, mask, as_conv=False)
        h_cv, m_cv = enc(x, mask, as_conv=True)
    assert h_mm.shape == h_cv.shape == (3, math.ceil(T / 16), SMALL.d)
    assert torch.equal(m_mm, m_cv)
    assert torch.allclose(h_mm, h_cv, atol=1e-5)


def test_output_shapes_and_range():
    m = make_model()
    o = m(*inputs(B=4))
    assert o["valence"].shape == (4,) and o["alpha"].shape == (4, 3) and o["beta"].shape == (4, 7)
    assert o["fused"].shape == (4, 32) and o["proj"].shape == (4, 8)
    assert o["sim_text"].shape == (4, 384) and o["real_text"].shape == (4, 384)
    assert (o["valence"].abs() <= 3).all()
    assert torch.allclose(o["beta"].sum(1), torch.ones(4), atol=1e-6)


@pytest.mark.parametrize("presence", PRESENCES)
def test_padding_does_not_change_outputs(presence):
    m = make_model()
    x = inputs(presence=[presence] * 3)
    o1, o2 = m(*x), m(*pad(x, 13))
    for k in ("valence", "alpha", "beta", "fused"):
        assert torch.allclose(o1[k], o2[k], atol=1e-5), k


def test_row_lengths_inside_a_batch_are_respected():
    """A short row padded inside a batch scores as it does alone."""
    m = make_model()
    x = inputs(B=1, Ta=40, Tt=5, Tv=6)
    alone = m(*x)["valence"]
    batch = pad(x, 20)
    other = inputs(B=1, Ta=60, Tt=25, Tv=26, seed=3)
    both = [torch.cat([a, b]) for a, b in zip(batch, other)]
    assert torch.allclose(m(*both)["valence"][0], alone[0], atol=1e-5)


@pytest.mark.parametrize("presence", PRESENCES)
def test_alpha_sums_to_one_over_present_modalities(presence):
    m = make_model()
    a = m(*inputs(presence=[presence] * 3))["alpha"]
    eff = torch.tensor(presence, dtype=torch.float32)
    eff[0] = 1.0 if (presence[0] or presence[1] or presence[2]) else 0.0  # simulated text counts
    assert torch.allclose(a.sum(1), torch.ones(3), atol=1e-6)
    assert (a[:, eff == 0] == 0).all()
    assert (a[:, eff == 1] > 0).all()


def test_alpha_without_simulator_drops_missing_text():
    m = make_model(use_simulator=False, use_mia=False)
    a = m(*inputs(presence=[[0, 1, 1]] * 3))["alpha"]
    assert (a[:, 0] == 0).all() and torch.allclose(a.sum(1), torch.ones(3), atol=1e-6)


def test_presence_switch_selects_the_flow():
    m = make_model()
    x = inputs(presence=[[1, 1, 1], [0, 1, 1], [0, 1, 1]])
    y = list(x)
    y[2] = torch.randn_like(x[2])  # other text
    ox, oy = m(*x), m(*y)
    # text present: the text changes the score; text absent: the text is ignored
    assert not torch.allclose(ox["valence"][0], oy["valence"][0])
    assert torch.equal(ox["valence"][1:], oy["valence"][1:])
    # missing rows follow the missing flow: same as a batch where every row is missing
    allm = list(x)
    allm[6] = torch.tensor([[0.0, 1, 1]] * 3)
    assert torch.allclose(m(*allm)["valence"][1:], ox["valence"][1:], atol=1e-6)
    # ... which uses the simulator + MIA: switching MIA off changes it
    m2 = make_model(use_mia=False)
    m2.load_state_dict(m.state_dict())
    assert not torch.allclose(m2(*x)["valence"][1:], ox["valence"][1:])
    assert torch.allclose(m2(*x)["valence"][0], ox["valence"][0])  # full flow has no MIA


def test_video_normalisation_uses_stored_stats():
    m = make_model()
    x = inputs()
    before = m(*x)["valence"]
    m.set_norm_stats(np.zeros(64), np.ones(64), np.full(24, 2.0), np.full(24, 3.0))
    assert not torch.allclose(m(*x)["valence"], before)


def test_checkpoint_round_trip(tmp_path):
    m = make_model()
    m.set_norm_stats(np.arange(64), np.ones(64) * 2, np.arange(24), np.ones(24) * 3)
    torch.save(m.checkpoint(note="x"), tmp_path / "c.pt")
    m2 = SDUMC.from_checkpoint(tmp_path / "c.pt")
    x = inputs()
    assert m2.cfg == m.cfg
    assert torch.equal(m2(*x)["valence"], m(*x)["valence"])


def test_bad_checkpoint_is_a_clear_error(tmp_path):
    torch.save({"weights": 1}, tmp_path / "bad.pt")
    with pytest.raises(ValueError, match="not an SDUMC checkpoint"):
        SDUMC.from_checkpoint(tmp_path / "bad.pt")


def test_onnx_export_opset17_matches_torch(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    m = make_model()

    class Wrap(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, *a):
            o = self.inner(*a)
            return o["valence"], o["alpha"], o["beta"]

    names = ["af", "am", "te", "tm", "v", "vm", "p"]
    dyn = {"af": {0: "b", 1: "ta"}, "am": {0: "b", 1: "ta"}, "te": {0: "b", 1: "tt"}, "tm": {0: "b", 1: "tt"},
           "v": {0: "b", 1: "tv"}, "vm": {0: "b", 1: "tv"}, "p": {0: "b"}}
    w = Wrap(m).eval()
    torch.onnx.export(w, tuple(inputs(B=2, presence=[[1, 1, 1], [0, 1, 1]])), str(tmp_path / "m.onnx"),
                      input_names=names, output_names=["valence", "alpha", "beta"], dynamic_axes=dyn,
                      opset_version=17)
    w.eval()
    sess = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    x = pad(inputs(B=4, Ta=71, Tt=6, Tv=14, seed=5, presence=[[1, 1, 1], [0, 1, 1], [0, 1, 0], [1, 0, 0]]), 3)
    got = sess.run(None, {n: t.numpy() for n, t in zip(names, x)})
    with torch.no_grad():
        want = w(*x)
    for g_, w_ in zip(got, want):
        np.testing.assert_allclose(g_, w_.numpy(), atol=1e-4)
