"""Evaluation, one command: train (or reuse) every variant over several seeds, score the
test split under each modality condition, and write models/<version>/metrics.json, then
render MODEL_CARD.md and its plots (sdumc.card).

  python -m sdumc.evaluate --seeds 0 1 2                      # corpus/v2, all variants
  python -m sdumc.evaluate --corpus fixtures/corpus-mini --epochs 1 --out /tmp/v

Metrics (CMU-MOSI/MOSEI conventions, valence on -3..+3):
- mae, corr (Pearson r);
- acc2: negative (< 0) vs non-negative (>= 0), all rows; f1: weighted F1 of the same;
- acc2_nonzero, f1_nonzero: negative vs positive over rows whose true valence is not 0;
- acc7: round(clip(., -3, 3)) agrees (numpy rounding, half to even).
Each is reported as the mean over seeds, with `<metric>_std` (population std over seeds)
and `<metric>_seeds` (per-seed values).

The `test` conditions are scored on the in-family test rows (espeak-ng, the voices training
heard). Phone calls have no face stream, so the held-out voice family (corpus format 2: Flite
twins of the test sentences) is scored audio-only: `heldout_voice.text_present` (text +
audio, no video) and `heldout_voice.text_withheld` (audio alone), each with corr, f1 (3-class
weighted F1 over the neutral band) and mae; `in_family_voice` gives the same on the espeak-ng
twins of the same sentences, so the two differ only by the voice.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, fields
from pathlib import Path

import numpy as np
import torch

from sdumc.data import MODELS_DIR, DataError, FeatureCache, add_limit_args, build_cache, limits_from
from sdumc.metrics import call_metrics, pearson, regression_metrics
from sdumc.model import SDUMC
from sdumc.train import (CONDITIONS, DEFAULT_CORPUS, RUNS_DIR, VARIANTS, TrainConfig, predict_many,
                         resolve_text_cache, train)

VADER_SUBSETS = ("movie", "tweets", "nyt")
# which test conditions each variant is scored under, and the metrics.json key of each
SCORED = {
    "full": {"full": "full", "text_missing": "text_missing", "video_missing": "video_missing",
             "audio_only": "audio_only"},
    "naive_fusion": {"text_missing": "naive_zero_text", "full": "naive_full"},
    "text_only": {"text_only": "text_only"},
}
ABLATIONS = ("no_mia", "no_rnc", "no_distill")
IN_FAMILY, HELDOUT_FAMILY = "espeak", "flite"
# phone-call conditions (presence of text, audio, video): no face stream in either
AUDIO_ONLY_CONDITIONS = {"text_present": (1, 1, 0), "text_withheld": (0, 1, 0)}


def voice_family_rows(cache: FeatureCache, family: str) -> np.ndarray:
    """Labelled test rows spoken by `family`; for the held-out family, only sentences whose
    in-family twin is also in the cache, and for the in-family one only those with a held-out
    twin, so the two sets hold the same sentences (a budgeted cache may drop either twin)."""
    te_h = cache.indices("test", family=HELDOUT_FAMILY)
    te_i = cache.indices("test", family=IN_FAMILY)
    both = {cache.texts[i] for i in te_h} & {cache.texts[i] for i in te_i}
    idx = te_h if family == HELDOUT_FAMILY else te_i
    return np.array([i for i in idx if cache.texts[i] in both], dtype=np.int64)


def audio_only_scores(model: SDUMC, cache: FeatureCache, family: str = HELDOUT_FAMILY
                      ) -> dict[str, dict[str, float]]:
    """{"text_present": call_metrics, "text_withheld": call_metrics} of `model` on the test
    rows of voice `family` (see voice_family_rows), video absent in both. Raises DataError when
    the cache has no such rows (a format-1 corpus, or generated with --heldout none)."""
    idx = voice_family_rows(cache, family)
    if len(idx) < 3:
        raise DataError(f"cache {cache.path}: {len(idx)} test rows of voice family {family!r} "
                        "with a twin in the other family; generate the corpus with --heldout flite")
    pm = predict_many(model, cache, idx, AUDIO_ONLY_CONDITIONS)
    return {c: call_metrics(pm[c]["valence"], cache.valence[idx]) for c in AUDIO_ONLY_CONDITIONS}


def over_seeds(per_seed: list[dict[str, float]]) -> dict:
    """{m: mean, m_std: std, m_seeds: [...]} for every metric m of the per-seed dicts."""
    out: dict = {}
    for m in per_seed[0]:
        vals = [float(d[m]) for d in per_seed]
        out[m] = round(float(np.mean(vals)), 4)
        out[m + "_std"] = round(float(np.std(vals)), 4)
        out[m + "_seeds"] = [round(x, 4) for x in vals]
    return out


# ---- lexicon baseline --------------------------------------------------------------------
def lexicon_scores(texts: list[str]) -> np.ndarray:
    """VADER lexicon compound score (-1..1) per text, via sdumc.lexicon (vaderSentiment).
    Pearson r does not depend on the mapping of compound to -3..+3."""
    from sdumc.lexicon import Lexicon
    return Lexicon().compound(texts)


# ---- the text path on every held-out VADER sentence ------------------------------------------
def heldout_vader(corpus: Path, graph: Path | None = None
                  ) -> tuple[list[str], np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """The corpus's TEST-split VADER sentences (each once): texts, valence, subset, and their
    token embeddings from the int8 text graph `graph` (default: the served one) ({"emb", "mask"}).
    Independent of the row limits of a budgeted run: the text path is cheap to score, so it is
    scored on all of them. `corpus` may be the labelled-text folder too (`labelled_rows`)."""
    from sdumc.data import labelled_rows
    from sdumc.text_encoder.encode import encode_texts
    seen: set[str] = set()
    texts, ys, subs = [], [], []
    for r in labelled_rows(corpus):
        if r["split"] == "test" and r.get("subset") in VADER_SUBSETS and r.get("valence") is not None \
                and r["text"] not in seen:
            seen.add(r["text"])
            texts.append(str(r["text"]))
            ys.append(float(r["valence"]))
            subs.append(r["subset"])
    if not texts:
        return [], np.zeros(0, np.float32), np.zeros(0, str), {}
    emb, mask = encode_texts(texts, batch_size=64, graph=graph)
    return texts, np.array(ys, np.float32), np.array(subs), {"emb": emb, "mask": mask}


@torch.no_grad()
def text_path_valence(model: SDUMC, enc: dict[str, np.ndarray], batch: int = 256) -> np.ndarray:
    """Valence from text alone (audio and video absent) for pre-encoded texts."""
    model.eval()
    out = []
    for s in range(0, len(enc["emb"]), batch):
        e = torch.from_numpy(enc["emb"][s:s + batch].astype(np.float32))
        m = torch.from_numpy(enc["mask"][s:s + batch])
        B = len(e)
        none_a, none_v = torch.zeros(B, 1), torch.zeros(B, 1)
        pres = torch.tensor([[1.0, 0.0, 0.0]]).expand(B, 3)
        o = model(torch.zeros(B, 1, model.cfg.n_mels), none_a, e, m,
                  torch.zeros(B, 1, model.cfg.video_dim), none_v, pres)
        out.append(o["valence"].numpy())
    return np.concatenate(out)


# ---- the command -------------------------------------------------------------------------
def _text_path(text_cache: FeatureCache | None) -> str | None:
    """The text cache as checkpoints record it (None: no text rows; see train.resolve_text_cache)."""
    return str(text_cache.path) if text_cache is not None else None


def _reusable(ck: Path, cache: FeatureCache, tc: TrainConfig, text_cache: FeatureCache | None) -> dict | None:
    """The checkpoint's dict when it was trained on this cache, text cache and config, else None."""
    if not ck.is_file():
        return None
    c = torch.load(ck, map_location="cpu")
    same = (c.get("cache") == str(cache.path) and c.get("train_config") == asdict(tc)
            and c.get("text_cache") == _text_path(text_cache))
    return c if same else None


def _train_one(variant: str, seed: int, cache_path: str, text_path: str | None, tc: TrainConfig,
               runs_dir: Path) -> dict:
    """One training run in a worker process (spawned: a fresh torch, its own threads);
    its log goes to runs_dir/<variant>-s<seed>/train.log."""
    out = runs_dir / f"{variant}-s{seed}"
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "train.log", "w") as f:
        def log(line: str) -> None:
            print(line, file=f, flush=True)
        return train(variant, seed, FeatureCache(Path(cache_path)), tc, out, progress=False, log=log,
                     text_cache=FeatureCache(Path(text_path)) if text_path else None)


def train_parallel(cache: FeatureCache, seeds: list[int], tc: TrainConfig, variants: list[str],
                   jobs: int, retrain: bool, runs_dir: Path, log,
                   text_cache: FeatureCache | None = None) -> set[tuple[str, int]]:
    """Train every (variant, seed) that has no reusable checkpoint, `jobs` runs at a time, each
    with tc.threads torch threads, slowest variants first (double flow before one flow) so the
    queues end together. evaluate() then reuses the checkpoints."""
    import concurrent.futures as cf
    import multiprocessing as mp
    todo = [(v, s) for v in variants for s in seeds
            if retrain or _reusable(runs_dir / f"{v}-s{s}" / "best.pt", cache, tc, text_cache) is None]
    todo.sort(key=lambda vs: (not VARIANTS[vs[0]].double_flow, vs[1]))
    if not todo:
        return set()
    log(f"training {len(todo)} runs, {jobs} at a time: {', '.join(f'{v}-s{s}' for v, s in todo)}")
    text_path = _text_path(text_cache)
    with cf.ProcessPoolExecutor(max_workers=jobs, mp_context=mp.get_context("spawn")) as pool:
        futs = {pool.submit(_train_one, v, s, str(cache.path), text_path, tc, runs_dir): (v, s)
                for v, s in todo}
        for f in cf.as_completed(futs):
            v, s = futs[f]
            try:
                r = f.result()
            except Exception:
                log(f"{v}-s{s} failed: see {runs_dir / f'{v}-s{s}' / 'train.log'}")
                raise
            log(f"trained {v}-s{s}: {r['epochs_run']} epochs, {r['train_seconds']:.0f} s, "
                f"best validation {r['best_val_select']:.4f}")
    return set(todo)


def _run(variant: str, seed: int, cache: FeatureCache, tc: TrainConfig, retrain: bool,
         runs_dir: Path, log, text_cache: FeatureCache | None = None) -> tuple[SDUMC, dict]:
    out = runs_dir / f"{variant}-s{seed}"
    ck = out / "best.pt"
    if ck.is_file() and not retrain:
        c = _reusable(ck, cache, tc, text_cache)
        if c is not None:
            log(f"reuse {ck}")
            return SDUMC.from_checkpoint(c), {**c["summary"], "reused": True}
        log(f"{ck} was trained on another cache or config: retraining")
    summary = train(variant, seed, cache, tc, out, progress=True, log=log, text_cache=text_cache)
    return SDUMC.from_checkpoint(ck), {**summary, "reused": False}


def evaluate(cache: FeatureCache, seeds: list[int], tc: TrainConfig, out_dir: Path,
             variants: list[str], retrain: bool = False, runs_dir: Path = RUNS_DIR,
             log=print, text_cache: FeatureCache | None = None, jobs: int = 1) -> dict:
    """Train/reuse, score, write out_dir/metrics.json and runs_dir/predictions.npz.
    `text_cache`: the text-only rows every variant trains on when tc.text_rows != 0.
    `jobs` > 1 trains the missing runs that many at a time in worker processes first."""
    t0 = time.time()
    text_cache = resolve_text_cache(cache, tc, text_cache)
    fresh: set[tuple[str, int]] = set()
    if jobs > 1:
        fresh = train_parallel(cache, seeds, tc, variants, jobs, retrain, runs_dir, log, text_cache)
        retrain = False  # every run now has a checkpoint of this config
    te = cache.indices("test", family=IN_FAMILY)   # the voices training heard, as before format 2
    if len(te) == 0:
        raise DataError(f"cache {cache.path}: no labelled test rows")
    has_heldout = len(voice_family_rows(cache, HELDOUT_FAMILY)) >= 3
    calls: dict[str, dict[str, list[dict]]] = {}
    y = cache.valence[te]
    per: dict[str, list[dict]] = {}
    runs: list[dict] = []
    preds: dict[str, np.ndarray] = {"y": y}
    vader_model: dict[str, list[float]] = {}
    vader_full: dict[str, list[float]] = {}
    alpha_mean: dict[str, list] = {}
    vtexts, vy, vsub, venc = ([], np.zeros(0), np.zeros(0, str), {})
    if {"text_only", "full"} & set(variants):
        vtexts, vy, vsub, venc = heldout_vader(Path(cache.meta["corpus"]))
    for variant in variants:
        for seed in seeds:
            t1 = time.time()
            model, summary = _run(variant, seed, cache, tc, retrain, runs_dir, log, text_cache)
            conds = SCORED.get(variant, {"full": "full", "text_missing": "text_missing"})
            pm = predict_many(model, cache, te, {c: CONDITIONS[c] for c in conds})
            for cond, key in conds.items():
                p = pm[cond]
                group = key if variant in SCORED else f"{variant}.{key}"
                per.setdefault(group, []).append(regression_metrics(p["valence"], y))
                if seed == seeds[0]:
                    preds[f"{variant}.{cond}"] = p["valence"]
                    alpha_mean[group] = [round(float(x), 4) for x in p["alpha"].mean(0)]
            if variant == "full" and has_heldout:
                for fam, key in ((HELDOUT_FAMILY, "heldout_voice"), (IN_FAMILY, "in_family_voice")):
                    for cond, d in audio_only_scores(model, cache, fam).items():
                        calls.setdefault(key, {}).setdefault(cond, []).append(d)
            if variant in ("text_only", "full") and len(vtexts):
                vp = text_path_valence(model, venc)
                dest = vader_model if variant == "text_only" else vader_full
                for sub in VADER_SUBSETS:
                    m = vsub == sub
                    if m.sum() > 2:
                        dest.setdefault(sub, []).append(pearson(vp[m], vy[m]))
            spent = time.time() - t1
            if (variant, seed) in fresh:  # trained by train_parallel just now, not an older run
                summary = {**summary, "reused": False, "trained_in_parallel": jobs}
            else:
                spent -= 0 if summary["reused"] else summary["train_seconds"]
            runs.append({**summary, "eval_seconds": round(spent, 1)})
    metrics: dict = {"test": {}, "ablations": {}, "vader_heldout": {}}
    for group, lst in per.items():
        if "." in group:
            v, k = group.split(".", 1)
            metrics["ablations"].setdefault(v, {})[k] = over_seeds(lst)
        else:
            metrics["test"][group] = over_seeds(lst)
    lex = lexicon_scores(vtexts) if len(vtexts) else np.zeros(0)
    for sub in VADER_SUBSETS:
        m = vsub == sub
        if m.sum() <= 2:
            continue
        d = {"n": int(m.sum()), "lexicon_r": round(pearson(lex[m], vy[m]), 4)}
        if sub in vader_model:
            d.update({"model_r": round(float(np.mean(vader_model[sub])), 4),
                      "model_r_std": round(float(np.std(vader_model[sub])), 4),
                      "model_r_seeds": [round(x, 4) for x in vader_model[sub]]})
        if sub in vader_full:  # the double-flow model given text alone
            d["full_model_r"] = round(float(np.mean(vader_full[sub])), 4)
        metrics["vader_heldout"][sub] = d
    for key, conds in calls.items():   # the "full" variant on phone calls (no video)
        metrics[key] = {c: {**over_seeds([{k: v for k, v in d.items() if k != "n"} for d in lst]),
                            "n": lst[0]["n"]} for c, lst in conds.items()}
    if "full" in metrics["test"] and "text_missing" in metrics["test"]:
        f, t = metrics["test"]["full"]["mae"], metrics["test"]["text_missing"]["mae"]
        metrics["gaps"] = {"text_missing_vs_full_mae_pct": round(100 * (t - f) / f, 2)}
    metrics["alpha_mean_test"] = alpha_mean
    metrics["meta"] = {
        "seeds": seeds, "variants": variants, "corpus": cache.meta["corpus"], "cache": str(cache.path),
        "test_rows": int(len(te)), "train_config": asdict(tc), "limits": cache.meta.get("limits", {}),
        "text_cache": _text_path(text_cache),
        "text_rows_available": int(len(text_cache.indices("train"))) if text_cache is not None else 0,
        "torch": torch.__version__, "threads": tc.threads,
        "wall_seconds": round(time.time() - t0, 1), "runs": runs,
        "selection": "best epoch by validation MAE only (test never used for selection)",
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=1))
    runs_dir.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(runs_dir / "predictions.npz", **preds)
    return metrics


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Train/reuse all variants over seeds; write metrics.json + MODEL_CARD.md.")
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    add_limit_args(ap)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS))
    ap.add_argument("--out", type=Path, default=MODELS_DIR / "sdumc-v1")
    ap.add_argument("--runs", type=Path, default=RUNS_DIR)
    ap.add_argument("--retrain", action="store_true", help="ignore existing checkpoints")
    ap.add_argument("--no-card", action="store_true", help="do not render MODEL_CARD.md")
    ap.add_argument("--jobs", type=int, default=1,
                    help="training runs at a time, in worker processes (each with --threads threads)")
    for f in fields(TrainConfig):
        ap.add_argument("--" + f.name.replace("_", "-"), type=type(f.default), default=f.default)
    a = ap.parse_args(argv)
    try:
        bad = [v for v in a.variants if v not in VARIANTS]
        if bad:
            raise ValueError(f"unknown variant(s) {bad}; choose from {', '.join(VARIANTS)}")
        if len(set(a.seeds)) != len(a.seeds) or min(a.seeds) < 0:
            raise ValueError("--seeds must be distinct non-negative integers")
        if a.jobs < 1:
            raise ValueError("--jobs must be >= 1")
        tc = TrainConfig(**{f.name: getattr(a, f.name) for f in fields(TrainConfig)})
        cache = FeatureCache(build_cache(a.corpus, limits=limits_from(a)))
        metrics = evaluate(cache, a.seeds, tc, a.out, a.variants, a.retrain, a.runs,
                           log=lambda s: print(s, file=sys.stderr), jobs=a.jobs)
        if not a.no_card:
            from sdumc.card import render
            render(a.out, a.runs / "predictions.npz")
    except (ValueError, DataError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(json.dumps({k: metrics["test"][k]["mae"] for k in metrics["test"]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
