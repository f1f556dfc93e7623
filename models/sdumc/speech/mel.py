"""Whisper's log-mel front-end in numpy (float64), the reference the TypeScript one must match.

16 kHz mono float audio -> zero-padded to whole encoder frames (320 samples, 20 ms) -> STFT
(n_fft 400, hop 160, periodic Hann, centred with reflect padding, the last frame dropped as
whisper does) -> power -> 80 slaney mel filters -> log10 (floor 1e-10) -> clamp to max - 8 ->
(x + 4) / 4. A segment of N samples gives 2F = ceil(N / 320) * 2 mel frames, F encoder frames.
"""
from __future__ import annotations

import numpy as np

SAMPLE_RATE = 16000
N_FFT = 400
HOP = 160
N_MELS = 80
SAMPLES_PER_ENCODER_FRAME = 2 * HOP  # conv2 has stride 2: one encoder frame per 20 ms


def _hz_to_mel(f: np.ndarray) -> np.ndarray:
    """Slaney's mel scale (librosa htk=False): linear below 1 kHz, logarithmic above."""
    f = np.asarray(f, dtype=np.float64)
    logstep = np.log(6.4) / 27.0
    return np.where(f >= 1000.0, 15.0 + np.log(np.maximum(f, 1e-10) / 1000.0) / logstep, f * 3.0 / 200.0)


def _mel_to_hz(m: np.ndarray) -> np.ndarray:
    logstep = np.log(6.4) / 27.0
    return np.where(m >= 15.0, 1000.0 * np.exp(logstep * (m - 15.0)), m * 200.0 / 3.0)


def mel_filters(n_mels: int = N_MELS, n_fft: int = N_FFT, sr: int = SAMPLE_RATE) -> np.ndarray:
    """(n_mels, n_fft/2+1) triangular filters, slaney-normalised (librosa.filters.mel defaults,
    the filterbank openai/whisper ships as mel_filters.npz)."""
    fft_hz = np.linspace(0.0, sr / 2.0, n_fft // 2 + 1)
    mel_hz = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(sr / 2.0), n_mels + 2))
    fdiff = np.diff(mel_hz)
    ramps = mel_hz[:, None] - fft_hz[None, :]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    return weights * (2.0 / (mel_hz[2:] - mel_hz[:-2]))[:, None]


def pad_to_frames(audio: np.ndarray) -> np.ndarray:
    """Audio zero-padded at the end to a whole number of encoder frames (320 samples)."""
    n = len(audio)
    total = -(-n // SAMPLES_PER_ENCODER_FRAME) * SAMPLES_PER_ENCODER_FRAME
    return np.concatenate([audio, np.zeros(total - n, dtype=audio.dtype)])


def with_context(audio: np.ndarray, min_seconds: float) -> np.ndarray:
    """Audio followed by silence up to `min_seconds`: the encoder context of a short segment.
    Whisper was trained on 30 s windows, mostly ending in silence; on 10 espeak-ng lines
    (bench/speech_wer.py) a context trimmed to the segment itself gave greedy WER 0.26 with
    CTranslate2, one of at least 10 s 0.12, the full 30 s 0.20. The states of the padding are
    not part of the segment's frames (segment_frames)."""
    need = int(round(min_seconds * SAMPLE_RATE)) - len(audio)
    return audio if need <= 0 else np.concatenate([audio, np.zeros(need, dtype=audio.dtype)])


def segment_frames(samples: int) -> int:
    """Encoder frames that cover `samples` of audio (20 ms each, the last one partial)."""
    return -(-samples // SAMPLES_PER_ENCODER_FRAME)


def log_mel(audio: np.ndarray) -> np.ndarray:
    """(80, 2F) float32 log-mel of 16 kHz float audio (see the module doc)."""
    x = pad_to_frames(np.asarray(audio, dtype=np.float64))
    frames = len(x) // HOP
    padded = np.pad(x, N_FFT // 2, mode="reflect")
    window = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(N_FFT) / N_FFT)  # periodic Hann
    idx = np.arange(frames)[:, None] * HOP + np.arange(N_FFT)[None, :]
    power = np.abs(np.fft.rfft(padded[idx] * window, axis=1)) ** 2  # (frames, 201)
    mel = mel_filters() @ power.T  # (80, frames)
    log_spec = np.log10(np.maximum(mel, 1e-10))
    log_spec = np.maximum(log_spec, log_spec.max() - 8.0)
    return ((log_spec + 4.0) / 4.0).astype(np.float32)
