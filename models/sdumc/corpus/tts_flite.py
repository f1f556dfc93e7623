"""The held-out voice family: Debian's Flite 2.2 (CMU), through its C library (ctypes).

Flite shares nothing with espeak-ng: its voices are a diphone voice (kal16) and statistical
parametric (clustergen) voices trained on recorded speakers (awb, slt), with their own
lexicon (CMUdict), letter-to-sound rules and intonation model. Test speech rendered with it
says how a model trained on espeak-ng alone does on a voice it never heard.

Why a fork per utterance, as for espeak-ng (tts.py): clustergen's mixed excitation draws
noise from libc's rand(), so the same text twice in one process differs. Each utterance is
synthesised in a child forked from a process that has only loaded the voices, and the child
calls srand(RAND_SEED) first: output depends only on (text, voice, parameters).

libc's rand() state is shared with espeak-ng (its female variants' breath noise draws from
it), so loading Flite must not move it: its warm-up runs on a private rand state
(initstate/setstate) and the process's state is restored after, leaving every espeak-ng
rendering byte-identical to a corpus made without Flite.
"""
from __future__ import annotations

import ctypes

import numpy as np

from .errors import CorpusError
from .forked import synth_in_child

FLITE_RATE = 16000
"""Output sample rate of the voices used (kal16, awb, slt), Hz."""

VOICES = ("kal16", "awb", "slt")
"""Flite voices of the held-out family. rms is left out: its F0 does not follow
int_f0_target_mean (measured: 102 Hz asked 98 or 130), so the pitch coupling cannot reach it."""

RAND_SEED = 1
"""libc srand() seed set in each synthesis child (clustergen excitation noise)."""

# Feature names: flite stores the key POINTER without copying, so the bytes must outlive
# every synthesis; module-level constants do.
_F0_MEAN = b"int_f0_target_mean"
_F0_SD = b"int_f0_target_stddev"
_STRETCH = b"duration_stretch"


class _Wave(ctypes.Structure):  # cst_wave (cst_wave.h)
    _fields_ = [("type", ctypes.c_char_p), ("sample_rate", ctypes.c_int),
                ("num_samples", ctypes.c_int), ("num_channels", ctypes.c_int),
                ("samples", ctypes.POINTER(ctypes.c_short))]


class _Voice(ctypes.Structure):  # leading fields of cst_voice (cst_voice.h)
    _fields_ = [("name", ctypes.c_char_p), ("features", ctypes.c_void_p)]


_shared: "Flite | None" = None


def shared() -> "Flite":
    """This process's one Flite (loaded once; workers forked later inherit it)."""
    global _shared
    if _shared is None:
        _shared = Flite()
    return _shared


class Flite:
    """Flite with the VOICES registered; get it with `shared()`. `synth` runs in a forked child
    and never changes this process's library state."""

    def __init__(self):
        try:
            self._lib = ctypes.CDLL("libflite.so.1", mode=ctypes.RTLD_GLOBAL)
            for dep in ("libflite_usenglish.so.1", "libflite_cmulex.so.1"):
                ctypes.CDLL(dep, mode=ctypes.RTLD_GLOBAL)
            self._libc = ctypes.CDLL(None)
        except OSError as e:
            raise CorpusError(f"flite library not found ({e}); install Debian's flite "
                              "(libflite1), see scripts/setup-system.sh") from None
        libc = self._libc
        libc.initstate.restype = libc.setstate.restype = ctypes.c_void_p
        libc.initstate.argtypes = [ctypes.c_uint, ctypes.c_char_p, ctypes.c_size_t]
        libc.setstate.argtypes = [ctypes.c_void_p]
        self._rand_state = ctypes.create_string_buffer(256)   # kept: libc points into it
        previous = libc.initstate(RAND_SEED, self._rand_state, len(self._rand_state))
        try:
            self._load()
        finally:
            libc.setstate(previous)

    def _load(self) -> None:
        lib = self._lib
        lib.flite_init()
        lib.flite_text_to_wave.restype = ctypes.POINTER(_Wave)
        lib.flite_text_to_wave.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
        lib.feat_set_float.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_float]
        lib.delete_wave.argtypes = [ctypes.POINTER(_Wave)]
        self._voices = {}
        for v in VOICES:
            vl = ctypes.CDLL(f"libflite_cmu_us_{v}.so.1")
            reg = getattr(vl, f"register_cmu_us_{v}")
            reg.restype, reg.argtypes = ctypes.POINTER(_Voice), [ctypes.c_char_p]
            self._voices[v] = reg(None)
        self._speak("Ready.", "slt", 172.0, 27.0, 1.0)   # lazily built tables, before forks

    def _speak(self, text: str, voice: str, f0_mean: float, f0_sd: float,
               stretch: float) -> np.ndarray:
        vp = self._voices.get(voice)
        if vp is None:
            raise CorpusError(f"flite voice {voice!r} is not one of {', '.join(VOICES)}")
        feats = vp.contents.features
        self._lib.feat_set_float(feats, _F0_MEAN, float(f0_mean))
        self._lib.feat_set_float(feats, _F0_SD, float(f0_sd))
        self._lib.feat_set_float(feats, _STRETCH, float(stretch))
        w = self._lib.flite_text_to_wave(text.encode("utf-8"), vp)
        if not w:
            raise CorpusError(f"flite produced no wave for {text!r}")
        try:
            if w.contents.sample_rate != FLITE_RATE:
                raise CorpusError(f"flite voice {voice} speaks at {w.contents.sample_rate} Hz, "
                                  f"expected {FLITE_RATE}")
            n = w.contents.num_samples
            return (np.ctypeslib.as_array(w.contents.samples, shape=(n,)).copy() if n > 0
                    else np.zeros(0, np.int16))
        finally:
            self._lib.delete_wave(w)

    def synth(self, text: str, voice: str, f0_mean: float, f0_sd: float,
              stretch: float) -> np.ndarray:
        """int16 PCM at 16 kHz of `text` spoken by flite `voice` ("slt") with F0 mean and SD
        (Hz) as intonation targets and durations multiplied by `stretch`."""
        def speak() -> np.ndarray:  # in the child: seed rand() first, so every utterance starts equal
            self._libc.srand(RAND_SEED)
            return self._speak(text, voice, f0_mean, f0_sd, stretch)

        return synth_in_child(speak, "flite")
