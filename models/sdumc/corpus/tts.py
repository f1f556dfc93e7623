"""Offline speech synthesis with Debian's espeak-ng, through its C library (ctypes).

Why the library and not the `espeak-ng` command: one process start per utterance costs more
than the synthesis itself. Why a fork per utterance: espeak-ng keeps state between utterances
(waveform phase, flutter index), so the same text synthesised twice in one process differs by
a few samples. Each utterance is therefore synthesised in a child forked from a process that
has only initialised the library and spoken one fixed warm-up phrase: every utterance starts
from the same state, so output depends only on (text, voice, parameters), whichever worker
makes it and in whatever order.
"""
from __future__ import annotations

import ctypes

import numpy as np

from .errors import CorpusError
from .forked import synth_in_child

ESPEAK_RATE = 22050
"""espeak-ng's output sample rate, Hz."""

LANGS = ("en-us", "en-gb-x-rp", "en-gb-scotland", "en-029", "en-gb-x-gbclan",
         "en-gb-x-gbcwmd", "gmw/en")
"""English voices (accents) of espeak-ng 1.51 used for speakers."""

MALE_VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m6", "m7")
FEMALE_VARIANTS = ("f1", "f2", "f3", "f4", "f5")
"""espeak-ng voice variants (timbre, base pitch); a voice is "<lang>+<variant>"."""

# espeak_PARAMETER values (speak_lib.h)
_RATE, _VOLUME, _PITCH, _RANGE = 1, 2, 3, 4
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_CHARS_UTF8 = 1
_CB = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int,
                       ctypes.c_void_p)


_shared: "Espeak | None" = None


def shared() -> "Espeak":
    """This process's one Espeak. Initialising the library twice in a process leaves it in
    another state than once, so every caller (and every worker forked from a process that
    already has one) must share it for output to be reproducible."""
    global _shared
    if _shared is None:
        _shared = Espeak()
    return _shared


class Espeak:
    """One initialised espeak-ng in this process; get it with `shared()`. `synth` never
    changes this process's library state (it runs in a forked child)."""

    def __init__(self):
        try:
            self._lib = ctypes.CDLL("libespeak-ng.so.1")
        except OSError as e:
            raise CorpusError(f"espeak-ng library not found ({e}); install Debian's "
                              "libespeak-ng1 / espeak-ng") from None
        rate = self._lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, None, 0)
        if rate != ESPEAK_RATE:
            raise CorpusError(f"espeak-ng initialised at {rate} Hz, expected {ESPEAK_RATE}")
        self._chunks: list[np.ndarray] = []
        self._cb = _CB(self._collect)   # kept referenced: the library holds the pointer
        self._lib.espeak_SetSynthCallback(self._cb)
        self._speak("Ready.", "en-us", 50, 50, 175)   # load lazily-read data once, before forks

    def _collect(self, wav, n, _events) -> int:
        if wav and n > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
        return 0

    def _speak(self, text: str, voice: str, pitch: int, rng: int, rate: int) -> np.ndarray:
        self._chunks.clear()
        if self._lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise CorpusError(f"espeak-ng has no voice {voice!r}")
        self._lib.espeak_SetParameter(_RATE, int(rate), 0)
        self._lib.espeak_SetParameter(_PITCH, int(pitch), 0)
        self._lib.espeak_SetParameter(_RANGE, int(rng), 0)
        self._lib.espeak_SetParameter(_VOLUME, 100, 0)
        b = text.encode("utf-8")
        self._lib.espeak_Synth(ctypes.c_char_p(b), ctypes.c_size_t(len(b) + 1), 0, 0, 0,
                               _CHARS_UTF8, None, None)
        self._lib.espeak_Synchronize()
        return np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)

    def check_voice(self, voice: str) -> None:
        """Raise CorpusError if espeak-ng cannot load `voice` (checked in a child)."""
        self.synth("a", voice, 50, 50, 175)

    def synth(self, text: str, voice: str, pitch: int, rng: int, rate: int) -> np.ndarray:
        """int16 PCM at 22050 Hz of `text` spoken by `voice` ("en-us+f3") with espeak-ng's
        pitch (0..100, base 50), pitch range (0..100, 50 normal) and rate (words/min)."""
        return synth_in_child(lambda: self._speak(text, voice, pitch, rng, rate), "espeak-ng")
