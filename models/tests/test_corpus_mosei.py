"""MoseiReader on a small pickle in the MMSA layout (the real files are not here)."""
import os
import pickle

import numpy as np
import pytest

from sdumc.corpus.errors import CorpusError
from sdumc.corpus.mosei import MoseiReader


def _split(n, rng, t=6, aligned=True):
    audio = rng.normal(size=(n, t, 74)).astype(np.float32)
    audio[0, 0, 0] = -np.inf                     # COVAREP files carry -inf
    d = {"raw_text": [f"clip {i} text " for i in range(n)],
         "id": [f"vid{i}$_$0" for i in range(n)],
         "regression_labels": np.linspace(-3, 3, n).astype(np.float32),
         "audio": audio, "vision": rng.normal(size=(n, t, 35)).astype(np.float32),
         "text": np.zeros((n, t, 768), np.float32)}
    if not aligned:
        d["audio_lengths"] = [t - 1] * n
        d["vision_lengths"] = list(range(1, n + 1))
    return d


def _write(tmp_path, aligned=True, **over):
    rng = np.random.default_rng(0)
    data = {"train": _split(5, rng, aligned=aligned), "valid": _split(2, rng, aligned=aligned),
            "test": _split(3, rng, aligned=aligned)}
    data.update(over)
    p = tmp_path / "aligned_50.pkl"
    with open(p, "wb") as f:
        pickle.dump(data, f)
    return p


def test_reads_rows_splits_and_features(tmp_path):
    r = MoseiReader(_write(tmp_path))
    assert len(r) == 10 and [len(r.split(s)) for s in ("train", "val", "test")] == [5, 2, 3]
    row = r.rows[0]
    assert row["text"] == "clip 0 text" and row["valence"] == -3.0 and row["label3"] == "negative"
    assert r.rows[2]["label3"] == "neutral" and r.rows[4]["label3"] == "positive"
    a = r.audio_features(0)
    assert a.shape == (6, 74) and a.dtype == np.float32 and np.all(np.isfinite(a))
    assert a[0, 0] == 0.0
    assert r.video(7).shape == (6, 35)
    assert r.info["audio_dim"] == 74 and r.info["video_dim"] == 35
    with pytest.raises(CorpusError, match="not PCM"):
        r.audio(0)


def test_unaligned_lengths_remove_padding(tmp_path):
    r = MoseiReader(_write(tmp_path, aligned=False))
    assert r.audio_features(0).shape == (5, 74)
    assert [r.video(i).shape[0] for i in r.split("train")] == [1, 2, 3, 4, 5]


def test_bad_files_are_clear_errors(tmp_path):
    with pytest.raises(CorpusError, match="MMSA pickle not found"):
        MoseiReader(tmp_path / "none.pkl")
    (tmp_path / "junk.pkl").write_bytes(b"not a pickle")
    with pytest.raises(CorpusError, match="not a readable pickle"):
        MoseiReader(tmp_path / "junk.pkl")
    with pytest.raises(CorpusError, match="lacks regression_labels"):
        MoseiReader(_write(tmp_path, test={"raw_text": [], "id": [], "audio": np.zeros((0, 1, 1)),
                                           "vision": np.zeros((0, 1, 1))}))


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_pickles_that_run_code_are_refused(tmp_path):
    p = tmp_path / "evil.pkl"
    with open(p, "wb") as f:
        pickle.dump({"train": _Evil()}, f)
    with pytest.raises(CorpusError, match="refusing to load"):
        MoseiReader(p)
