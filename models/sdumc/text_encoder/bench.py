"""Sentences/s of an exported text graph (onnxruntime python, default threads)."""
from __future__ import annotations

import time
from pathlib import Path

from .encode import session
from .tokens import load_tokenizer, tokenize


def bench(graph: Path, texts: list[str], seconds: float = 5.0) -> dict[str, float]:
    """Sentences/s of `graph` at batch 1 and 32 on `texts` (onnxruntime default threads)."""
    sess = session(graph)
    tok = load_tokenizer()
    res = {}
    for bs in (1, 32):
        batches = [tokenize(texts[i:i + bs], tok=tok) for i in range(0, len(texts) - bs + 1, bs)]
        sess.run(None, batches[0])  # warm-up
        n, t0, i = 0, time.perf_counter(), 0
        while time.perf_counter() - t0 < seconds:
            sess.run(None, batches[i % len(batches)])
            n += bs
            i += 1
        res[f"batch{bs}"] = n / (time.perf_counter() - t0)
    return res
