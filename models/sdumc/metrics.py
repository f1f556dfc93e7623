"""Metrics of valence predictions against labels: Pearson r, weighted F1, the regression set
(MAE, r, binary and 7-class accuracy) and the phone-call set on three classes.

A leaf: numpy and the corpus's neutral band only, so a command that needs one number (the
text tuner's r, a benchmark's) does not import the evaluation and training stack.
"""
from __future__ import annotations

import numpy as np

from sdumc.corpus.layout import NEUTRAL_BAND


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation; 0.0 when either side is constant (undefined r)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    a, b = a - a.mean(), b - b.mean()
    den = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / den) if den > 0 else 0.0


def f1_weighted(pred: np.ndarray, true: np.ndarray) -> float:
    """F1 per class (classes present in `true`), weighted by the class's support in `true`."""
    pred, true = np.asarray(pred), np.asarray(true)
    total = 0.0
    for c in np.unique(true):
        tp = np.sum((pred == c) & (true == c))
        fp = np.sum((pred == c) & (true != c))
        fn = np.sum((pred != c) & (true == c))
        f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0
        total += f1 * np.sum(true == c)
    return float(total / len(true)) if len(true) else 0.0


def regression_metrics(pred: np.ndarray, true: np.ndarray) -> dict[str, float]:
    """mae, corr, acc2, f1, acc2_nonzero, f1_nonzero, acc7 of valence predictions."""
    pred, true = np.asarray(pred, np.float64), np.asarray(true, np.float64)
    if pred.shape != true.shape or pred.ndim != 1 or len(pred) == 0:
        raise ValueError(f"need two equal-length non-empty 1-d arrays, got {pred.shape}, {true.shape}")
    if not (np.isfinite(pred).all() and np.isfinite(true).all()):
        raise ValueError("predictions and labels must be finite")
    nn_p, nn_t = pred >= 0, true >= 0
    nz = true != 0
    r7 = lambda x: np.round(np.clip(x, -3, 3))  # noqa: E731
    return {
        "mae": float(np.mean(np.abs(pred - true))),
        "corr": pearson(pred, true),
        "acc2": float(np.mean(nn_p == nn_t)),
        "f1": f1_weighted(nn_p, nn_t),
        "acc2_nonzero": float(np.mean((pred[nz] > 0) == (true[nz] > 0))) if nz.any() else 0.0,
        "f1_nonzero": f1_weighted(pred[nz] > 0, true[nz] > 0) if nz.any() else 0.0,
        "acc7": float(np.mean(r7(pred) == r7(true))),
    }


def class3(valence: np.ndarray) -> np.ndarray:
    """-1 / 0 / +1 per valence: negative below -NEUTRAL_BAND, positive above +NEUTRAL_BAND
    (the corpus's label3 rule and the model manifest's neutral band)."""
    v = np.asarray(valence, np.float64)
    return np.where(v < -NEUTRAL_BAND, -1, np.where(v > NEUTRAL_BAND, 1, 0))


def call_metrics(pred: np.ndarray, true: np.ndarray) -> dict[str, float]:
    """The issue's phone-call metrics: corr (Pearson r), f1 (3-class weighted F1 of class3),
    mae, and n (rows)."""
    m = regression_metrics(pred, true)   # same input checks
    return {"corr": m["corr"], "f1": f1_weighted(class3(pred), class3(true)), "mae": m["mae"],
            "n": len(np.asarray(true))}


def word_errors(ref: str, hyp: str) -> tuple[int, int]:
    """(word edits, reference words): Levenshtein over lower-cased words, punctuation dropped on
    both sides (apostrophes kept). WER over a set = sum of edits / sum of reference words."""
    norm = lambda s: "".join(c.lower() if c.isalnum() or c == "'" else " " for c in s).split()  # noqa: E731
    r, h = norm(ref), norm(hyp)
    d = list(range(len(h) + 1))
    for i, rw in enumerate(r, 1):
        prev, d[0] = d[0], i
        for j, hw in enumerate(h, 1):
            prev, d[j] = d[j], min(d[j] + 1, d[j - 1] + 1, prev + (rw != hw))
    return d[len(h)], len(r)
