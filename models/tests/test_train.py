"""Losses, the feature cache on the mini fixture, a short real training, CLI errors."""
from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from sdumc.data import FeatureCache, batches, build_cache
from sdumc.losses import LossWeights, double_flow_loss, rmse, rnc_loss
from sdumc.model import SDUMC, ModelConfig
from sdumc.train import VARIANTS, TrainConfig, _to_inputs, main, model_for, predict, safe_backends, train

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "corpus-mini"
SMALL = ModelConfig(d=32, n_heads=2, audio_channels=16, sim_slots=4, mia_hidden=16, fused_dim=32, rnc_dim=8)


@pytest.fixture(scope="module")
def cache() -> FeatureCache:
    return FeatureCache(build_cache(FIXTURE, progress=False))


def rnc_reference(z: np.ndarray, y: np.ndarray, tau: float) -> float:
    """Rank-N-Contrast written as the paper's triple loop."""
    n = len(z)
    s = -np.linalg.norm(z[:, None] - z[None], axis=-1) / tau
    terms = []
    for i, j in itertools.permutations(range(n), 2):
        den = sum(math.exp(s[i, k]) for k in range(n) if k != i and abs(y[i] - y[k]) >= abs(y[i] - y[j]))
        terms.append(-(s[i, j] - math.log(den)))
    return float(np.mean(terms))


def test_rnc_matches_the_triple_loop():
    g = np.random.default_rng(0)
    z, y = g.normal(size=(6, 3)), np.array([0.1, -1.0, 2.0, 0.1, 1.5, -2.5])
    got = rnc_loss(torch.tensor(z), torch.tensor(y), tau=2.0).item()
    assert got == pytest.approx(rnc_reference(z, y, 2.0), rel=1e-6)


def test_rnc_prefers_label_ordered_features():
    y = torch.linspace(-3, 3, 16)
    ordered = y.unsqueeze(1) * torch.tensor([[1.0, 0.0]])
    shuffled = ordered[torch.randperm(16, generator=torch.Generator().manual_seed(0))]
    assert rnc_loss(ordered, y) < rnc_loss(shuffled, y)


def test_losses_finite_with_finite_gradients():
    z = torch.zeros(4, 3, requires_grad=True)  # identical features: sqrt at 0
    loss = rnc_loss(z, torch.tensor([0.0, 1.0, 1.0, 2.0])) + rmse(z, torch.zeros(4, 3))
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(z.grad).all()


def test_cache_matches_the_corpus(cache):
    from sdumc.corpus.reader import CorpusReader
    r = CorpusReader(FIXTURE)
    assert cache.n == len(r.rows)
    assert len(cache.indices("train")) + len(cache.indices("val")) + len(cache.indices("test")) == cache.n
    i = 3
    assert cache.audio(i).shape[1] == 64 and len(cache.audio(i)) == (len(r.audio(i)) + 159) // 160
    v, m = cache.video(i)
    assert v.shape == r.video(i).shape
    assert np.array_equal(m > 0, np.abs(r.video(i)).sum(1) > 0)  # dropped faces are zero frames
    assert 2 < len(cache.text(i)) <= 64
    b = cache.batch([0, 1, 2])
    assert b["audio_mask"].sum(1).tolist() == [len(cache.audio(k)) for k in range(3)]


def test_batches_cover_every_row_once():
    idx = np.arange(103)
    bl = batches(idx, 10, np.random.default_rng(0), lengths=np.arange(103)[::-1])
    assert sorted(np.concatenate(bl).tolist()) == idx.tolist()


def test_audio_encoder_gradients_are_sane_and_deterministic():
    """Guards the oneDNN conv1d backward bug that safe_backends() works around."""
    safe_backends()
    grads = []
    for _ in range(2):
        torch.manual_seed(0)
        m = SDUMC(SMALL)
        x = torch.randn(4, 90, 64)
        out = m.audio(x, torch.ones(4, 90))[0]
        out.pow(2).mean().backward()
        grads.append(torch.cat([p.grad.flatten() for p in m.audio.parameters()]))
    assert torch.equal(grads[0], grads[1])
    assert grads[0].abs().max() < 10


def test_a_few_steps_decrease_the_double_flow_loss(cache):
    safe_backends()
    torch.manual_seed(0)
    m = SDUMC(SMALL)
    m.set_norm_stats(**cache.norm_stats(cache.indices("train")))
    opt = torch.optim.AdamW(m.parameters(), lr=3e-3)
    b = cache.batch(cache.indices("train")[:16])
    pm = b["presence"].clone()
    pm[:, 0] = 0
    losses = []
    for _ in range(4):
        full, miss = m(*_to_inputs(b, b["presence"])), m(*_to_inputs(b, pm))
        loss, parts = double_flow_loss(full, miss, b["y"], LossWeights())
        assert set(parts) == {"mse_full", "mse_missing", "distill_text", "distill_fused", "rnc"}
        assert all(math.isfinite(v) for v in parts.values())
        losses.append(loss.item())
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert losses[-1] < losses[0]


@pytest.mark.parametrize("variant", ["full", "naive_fusion", "text_only"])
def test_train_writes_a_loadable_checkpoint(cache, tmp_path, variant):
    tc = TrainConfig(epochs=1, batch_size=8, threads=1)
    s = train(variant, 0, cache, tc, tmp_path, SMALL, progress=False, log=lambda _: None)
    assert s["epochs_run"] == 1 and s["train_rows"] == len(cache.indices("train"))
    m = SDUMC.from_checkpoint(tmp_path / "best.pt")
    ck = torch.load(tmp_path / "best.pt")
    assert ck["variant"]["name"] == variant and ck["train_config"]["epochs"] == 1
    assert m.cfg.use_simulator == VARIANTS[variant].use_simulator
    assert torch.allclose(m.video_std, torch.tensor(ck["norm_stats"]["video_std"], dtype=torch.float32).clamp(min=1e-3))
    p = predict(m, cache, cache.indices("test"), (0, 1, 1))
    assert p["valence"].shape == (len(cache.indices("test")),) and np.isfinite(p["valence"]).all()


def test_training_is_seeded(cache, tmp_path):
    tc = TrainConfig(epochs=1, batch_size=8, threads=1)
    runs = [train("full", 3, cache, tc, tmp_path / str(k), SMALL, progress=False, log=lambda _: None)
            for k in range(2)]
    a, b = (torch.load(tmp_path / str(k) / "best.pt")["state_dict"] for k in range(2))
    assert runs[0]["best_val_select"] == runs[1]["best_val_select"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_cli_bad_input(capsys, tmp_path):
    assert main(["--variant", "bogus"]) == 2
    assert "unknown variant 'bogus'" in capsys.readouterr().err
    assert main(["--corpus", str(tmp_path / "nope")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["--epochs", "0", "--corpus", str(FIXTURE)]) == 2
    assert "--epochs" in capsys.readouterr().err
    (tmp_path / "junk").mkdir()
    assert main(["--corpus", str(tmp_path / "junk")]) == 2
    assert "cannot read corpus" in capsys.readouterr().err


def test_row_limits_cache_a_seeded_subset(cache):
    sub = FeatureCache(build_cache(FIXTURE, progress=False, limits={"train": 7}))
    assert sub.path != cache.path
    # + 20 val + 40 test rows (20 sentences x the in-family and held-out voice families)
    assert len(sub.indices("train", labelled=False)) == 7 and sub.n == 7 + 20 + 40
    rows = sub.meta["corpus_rows"]
    assert rows == sorted(rows)
    k = 5  # a cached row holds the features of the corpus row it names
    np.testing.assert_allclose(sub.audio(k), cache.audio(rows[k]), atol=2e-2)  # fp16 storage
    assert sub.texts[k] == cache.texts[rows[k]]


def test_loss_overrides_are_checked_and_keep_ablated_terms_off(cache, tmp_path):
    from sdumc.train import parse_loss
    assert parse_loss(["distill_text=0.3", "rnc=0"]) == {"distill_text": 0.3, "rnc": 0.0}
    for bad in ("distill_text", "nope=1", "rnc=x", "rnc=-1"):
        with pytest.raises(ValueError, match="--loss"):
            parse_loss([bad])
    s = train("no_distill", 0, cache, TrainConfig(epochs=1, batch_size=8, threads=1), tmp_path / "r",
              SMALL, progress=False, log=lambda s: None, loss_override={"distill_text": 0.5, "rnc": 0.2})
    loss = torch.load(tmp_path / "r" / "best.pt")["variant"]["loss"]
    assert loss["distill_text"] == 0.0 and loss["rnc"] == 0.2  # the ablation stays an ablation
    assert s["epochs_run"] == 1


def test_text_cache_holds_every_labelled_train_text_without_media(cache):
    from sdumc.data import build_text_cache
    tc_ = FeatureCache(build_text_cache(FIXTURE, "train", progress=False))
    tr = cache.indices("train")
    assert tc_.path != cache.path and tc_.meta["text_only"] == "train"
    assert sorted(tc_.texts) == sorted(cache.texts[i] for i in tr)
    assert (tc_.audio_len() == 0).all() and tc_.text_len().min() > 2
    for k in tr[:5]:  # the same tokens through the same graph; dynamic int8 scales move with
        i = tc_.texts.index(cache.texts[k])  # batch mates (text_encoder.encode_texts), so close, not equal
        a, b_ = tc_.text(i).astype(np.float32).mean(0), cache.text(k).astype(np.float32).mean(0)
        assert tc_.text(i).shape == cache.text(k).shape
        assert a @ b_ / np.linalg.norm(a) / np.linalg.norm(b_) > 0.95
        assert tc_.valence[i] == cache.valence[k]
    b = tc_.batch([0, 1, 2])
    assert b["presence"].tolist() == [[1.0, 0.0, 0.0]] * 3
    m = SDUMC(SMALL).eval()
    with torch.no_grad():  # a text-only batch runs through the full network, finite
        assert torch.isfinite(m(*_to_inputs(b, b["presence"]))["valence"]).all()
    with pytest.raises(Exception, match="split must be one of"):
        build_text_cache(FIXTURE, "nope")


def test_text_rows_train_the_text_path_from_the_text_cache(cache, tmp_path):
    from sdumc.data import build_text_cache
    text_cache = FeatureCache(build_text_cache(FIXTURE, "train", progress=False))
    # without one given, a run builds (or finds) the text cache of its media cache's corpus
    s = train("full", 0, cache, TrainConfig(epochs=1, batch_size=8, threads=1, text_rows=5), tmp_path / "x",
              SMALL, progress=False, log=lambda _: None)
    assert s["text_rows_per_epoch"] == 5
    assert torch.load(tmp_path / "x" / "best.pt")["text_cache"] == str(text_cache.path)
    with pytest.raises(ValueError, match="--text-rows"):
        train("full", 0, cache, TrainConfig(epochs=1, batch_size=8, threads=1, text_rows=-2), tmp_path / "y",
              SMALL, progress=False, log=lambda _: None)
    runs = {}
    for name, rows in (("none", 0), ("some", 12), ("all", -1)):
        tc = TrainConfig(epochs=1, batch_size=8, threads=1, text_rows=rows)
        runs[name] = train("full", 0, cache, tc, tmp_path / name, SMALL, progress=False,
                           log=lambda _: None, text_cache=text_cache)
    n = len(text_cache.indices("train"))
    assert [runs[k]["text_rows_per_epoch"] for k in ("none", "some", "all")] == [0, 12, n]
    ck = {k: torch.load(tmp_path / k / "best.pt") for k in runs}
    assert ck["none"]["text_cache"] is None and ck["all"]["text_cache"] == str(text_cache.path)
    a, b = ck["none"]["state_dict"], ck["all"]["state_dict"]
    assert not torch.equal(a["text_proj.1.weight"], b["text_proj.1.weight"])  # the text rows trained it
    # the audio encoder sees no text-only row: with one optimiser step per batch it still moves
    # (media batches), but a text-only batch gives it no gradient
    m = model_for(VARIANTS["full"], SMALL)
    tb = text_cache.batch(text_cache.indices("train")[:8])
    loss, _ = double_flow_loss(m(*_to_inputs(tb, tb["presence"])), None, tb["y"], LossWeights())
    loss.backward()
    assert all(p.grad is None or not p.grad.any() for p in m.audio.parameters())
    assert any(p.grad is not None and p.grad.any() for p in m.text_proj.parameters())
