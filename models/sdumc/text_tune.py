"""Sentiment-tune the text encoder: the top layers of all-MiniLM-L6-v2 learn valence.

The packaged MiniLM was trained for sentence similarity, not sentiment: a ridge regression on
its frozen, mean-pooled embeddings reaches r = 0.73 on held-out VADER tweets, below the VADER
lexicon's 0.85 (docs/model.md). This command fine-tunes the top `--layers` transformer layers
(plus a linear valence head on the mean-pooled output) on the corpus's TRAIN split texts with
their human valence labels, selects the epoch on the VALIDATION split, and reports the test
split per subset next to the lexicon. Test sentences are never seen (the corpus splits by
sentence).

The lower layers stay frozen, so their output is computed once per text and cached in memory;
an epoch then costs the top layers only (8-12 min for 2 layers on 2 cores, after a 10 min
frozen pass over the 28,415 corpus texts). The tuned
weights replace the packaged ones in the exported int8 graph (`sdumc.text_encoder.export`
through `python -m sdumc.text_encoder --tuned`); the head is dropped: the fusion network reads the token embeddings.

  python -m sdumc.text_tune                                  # corpus/v2 -> runs/text-tune/
  python -m sdumc.text_encoder --out sdumc-v1 --tuned runs/text-tune/best.pt
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from sdumc.data import MODELS_DIR, DataError, labelled_rows
from sdumc.metrics import pearson
from sdumc.text_encoder.contract import MAX_TOKENS
from sdumc.text_encoder.model import MiniLM, load_minilm
from sdumc.text_encoder.tokens import load_tokenizer

RUNS_DIR = MODELS_DIR / "runs"
SUBSETS = ("movie", "tweets", "nyt", "meld")


def _texts(corpus: Path) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """Texts, valence (NaN if none), split names and subsets of the corpus's labelled rows,
    one entry per distinct (split, text) (a sentence spoken by several voices counts once).
    `corpus` may also be the labelled-text folder the corpus is generated from (../shared/data:
    `vader/`, `meld/`; `sdumc.data.labelled_rows`): the same texts, labels, splits and order."""
    rows = labelled_rows(corpus)
    seen: set[tuple[str, str]] = set()
    keep = []
    for r in rows:
        if r.get("valence") is None or (r["split"], r["text"]) in seen:
            continue
        seen.add((r["split"], r["text"]))
        keep.append(r)
    if not keep:
        raise DataError(f"corpus {corpus}: no labelled rows")
    return ([str(r["text"]) for r in keep], np.array([float(r["valence"]) for r in keep], np.float32),
            np.array([r["split"] for r in keep]), np.array([str(r.get("subset", "")) for r in keep]))


class Tuner(nn.Module):
    """The top layers of a MiniLM plus a linear valence head on their mean-pooled output."""

    def __init__(self, base: MiniLM, n_top: int) -> None:
        super().__init__()
        self.top = nn.ModuleList(base.layers[len(base.layers) - n_top:])
        self.head = nn.Linear(base.layers[0].query.in_features, 1)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        bias = (1.0 - mask)[:, None, None, :] * -10000.0  # as MiniLM.forward
        for layer in self.top:
            x = layer(x, bias)
        m = mask.unsqueeze(-1)
        pooled = (x * m).sum(1) / m.sum(1).clamp(min=1.0)
        return self.head(pooled).squeeze(-1)


@torch.no_grad()
def lower_states(base: MiniLM, n_top: int, texts: list[str], batch: int = 64,
                 progress: bool = True) -> list[np.ndarray]:
    """Hidden states entering the first tuned layer, per text: float16 [tokens, 384]."""
    tok = load_tokenizer(MAX_TOKENS)
    tok.no_padding()  # real lengths; batches are padded below
    enc = tok.encode_batch(texts)
    order = np.argsort([len(e.ids) for e in enc], kind="stable")
    out: list[np.ndarray | None] = [None] * len(texts)
    starts = range(0, len(texts), batch)
    if progress:
        from tqdm import tqdm
        starts = tqdm(starts, desc="text-tune: frozen layers", unit="batch", file=sys.stderr)
    cut = len(base.layers) - n_top
    for s in starts:
        idx = order[s:s + batch]
        T = max(len(enc[i].ids) for i in idx)
        ids = torch.zeros(len(idx), T, dtype=torch.long)
        am = torch.zeros(len(idx), T)
        for j, i in enumerate(idx):
            n = len(enc[i].ids)
            ids[j, :n] = torch.tensor(enc[i].ids)
            am[j, :n] = 1.0
        pos = torch.arange(T).unsqueeze(0)
        x = base.emb_ln(base.word(ids) + base.pos(pos) + base.tok_type(torch.zeros_like(ids)))
        bias = (1.0 - am)[:, None, None, :] * -10000.0
        for layer in base.layers[:cut]:
            x = layer(x, bias)
        for j, i in enumerate(idx):
            out[i] = x[j, : int(am[j].sum())].numpy().astype(np.float16)
    return out  # type: ignore[return-value]


def epoch_batches(idx: np.ndarray, lens: np.ndarray, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """One epoch's batches of `idx`: shuffled, sorted by length within windows of 50 batches
    (little padding), the batches then in random order."""
    perm = idx[rng.permutation(len(idx))]
    win = batch_size * 50
    perm = np.concatenate([c[np.argsort(lens[c], kind="stable")]
                           for c in np.array_split(perm, max(1, math.ceil(len(perm) / win)))])
    bl = [perm[s:s + batch_size] for s in range(0, len(perm), batch_size)]
    return [bl[i] for i in rng.permutation(len(bl))]


def _batch(states: list[np.ndarray], idx: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    T = max(len(states[i]) for i in idx)
    x = np.zeros((len(idx), T, states[idx[0]].shape[1]), np.float32)
    m = np.zeros((len(idx), T), np.float32)
    for j, i in enumerate(idx):
        x[j, : len(states[i])] = states[i]
        m[j, : len(states[i])] = 1.0
    return torch.from_numpy(x), torch.from_numpy(m)


@torch.no_grad()
def predict(model: Tuner, states: list[np.ndarray], idx: np.ndarray, batch: int = 128) -> np.ndarray:
    model.eval()
    order = idx[np.argsort([len(states[i]) for i in idx], kind="stable")]
    pred = {}
    for s in range(0, len(order), batch):
        b = order[s:s + batch]
        for i, p in zip(b, model(*_batch(states, b)).numpy()):
            pred[int(i)] = float(p)
    return np.array([pred[int(i)] for i in idx], np.float32)


def tune(corpus: Path, out_dir: Path, n_top: int = 2, epochs: int = 3, lr: float = 5e-5,
         head_lr: float = 1e-3, batch_size: int = 32, seed: int = 0, threads: int = 2,
         progress: bool = True, log=print) -> dict:
    """Fine-tune, select on validation MAE, write out_dir/best.pt (whole MiniLM state_dict with
    the tuned layers, + config and metrics) and out_dir/metrics.json; return the metrics."""
    if not 1 <= n_top <= 6:
        raise ValueError(f"--layers {n_top}: tune 1..6 of the 6 layers")
    if epochs < 1 or batch_size < 2:
        raise ValueError("--epochs must be >= 1 and --batch-size >= 2")
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    texts, y, split, subset = _texts(corpus)
    tr, va, te = (np.nonzero(split == s)[0] for s in ("train", "val", "test"))
    if len(tr) == 0 or len(va) == 0:
        raise DataError(f"corpus {corpus}: need train and val texts (got {len(tr)}, {len(va)})")
    t0 = time.time()
    base = load_minilm().eval()
    states = lower_states(base, n_top, texts, progress=progress)
    log(json.dumps({"texts": len(texts), "train": len(tr), "val": len(va), "test": len(te),
                    "frozen_seconds": round(time.time() - t0, 1)}))
    model = Tuner(base, n_top)
    with torch.no_grad():  # start the head at the mean label, so early steps fit the slope
        model.head.bias.fill_(float(y[tr].mean()))
    opt = torch.optim.AdamW([{"params": model.top.parameters(), "lr": lr},
                             {"params": model.head.parameters(), "lr": head_lr}], weight_decay=0.01)
    steps = epochs * math.ceil(len(tr) / batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=[lr, head_lr], total_steps=steps, pct_start=0.1)
    lens = np.array([len(s) for s in states])
    best, best_state, history = float("inf"), None, []
    for epoch in range(epochs):
        model.train()
        bl = epoch_batches(tr, lens, batch_size, rng)
        it = bl
        if progress:
            from tqdm import tqdm
            it = tqdm(bl, desc=f"text-tune ep{epoch + 1}/{epochs}", unit="batch", leave=False, file=sys.stderr)
        total = 0.0
        for b in it:
            x, m = _batch(states, b)
            loss = nn.functional.mse_loss(model(x, m), torch.from_numpy(y[b]))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            total += float(loss)
        pv = predict(model, states, va)
        val_mae = float(np.mean(np.abs(pv - y[va])))
        rec = {"epoch": epoch + 1, "train_mse": round(total / len(bl), 4), "val_mae": round(val_mae, 4),
               "val_r": round(pearson(pv, y[va]), 4), "seconds": round(time.time() - t0, 1)}
        history.append(rec)
        log(json.dumps(rec))
        if val_mae < best:
            best = val_mae
            best_state = {k: t.detach().clone() for k, t in model.state_dict().items()}
    model.load_state_dict(best_state)
    metrics: dict = {"layers_tuned": n_top, "epochs": epochs, "lr": lr, "seed": seed,
                     "train_texts": int(len(tr)), "val_texts": int(len(va)), "history": history,
                     "best_val_mae": round(best, 4), "seconds": round(time.time() - t0, 1), "test": {}}
    if len(te):
        from sdumc.lexicon import Lexicon
        pt = predict(model, states, te)
        lex = Lexicon().compound([texts[i] for i in te])
        for sub in SUBSETS:
            k = subset[te] == sub
            if k.sum() > 2:
                metrics["test"][sub] = {"n": int(k.sum()), "tuned_r": round(pearson(pt[k], y[te][k]), 4),
                                        "lexicon_r": round(pearson(lex[k], y[te][k]), 4)}
    out_dir.mkdir(parents=True, exist_ok=True)
    # the whole encoder, tuned layers in place (`Tuner.top` shares modules with `base`)
    torch.save({"format": 1, "kind": "minilm-tuned", "layers_tuned": n_top, "state_dict": base.state_dict(),
                "head": model.head.state_dict(), "metrics": metrics}, out_dir / "best.pt")
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=1))
    return metrics


def load_tuned(path: Path) -> MiniLM:
    """The MiniLM of a text-tune checkpoint (packaged architecture, tuned weights), eval mode."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"text-tune checkpoint not found: {path}")
    try:
        ck = torch.load(Path(path), map_location="cpu")
    except Exception as e:  # unpickling errors of a wrong file become one clear line
        raise ValueError(f"{path}: not a text-tune checkpoint ({type(e).__name__})") from e
    if not isinstance(ck, dict) or ck.get("kind") != "minilm-tuned":
        raise ValueError(f"{path}: not a text-tune checkpoint (python -m sdumc.text_tune writes one)")
    model = load_minilm()
    model.load_state_dict(ck["state_dict"], strict=True)
    return model.eval()


def summary(path: Path) -> dict:
    """What a text-tune checkpoint was trained on and how it scored (for text_encoder.json)."""
    m = torch.load(Path(path), map_location="cpu")["metrics"]
    keep = ("layers_tuned", "epochs", "lr", "seed", "train_texts", "val_texts", "best_val_mae", "test")
    return {k: m[k] for k in keep if k in m}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m sdumc.text_tune", description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, default=MODELS_DIR / "corpus" / "v2")
    ap.add_argument("--out", type=Path, default=RUNS_DIR / "text-tune")
    ap.add_argument("--layers", type=int, default=2, help="top layers tuned (1..6)")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-progress", action="store_true")
    a = ap.parse_args(argv)
    try:
        m = tune(a.corpus, a.out, a.layers, a.epochs, a.lr, batch_size=a.batch_size, seed=a.seed,
                 threads=a.threads, progress=not a.no_progress, log=lambda s: print(s, file=sys.stderr))
    except (ValueError, DataError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(json.dumps(m["test"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
