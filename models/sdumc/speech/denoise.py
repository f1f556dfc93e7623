"""A cheap denoising front-end for the recogniser (issue 12, bench/asr_noise.py): a Wiener
filter whose noise spectrum comes from the segment's own non-speech frames.

The corpus channel adds stationary pink or speech-shaped noise at 5-30 dB SNR
(sdumc.corpus.channel), and Whisper tiny.en's word error rate climbs to ~1 at 5-10 dB. The
noise is stationary within a segment, so its power spectrum can be read off the frames an
energy voice-activity rule calls non-speech (the quietest `noise_quantile` of frames: the
pauses and the margins around the TTS utterance) and removed with the decision-directed
a-priori-SNR Wiener gain (Ephraim-Malah 1984), floored so the residual stays noise-like
rather than "musical". numpy only; ~6 core-ms per audio second (bench/asr_noise.py:
55.4 vs 49.0 for the served path without it). It did not lower WER there (docs/model.md,
"Recognition under channel noise"): kept for that measurement, not served.
"""
from __future__ import annotations

import numpy as np

N_FFT = 512      # 32 ms at 16 kHz
HOP = 128        # 75 % overlap: sqrt-Hann analysis + synthesis sums to a constant


def _frames(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    win = np.sqrt(0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT))  # periodic sqrt-Hann
    pad = np.pad(x, (N_FFT, N_FFT + (-len(x)) % HOP))
    n = 1 + (len(pad) - N_FFT) // HOP
    idx = np.arange(n)[:, None] * HOP + np.arange(N_FFT)[None, :]
    return np.fft.rfft(pad[idx] * win, axis=1), win, len(pad)


def noise_psd(power: np.ndarray, noise_quantile: float = 0.2) -> np.ndarray:
    """Mean power spectrum of the quietest frames (an energy VAD's non-speech frames)."""
    energy = power.sum(1)
    quiet = energy <= np.quantile(energy, noise_quantile)
    return power[quiet].mean(0) + 1e-12


def wiener(audio: np.ndarray, noise_quantile: float = 0.2, floor: float = 0.1, alpha: float = 0.98) -> np.ndarray:
    """`audio` (float mono, any rate; tuned at 16 kHz) with its stationary noise suppressed;
    same length and dtype float32."""
    x = np.asarray(audio, np.float64)
    if len(x) < N_FFT:
        return x.astype(np.float32)
    spec, win, padded_len = _frames(x)
    power = spec.real ** 2 + spec.imag ** 2
    noise = noise_psd(power, noise_quantile)
    post = power / noise                          # a-posteriori SNR per bin
    gains = np.empty_like(post)
    prev = np.zeros(power.shape[1])               # |S_hat|^2 / noise of the previous frame
    for t in range(len(post)):
        prior = alpha * prev + (1 - alpha) * np.maximum(post[t] - 1, 0)   # decision-directed
        g = np.maximum(prior / (1 + prior), floor)
        gains[t] = g
        prev = g * g * post[t]
    frames = np.fft.irfft(spec * gains, n=N_FFT, axis=1) * win
    out = np.zeros(padded_len)
    norm = np.zeros(padded_len)
    for t in range(len(frames)):
        out[t * HOP: t * HOP + N_FFT] += frames[t]
        norm[t * HOP: t * HOP + N_FFT] += win * win
    out = out / np.maximum(norm, 1e-8)
    return out[N_FFT: N_FFT + len(x)].astype(np.float32)
