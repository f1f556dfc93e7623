"""Feature cache and batching: training never re-runs the text encoder or the STFT.

`build_cache(corpus_dir)` reads a corpus with `sdumc.corpus.reader.CorpusReader`, computes
once per utterance
- audio: log-mel frames with `sdumc.frontend.LogMel` (the graph the server runs), float16;
- text: token embeddings from the int8 MiniLM graph (`sdumc.text_encoder.encode.encode_texts`, the
  numbers the server computes), float16, real tokens only;
- video: the raw per-frame features (float32) and a per-frame validity mask (the corpus
  writes a dropped face as an all-zero frame; a frame with a non-finite value is treated
  the same: masked and zeroed),
and stores them ragged (concatenated rows + offsets) as .npy files under
models/cache/<corpus name>-<fingerprint>/ (git-ignored), memory-mapped on load. The
fingerprint covers the corpus files, the front-end config and the text graph, so a changed
corpus or encoder gets a new cache instead of stale features.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

MODELS_DIR = Path(__file__).resolve().parent.parent
CACHE_ROOT = MODELS_DIR / "cache"
SPLITS = ("train", "val", "test")
FORMAT = 1  # bump when the cache layout changes


class DataError(ValueError):
    """Bad or missing input data (corpus, cache); the message says what and where."""


def _fingerprint(corpus_dir: Path, extra: dict) -> str:
    h = hashlib.sha256(json.dumps({"format": FORMAT, **extra}, sort_keys=True).encode())
    for p in sorted(corpus_dir.rglob("*")):
        if p.is_file():
            st = p.stat()
            h.update(f"{p.relative_to(corpus_dir)}:{st.st_size}:{int(st.st_mtime)}".encode())
    return h.hexdigest()[:12]


def _text_graph_id() -> str:
    from sdumc.text_encoder.encode import default_graph
    g = default_graph()
    if not g.is_file():
        raise DataError(f"text encoder graph {g} not found: run python -m sdumc.text_encoder --out sdumc-v1")
    st = g.stat()
    return f"{g.name}:{st.st_size}:{int(st.st_mtime)}"


def open_corpus(corpus_dir: Path):
    """The corpus reader, with a clear error when the folder is not a corpus."""
    corpus_dir = Path(corpus_dir)
    if not corpus_dir.is_dir():
        raise DataError(f"corpus folder {corpus_dir} does not exist "
                        "(generate it with python -m sdumc.corpus, or use fixtures/corpus-mini)")
    from sdumc.corpus.reader import CorpusReader
    try:
        return CorpusReader(corpus_dir)
    except Exception as e:  # reader errors become one clear line
        raise DataError(f"cannot read corpus {corpus_dir}: {e}") from e


def labelled_rows(path: Path) -> list[dict]:
    """The labelled rows ({"split", "text", "valence", "subset", ...}) of a generated corpus, or
    of the labelled-text folder it is generated from (../shared/data: `vader/`, `meld/`). Read
    from the data folder they are the corpus's sentences in the corpus's order (the generator
    writes sdumc.corpus.sources.load_items in order), one row per sentence (a corpus has a
    second row per TEST sentence, its held-out voice): what text-only tools need, without the
    ~40 minutes of speech synthesis."""
    path = Path(path)
    if (path / "vader").is_dir() or (path / "meld").is_dir():
        from sdumc.corpus.sources import load_items
        items, _ = load_items(str(path))
        return [{"id": it.id, "split": it.split, "text": it.text, "valence": it.valence, "subset": it.subset,
                 "source": it.source} for it in items]
    return open_corpus(path).rows


def cache_dir_for(corpus_dir: Path, limits: dict[str, int] | None = None) -> Path:
    """The cache folder a corpus (and row limits) maps to (exists or not)."""
    from sdumc.frontend import LogMelConfig
    corpus_dir = Path(corpus_dir).resolve()
    limits = {k: int(v) for k, v in (limits or {}).items() if v}
    fp = _fingerprint(corpus_dir, {"logmel": asdict(LogMelConfig()), "text": _text_graph_id(),
                                   "limits": limits})
    tag = "".join(f"-{k}{v}" for k, v in sorted(limits.items()))
    return CACHE_ROOT / f"{corpus_dir.name}{tag}-{fp}"


def select_rows(rows: list[dict], limits: dict[str, int] | None, seed: int = 0) -> np.ndarray:
    """Indices of the rows to cache: per split, all rows, or a seeded random subset of
    `limits[split]` rows (in corpus order). Lets a budgeted run use part of a big corpus."""
    keep = []
    rng = np.random.default_rng(seed)
    for sp in SPLITS:
        idx = np.array([i for i, r in enumerate(rows) if r.get("split") == sp], dtype=np.int64)
        n = int((limits or {}).get(sp) or 0)
        if n and len(idx) > n:
            idx = np.sort(rng.choice(idx, n, replace=False))
        keep.append(idx)
    return np.sort(np.concatenate(keep))


def _ragged_save(out: Path, name: str, rows: list[np.ndarray], dtype, width: int) -> None:
    lens = np.array([len(r) for r in rows], dtype=np.int64)
    off = np.concatenate([[0], np.cumsum(lens)]).astype(np.int64)
    flat = np.concatenate(rows, axis=0).astype(dtype) if off[-1] else np.zeros((0, width), dtype)
    np.save(out / f"{name}.npy", flat)
    np.save(out / f"{name}_off.npy", off)


def build_cache(corpus_dir: Path, progress: bool = True, text_batch: int = 64,
                reader=None, limits: dict[str, int] | None = None) -> Path:
    """Compute the feature cache of a corpus (or reuse it) and return its folder.
    `reader` defaults to CorpusReader(corpus_dir); any object with the same
    rows/audio(i)/video(i) interface works. `limits` {split: max rows} caches a seeded
    subset (see select_rows)."""
    from sdumc.frontend import LogMel, LogMelConfig
    from tqdm import tqdm

    corpus_dir = Path(corpus_dir)
    reader = reader if reader is not None else open_corpus(corpus_dir)
    out = cache_dir_for(corpus_dir, limits)
    if (out / "meta.json").is_file():
        return out
    if not reader.rows:
        raise DataError(f"corpus {corpus_dir} has no rows")
    src = select_rows(reader.rows, limits)  # corpus row index of each cached row
    rows = [reader.rows[i] for i in src]
    tmp = out.with_name(out.name + f".tmp{os.getpid()}")
    tmp.mkdir(parents=True, exist_ok=True)
    n = len(rows)
    cfg = LogMelConfig()
    logmel = LogMel(cfg).eval()

    audio_rows: list[np.ndarray] = []
    it = range(n)
    if progress:
        it = tqdm(it, desc="cache: log-mel", unit="utt")
    with torch.no_grad():
        for i in it:
            pcm = np.asarray(reader.audio(int(src[i])), dtype=np.float32)
            if pcm.ndim != 1 or not np.isfinite(pcm).all():
                raise DataError(f"row {i}: audio must be finite mono float32, got shape {pcm.shape}")
            feats, mask = logmel(torch.from_numpy(pcm)[None], torch.tensor([len(pcm)]))
            audio_rows.append(feats[0, : int(mask.sum())].numpy())
    _ragged_save(tmp, "audio", audio_rows, np.float16, cfg.nMels)
    del audio_rows

    texts = [str(r["text"]) for r in rows]
    _save_text_embeddings(tmp, texts, progress, text_batch)

    video_rows, vmask_rows = [], []
    for i in range(n):
        v = np.asarray(reader.video(int(src[i])), dtype=np.float32).reshape(-1, 24)
        ok = np.isfinite(v).all(axis=1) & (np.abs(np.nan_to_num(v)).sum(axis=1) > 0)
        video_rows.append(np.where(ok[:, None], v, 0.0))
        vmask_rows.append(ok.astype(np.float32)[:, None])
    _ragged_save(tmp, "video", video_rows, np.float32, 24)
    _ragged_save(tmp, "vmask", vmask_rows, np.float32, 1)

    _save_labels_and_meta(tmp, corpus_dir, rows, src, texts, {"limits": limits or {}})
    tmp.rename(out)
    return out


def _save_text_embeddings(out: Path, texts: list[str], progress: bool, text_batch: int) -> None:
    """Token embeddings of `texts` from the served int8 graph, ragged, float16, real tokens only."""
    from sdumc.text_encoder.encode import encode_texts
    from tqdm import tqdm

    if any(not t.strip() for t in texts):
        bad = next(i for i, t in enumerate(texts) if not t.strip())
        raise DataError(f"row {bad}: empty text")
    text_rows: list[np.ndarray] = []
    chunk = 1024  # encode in chunks so the padded [chunk, T, 384] array stays small
    starts = range(0, len(texts), chunk)
    if progress:
        starts = tqdm(starts, desc="cache: text encoder", unit="chunk")
    for s in starts:
        emb, mask = encode_texts(texts[s:s + chunk], batch_size=text_batch)
        for e, m in zip(emb, mask):
            text_rows.append(e[: int(m.sum())])
    _ragged_save(out, "text", text_rows, np.float16, 384)


def _save_labels_and_meta(out: Path, corpus_dir: Path, rows: list[dict], src: np.ndarray,
                          texts: list[str], extra: dict) -> None:
    def col(key, default):
        return [r.get(key, default) for r in rows]

    val = np.array([np.nan if v is None else float(v) for v in col("valence", None)], np.float32)
    split = np.array([SPLITS.index(s) if s in SPLITS else -1 for s in col("split", "")], np.int8)
    if (split < 0).any():
        raise DataError(f"corpus {corpus_dir}: split must be one of {SPLITS}")
    np.save(out / "valence.npy", val)
    np.save(out / "split.npy", split)
    meta = {"format": FORMAT, "corpus": str(Path(corpus_dir).resolve()), "n": len(rows),
            **extra, "corpus_rows": src.tolist(),
            "subset": [str(s) for s in col("subset", "")],
            "label3": [None if x is None else str(x) for x in col("label3", None)],
            "voice_family": [str(x) for x in col("voice_family", "espeak")],  # corpus format 2
            "texts": texts}
    (out / "meta.json").write_text(json.dumps(meta))


def text_cache_dir_for(corpus_dir: Path, split: str = "train") -> Path:
    """The folder of a corpus's text-only cache (exists or not); see build_text_cache."""
    corpus_dir = Path(corpus_dir).resolve()
    fp = _fingerprint(corpus_dir, {"text": _text_graph_id(), "text_only": split})
    return CACHE_ROOT / f"{corpus_dir.name}-text{split}-{fp}"


def build_text_cache(corpus_dir: Path, split: str = "train", progress: bool = True,
                     text_batch: int = 64, reader=None) -> Path:
    """Token embeddings of EVERY labelled text of one split of a corpus, with no audio or
    video: rows for text-only supervision (train.TrainConfig.text_rows). A budgeted run
    caches the media of a few thousand utterances, but labelled text is cheap: the text path
    learns from all of it. Same layout as build_cache with zero-length audio and video rows,
    so FeatureCache loads it and its batches have presence (1, 0, 0)."""
    if split not in SPLITS:
        raise DataError(f"split must be one of {SPLITS}, got {split!r}")
    corpus_dir = Path(corpus_dir)
    reader = reader if reader is not None else open_corpus(corpus_dir)
    out = text_cache_dir_for(corpus_dir, split)
    if (out / "meta.json").is_file():
        return out
    src = np.array([i for i, r in enumerate(reader.rows)
                    if r.get("split") == split and r.get("valence") is not None], dtype=np.int64)
    if len(src) == 0:
        raise DataError(f"corpus {corpus_dir} has no labelled {split} rows")
    rows = [reader.rows[i] for i in src]
    tmp = out.with_name(out.name + f".tmp{os.getpid()}")
    tmp.mkdir(parents=True, exist_ok=True)
    texts = [str(r["text"]) for r in rows]
    _save_text_embeddings(tmp, texts, progress, text_batch)
    for name, dtype, width in (("audio", np.float16, 64), ("video", np.float32, 24), ("vmask", np.float32, 1)):
        _ragged_save(tmp, name, [np.zeros((0, width), dtype)] * len(rows), dtype, width)  # no media
    _save_labels_and_meta(tmp, corpus_dir, rows, src, texts, {"text_only": split})
    tmp.rename(out)
    return out


class FeatureCache:
    """A built cache, memory-mapped. Row i: audio(i) [Ta, 64], text(i) [Tt, 384],
    video(i) [Tv, 24] + vmask(i) [Tv]; valence[i] (NaN if unlabelled), split_of[i]."""

    def __init__(self, path: Path) -> None:
        path = Path(path)
        if not (path / "meta.json").is_file():
            raise DataError(f"{path} is not a feature cache (no meta.json); run build_cache first")
        self.path = path
        self.meta = json.loads((path / "meta.json").read_text())
        ld = lambda name: np.load(path / f"{name}.npy", mmap_mode="r")  # noqa: E731
        self._a, self._ao = ld("audio"), ld("audio_off")
        self._t, self._to = ld("text"), ld("text_off")
        self._v, self._vo = ld("video"), ld("video_off")
        self._vm = ld("vmask")
        self.valence = np.asarray(ld("valence"))
        self.split_of = np.asarray(ld("split"))
        self.subset = np.array(self.meta["subset"])
        # TTS family per row; caches of format-1 corpora predate it: all in-family (espeak)
        self.voice_family = np.array(self.meta.get("voice_family") or ["espeak"] * int(self.meta["n"]))
        self.texts = self.meta["texts"]
        self.n = int(self.meta["n"])

    def audio(self, i: int) -> np.ndarray:
        return self._a[self._ao[i]: self._ao[i + 1]]

    def text(self, i: int) -> np.ndarray:
        return self._t[self._to[i]: self._to[i + 1]]

    def video(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        return self._v[self._vo[i]: self._vo[i + 1]], self._vm[self._vo[i]: self._vo[i + 1], 0]

    def audio_len(self) -> np.ndarray:
        return np.diff(self._ao)

    def text_len(self) -> np.ndarray:
        return np.diff(self._to)

    def indices(self, split: str, labelled: bool = True, family: str | None = None) -> np.ndarray:
        """Row indices of a split (only rows with a continuous valence when labelled; only
        rows spoken by voice family `family` ("espeak", "flite") when given)."""
        sel = self.split_of == SPLITS.index(split)
        if labelled:
            sel &= np.isfinite(self.valence)
        if family is not None:
            sel &= self.voice_family == family
        return np.nonzero(sel)[0]

    def norm_stats(self, idx: np.ndarray) -> dict[str, np.ndarray]:
        """Per-feature mean/std of audio and video over the valid frames of rows `idx`."""
        a = np.concatenate([self.audio(i) for i in idx]).astype(np.float64)
        vs = [self.video(i) for i in idx]
        v = np.concatenate([x[m > 0] for x, m in vs]).astype(np.float64)
        if len(a) == 0 or len(v) == 0:
            raise DataError("no valid audio or video frames to compute normalisation stats")
        return {"audio_mean": a.mean(0), "audio_std": a.std(0),
                "video_mean": v.mean(0), "video_std": v.std(0)}

    def batch(self, idx) -> dict[str, torch.Tensor]:
        """Padded tensors for rows idx; presence[:, 2] = 0 for rows without any face frame."""
        idx = list(idx)
        B = len(idx)
        A = [self.audio(i) for i in idx]
        T = [self.text(i) for i in idx]
        V = [self.video(i) for i in idx]
        Ta = max(1, max(len(x) for x in A))
        Tt = max(1, max(len(x) for x in T))
        Tv = max(1, max(len(x[0]) for x in V))
        af = np.zeros((B, Ta, A[0].shape[1] if A[0].ndim == 2 else 64), np.float32)
        am = np.zeros((B, Ta), np.float32)
        te = np.zeros((B, Tt, 384), np.float32)
        tm = np.zeros((B, Tt), np.float32)
        vf = np.zeros((B, Tv, 24), np.float32)
        vm = np.zeros((B, Tv), np.float32)
        for b, (a, t, (v, m)) in enumerate(zip(A, T, V)):
            af[b, : len(a)], am[b, : len(a)] = a, 1.0
            te[b, : len(t)], tm[b, : len(t)] = t, 1.0
            vf[b, : len(v)], vm[b, : len(v)] = v, m
        presence = np.stack([tm.max(1), am.max(1), vm.max(1)], axis=1).astype(np.float32)
        y = self.valence[idx].astype(np.float32)
        t_ = torch.from_numpy
        return {"audio_feats": t_(af), "audio_mask": t_(am), "text_emb": t_(te), "text_mask": t_(tm),
                "video": t_(vf), "video_mask": t_(vm), "presence": t_(presence), "y": t_(y)}


def batches(idx: np.ndarray, batch_size: int, rng: np.random.Generator | None,
            lengths: np.ndarray | None = None) -> list[np.ndarray]:
    """Split rows into batches. With rng: shuffled, then sorted by audio length inside
    windows of 50 batches (less padding, still random), and batch order shuffled."""
    idx = np.asarray(idx)
    if rng is not None:
        idx = idx[rng.permutation(len(idx))]
        if lengths is not None:
            w = batch_size * 50
            idx = np.concatenate([c[np.argsort(lengths[c], kind="stable")]
                                  for c in np.array_split(idx, max(1, math.ceil(len(idx) / w)))])
    out = [idx[s: s + batch_size] for s in range(0, len(idx), batch_size)]
    if rng is not None:
        out = [out[i] for i in rng.permutation(len(out))]
    return out


def add_limit_args(ap) -> None:
    """--train-rows/--val-rows/--test-rows (0 = all): cache a seeded subset of each split."""
    for sp in SPLITS:
        ap.add_argument(f"--{sp}-rows", type=int, default=0, help=f"max {sp} rows cached (0 = all)")


def limits_from(a) -> dict[str, int]:
    lim = {sp: getattr(a, f"{sp}_rows") for sp in SPLITS}
    if any(v < 0 for v in lim.values()):
        raise DataError("--train-rows/--val-rows/--test-rows must be >= 0")
    return {k: v for k, v in lim.items() if v}


def main(argv: list[str] | None = None) -> int:
    """CLI: python -m sdumc.data --corpus corpus/v2  (build the feature cache, print its folder;
    --text-only: the text-only cache of the train split instead)."""
    import argparse
    import sys
    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument("--corpus", type=Path, default=MODELS_DIR / "corpus" / "v2")
    ap.add_argument("--text-only", action="store_true",
                    help="build the text-only cache of every labelled train text (no audio, video)")
    add_limit_args(ap)
    a = ap.parse_args(argv)
    try:
        print(build_text_cache(a.corpus, "train") if a.text_only else build_cache(a.corpus, limits=limits_from(a)))
    except DataError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
