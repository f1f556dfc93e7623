"""The speech routes of issue 12: audio as served, the route caches' greedy stop reasons and
row choice, and the route evaluation's pieces (real onnxruntime sessions, small inputs)."""
import json
from pathlib import Path

import numpy as np
import pytest

from sdumc.speech.served_audio import as_served, resample

MODELS = Path(__file__).resolve().parent.parent
SPEECH = MODELS / "speech-whisper-tiny-en"


def test_resampler_port_equals_the_served_typescript_resampler():
    fx = json.loads((MODELS / "fixtures" / "resample-8k-16k.json").read_text())
    y = resample(np.array(fx["x"], np.float32), fx["fromRate"], fx["toRate"])
    assert y.shape == (len(fx["y"]),)
    assert np.abs(y - np.array(fx["y"], np.float32)).max() <= 1e-6  # float32 rounding only


def test_as_served_keeps_telephone_speech_and_the_length():
    t = np.arange(16000) / 16000
    x = (0.5 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)   # in the telephone band
    y = as_served(x)
    assert y.shape == x.shape and y.dtype == np.float32
    assert np.abs(y[100:-100] - x[100:-100]).max() < 2e-3          # a 1 kHz tone passes
    hi = (0.5 * np.sin(2 * np.pi * 3900 * t)).astype(np.float32)   # above the 3.6 kHz pass band
    assert np.abs(as_served(hi)[100:-100]).max() < 0.5 * 0.5


def test_greedy_says_why_it_stopped():
    from sdumc.speech.decode import DecodeRules, Greedy
    rules = DecodeRules(eot=0)
    logits = lambda t: np.eye(8)[t] * 10.0  # noqa: E731
    g = Greedy(rules, limit=3)
    for t in (5, 6, 0):
        g.step(logits(t))
    assert g.done and g.stop == "eot" and g.tokens == [5, 6]
    g = Greedy(rules, limit=3)
    for t in (5, 6, 7):
        g.step(logits(t))
    assert g.stop == "budget"
    g = Greedy(rules, limit=50)
    while not g.done:
        g.step(logits(4))
    assert g.stop == "repetition" and g.tokens == [4]


def test_choose_rows_takes_both_renderings_of_each_test_sentence():
    from sdumc.data import open_corpus
    from sdumc.speech.route_cache import choose_rows
    rows = open_corpus(MODELS / "fixtures" / "corpus-mini").rows
    keep = choose_rows(rows, train=10, val=5, pairs=6)
    assert list(keep) == list(choose_rows(rows, train=10, val=5, pairs=6))       # deterministic
    split = [rows[i]["split"] for i in keep]
    assert split.count("train") == 10 and split.count("val") == 5
    test = [rows[i] for i in keep if rows[i]["split"] == "test"]
    by_sid = {}
    for r in test:
        by_sid.setdefault(r["sentence_id"], set()).add(r["voice_family"])
    assert len(by_sid) == 6 and all(f == {"espeak", "flite"} for f in by_sid.values())


def test_calibration_centres_a_biased_predictor():
    from sdumc.routes import affine_fit, calibration, neutral_mean
    rng = np.random.default_rng(0)
    y = rng.uniform(-3, 3, 400)
    pred = 0.8 * y - 0.34                                  # shrunk and shifted negative
    assert affine_fit(pred, y) == pytest.approx((1.25, 0.425), abs=1e-9)
    c = calibration(pred[:200], y[:200], pred[200:], y[200:])
    assert c["neutral_mean_before"] < -0.2 and abs(c["neutral_mean_after"]) < abs(c["neutral_mean_before"]) / 2
    assert c["mae_after"] < 1e-9 and c["f1_after"] == pytest.approx(1.0)
    assert neutral_mean(np.zeros(3), np.array([2.0, 2.0, 2.0])) == 0.0          # no neutral rows


def test_routes_end_to_end_on_the_mini_corpus(tmp_path):
    """The caches (real int8 Whisper sessions), one tiny training per model and seed, the route
    scores and the metrics keys of issue 12."""
    from sdumc.data import FeatureCache
    from sdumc.routes import ROUTES, ensure_runs, evaluate_routes, run_dir
    from sdumc.speech.route_cache import build
    from sdumc.train import TrainConfig
    views = build(MODELS / "fixtures" / "corpus-mini", train=20, val=20, pairs=20, workers=1, log=lambda _: None)
    w, r, f = FeatureCache(views["whisper"]), FeatureCache(views["recognised"]), FeatureCache(views["features"])
    assert w.n == f.n == 80 and w.audio(0).shape[1] == 384
    assert abs(len(w.audio(0)) - 50 * len(f.audio(0)) / 100) <= 2               # 50 states / s vs 100 log-mel frames / s
    report = json.loads((views["recognised"] / "recognised.json").read_text())
    train_rows = f.indices("train")
    assert all(report["text"][k] == "" and len(r.text(k)) == 0 for k in train_rows)   # train rows: states only
    heard = [k for k in f.indices("test") if report["text"][k]]
    assert len(heard) > 20 and all(report["stop"][k] in ("eot", "repetition", "budget") for k in heard)
    assert all(len(r.text(k)) > 0 for k in heard)
    tc = TrainConfig(epochs=1, batch_size=8, threads=1, text_rows=0, max_val=0)
    ensure_runs(views, [0], tc, 1, tmp_path, log=lambda _: None)
    assert run_dir(tmp_path, "whisper", 0).joinpath("best.pt").is_file()
    out = evaluate_routes(views, [0], tc, tmp_path, log=lambda _: None)
    for k in ("corr", "f1", "mae"):
        for cond in ("text_present", "text_withheld"):
            assert k in out["heldout_voice"][cond] and k + "_seeds" in out["heldout_voice"][cond]
        for route in ROUTES:
            assert k + "_std" in out["routes"][route]
    assert out["heldout_voice"]["text_present"]["n"] == 20
    assert 0 <= out["heldout_voice"]["asr_wer"] and "core_ms_per_audio_s" in out["speech"]
    assert out["bars"]["served_route"] in ROUTES
    assert out["heldout_voice"]["text_withheld"]["route"] == out["bars"]["served_route"]
    bands = out["bars"]["by_snr_band"]                                             # the bars per SNR band
    assert set(bands) == {"5-10dB", "20-30dB"} and sum(b["n"] for b in bands.values()) == 20
    assert all(b["text_withheld"]["route"] == out["bars"]["served_route"] for b in bands.values())
    # the keys go into a version's metrics.json (other keys kept) and its card
    from sdumc.routes import merge_into
    v = tmp_path / "v"
    v.mkdir()
    before = json.loads((MODELS / "sdumc-v1" / "metrics.json").read_text())
    (v / "metrics.json").write_text(json.dumps(before))
    merge_into(v, out)
    after = json.loads((v / "metrics.json").read_text())
    assert after["test"] == before["test"] and after["routes"] == json.loads(json.dumps(out["routes"]))
    md = (v / "MODEL_CARD.md").read_text()
    assert "Text-missing routes (issue 12)" in md and "| d " in md and "(served)" in md
    assert "Per channel SNR band" in md
