"""The audio front-end: 16 kHz PCM -> log-mel frames, defined once for training and serving.

The same `LogMel` module is used by the training feature cache and sits at the head of the
exported fusion graph, so the server computes exactly the numbers the network was trained on.
It is built only from ops that export to plain ONNX and run identically in onnxruntime:
the STFT is a strided `conv1d` with a fixed windowed-DFT basis (no `torch.stft`, whose ONNX
export is missing or partial in many runtimes), the mel filterbank is a matmul, the log has a
floor. Parameters match `audio.frontEnd` in docs/model-manifest.md.

Conventions (numpy reference in tests/test_frontend.py):
- Window: periodic Hann of `winLength` samples, centred inside an `nFft`-sample DFT frame
  (the `torch.stft(win_length < n_fft)` convention).
- Framing: the signal is zero-padded by `nFft // 2` on both sides ("center"), frame t is
  centred on sample `t * hopLength`; T = 1 + S // hopLength frames for S input samples.
- Valid frames of a row with `length` L: those whose centre lies inside the audio,
  `ceil(L / hopLength)` (0 when L = 0). Samples at index >= L are zeroed before the STFT, so
  padding content never leaks into valid frames, and a row's valid features do not depend on
  how far the batch is padded.
- Power spectrum |X|^2, HTK mel scale (mel = 2595 log10(1 + f/700)), triangular filters
  with unit peak (no area normalisation), natural log of max(mel energy, logFloor).
- Invalid frames are exactly 0 in `feats` (and 0 in `mask`).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F


@dataclass(frozen=True)
class LogMelConfig:
    """Log-mel front-end parameters (the manifest's `audio.frontEnd`)."""

    sampleRate: int = 16000  # Hz; the only rate the graph accepts
    nFft: int = 512  # samples per DFT frame (32 ms at 16 kHz)
    winLength: int = 400  # samples in the Hann window (25 ms)
    hopLength: int = 160  # samples between frames (10 ms -> 100 frames/s)
    nMels: int = 64  # mel bands
    fMin: float = 60.0  # Hz, lowest filter edge
    fMax: float = 7600.0  # Hz, highest filter edge (below Nyquist: telephone-band audio)
    logFloor: float = 1e-5  # mel energies are clamped to this before the log

    def __post_init__(self) -> None:
        if not (0 < self.winLength <= self.nFft):
            raise ValueError(f"winLength {self.winLength} must be in 1..nFft ({self.nFft})")
        if self.hopLength <= 0 or self.nMels <= 0:
            raise ValueError("hopLength and nMels must be positive")
        if not (0 <= self.fMin < self.fMax <= self.sampleRate / 2):
            raise ValueError(f"need 0 <= fMin < fMax <= sampleRate/2, got {self.fMin}, {self.fMax}")

    def to_manifest(self) -> dict:
        """The manifest's `audio.frontEnd` object (kind, inGraph and every parameter but the rate)."""
        d = asdict(self)
        d.pop("sampleRate")
        return {"kind": "logmel", "inGraph": True, **d}

    def frames_for(self, samples: int) -> int:
        """Valid frames for `samples` valid samples: ceil(samples / hopLength)."""
        return (samples + self.hopLength - 1) // self.hopLength


def hz_to_mel(f: np.ndarray | float) -> np.ndarray:
    """HTK mel scale."""
    return 2595.0 * np.log10(1.0 + np.asarray(f, dtype=np.float64) / 700.0)


def mel_to_hz(m: np.ndarray | float) -> np.ndarray:
    """Inverse of `hz_to_mel`."""
    return 700.0 * (10.0 ** (np.asarray(m, dtype=np.float64) / 2595.0) - 1.0)


def mel_filterbank(cfg: LogMelConfig) -> np.ndarray:
    """Triangular HTK mel filters, float64 [nFft//2 + 1, nMels], unit peak, evaluated at the
    DFT bin frequencies (same construction as torchaudio's melscale_fbanks(norm=None, 'htk'))."""
    n_bins = cfg.nFft // 2 + 1
    bin_hz = np.linspace(0.0, cfg.sampleRate / 2, n_bins)
    edges = mel_to_hz(np.linspace(hz_to_mel(cfg.fMin), hz_to_mel(cfg.fMax), cfg.nMels + 2))
    lo, mid, hi = edges[:-2], edges[1:-1], edges[2:]
    up = (bin_hz[:, None] - lo[None, :]) / (mid - lo)[None, :]
    down = (hi[None, :] - bin_hz[:, None]) / (hi - mid)[None, :]
    return np.maximum(0.0, np.minimum(up, down))


def dft_basis(cfg: LogMelConfig) -> np.ndarray:
    """Windowed real-DFT basis, float64 [2 * (nFft//2 + 1), winLength]: cos rows then -sin
    rows, each multiplied by the periodic Hann window. Only the `winLength` samples where the
    centred window is non-zero are kept (their phase is that of their place in the nFft
    frame): the same numbers as the full nFft basis with 22% fewer multiply-adds."""
    n = np.arange(cfg.winLength)
    win = 0.5 - 0.5 * np.cos(2.0 * math.pi * n / cfg.winLength)  # periodic Hann
    left = (cfg.nFft - cfg.winLength) // 2
    k = np.arange(cfg.nFft // 2 + 1)[:, None]
    ang = 2.0 * math.pi * k * (n[None, :] + left) / cfg.nFft
    return np.concatenate([np.cos(ang) * win, -np.sin(ang) * win], axis=0)


class LogMel(nn.Module):
    """PCM [B, S] float32 in [-1, 1] + valid lengths [B] int64 (samples)
    -> feats [B, T, nMels] float32 (natural-log mel energies, 0 at invalid frames)
       and mask [B, T] float32 (1 for valid frames), T = 1 + S // hopLength."""

    def __init__(self, cfg: LogMelConfig = LogMelConfig()) -> None:
        super().__init__()
        self.cfg = cfg
        basis = torch.tensor(dft_basis(cfg), dtype=torch.float32).unsqueeze(1)  # (2K, 1, winLength)
        self.register_buffer("basis", basis, persistent=False)
        fb = torch.tensor(mel_filterbank(cfg), dtype=torch.float32)  # (K, nMels)
        self.register_buffer("fbank", fb, persistent=False)
        self.n_bins = cfg.nFft // 2 + 1

    def forward(self, pcm: torch.Tensor, length: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        cfg = self.cfg
        idx = torch.arange(pcm.shape[1], device=pcm.device).unsqueeze(0)  # (1, S)
        pcm = pcm * (idx < length.unsqueeze(1)).to(pcm.dtype)  # zero what lies past `length`
        # centre padding nFft//2, minus the leading zeros of the window: frame t spans
        # samples [t*hop - winLength/2, t*hop + winLength/2)
        pad = cfg.nFft // 2 - (cfg.nFft - cfg.winLength) // 2
        x = F.pad(pcm.unsqueeze(1), (pad, cfg.winLength - pad))  # (B, 1, S + winLength)
        spec = F.conv1d(x, self.basis, stride=cfg.hopLength)  # (B, 2K, T)
        re, im = spec[:, : self.n_bins], spec[:, self.n_bins:]
        power = (re * re + im * im).transpose(1, 2)  # (B, T, K)
        mel = torch.matmul(power, self.fbank)  # (B, T, nMels)
        logmel = torch.log(torch.clamp(mel, min=cfg.logFloor))
        n_valid = torch.div(length + (cfg.hopLength - 1), cfg.hopLength, rounding_mode="floor")
        t = torch.arange(logmel.shape[1], device=pcm.device).unsqueeze(0)  # (1, T)
        mask = (t < n_valid.unsqueeze(1)).to(torch.float32)  # (B, T)
        return logmel * mask.unsqueeze(2), mask


def logmel_numpy(pcm: np.ndarray, length: int, cfg: LogMelConfig = LogMelConfig()) -> np.ndarray:
    """Reference log-mel of one row with numpy's FFT, float64 [frames_for(length), nMels]:
    the same conventions as `LogMel`, written the textbook way (framing + rfft)."""
    x = np.zeros(len(pcm), dtype=np.float64)
    x[:length] = pcm[:length]
    pad = cfg.nFft // 2
    x = np.pad(x, (pad, pad))
    n = np.arange(cfg.winLength)
    win = np.zeros(cfg.nFft)
    left = (cfg.nFft - cfg.winLength) // 2
    win[left:left + cfg.winLength] = 0.5 - 0.5 * np.cos(2.0 * math.pi * n / cfg.winLength)
    frames = [x[i * cfg.hopLength: i * cfg.hopLength + cfg.nFft] * win
              for i in range(cfg.frames_for(length))]
    if not frames:
        return np.zeros((0, cfg.nMels))
    power = np.abs(np.fft.rfft(np.stack(frames), axis=1)) ** 2
    return np.log(np.maximum(power @ mel_filterbank(cfg), cfg.logFloor))
