"""The text-missing routes of issue 12, side by side on a phone call (audio only, no video)
spoken by the held-out voice family, over seeds; writes their keys into a version's
metrics.json and re-renders its MODEL_CARD.md.

  cd models
  nice ../.venv/bin/python -m sdumc.speech.route_cache --workers 2     # the caches (once)
  nice ../.venv/bin/python -m sdumc.routes --seeds 0 1 2 --jobs 2 --out sdumc-v1

Routes (each scored with the transcript withheld):
- a: today's simulator: the double-flow model on log-mel, text simulated from audio;
- b: the same double-flow recipe with Whisper tiny.en's frozen int8 encoder states as the audio
     frames, so its simulator (trained to land in the real text encoder's space, MIA on top)
     reads the speech model's representation;
- c: the words Whisper recognises (greedy, int8), through the real text encoder, as the
     transcript of the log-mel model (what the server runs today);
- d: b's model given the recognised words as its text, blended with its own simulated-text
     output: w * (b with words) + (1 - w) * b, w chosen on validation (MAE).
A row whose recognition has no words has no text in c and d, so it is scored by the simulated
flow, as the server falls back. `text_present` is the log-mel model with the gold transcript.
Every model is trained per seed with the served recipe on the route cache's rows; validation
(in-family espeak-ng rows) chooses d's weight (MAE), the served route (corr + F1) and the calibration.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, fields
from pathlib import Path

import numpy as np

from sdumc.data import MODELS_DIR, FeatureCache
from sdumc.evaluate import HELDOUT_FAMILY, IN_FAMILY, over_seeds, voice_family_rows
from sdumc.metrics import call_metrics, class3
from sdumc.model import SDUMC, ModelConfig
from sdumc.train import RUNS_DIR, TrainConfig, predict_many, text_cache_for, train

WHISPER_MODEL = {"n_mels": 384, "audio_strides": (2, 2, 2)}  # 50 states/s -> 6.25 frames/s, as log-mel
ROUTES = {
    "a": "simulated text from log-mel (today's simulator)",
    "b": "simulated text from Whisper encoder states",
    "c": "recognised words -> real text encoder (log-mel model)",
    "d": "b's model with the recognised words, blended with b on validation",
}
PHONE = {"present": (1, 1, 0), "withheld": (0, 1, 0)}
# Served cost per audio second, one core (docs/benchmarks.md): a and the text path are the fusion
# graph only; b needs the encoder pass; c and d the encoder + greedy decode (bench/speech-serve.ts).
SERVED_CORE_MS_PER_AUDIO_S = 41.9  # speech-whisper-tiny-en-2 (7-bit MatMulNBits logits); -1 measured 53.9 beside it
SPEECH_COST_SOURCE = ("docs/benchmarks.md 'Served speech path', 'The token table as 7-bit MatMulNBits blocks': node --import "
                      "tsx bench/speech-serve.ts --reps 1 --rounds 2 --speech old=... --speech new=... (route c, one worker, one "
                      "thread, speech-whisper-tiny-en-2, mean of 2 rounds)")
# The training budget of every route's runs: the served recipe (docs/model.md) cut to fit six runs
# beside the Whisper pass on a shared 2-core machine: 2,000 media rows (cache), 4 epochs, 4,000
# text-only rows per epoch (served: 3,000, 5, 8,000).
BUDGET = {"epochs": 4, "threads": 1, "text_rows": 4000}
W_GRID = np.round(np.linspace(0, 1, 21), 2)
# Channel SNR bands for the bars per band (docs/model.md "Recognition under channel noise"): at
# 5-10 dB no small Whisper recognises much, at 20-30 dB it does; [lo, hi) in dB.
SNR_BANDS = {"5-10dB": (0.0, 15.0), "20-30dB": (15.0, 99.0)}


class WideFeatureCache(FeatureCache):
    """A FeatureCache whose normalisation stats are summed row by row: the Whisper view's
    384-d frames of 3,000 rows would need ~4 GB as one float64 array."""

    def norm_stats(self, idx: np.ndarray) -> dict[str, np.ndarray]:
        def stats(rows):
            n, s, s2 = 0, 0.0, 0.0
            for x in rows:
                x = np.asarray(x, np.float64)
                n, s, s2 = n + len(x), s + x.sum(0), s2 + (x * x).sum(0)
            mean = s / max(n, 1)
            return mean, np.sqrt(np.maximum(s2 / max(n, 1) - mean * mean, 0.0))
        am, asd = stats(self.audio(i) for i in idx)
        vm, vsd = stats(v[m > 0] for v, m in (self.video(i) for i in idx))
        return {"audio_mean": am, "audio_std": asd, "video_mean": vm, "video_std": vsd}


class AudioWidthCache(FeatureCache):
    """The text-only cache for the Whisper model: its rows have no audio, but the empty audio
    tensor must have the model's input width (384) for the normalisation to broadcast."""

    width = WHISPER_MODEL["n_mels"]

    def batch(self, idx):
        import torch
        b = super().batch(idx)
        B, T, _ = b["audio_feats"].shape
        b["audio_feats"] = torch.zeros(B, T, self.width)
        return b


def run_dir(runs: Path, kind: str, seed: int) -> Path:
    return runs / "routes" / f"{'whisper-' if kind == 'whisper' else ''}full-s{seed}"


def _reusable(ck: Path, cache: Path, tc: TrainConfig, text_cache: Path | None) -> bool:
    import torch
    if not ck.is_file():
        return False
    c = torch.load(ck, map_location="cpu")
    return (c.get("cache") == str(cache) and c.get("train_config") == asdict(tc)
            and c.get("text_cache") == (str(text_cache) if text_cache else None))


def _train_one(kind: str, seed: int, cache: str, text_cache: str | None, tc: TrainConfig, out: Path) -> dict:
    """One run in a spawned worker; its log in out/train.log."""
    base = ModelConfig(**WHISPER_MODEL) if kind == "whisper" else None
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "train.log", "w") as f:
        return train("full", seed, WideFeatureCache(Path(cache)), tc, out, base=base, progress=False,
                     log=lambda s: print(s, file=f, flush=True),
                     text_cache=(AudioWidthCache if kind == "whisper" else FeatureCache)(Path(text_cache))
                     if text_cache else None)


def ensure_runs(views: dict[str, Path], seeds: list[int], tc: TrainConfig, jobs: int, runs: Path,
                log=print, kinds: tuple[str, ...] = ("whisper", "logmel")) -> None:
    """Train every (kind x seed) run that has no checkpoint of this cache and config; kinds:
    "logmel" (routes a, c, text present) and "whisper" (b, d)."""
    import concurrent.futures as cf
    import multiprocessing as mp
    tcache = text_cache_for(Path(json.loads((views["features"] / "meta.json").read_text())["corpus"]), tc, False)
    tpath = tcache.path if tcache is not None else None
    todo = [(k, s) for k in kinds for s in seeds
            if not _reusable(run_dir(runs, k, s) / "best.pt", views[_view(k)], tc, tpath)]
    if not todo:
        return
    log(f"routes: training {len(todo)} runs, {jobs} at a time")
    with cf.ProcessPoolExecutor(jobs, mp_context=mp.get_context("spawn")) as pool:
        futs = {pool.submit(_train_one, k, s, str(views[_view(k)]), str(tpath) if tpath else None, tc,
                            run_dir(runs, k, s)): (k, s) for k, s in todo}
        for f in cf.as_completed(futs):
            r = f.result()
            log(f"routes: trained {futs[f]}: {r['epochs_run']} epochs, {r['train_seconds']:.0f} s, "
                f"best validation {r['best_val_select']:.4f}")


def _view(kind: str) -> str:
    return "whisper" if kind == "whisper" else "features"


def route_predictions(ma: SDUMC, mb: SDUMC | None, caches: dict[str, FeatureCache], idx: np.ndarray,
                      w: float | None = None) -> dict[str, np.ndarray]:
    """Valence per route (+ text_present and d's two parts) for rows idx; without the Whisper
    model (mb None), routes a and c only."""
    pa = predict_many(ma, caches["features"], idx, PHONE)
    pc = predict_many(ma, caches["recognised"], idx, {"c": PHONE["present"]})["c"]
    out = {"text_present": pa["present"]["valence"], "a": pa["withheld"]["valence"], "c": pc["valence"]}
    if mb is None:
        return out
    out["b"] = predict_many(mb, caches["whisper"], idx, {"b": PHONE["withheld"]})["b"]["valence"]
    out["d_words"] = predict_many(mb, caches["whisper_recognised"], idx, {"d": PHONE["present"]})["d"]["valence"]
    if w is not None:
        out["d"] = w * out["d_words"] + (1 - w) * out["b"]
    return out


def choose_weight(p: dict[str, np.ndarray], y: np.ndarray) -> float:
    """d's blend weight: the grid point with the lowest validation MAE (ties: the smaller w)."""
    maes = [np.mean(np.abs(w * p["d_words"] + (1 - w) * p["b"] - y)) for w in W_GRID]
    return float(W_GRID[int(np.argmin(maes))])


def affine_fit(pred: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Least-squares y ~ a * pred + b (the calibration map, fitted on validation)."""
    A = np.stack([pred, np.ones_like(pred)], 1).astype(np.float64)
    a, b = np.linalg.lstsq(A, np.asarray(y, np.float64), rcond=None)[0]
    return float(a), float(b)


def neutral_mean(pred: np.ndarray, y: np.ndarray) -> float:
    """Mean prediction over the truly neutral rows (|gold| <= the neutral band)."""
    m = class3(y) == 0
    return float(np.mean(pred[m])) if m.any() else 0.0


def calibration(val_pred: np.ndarray, val_y: np.ndarray, test_pred: np.ndarray, test_y: np.ndarray) -> dict:
    """Affine map fitted on validation, applied to test: neutral mean, 3-class F1 and MAE before/after."""
    a, b = affine_fit(val_pred, val_y)
    after = np.clip(a * test_pred + b, -3, 3)
    before_m, after_m = call_metrics(test_pred, test_y), call_metrics(after, test_y)
    return {"scale": a, "shift": b,
            "neutral_mean_before": neutral_mean(test_pred, test_y), "neutral_mean_after": neutral_mean(after, test_y),
            "f1_before": before_m["f1"], "f1_after": after_m["f1"],
            "mae_before": before_m["mae"], "mae_after": after_m["mae"]}


def wer(cache: FeatureCache, report: dict, family: str, snr: np.ndarray | None = None) -> dict:
    """Word error rate and stop reasons of the recognition on one family's test rows (and by
    the row's SNR in dB when `snr`, per cache row, is given)."""
    from sdumc.metrics import word_errors
    edits = words = 0
    stops: dict[str, int] = {}
    cpu = audio = 0.0
    idx = voice_family_rows(cache, family)
    for k in idx:
        e, n = word_errors(cache.texts[k], report["text"][k])
        edits, words = edits + e, words + n
        stops[report["stop"][k] or "none"] = stops.get(report["stop"][k] or "none", 0) + 1
        cpu, audio = cpu + report["cpu_s"][k], audio + report["audio_s"][k]
    by_snr: dict[str, list[int]] = {}
    if snr is not None:
        for k in idx:
            e, n = word_errors(cache.texts[k], report["text"][k])
            d = by_snr.setdefault(f"{snr[k]:g}", [0, 0])
            d[0], d[1] = d[0] + e, d[1] + n
    return {"wer": round(edits / max(words, 1), 4), "n": int(len(idx)), "words": words, "stops": stops,
            "wer_by_snr_db": {k: round(e / max(n, 1), 4) for k, (e, n) in sorted(by_snr.items(), key=lambda x: float(x[0]))},
            "python_core_ms_per_audio_s": round(1000 * cpu / max(audio, 1e-9), 1),
            "no_words": int(sum(1 for k in idx if not report["text"][k].strip()))}


def row_snr(cache: FeatureCache, report: dict) -> np.ndarray:
    """Each cached row's channel SNR (dB), read from the corpus rows the route cache recorded."""
    from sdumc.data import open_corpus
    rows = open_corpus(Path(cache.meta["corpus"])).rows
    return np.array([float(rows[i].get("snr_db", np.nan)) for i in report["corpus_rows"]])


def band_bars(res: dict[str, dict[str, dict]], served: str) -> dict:
    """The bars per channel SNR band (held-out rows): text present vs the served route and
    every route, from the same predictions as the overall figures (no retraining)."""
    out = {}
    for band, r in res.items():
        p = r["text_present"]
        out[band] = {"snr_db": list(SNR_BANDS[band]), "n": p["n"], "text_present": p,
                     "text_withheld": {**r[served], "route": served},
                     "corr_ratio": round(r[served]["corr"] / p["corr"], 3), "f1_ratio": round(r[served]["f1"] / p["f1"], 3),
                     "per_route": {k: {"corr": v["corr"], "f1": v["f1"], "corr_ratio": round(v["corr"] / p["corr"], 3),
                                       "f1_ratio": round(v["f1"] / p["f1"], 3)} for k, v in r.items() if k != "text_present"}}
    return out


def evaluate_routes(views: dict[str, Path], seeds: list[int], tc: TrainConfig, runs: Path, log=print) -> dict:
    caches = {k: FeatureCache(v) for k, v in views.items()}
    fc = caches["features"]
    report = json.loads((views["recognised"] / "recognised.json").read_text())
    va = fc.indices("val")
    sets = {"heldout_voice": voice_family_rows(fc, HELDOUT_FAMILY),
            "in_family_voice": voice_family_rows(fc, IN_FAMILY)}
    per: dict[str, dict[str, list[dict]]] = {}
    snr = row_snr(fc, report)
    by_band: dict[str, dict[str, list[dict]]] = {}
    val_per: dict[str, list[dict]] = {}
    cal: dict[str, list[dict]] = {}
    weights = []
    have_b = all((run_dir(runs, "whisper", s) / "best.pt").is_file() for s in seeds)
    routes = [r for r in ROUTES if have_b or r in ("a", "c")]
    for seed in seeds:
        ma = SDUMC.from_checkpoint(run_dir(runs, "logmel", seed) / "best.pt")
        mb = SDUMC.from_checkpoint(run_dir(runs, "whisper", seed) / "best.pt") if have_b else None
        pv = route_predictions(ma, mb, caches, va)
        w = choose_weight(pv, fc.valence[va]) if have_b else None
        weights.append(w)
        if have_b:
            pv["d"] = w * pv["d_words"] + (1 - w) * pv["b"]
        for r in ("text_present", *routes):
            val_per.setdefault(r, []).append(call_metrics(pv[r], fc.valence[va]))
        for key, idx in sets.items():
            pt = route_predictions(ma, mb, caches, idx, w)
            y = fc.valence[idx]
            for r in ("text_present", *routes):
                per.setdefault(key, {}).setdefault(r, []).append(call_metrics(pt[r], y))
            if key == "heldout_voice":
                for r in ("text_present", *routes):
                    cal.setdefault(r, []).append(calibration(pv[r], fc.valence[va], pt[r], y))
                for band, (lo, hi) in SNR_BANDS.items():
                    sel = (snr[idx] >= lo) & (snr[idx] < hi)
                    if sel.sum() < 3:  # too few rows for a correlation (a small corpus)
                        continue
                    for r in ("text_present", *routes):
                        by_band.setdefault(band, {}).setdefault(r, []).append(call_metrics(pt[r][sel], y[sel]))
        log(f"routes: scored seed {seed} (d weight {w})")
    agg = lambda lst: {**over_seeds([{k: v for k, v in d.items() if k != "n"} for d in lst]), "n": lst[0]["n"]}  # noqa: E731
    val = {r: agg(lst) for r, lst in val_per.items()}
    # the served route: the best validation mean of corr and 3-class F1, the bars' two metrics
    # (validation is in-family: the held-out voice stays test-only). Validation MAE, the first
    # rule, picked d: MAE rewards predictions shrunk towards the mean, the bars do not.
    served = max(routes, key=lambda r: val[r]["corr"] + val[r]["f1"])
    out: dict = {"routes": {}, "heldout_voice": {}, "in_family_voice": {}}
    for key in sets:
        res = {r: agg(lst) for r, lst in per[key].items()}
        out[key] = {"text_present": res["text_present"], "text_withheld": {**res[served], "route": served},
                    "asr_wer": wer(fc, report, HELDOUT_FAMILY if key == "heldout_voice" else IN_FAMILY)["wer"]}
        if key == "heldout_voice":
            out["routes"] = {r: {**res[r], "what": ROUTES[r]} for r in routes}
        else:
            out["in_family_voice"]["routes"] = {r: res[r] for r in routes}
    hp, hw = out["heldout_voice"]["text_present"], out["heldout_voice"]["text_withheld"]
    out["bars"] = {"served_route": served, "corr_ratio": round(hw["corr"] / hp["corr"], 3),
                   "f1_ratio": round(hw["f1"] / hp["f1"], 3), "corr_bar": 0.8, "f1_bar": 0.9,
                   "per_route": {r: {"corr_ratio": round(out["routes"][r]["corr"] / hp["corr"], 3),
                                     "f1_ratio": round(out["routes"][r]["f1"] / hp["f1"], 3)} for r in routes}}
    out["bars"]["by_snr_band"] = band_bars({b: {r: agg(lst) for r, lst in rs.items()} for b, rs in by_band.items()},
                                           served)
    out["calibration"] = {r: over_seeds(lst) for r, lst in cal.items()}
    out["calibration"]["note"] = ("affine map of valence fitted per seed on the validation rows (in-family, "
                                  "same condition), applied to the held-out test rows; measured only, not served")
    out["speech"] = {"core_ms_per_audio_s": SERVED_CORE_MS_PER_AUDIO_S,
                     "core_ms_per_audio_s_source": SPEECH_COST_SOURCE,
                     "recognition": {f: wer(fc, report, f, snr) for f in (HELDOUT_FAMILY, IN_FAMILY)}}
    out["routes_meta"] = {"seeds": seeds, "d_weight_seeds": weights, "validation": val,
                          "served_route_rule": f"highest validation corr + f1 of routes {', '.join(routes)} (in-family val rows)",
                          "train_config": asdict(tc), "whisper_model": {**WHISPER_MODEL},
                          "caches": {k: str(v) for k, v in views.items()},
                          "min_context_s": report["min_context_s"]}
    return out


def merge_into(version_dir: Path, routes: dict) -> Path:
    """Write the route keys into version_dir/metrics.json (other keys kept) and re-render the card."""
    mp = version_dir / "metrics.json"
    metrics = json.loads(mp.read_text())
    metrics.update(routes)
    mp.write_text(json.dumps(metrics, indent=1))
    from sdumc.card import render
    render(version_dir)
    return mp


def main(argv: list[str] | None = None) -> int:
    from sdumc.speech.route_cache import build, features
    ap = argparse.ArgumentParser(description="Score the text-missing routes of issue 12 over seeds.")
    ap.add_argument("--corpus", type=Path, default=MODELS_DIR / "corpus" / "v2")
    ap.add_argument("--train-rows", type=int, default=2000)
    ap.add_argument("--val-rows", type=int, default=400)
    ap.add_argument("--pairs", type=int, default=600)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--runs", type=Path, default=RUNS_DIR)
    ap.add_argument("--out", type=Path, default=MODELS_DIR / "sdumc-v1")
    ap.add_argument("--json", type=Path, help="also write the route keys alone here")
    ap.add_argument("--no-train", action="store_true",
                    help="score the runs that exist (routes b and d only when every Whisper run is there)")
    ap.add_argument("--no-merge", action="store_true", help="do not touch --out (use with --json)")
    ap.add_argument("--train-only", choices=("logmel", "whisper"),
                    help="train that model's runs and stop (logmel needs only the feature cache)")
    for f in fields(TrainConfig):
        default = BUDGET.get(f.name, f.default)
        ap.add_argument("--" + f.name.replace("_", "-"), type=type(f.default), default=default)
    a = ap.parse_args(argv)
    log = lambda s: print(s, file=sys.stderr, flush=True)  # noqa: E731
    t0 = time.time()
    tc = TrainConfig(**{f.name: getattr(a, f.name) for f in fields(TrainConfig)})
    if a.train_only == "logmel":
        views = {"features": features(a.corpus, a.train_rows, a.val_rows, a.pairs)}
        ensure_runs(views, a.seeds, tc, a.jobs, a.runs, log, ("logmel",))
        return 0
    views = build(a.corpus, a.train_rows, a.val_rows, a.pairs, a.jobs, log=log)
    if not a.no_train:
        ensure_runs(views, a.seeds, tc, a.jobs, a.runs, log, (a.train_only,) if a.train_only else ("whisper", "logmel"))
    if a.train_only:
        return 0
    out = evaluate_routes(views, a.seeds, tc, a.runs, log)
    out["routes_meta"]["wall_seconds"] = round(time.time() - t0, 1)
    if a.json:
        a.json.write_text(json.dumps(out, indent=1))
    if not a.no_merge:
        print(merge_into(a.out, out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
