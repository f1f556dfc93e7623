"""Training: the double flow with shared weights (full flow = teacher, missing-text flow =
student), the baselines and the ablations, seeded, model selection on VALIDATION only.

  python -m sdumc.train --variant full --seed 0                     # corpus/v2 by default
  python -m sdumc.train --variant naive_fusion --seed 1 --corpus fixtures/corpus-mini

Writes runs/<variant>-s<seed>/best.pt (config + weights + normalisation stats + history).

Variants (same network and budget; DESIGN.md "The model"):
- full:          double flow; loss = MSE(full) + MSE(missing) + RMSE text distillation
                 (teacher detached) + RMSE fused distillation + Rank-N-Contrast (tau = 2)
- no_mia, no_rnc, no_distill: full without MIA / without RNC / without both distillations
- naive_fusion:  the same network without simulator, MIA and distillation, one flow, text
                 dropped (masked out) for a random half of each batch; selected and
                 evaluated with text missing
- text_only:     the same network, one flow, audio and video always absent
Every variant also drops video (p = 0.2) and audio (p = 0.1) per row, never both, so audio
or video missing at serving time is a trained condition.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import time
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

import numpy as np
import torch

from sdumc.data import (MODELS_DIR, DataError, FeatureCache, add_limit_args, batches, build_cache,
                        build_text_cache, limits_from)
from sdumc.losses import LossWeights, double_flow_loss
from sdumc.model import SDUMC, ModelConfig

RUNS_DIR = MODELS_DIR / "runs"
DEFAULT_CORPUS = MODELS_DIR / "corpus" / "v2"

# evaluation conditions: presence multipliers (text, audio, video)
CONDITIONS = {
    "full": (1, 1, 1),
    "text_missing": (0, 1, 1),
    "video_missing": (1, 1, 0),
    "audio_only": (0, 1, 0),
    "text_only": (1, 0, 0),
}


@dataclass
class Variant:
    """What distinguishes a trained variant: model flags, loss weights, flows, masking."""

    name: str
    double_flow: bool = True
    use_simulator: bool = True
    use_mia: bool = True
    loss: LossWeights = field(default_factory=LossWeights)
    text_drop: float = 0.0  # single flow: share of rows trained with text absent
    force_presence: tuple = (1, 1, 1)  # multiplies the data's presence (text_only: 1, 0, 0)
    select_on: tuple = ("full", "text_missing")  # validation conditions whose mean MAE selects


VARIANTS = {
    "full": Variant("full"),
    "no_mia": Variant("no_mia", use_mia=False),
    "no_rnc": Variant("no_rnc", loss=LossWeights(rnc=0.0)),
    "no_distill": Variant("no_distill", loss=LossWeights(distill_text=0.0, distill_fused=0.0)),
    "naive_fusion": Variant("naive_fusion", double_flow=False, use_simulator=False, use_mia=False,
                            loss=LossWeights(distill_text=0.0, distill_fused=0.0),
                            text_drop=0.5, select_on=("text_missing",)),
    "text_only": Variant("text_only", double_flow=False, use_simulator=False, use_mia=False,
                         loss=LossWeights(distill_text=0.0, distill_fused=0.0),
                         force_presence=(1, 0, 0), select_on=("text_only",)),
}


@dataclass
class TrainConfig:
    """Optimisation settings (saved in the checkpoint)."""

    epochs: int = 12
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.01
    patience: int = 4  # epochs without validation improvement before stopping
    max_train: int = 0  # 0 = all training rows; else a seeded subset of this size
    max_val: int = 2000  # validation rows used for selection (seeded subset; 0 = all)
    p_drop_video: float = 0.2
    p_drop_audio: float = 0.1
    grad_clip: float = 1.0
    threads: int = 2
    # text-only supervision: each epoch also draws this many rows (0 = none, -1 = all) from
    # every labelled train-split text of the corpus (data.build_text_cache), trained with
    # presence (1, 0, 0) in the full flow only. Media is costly to synthesise, cache and run;
    # labelled text is not: the text path learns from all of it, the media paths from the
    # budgeted rows. Same for every variant. 8,000 of the 19,817 texts adds ~25 % to a run.
    text_rows: int = 8000


def safe_backends() -> None:
    """Turn oneDNN (mkldnn) off for training. Debian's torch 1.13 returns garbage (1e12..1e37,
    different on every run) from the oneDNN conv1d backward of the audio encoder's strided
    convs; the native kernels are correct and deterministic (tests/test_train.py checks)."""
    torch.backends.mkldnn.enabled = False


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch (CPU)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def model_for(variant: Variant, base: ModelConfig | None = None) -> SDUMC:
    cfg = replace(base or ModelConfig(), use_simulator=variant.use_simulator, use_mia=variant.use_mia)
    return SDUMC(cfg)


def _to_inputs(b: dict[str, torch.Tensor], presence: torch.Tensor) -> tuple:
    return (b["audio_feats"], b["audio_mask"], b["text_emb"], b["text_mask"],
            b["video"], b["video_mask"], presence)


@torch.no_grad()
def predict_many(model: SDUMC, cache: FeatureCache, idx: np.ndarray, conditions: dict[str, tuple],
                 batch_size: int = 128) -> dict[str, dict[str, np.ndarray]]:
    """For each named condition: valence, alpha, beta of rows idx with presence = data
    presence * condition. The frame encoders run once per batch for all conditions."""
    model.eval()
    conds = {k: torch.tensor(c, dtype=torch.float32) for k, c in conditions.items()}
    out = {k: {"valence": [], "alpha": [], "beta": []} for k in conds}
    order = np.argsort(cache.audio_len()[idx], kind="stable")  # less padding
    for bi in batches(idx[order], batch_size, None):
        b = cache.batch(bi)
        enc = model.encode(*_to_inputs(b, b["presence"])[:6])
        for k, c in conds.items():
            o = model.fuse(enc, b["presence"] * c)
            for f in out[k]:
                out[k][f].append(o[f].numpy())
    inv = np.empty_like(order)
    inv[order] = np.arange(len(order))
    return {k: {f: np.concatenate(v)[inv] for f, v in d.items()} for k, d in out.items()}


def predict(model: SDUMC, cache: FeatureCache, idx: np.ndarray, condition: tuple,
            batch_size: int = 128) -> dict[str, np.ndarray]:
    """Valence (and alpha, beta) for rows idx with presence = data presence * condition."""
    return predict_many(model, cache, idx, {"c": condition}, batch_size)["c"]


def _drop_av(presence: torch.Tensor, tc: TrainConfig, gen: torch.Generator) -> torch.Tensor:
    """Randomly mark video (or else audio) absent per row; never both."""
    B = presence.shape[0]
    u = torch.rand(B, generator=gen)
    p = presence.clone()
    p[:, 2] *= (u >= tc.p_drop_video).float()
    drop_a = (u >= tc.p_drop_video) & (u < tc.p_drop_video + tc.p_drop_audio)
    p[:, 1] *= (~drop_a).float()
    return p


def parse_loss(items: list[str] | None) -> dict[str, float]:
    """`["distill_text=0.3", "rnc=0"]` -> {"distill_text": 0.3, "rnc": 0.0}, names checked
    against LossWeights (for hyper-parameter searches on the validation split)."""
    out: dict[str, float] = {}
    names = {f.name for f in fields(LossWeights)}
    for it in items or []:
        k, sep, v = it.partition("=")
        if not sep or k not in names:
            raise ValueError(f"--loss {it!r}: expected NAME=VALUE with NAME one of {', '.join(sorted(names))}")
        try:
            out[k] = float(v)
        except ValueError:
            raise ValueError(f"--loss {it!r}: {v!r} is not a number") from None
        if not out[k] >= 0:
            raise ValueError(f"--loss {it!r}: weights must be >= 0")
    return out


def text_rows_per_epoch(tc: TrainConfig, available: int) -> int:
    """How many text-only rows an epoch draws, given how many the text cache holds."""
    return available if tc.text_rows < 0 else min(tc.text_rows, available)


def _epoch_batches(tr: np.ndarray, text_tr: np.ndarray, tc: TrainConfig, rng: np.random.Generator,
                   lens: np.ndarray, text_lens: np.ndarray | None) -> list[tuple[bool, np.ndarray]]:
    """One epoch's batches as (is_text_only, rows): the media rows, plus tc.text_rows rows
    drawn afresh each epoch from the text-only rows, in one shuffled order."""
    out = [(False, b) for b in batches(tr, tc.batch_size, rng, lens)]
    if len(text_tr):
        pick = np.sort(rng.choice(text_tr, text_rows_per_epoch(tc, len(text_tr)), replace=False))
        out += [(True, b) for b in batches(pick, tc.batch_size, rng, text_lens)]
        out = [out[i] for i in rng.permutation(len(out))]
    return out


def train(variant_name: str, seed: int, cache: FeatureCache, tc: TrainConfig,
          out_dir: Path, base: ModelConfig | None = None, progress: bool = True,
          log=print, loss_override: dict[str, float] | None = None,
          text_cache: FeatureCache | None = None) -> dict:
    """Train one variant with one seed; write out_dir/best.pt; return a summary dict.
    `loss_override` replaces loss weights of the variant (terms it switches off stay off).
    `text_cache` (data.build_text_cache) supplies the text-only rows when tc.text_rows != 0."""
    if variant_name not in VARIANTS:
        raise ValueError(f"unknown variant {variant_name!r}; choose from {', '.join(VARIANTS)}")
    v = VARIANTS[variant_name]
    if loss_override:
        keep = {k: x for k, x in loss_override.items() if getattr(v.loss, k) or k == "rnc_tau"}
        v = replace(v, loss=replace(v.loss, **keep))
    torch.set_num_threads(tc.threads)
    safe_backends()
    seed_everything(seed)
    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(seed)
    tr = cache.indices("train")
    va = cache.indices("val")
    if len(tr) == 0 or len(va) == 0:
        raise DataError(f"cache {cache.path}: need labelled train and val rows (got {len(tr)}, {len(va)})")
    if tc.max_train and len(tr) > tc.max_train:
        tr = np.sort(rng.choice(tr, tc.max_train, replace=False))
    if tc.max_val and len(va) > tc.max_val:
        va = np.sort(np.random.default_rng(1234).choice(va, tc.max_val, replace=False))  # same for all
    text_tr = np.zeros(0, np.int64)
    text_cache = resolve_text_cache(cache, tc, text_cache, progress)
    if text_cache is not None:
        text_tr = text_cache.indices("train")
        if len(text_tr) == 0:
            raise DataError(f"text cache {text_cache.path}: no labelled train rows")
    text_lens = text_cache.text_len() if text_cache is not None else None
    model = model_for(v, base)
    stats = cache.norm_stats(tr)
    model.set_norm_stats(**stats)
    opt = torch.optim.AdamW(model.parameters(), lr=tc.lr, weight_decay=tc.weight_decay)
    n_text = text_rows_per_epoch(tc, len(text_tr))
    steps_per_epoch = max(1, -(-len(tr) // tc.batch_size) + -(-n_text // tc.batch_size))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=tc.lr, total_steps=tc.epochs * steps_per_epoch,
                                                pct_start=0.1)
    force = torch.tensor(v.force_presence, dtype=torch.float32)
    lens = cache.audio_len()
    best, best_state, bad, history = float("inf"), None, 0, []
    t0 = time.time()
    for epoch in range(tc.epochs):
        model.train()
        bl = _epoch_batches(tr, text_tr, tc, rng, lens, text_lens)
        it = bl
        if progress:
            from tqdm import tqdm
            it = tqdm(bl, desc=f"{variant_name}-s{seed} ep{epoch + 1}/{tc.epochs}", unit="batch",
                      leave=False, file=sys.stderr)
        sums: dict[str, float] = {}
        for text_only, bi in it:
            if text_only:  # text alone, full flow only: nothing to simulate text from, nothing to drop
                b = text_cache.batch(bi)
                pres = b["presence"] * force
            else:
                b = cache.batch(bi)
                pres = _drop_av(b["presence"], tc, gen) * force
                if not v.double_flow and v.text_drop:
                    keep = (torch.rand(len(bi), generator=gen) >= v.text_drop).float()
                    pres[:, 0] *= keep
            enc = model.encode(*_to_inputs(b, pres)[:6])  # frame encoders shared by both flows
            full = model.fuse(enc, pres)
            missing = None
            if v.double_flow and not text_only:
                pm = pres.clone()
                pm[:, 0] = 0.0
                missing = model.fuse(enc, pm)
            loss, parts = double_flow_loss(full, missing, b["y"], v.loss)
            if not torch.isfinite(loss):
                raise FloatingPointError(f"non-finite loss at epoch {epoch + 1}: {parts}")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), tc.grad_clip)
            opt.step()
            sched.step()
            for k, x in parts.items():
                sums[k] = sums.get(k, 0.0) + x
            sums["total"] = sums.get("total", 0.0) + float(loss)
            if progress:
                it.set_postfix(loss=f"{float(loss):.3f}")
        pv = predict_many(model, cache, va, {c: CONDITIONS[c] for c in v.select_on})
        val = {c: float(np.mean(np.abs(pv[c]["valence"] - cache.valence[va]))) for c in v.select_on}
        score = float(np.mean(list(val.values())))
        rec = {"epoch": epoch + 1, "seconds": round(time.time() - t0, 1),
               "train": {k: round(x / len(bl), 4) for k, x in sums.items()},
               "val_mae": {k: round(x, 4) for k, x in val.items()}, "select": round(score, 4)}
        history.append(rec)
        log(json.dumps(rec))
        if score < best - 1e-4:
            best, bad = score, 0
            best_state = {k: t.detach().clone() for k, t in model.state_dict().items()}
        else:
            bad += 1
            if bad >= tc.patience:
                break
    model.load_state_dict(best_state)
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = {"variant": variant_name, "seed": seed, "best_val_select": best,
               "best_epoch": min(history, key=lambda r: r["select"])["epoch"],
               "epochs_run": len(history), "train_seconds": round(time.time() - t0, 1),
               "train_rows": int(len(tr)), "val_rows": int(len(va)),
               "text_rows_per_epoch": int(n_text), "text_rows_available": int(len(text_tr))}
    ckpt = model.checkpoint(variant=asdict(v), train_config=asdict(tc), history=history,
                            summary=summary, cache=str(cache.path),
                            text_cache=str(text_cache.path) if len(text_tr) else None,
                            norm_stats={k: x.tolist() for k, x in stats.items()})
    torch.save(ckpt, out_dir / "best.pt")
    (out_dir / "summary.json").write_text(json.dumps({**summary, "history": history}, indent=1))
    return summary


def text_cache_for(corpus: Path, tc: TrainConfig, progress: bool = True) -> FeatureCache | None:
    """The text-only cache of a corpus's train split when tc asks for text rows, else None."""
    if tc.text_rows < -1:
        raise ValueError("--text-rows must be >= 0, or -1 for all")
    return FeatureCache(build_text_cache(corpus, "train", progress=progress)) if tc.text_rows else None


def resolve_text_cache(cache: FeatureCache, tc: TrainConfig, text_cache: FeatureCache | None,
                       progress: bool = False) -> FeatureCache | None:
    """The text cache a run uses: None without text rows; else the one given, or the one of
    the media cache's own corpus (built on first use)."""
    if not tc.text_rows:
        return None
    return text_cache or text_cache_for(Path(cache.meta["corpus"]), tc, progress)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Train one SDUMC variant with one seed.")
    ap.add_argument("--variant", default="full", help=f"one of {', '.join(VARIANTS)}")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    add_limit_args(ap)
    ap.add_argument("--out", type=Path, default=None, help="default runs/<variant>-s<seed>")
    ap.add_argument("--no-progress", action="store_true")
    ap.add_argument("--loss", nargs="*", metavar="NAME=W", help="override loss weights, e.g. distill_text=0.3")
    for f, default in asdict(TrainConfig()).items():
        ap.add_argument("--" + f.replace("_", "-"), type=type(default), default=default)
    for f in ("d", "audio_channels", "sim_slots", "n_heads"):
        ap.add_argument("--" + f.replace("_", "-"), type=int, default=getattr(ModelConfig(), f))
    a = ap.parse_args(argv)
    try:
        if a.variant not in VARIANTS:
            raise ValueError(f"unknown variant {a.variant!r}; choose from {', '.join(VARIANTS)}")
        parse_loss(a.loss)  # bad weights fail before the cache is built
        if a.seed < 0:
            raise ValueError("--seed must be >= 0")
        tc = TrainConfig(**{f: getattr(a, f) for f in asdict(TrainConfig())})
        if tc.epochs < 1 or tc.batch_size < 2:
            raise ValueError("--epochs must be >= 1 and --batch-size >= 2")
        base = ModelConfig(d=a.d, audio_channels=a.audio_channels, sim_slots=a.sim_slots, n_heads=a.n_heads)
        if base.d % base.n_heads:
            raise ValueError("--d must be a multiple of --n-heads")
        cache = FeatureCache(build_cache(a.corpus, progress=not a.no_progress, limits=limits_from(a)))
        text_cache = text_cache_for(a.corpus, tc, progress=not a.no_progress)
        out = a.out or RUNS_DIR / f"{a.variant}-s{a.seed}"
        s = train(a.variant, a.seed, cache, tc, out, base, progress=not a.no_progress,
                  loss_override=parse_loss(a.loss), text_cache=text_cache)
    except (ValueError, DataError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(json.dumps(s))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
