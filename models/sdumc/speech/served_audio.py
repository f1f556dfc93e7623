"""Audio as the server hands it to the speech model, for feature caches that must see the
served numbers (issue 12).

Calls arrive as 8 kHz telephone audio; ingest resamples them to 16 kHz with a polyphase
Kaiser-windowed sinc (src/ingest/resample.ts) before the recogniser's log-mel. The corpus
stores 16 kHz audio made from its 8 kHz channel signal by FFT zero padding (docs/corpus.md,
sdumc.corpus.channel.telephone), i.e. ideal band-limited interpolation, so its even samples
ARE the 8 kHz signal. `as_served` takes those and runs this numpy port of resample.ts on them:
the 16 kHz audio the server would compute from the same call (tests/test_speech_routes.py
checks the port against numbers from the TypeScript resampler).
"""
from __future__ import annotations

from math import gcd

import numpy as np

TEL_RATE, MODEL_RATE = 8000, 16000
HALF_ZERO_CROSSINGS = 8   # resample.ts: filter half-length in input samples
KAISER_BETA = 8.0
ROLLOFF = 0.9


def _bessel_i0(x: float) -> float:
    """The same series as resample.ts (float64), so the taps round to the same float32."""
    s = term = 1.0
    for k in range(1, 50):
        term *= (x / (2 * k)) ** 2
        s += term
        if term < 1e-12 * s:
            break
    return s


def _kernel(from_rate: int, to_rate: int) -> tuple[int, int, int, np.ndarray]:
    """(up, down, width, phases [up, 2 * width] float32), built as resample.ts kernelFor does:
    each tap rounded to float32, then divided by the float64 sum of the unrounded taps."""
    g = gcd(from_rate, to_rate)
    up, down = to_rate // g, from_rate // g
    cutoff = ROLLOFF * min(1.0, to_rate / from_rate)
    width = int(np.ceil(HALF_ZERO_CROSSINGS / cutoff))
    i0b = _bessel_i0(KAISER_BETA)
    phases = np.zeros((up, 2 * width), np.float32)
    for p in range(up):
        total = 0.0
        for k in range(-width + 1, width + 1):
            t = p / up - k
            r = t / width
            w = 0.0 if abs(r) >= 1 else _bessel_i0(KAISER_BETA * np.sqrt(1 - r * r)) / i0b
            u = cutoff * t
            sinc = 1.0 if u == 0 else np.sin(np.pi * u) / (np.pi * u)
            v = cutoff * sinc * w
            phases[p, k + width - 1] = v
            total += v
        phases[p] = (phases[p].astype(np.float64) / total).astype(np.float32)
    return up, down, width, phases


def resample(x: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """float32 mono PCM from `from_rate` to `to_rate`: resample.ts's `resample`, vectorised
    (mirror-padded edges, output length floor(n * to / from))."""
    x = np.asarray(x, np.float32)
    if from_rate == to_rate or len(x) == 0:
        return x
    up, down, width, phases = _kernel(from_rate, to_rate)
    n = len(x)
    j = np.arange(-width, n + width + 1)
    if n == 1:
        j = np.zeros_like(j)
    else:  # whole-sample symmetric extension, folded until inside [0, n)
        period = 2 * n - 2
        j = np.abs(np.mod(j, period))
        j = np.where(j >= n, period - j, j)
    padded = x[j].astype(np.float64)
    out_len = (n * up) // down
    pos = np.arange(out_len, dtype=np.int64) * down
    i = pos // up
    ph = pos - i * up
    idx = (i + 1)[:, None] + np.arange(2 * width)[None, :]
    return (padded[idx] * phases[ph].astype(np.float64)).sum(1).astype(np.float32)


def as_served(pcm16k: np.ndarray) -> np.ndarray:
    """A corpus utterance (16 kHz, band-limited from the 8 kHz channel) as the server's speech
    path sees it: the 8 kHz call signal, resampled to 16 kHz by ingest's filter."""
    return resample(np.asarray(pcm16k, np.float32)[::2], TEL_RATE, MODEL_RATE)
