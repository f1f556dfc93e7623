"""The telephone channel and background noise, in numpy (no process spawns, no scipy).

Path of one utterance (docs/corpus.md):
  TTS 22050 Hz -> level to REF_DBFS + prosody/speaker gain -> band-limit 300..3400 Hz and
  resample to 8 kHz (one FFT) -> + in-band noise at the drawn SNR -> optional G.711 mu-law
  round trip -> resample to 16 kHz (FFT zero-padding) -> int16.
The SNR is relative to the reference speech level, not to this utterance's level, so a louder
(e.g. angry) voice keeps its extra level over the noise instead of being normalised away.
"""
from __future__ import annotations

import numpy as np

REF_DBFS = -22.0
"""Nominal active-speech RMS level before prosody gain, dB re full scale."""

BAND_HZ = (300.0, 3400.0)
"""Telephone pass band (ITU-T G.712-like), Hz; cosine skirts of SKIRT_HZ on each side."""

SKIRT_HZ = 100.0

TEL_RATE = 8000
OUT_RATE = 16000

SNRS_DB = (5.0, 10.0, 20.0, 30.0)
"""Noise levels drawn uniformly per utterance, dB below the reference speech level."""

NOISE_KINDS = ("pink", "speech_shaped")
"""pink: 1/f noise (fans, traffic); speech_shaped: noise with the long-term spectrum of speech
(distant talkers); one drawn per utterance, equally often."""

MULAW_SHARE = 0.7
"""Share of utterances passed through 8-bit G.711 mu-law (the rest stay linear 16-bit)."""


def db_to_gain(db: float) -> float:
    return float(10.0 ** (db / 20.0))


def active_rms(x: np.ndarray, rate: int) -> float:
    """RMS over 20 ms frames whose energy is within 30 dB of the loudest (speech, not pauses)."""
    n = max(1, rate // 50)
    m = len(x) // n
    if m == 0:
        return float(np.sqrt(np.mean(x ** 2) + 1e-12))
    e = np.mean(x[: m * n].reshape(m, n) ** 2, axis=1)
    keep = e > e.max() * 1e-3
    if not keep.any():          # digital silence
        return 0.0
    return float(np.sqrt(np.mean(e[keep]) + 1e-12))


def _band_weights(nbins: int, n: int, rate: float, band=BAND_HZ) -> np.ndarray:
    f = np.arange(nbins) * rate / n
    lo, hi = band
    w = np.ones(nbins)
    w[f < lo - SKIRT_HZ] = 0.0
    w[f > hi + SKIRT_HZ] = 0.0
    s = (f >= lo - SKIRT_HZ) & (f < lo)
    w[s] = 0.5 - 0.5 * np.cos(np.pi * (f[s] - (lo - SKIRT_HZ)) / SKIRT_HZ)
    s = (f > hi) & (f <= hi + SKIRT_HZ)
    w[s] = 0.5 + 0.5 * np.cos(np.pi * (f[s] - hi) / SKIRT_HZ)
    return w


MU = 255.0


def mulaw_roundtrip(x: np.ndarray) -> np.ndarray:
    """G.711-style mu-law (mu = 255) encode to 8 bits and decode again."""
    x = np.clip(x, -1.0, 1.0)
    y = np.sign(x) * np.log1p(MU * np.abs(x)) / np.log1p(MU)
    q = np.round(y * 127.0) / 127.0
    return np.sign(q) * ((1.0 + MU) ** np.abs(q) - 1.0) / MU


def noise_spectrum(nbins: int, n: int, rate: int, kind: str,
                   rng: np.random.Generator) -> np.ndarray:
    """rfft-domain noise of a length-n signal at `rate` with the spectral shape of `kind`
    (pink: 1/f power; speech_shaped: peak near 500 Hz, -6 dB/oct above), unscaled.
    Drawn directly in the frequency domain: one FFT fewer than shaping white noise."""
    X = rng.standard_normal(nbins) + 1j * rng.standard_normal(nbins)
    f = np.arange(nbins) * rate / n
    if kind == "pink":
        return X / np.sqrt(np.maximum(f, 20.0))
    if kind == "speech_shaped":
        return X * (f / 500.0) / (1.0 + (f / 500.0) ** 2)
    raise ValueError(f"unknown noise kind {kind!r}")


def spectrum_rms(X: np.ndarray, n: int) -> float:
    """RMS of the real length-n signal whose rfft is X (Parseval)."""
    p = np.abs(X) ** 2
    total = p[0] + 2.0 * p[1:].sum() - (p[-1] if n % 2 == 0 else 0.0)
    return float(np.sqrt(total) / n)


def _smooth(k: int) -> bool:
    for p in (2, 3, 5):
        while k % p == 0:
            k //= p
    return k == 1


def fast_length(n: int, rate: int) -> int:
    """Smallest length >= n that is a multiple of rate/gcd(rate, 8000) times a 5-smooth
    number: FFTs of it and of its 8 kHz / 16 kHz counterparts are fast and exact in length
    (a prime-sized FFT is ~50x slower)."""
    unit = rate // np.gcd(rate, TEL_RATE)
    k = max(1, -(-n // unit))
    while not _smooth(k):
        k += 1
    return unit * k


def telephone(speech: np.ndarray, rate: int, gain_db: float, snr_db: float, noise_kind: str,
              mulaw: bool, rng: np.random.Generator, out_rate: int = OUT_RATE) -> np.ndarray:
    """int16 PCM at `out_rate` (16000, or 8000 for the demo calls) of float speech at `rate`
    after level, noise and channel; length round(len(speech) * out_rate / rate). Noise is added inside the telephone band (it reaches
    the microphone, then passes the channel) at `snr_db` below the reference speech level."""
    if out_rate not in (TEL_RATE, OUT_RATE):
        raise ValueError(f"out_rate must be {TEL_RATE} or {OUT_RATE}, not {out_rate}")
    out_len = int(round(len(speech) * out_rate / rate))
    n = fast_length(len(speech), rate)
    x = np.zeros(n)
    level = active_rms(speech, rate)
    if level > 1e-6:            # silent input (no speech) stays silent: only noise remains
        x[: len(speech)] = speech * (db_to_gain(REF_DBFS) / level)
    x *= db_to_gain(gain_db)
    m = n * TEL_RATE // rate                       # samples at 8 kHz
    k = m // 2 + 1
    X = np.fft.rfft(x)[:k] * _band_weights(k, n, rate)
    N = noise_spectrum(k, n, rate, noise_kind, rng) * _band_weights(k, n, rate)
    N *= db_to_gain(REF_DBFS - snr_db) / (spectrum_rms(N, n) + 1e-30)
    Y = (X + N) * (m / n)                          # spectrum of the 8 kHz channel signal
    if out_rate == TEL_RATE or mulaw:
        y = np.fft.irfft(Y, m)
        y = mulaw_roundtrip(y) if mulaw else y
        if out_rate == TEL_RATE:
            return _to_int16(y[:out_len])
        Y = np.fft.rfft(y)
    Z = np.zeros(m + 1, np.complex128)             # 16 kHz: zero-pad the spectrum
    Z[: len(Y)] = Y
    z = np.fft.irfft(Z, 2 * m) * 2.0
    return _to_int16(z[:out_len])


def _to_int16(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(x * 32767.0), -32768, 32767).astype(np.int16)
