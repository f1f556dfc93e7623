"""Write a corpus folder (format in reader.py and docs/corpus.md). Files are written under
temporary names and renamed at the end, so an interrupted run never leaves a folder that the
reader would take for a complete corpus."""
from __future__ import annotations

import fcntl
import json
import os

import numpy as np

from .errors import CorpusError
from .layout import FEATURE_DIM

FILES = ("meta.jsonl", "audio.i16", "video.f16")


class CorpusWriter:
    """Appends utterances in order; `close(info)` writes corpus.json and publishes the files."""

    def __init__(self, out_dir: str, force: bool):
        self.out = out_dir
        if os.path.exists(out_dir) and not os.path.isdir(out_dir):
            raise CorpusError(f"--out {out_dir} exists and is not a folder")
        existing = [f for f in FILES + ("corpus.json",) if os.path.exists(os.path.join(out_dir, f))]
        if existing and not force:
            raise CorpusError(f"{out_dir} already holds a corpus ({', '.join(existing)}); "
                              "pass --force to overwrite it")
        os.makedirs(out_dir, exist_ok=True)
        # one writer per folder: a second run into the same folder would interleave files
        self._lock = open(os.path.join(out_dir, ".lock"), "w")
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock.close()          # not ours: leave the holder's lock file alone
            raise CorpusError(f"another generator is writing to {out_dir}") from None
        if "corpus.json" in existing:  # unpublish first: a crash below leaves no half corpus
            os.remove(os.path.join(out_dir, "corpus.json"))
        self._f = {n: open(os.path.join(out_dir, n + ".partial"), "wb") for n in FILES}
        self.samples = 0
        self.frames = 0
        self.count = 0

    def add(self, row: dict, pcm: np.ndarray, video: np.ndarray) -> dict:
        """Append one utterance; returns the row with its offsets filled in."""
        assert pcm.dtype == np.int16 and video.dtype == np.float16
        assert video.ndim == 2 and video.shape[1] == FEATURE_DIM
        row = dict(row, audio_offset=self.samples, audio_len=int(len(pcm)),
                   video_offset=self.frames, video_frames=int(video.shape[0]))
        self._f["audio.i16"].write(pcm.astype("<i2").tobytes())
        self._f["video.f16"].write(video.astype("<f2").tobytes())
        self._f["meta.jsonl"].write((json.dumps(row, ensure_ascii=False, sort_keys=True)
                                     + "\n").encode("utf-8"))
        self.samples += len(pcm)
        self.frames += video.shape[0]
        self.count += 1
        return row

    def close(self, info: dict) -> None:
        """Publish the data files, then corpus.json (its presence marks a complete corpus)."""
        for n, f in self._f.items():
            f.close()
            os.replace(os.path.join(self.out, n + ".partial"), os.path.join(self.out, n))
        with open(os.path.join(self.out, "corpus.json"), "w", encoding="utf-8") as f:
            json.dump(info, f, indent=1, sort_keys=True)
            f.write("\n")
        self._unlock()

    def _unlock(self) -> None:
        try:
            os.remove(os.path.join(self.out, ".lock"))
        except FileNotFoundError:
            pass
        self._lock.close()

    def abort(self) -> None:
        """Close and delete the partial files."""
        for n, f in self._f.items():
            f.close()
            try:
                os.remove(os.path.join(self.out, n + ".partial"))
            except FileNotFoundError:
                pass
        self._unlock()
