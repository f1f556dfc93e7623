"""Read a generated corpus: `CorpusReader(path)`.

On disk (docs/corpus.md): `corpus.json` (format, counts, coupling), `meta.jsonl` (one row per
utterance), `audio.i16` (all utterances' 16 kHz mono int16 PCM, concatenated) and `video.f16`
(all utterances' float16 [frames, 24] face features, concatenated). Both binary files are
memory-mapped, so opening a 5 GB corpus is instant and reading one utterance touches only it.
"""
from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

from .errors import CorpusError
from .layout import FEATURE_DIM, READABLE_FORMATS, SPLITS, VOICE_FAMILIES

REQUIRED_KEYS = ("id", "split", "text", "valence", "label3", "audio_offset", "audio_len",
                 "video_offset", "video_frames")


class CorpusReader:
    """A generated corpus, opened read-only.

    - `rows`: list of dicts, one per utterance, in storage order (meta.jsonl).
    - `info`: the dict of corpus.json (format, seed, counts, coupling constants).
    - `audio(i)`: float32 [samples] in [-1, 1] at 16 kHz.
    - `video(i)`: float32 [frames, 24] at 10 fps; dropped frames are all zeros.
    - `split(name, family=None)`: indices of the rows in split "train", "val" or "test",
      optionally only those of one voice family ("espeak" in-family, "flite" held out).
    - `families`: the voice families present, sorted.
    Rows of a format-1 corpus get `voice_family` "espeak" and `sentence_id` = `id`.
    Raises CorpusError when a file is missing, truncated or of another format.
    """

    def __init__(self, path: str):
        self.path = os.fspath(path)
        if not os.path.isdir(self.path):
            raise CorpusError(f"corpus folder not found: {self.path}")
        self.info: dict[str, Any] = self._load_info()
        self.rows: list[dict[str, Any]] = self._load_rows()
        self._audio = self._map("audio.i16", np.int16)
        self._video = self._map("video.f16", np.float16)
        self._check_extents()
        self._splits = {name: [] for name in SPLITS}
        for i, row in enumerate(self.rows):
            self._splits[row["split"]].append(i)
        self.families = sorted({r["voice_family"] for r in self.rows})

    def __len__(self) -> int:
        return len(self.rows)

    def audio(self, i: int) -> np.ndarray:
        """Utterance i's audio as float32 in [-1, 1], 16 kHz mono."""
        r = self.rows[i]
        pcm = self._audio[r["audio_offset"]: r["audio_offset"] + r["audio_len"]]
        return pcm.astype(np.float32) / 32768.0

    def video(self, i: int) -> np.ndarray:
        """Utterance i's face features as float32 [frames, 24], 10 fps."""
        r = self.rows[i]
        start = r["video_offset"] * FEATURE_DIM
        flat = self._video[start: start + r["video_frames"] * FEATURE_DIM]
        return flat.astype(np.float32).reshape(r["video_frames"], FEATURE_DIM)

    def split(self, name: str, family: str | None = None) -> list[int]:
        """Row indices of split `name` ("train", "val", "test"); with `family`, only rows
        spoken by that voice family."""
        if name not in self._splits:
            raise CorpusError(f"unknown split {name!r}; expected one of {', '.join(SPLITS)}")
        if family is None:
            return list(self._splits[name])
        if family not in VOICE_FAMILIES:
            raise CorpusError(f"unknown voice family {family!r}; expected one of "
                              f"{', '.join(VOICE_FAMILIES)}")
        return [i for i in self._splits[name] if self.rows[i]["voice_family"] == family]

    # -- loading -------------------------------------------------------------------------------

    def _file(self, name: str) -> str:
        p = os.path.join(self.path, name)
        if not os.path.isfile(p):
            raise CorpusError(f"corpus file missing: {p}")
        return p

    def _load_info(self) -> dict[str, Any]:
        p = self._file("corpus.json")
        try:
            with open(p, encoding="utf-8") as f:
                info = json.load(f)
        except json.JSONDecodeError as e:
            raise CorpusError(f"{p} is not valid JSON: {e}") from None
        if info.get("format") not in READABLE_FORMATS:
            raise CorpusError(f"{p}: format {info.get('format')!r} is not supported "
                              f"(this reader reads formats {READABLE_FORMATS})")
        return info

    def _load_rows(self) -> list[dict[str, Any]]:
        p = self._file("meta.jsonl")
        rows = []
        with open(p, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as e:
                    raise CorpusError(f"{p}:{n}: not valid JSON: {e}") from None
                missing = [k for k in REQUIRED_KEYS if k not in row]
                if missing:
                    raise CorpusError(f"{p}:{n}: row lacks {', '.join(missing)}")
                if row["split"] not in SPLITS:
                    raise CorpusError(f"{p}:{n}: unknown split {row['split']!r}")
                row.setdefault("voice_family", "espeak")   # format 1: all in-family
                row.setdefault("sentence_id", row["id"])
                if row["voice_family"] not in VOICE_FAMILIES:
                    raise CorpusError(f"{p}:{n}: unknown voice_family {row['voice_family']!r}")
                if row["voice_family"] != "espeak" and row["split"] != "test":
                    raise CorpusError(f"{p}:{n}: held-out voice row in split {row['split']!r} "
                                      "(held-out voices are for test only)")
                rows.append(row)
        return rows

    def _map(self, name: str, dtype) -> np.ndarray:
        p = self._file(name)
        if os.path.getsize(p) == 0:
            return np.zeros(0, dtype)
        return np.memmap(p, dtype=np.dtype(dtype).newbyteorder("<"), mode="r")

    def _check_extents(self) -> None:
        a_end = max((r["audio_offset"] + r["audio_len"] for r in self.rows), default=0)
        v_end = max((r["video_offset"] + r["video_frames"] for r in self.rows), default=0)
        if a_end > self._audio.shape[0]:
            raise CorpusError(f"audio.i16 in {self.path} is truncated: rows need {a_end} "
                              f"samples, file has {self._audio.shape[0]}")
        if v_end * FEATURE_DIM > self._video.shape[0]:
            raise CorpusError(f"video.f16 in {self.path} is truncated: rows need {v_end} "
                              f"frames, file has {self._video.shape[0] // FEATURE_DIM}")


def main(argv=None) -> int:
    """`python -m sdumc.corpus.reader PATH`: open a corpus, check it, print its summary."""
    import argparse
    import sys
    p = argparse.ArgumentParser(prog="python -m sdumc.corpus.reader",
                                description="Check a generated corpus and print its summary.")
    p.add_argument("path", help="corpus folder (with corpus.json)")
    a = p.parse_args(argv)
    try:
        c = CorpusReader(a.path)
        for i in (0, len(c) - 1) if len(c) else ():
            c.audio(i), c.video(i)   # touch both ends of both files
    except CorpusError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    info = c.info
    print(json.dumps({"path": a.path, "utterances": len(c),
                      "splits": {s: len(c.split(s)) for s in SPLITS},
                      "voice_families": {f: sum(r["voice_family"] == f for r in c.rows)
                                         for f in c.families},
                      "audio_hours": info.get("audio_hours"),
                      "video_frames": info.get("video_frames"),
                      "coupling": info.get("coupling", {}).get("version"),
                      "observed": info.get("observed")}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
