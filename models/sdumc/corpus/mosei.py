"""Read CMU-MOSI / CMU-MOSEI in the MMSA feature-pickle format (`aligned_50.pkl`,
`unaligned_50.pkl` from thuiar/MMSA) with the CorpusReader interface where it can apply.

What the pickle holds, per split ("train", "valid", "test"): `raw_text` [N] str, `id` [N]
("video$_$clip"), `regression_labels` [N] (-3..+3), `audio` [N, T, d_a] (COVAREP: 74-d on
MOSEI, 5-d on MOSI), `vision` [N, T, d_v] (Facet: 35-d MOSEI, 20-d MOSI), optionally
`audio_lengths` / `vision_lengths` (unaligned files), and text features we ignore (the model
encodes `raw_text` with its own text encoder).

Limits (docs/corpus.md): there is no PCM, so `audio(i)` raises and `audio_features(i)` gives
the COVAREP frames instead; the model's in-graph log-mel front-end and its audio-trained text
simulator cannot use them without a different audio projection. The vision features are
Facet, not the 24-d layout of docs/video-features.md. Labels are continuous valence on the
same -3..+3 scale as the generated corpus.

The file is unpickled with an allow-list (dicts, lists, numpy arrays): a pickle can run code,
and a feature file should never need to.
"""
from __future__ import annotations

import os
import pickle
from typing import Any

import numpy as np

from .errors import CorpusError
from .layout import SPLITS, label3_of

SPLIT_NAMES = {"train": "train", "valid": "val", "test": "test"}
"""MMSA split name -> this project's."""

_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"), ("numpy.core.multiarray", "scalar"),
    ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "scalar"), ("builtins", "str"), ("builtins", "list"),
    ("builtins", "dict"), ("collections", "OrderedDict"),
}


class _SafeUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        raise CorpusError(f"pickle wants {module}.{name}, which a feature file never needs; "
                          "refusing to load it")


class MoseiReader:
    """An MMSA pickle, opened with the CorpusReader interface.

    - `rows`: dicts with `id`, `split` (train/val/test), `text`, `valence`, `label3`,
      `source` ("mosei"), `audio_frames`, `video_frames`.
    - `video(i)`: float32 [frames, d_v] Facet features (padding removed where lengths are
      given; -inf and NaN set to 0).
    - `audio_features(i)`: float32 [frames, d_a] COVAREP features, same cleaning.
    - `audio(i)`: raises CorpusError (no PCM in these files).
    - `split(name)`, `info` (`kind`, `audio_dim`, `video_dim`, counts).
    """

    def __init__(self, path: str, source: str = "mosei"):
        self.path = os.fspath(path)
        if not os.path.isfile(self.path):
            raise CorpusError(f"MMSA pickle not found: {self.path}")
        try:
            with open(self.path, "rb") as f:
                data = _SafeUnpickler(f).load()
        except (pickle.UnpicklingError, EOFError, ValueError) as e:
            raise CorpusError(f"{self.path} is not a readable pickle: {e}") from None
        if not isinstance(data, dict) or not all(s in data for s in SPLIT_NAMES):
            raise CorpusError(f"{self.path}: expected a dict with splits "
                              f"{', '.join(SPLIT_NAMES)}")
        self.rows: list[dict[str, Any]] = []
        self._audio: list[np.ndarray] = []
        self._video: list[np.ndarray] = []
        for mmsa, split in SPLIT_NAMES.items():
            self._load_split(data[mmsa], mmsa, split, source)
        self._splits = {s: [i for i, r in enumerate(self.rows) if r["split"] == s]
                        for s in SPLITS}
        self.info = {
            "kind": "mmsa", "path": self.path,
            "audio_dim": int(self._audio[0].shape[1]) if self._audio else 0,
            "video_dim": int(self._video[0].shape[1]) if self._video else 0,
            "counts": {s: len(v) for s, v in self._splits.items()},
        }

    def _load_split(self, d: dict, mmsa: str, split: str, source: str) -> None:
        need = ("raw_text", "id", "regression_labels", "audio", "vision")
        missing = [k for k in need if k not in d]
        if missing:
            raise CorpusError(f"{self.path}: split {mmsa!r} lacks {', '.join(missing)}")
        audio, vision = np.asarray(d["audio"]), np.asarray(d["vision"])
        labels = np.asarray(d["regression_labels"], dtype=np.float64).reshape(-1)
        n = len(d["raw_text"])
        if not (len(d["id"]) == len(labels) == audio.shape[0] == vision.shape[0] == n):
            raise CorpusError(f"{self.path}: split {mmsa!r} has fields of different lengths")
        if audio.ndim != 3 or vision.ndim != 3:
            raise CorpusError(f"{self.path}: split {mmsa!r} audio/vision must be "
                              "[N, frames, dim]")
        a_len = d.get("audio_lengths")
        v_len = d.get("vision_lengths")
        for i in range(n):
            a = _clean(audio[i][: int(a_len[i])] if a_len is not None else audio[i])
            v = _clean(vision[i][: int(v_len[i])] if v_len is not None else vision[i])
            val = float(labels[i])
            if not np.isfinite(val):
                raise CorpusError(f"{self.path}: split {mmsa!r} row {i} has a non-finite label")
            self.rows.append({"id": str(d["id"][i]), "split": split, "source": source,
                              "text": str(d["raw_text"][i]).strip(), "valence": val,
                              "label3": label3_of(val), "audio_frames": len(a),
                              "video_frames": len(v)})
            self._audio.append(a)
            self._video.append(v)

    def __len__(self) -> int:
        return len(self.rows)

    def audio(self, i: int) -> np.ndarray:
        """Not available: MMSA pickles hold COVAREP features, not PCM."""
        raise CorpusError("MMSA pickles hold COVAREP audio features, not PCM; "
                          "use audio_features(i)")

    def audio_features(self, i: int) -> np.ndarray:
        """Utterance i's COVAREP frames, float32 [frames, d_a]."""
        return self._audio[i]

    def video(self, i: int) -> np.ndarray:
        """Utterance i's Facet frames, float32 [frames, d_v]."""
        return self._video[i]

    def split(self, name: str) -> list[int]:
        """Row indices of split `name` ("train", "val", "test")."""
        if name not in self._splits:
            raise CorpusError(f"unknown split {name!r}; expected one of {', '.join(SPLITS)}")
        return list(self._splits[name])


def _clean(x: np.ndarray) -> np.ndarray:
    x = np.array(x, dtype=np.float32)
    x[~np.isfinite(x)] = 0.0
    return x
