"""Run one synthesis in a forked child and bring its int16 PCM back over a pipe.

Why a fork: a TTS library keeps state between utterances (espeak-ng's waveform phase, flite's
use of rand()), so the same text spoken twice in one process can differ by a few samples. A
child forked from a process that has only initialised the library starts every utterance from
the same state, so output depends only on (text, voice, parameters), whichever worker makes it
and in whatever order."""
from __future__ import annotations

import os
from typing import Callable

import numpy as np

from .errors import CorpusError


def synth_in_child(speak: Callable[[], np.ndarray], engine: str) -> np.ndarray:
    """int16 PCM returned by `speak()` run in a forked child; its exception becomes a
    CorpusError here (`engine` names the TTS in the message when the child dies silently)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: speak, send bytes (or an error line), exit without cleanup
        os.close(r)
        code = 0
        try:
            out = b"OK" + np.asarray(speak(), dtype=np.int16).tobytes()
        except BaseException as e:  # noqa: BLE001 - must reach _exit
            out, code = b"ER" + str(e).encode(), 1
        try:
            with os.fdopen(w, "wb") as f:
                f.write(out)
        finally:
            os._exit(code)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        data = f.read()
    os.waitpid(pid, 0)
    if data[:2] != b"OK":
        raise CorpusError(data[2:].decode(errors="replace") or f"{engine} child died")
    return np.frombuffer(data[2:], dtype=np.int16)
