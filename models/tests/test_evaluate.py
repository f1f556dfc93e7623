"""The evaluate command end to end on the
mini fixture (1 epoch, tiny network); the card; CLI errors."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from sdumc import card, evaluate as ev
from sdumc.data import FeatureCache, build_cache, build_text_cache
from sdumc.train import TrainConfig

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "corpus-mini"


def test_over_seeds():
    d = ev.over_seeds([{"mae": 1.0}, {"mae": 2.0}, {"mae": 3.0}])
    assert d["mae"] == 2.0 and d["mae_seeds"] == [1.0, 2.0, 3.0]
    assert d["mae_std"] == pytest.approx(np.std([1, 2, 3]), abs=1e-4)


def _tiny_model(cache):
    from sdumc.model import SDUMC, ModelConfig
    torch.manual_seed(0)
    model = SDUMC(ModelConfig(d=32, n_heads=2, audio_channels=16, sim_slots=4, mia_hidden=16, fused_dim=32,
                              rnc_dim=8))
    return model.eval()


def test_audio_only_scores_on_the_mini_heldout_voice_rows(monkeypatch):
    from sdumc import train as tr
    cache = FeatureCache(build_cache(FIXTURE, progress=False))
    h, i = ev.voice_family_rows(cache, "flite"), ev.voice_family_rows(cache, "espeak")
    assert len(h) == len(i) == 20                         # the 20 test sentences, once per family
    assert [cache.texts[k] for k in h] == [cache.texts[k] for k in i]
    assert set(cache.voice_family[h]) == {"flite"} and set(cache.voice_family[i]) == {"espeak"}
    assert len(cache.indices("train", family="flite")) == 0
    model = _tiny_model(cache)
    seen = []
    real = tr.predict_many

    def spy(m, c, idx, conditions, **kw):
        seen.append(dict(conditions))
        return real(m, c, idx, conditions, **kw)
    monkeypatch.setattr(ev, "predict_many", spy)
    s = ev.audio_only_scores(model, cache)
    assert seen == [{"text_present": (1, 1, 0), "text_withheld": (0, 1, 0)}]   # never any video
    assert set(s) == {"text_present", "text_withheld"}
    for d in s.values():
        assert set(d) == {"corr", "f1", "mae", "n"} and d["n"] == 20
        assert -1 <= d["corr"] <= 1 and 0 <= d["f1"] <= 1 and d["mae"] > 0
    # the same model, rows and conditions by hand
    p = real(model, cache, h, {"a": (0, 1, 0)})["a"]["valence"]
    assert s["text_withheld"]["mae"] == pytest.approx(np.mean(np.abs(p - cache.valence[h])), rel=1e-6)
    # text withheld: the text embeddings must not matter
    assert s["text_withheld"] != s["text_present"]


def test_audio_only_scores_need_heldout_rows(tmp_path):
    cache = FeatureCache(build_cache(FIXTURE, progress=False))
    cache.voice_family = np.array(["espeak"] * cache.n)   # as a format-1 corpus reads
    with pytest.raises(ev.DataError, match="generate the corpus with --heldout flite"):
        ev.audio_only_scores(_tiny_model(cache), cache)


def test_evaluate_end_to_end_and_card(tmp_path, monkeypatch):
    from sdumc import train as tr
    from sdumc.model import ModelConfig
    small = ModelConfig(d=32, n_heads=2, audio_channels=16, sim_slots=4, mia_hidden=16, fused_dim=32, rnc_dim=8)
    monkeypatch.setattr(tr, "ModelConfig", lambda: small)  # tiny network, same code path
    cache = FeatureCache(build_cache(FIXTURE, progress=False))
    text_cache = FeatureCache(build_text_cache(FIXTURE, "train", progress=False))
    tc = TrainConfig(epochs=1, batch_size=8, threads=1, text_rows=-1)
    variants = ["full", "no_mia", "naive_fusion", "text_only"]
    m = ev.evaluate(cache, [0, 1], tc, tmp_path / "v", variants, runs_dir=tmp_path / "runs", log=lambda _: None,
                    text_cache=text_cache)
    saved = json.loads((tmp_path / "v" / "metrics.json").read_text())
    assert saved["test"]["full"]["mae"] == m["test"]["full"]["mae"]
    for cond in ("full", "text_missing", "video_missing", "audio_only", "naive_zero_text", "text_only"):
        for k in ("mae", "corr", "acc2", "acc2_nonzero", "f1", "acc7"):
            assert len(saved["test"][cond][k + "_seeds"]) == 2
            assert saved["test"][cond][k] == pytest.approx(np.mean(saved["test"][cond][k + "_seeds"]), abs=1e-4)
    assert set(saved["ablations"]["no_mia"]) == {"full", "text_missing"}
    assert saved["meta"]["test_rows"] == len(cache.indices("test", family="espeak")) == 20  # in-family only
    for key in ("heldout_voice", "in_family_voice"):
        for cond in ("text_present", "text_withheld"):
            d = saved[key][cond]
            assert len(d["corr_seeds"]) == 2 and {"f1", "mae", "n"} <= set(d) and d["n"] == 20
    for sub in ("movie", "tweets", "nyt"):
        assert {"model_r", "lexicon_r", "n"} <= set(saved["vader_heldout"][sub])
    assert len(saved["meta"]["runs"]) == 8
    assert saved["meta"]["text_cache"] == str(text_cache.path)
    assert saved["meta"]["text_rows_available"] == len(text_cache.indices("train"))
    assert all(r["text_rows_per_epoch"] == len(text_cache.indices("train")) for r in saved["meta"]["runs"])
    # reuse: a second call trains nothing and gives the same numbers
    m2 = ev.evaluate(cache, [0, 1], tc, tmp_path / "v", variants, runs_dir=tmp_path / "runs", log=lambda _: None,
                     text_cache=text_cache)
    assert m2["test"] == m["test"]
    assert all(r["reused"] for r in m2["meta"]["runs"])
    # the same checkpoints do not count as trained without the text rows
    log = []
    ev.evaluate(cache, [0], TrainConfig(epochs=1, batch_size=8, threads=1, text_rows=0), tmp_path / "v2", ["text_only"],
                runs_dir=tmp_path / "runs", log=log.append)
    assert any("retraining" in line for line in log)
    md = card.render(tmp_path / "v", tmp_path / "runs" / "predictions.npz").read_text()
    assert (tmp_path / "v" / "plots" / "mae_by_condition.png").stat().st_size > 1000
    assert (tmp_path / "v" / "plots" / "pred_vs_true.png").is_file()
    assert f"{m['test']['full']['mae']:.3f}" in md and "Known weaknesses" in md
    assert "`heldout_voice.text_withheld`" in md and "`in_family_voice.text_present`" in md


def test_cli_bad_input(capsys, tmp_path):
    assert ev.main(["--variants", "full", "nope"]) == 2
    assert "unknown variant" in capsys.readouterr().err
    assert ev.main(["--seeds", "1", "1"]) == 2
    assert "distinct" in capsys.readouterr().err
    assert ev.main(["--corpus", str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert card.main(["--version-dir", str(tmp_path)]) == 2
    assert "metrics.json" in capsys.readouterr().err


def test_card_says_when_a_met_bar_is_within_the_seeds_spread():
    from sdumc.card import _spread_note
    a = {"mae": 0.726, "mae_std": 0.008, "mae_seeds": [0.722, 0.737, 0.718]}
    b = {"mae": 0.730, "mae_std": 0.002, "mae_seeds": [0.732, 0.729, 0.729]}
    assert "within one std" in _spread_note(a, b, "mae") and "2 of 3 seeds" in _spread_note(a, b, "mae")
    far = {"mae": 0.70, "mae_std": 0.002, "mae_seeds": [0.70, 0.70, 0.70]}
    assert _spread_note(far, b, "mae") == ""


def test_parallel_training_gives_the_same_checkpoints_as_serial(tmp_path, monkeypatch):
    """--jobs 2 trains in spawned worker processes; seeded runs must not depend on that."""
    cache = FeatureCache(build_cache(FIXTURE, progress=False))
    tc = TrainConfig(epochs=1, batch_size=8, threads=1)
    # full-size network (the spawned workers build their own; no monkeypatching crosses processes)
    m_par = ev.evaluate(cache, [0], tc, tmp_path / "p", ["no_rnc", "text_only"], runs_dir=tmp_path / "par",
                        log=lambda _: None, jobs=2)
    assert all(not r["reused"] and r["trained_in_parallel"] == 2 for r in m_par["meta"]["runs"])
    assert (tmp_path / "par" / "text_only-s0" / "train.log").read_text().count('"epoch": 1') == 1
    m_ser = ev.evaluate(cache, [0], tc, tmp_path / "s", ["no_rnc", "text_only"], runs_dir=tmp_path / "ser",
                        log=lambda _: None)
    assert m_par["test"] == m_ser["test"] and m_par["ablations"] == m_ser["ablations"]
