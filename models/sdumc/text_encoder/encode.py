"""Running the exported int8 graph with onnxruntime, as the server does: sessions, the graph
the feature caches use, `encode_texts`, and sentence-transformers' mean pooling."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .contract import DIM, INT8_FILE, MAX_TOKENS, OUTPUT_NAME
from .tokens import load_tokenizer, tokenize


def mean_pool(emb: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Sentence vectors [N, D] as sentence-transformers pools them (masked mean)."""
    m = mask.astype(np.float32)[..., None]
    return (emb.astype(np.float32) * m).sum(1) / np.maximum(m.sum(1), 1e-9)


def session(path: Path, threads: int = 0):
    """onnxruntime CPU session for `path` (threads 0 = onnxruntime's default)."""
    import onnxruntime as ort

    if not Path(path).is_file():
        raise FileNotFoundError(f"ONNX graph not found: {path} (run python -m sdumc.text_encoder --out <dir>)")
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def default_graph() -> Path:
    """The int8 graph the feature caches and evaluations encode with: `SDUMC_TEXT_GRAPH` when
    set (scripts/train-model.sh points it at the version it is building, so a version other
    than the current one trains on its own text encoder), else the current version's
    (models/CURRENT)."""
    if os.environ.get("SDUMC_TEXT_GRAPH"):
        return Path(os.environ["SDUMC_TEXT_GRAPH"])
    models = Path(__file__).resolve().parents[2]  # models/
    version = (models / "CURRENT").read_text().strip() if (models / "CURRENT").is_file() else "sdumc-v1"
    return models / version / INT8_FILE


def encode_texts(texts: list[str], max_tokens: int = MAX_TOKENS, batch_size: int = 32,
                 graph: Path | None = None, progress: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Token embeddings of `texts` from the int8 ONNX graph, as the server computes them.

    Returns (emb float16 [N, T, 384], mask float32 [N, T]) with T = the longest encoding over
    all texts (<= max_tokens); emb is 0 where mask is 0. Texts are encoded in batches of
    `batch_size` in input order; int8 activation scales are per batch (dynamic quantisation), so a
    text's numbers move with its batch mates (pooled cosine 0.97..0.99 between batch 1 and
    16); training on batched encodings shows the network that noise, which the server's
    micro-batching also makes. Static (calibrated) int8 removes the batch dependence but
    costs far more accuracy on this model (pooled cosine to fp32 0.81..0.93), so it is not used."""
    sess = session(graph or default_graph())
    tok = load_tokenizer(max_tokens)
    lens = [len(e.ids) for e in tok.encode_batch(texts)] if texts else []
    if not texts:
        raise ValueError("encode_texts: no texts")
    T = max(lens)
    emb = np.zeros((len(texts), T, DIM), dtype=np.float16)
    mask = np.zeros((len(texts), T), dtype=np.float32)
    starts = range(0, len(texts), batch_size)
    if progress:
        from tqdm import tqdm
        starts = tqdm(starts, desc="text encoder", unit="batch")
    for s in starts:
        feeds = tokenize(texts[s:s + batch_size], max_tokens, tok)
        out = sess.run([OUTPUT_NAME], feeds)[0]
        m = feeds["attention_mask"].astype(np.float32)
        t = out.shape[1]
        emb[s:s + len(out), :t] = (out * m[..., None]).astype(np.float16)
        mask[s:s + len(out), :t] = m
    return emb, mask
