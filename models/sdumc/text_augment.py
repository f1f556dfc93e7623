"""New unlabelled texts made from training texts, for distillation (`text_distil --augment`).

Why: a distilled student copies the teacher on the texts it is shown. On the corpus's ~20,000
train texts the 4-layer student's valence-head error was 3x lower than on validation texts
(docs/model.md, "A valence-head term"): it learnt those texts, not the teacher. The teacher can
label any text, so the student is shown fresh ones every epoch, made by recombining train texts
(as TinyBERT augments its distillation data): the same vocabulary and style, new sequences.
Only TRAIN texts are used, so validation and test stay unseen.

Operations (one per new text, drawn uniformly):
- splice: the head of one text joined to the tail of another (each cut at a word boundary);
- pair: two whole texts one after the other (longer inputs, two sentiments in one);
- drop: a text with 10-25 % of its words removed;
- crop: a contiguous span of 40-80 % of a text's words.
"""
from __future__ import annotations

import numpy as np


def _splice(a: list[str], b: list[str], rng: np.random.Generator) -> list[str]:
    i = int(rng.integers(1, len(a) + 1)) if len(a) > 1 else len(a)
    j = int(rng.integers(0, len(b))) if len(b) > 1 else 0
    return a[:i] + b[j:]


def _drop(a: list[str], rng: np.random.Generator) -> list[str]:
    keep = rng.random(len(a)) >= rng.uniform(0.10, 0.25)
    out = [w for w, k in zip(a, keep) if k]
    return out or a[:1]


def _crop(a: list[str], rng: np.random.Generator) -> list[str]:
    n = max(1, int(round(len(a) * rng.uniform(0.4, 0.8))))
    start = int(rng.integers(0, len(a) - n + 1))
    return a[start:start + n]


def augment_texts(texts: list[str], n: int, rng: np.random.Generator) -> list[str]:
    """`n` new texts from `texts` (non-empty strings), deterministic for a given `rng` state.
    Texts equal to an input text are kept (rare, harmless: the teacher labels them alike)."""
    if n <= 0:
        return []
    pool = [w for w in (t.split() for t in texts) if w]
    if not pool:
        raise ValueError("augment_texts: no non-empty texts to recombine")
    ops = rng.integers(0, 4, n)
    first = rng.integers(0, len(pool), n)
    second = rng.integers(0, len(pool), n)
    out = []
    for op, i, j in zip(ops, first, second):
        a, b = pool[int(i)], pool[int(j)]
        if op == 0:
            w = _splice(a, b, rng)
        elif op == 1:
            w = a + b
        elif op == 2:
            w = _drop(a, rng)
        else:
            w = _crop(a, rng)
        out.append(" ".join(w))
    return out
