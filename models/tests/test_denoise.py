"""The bench-only Wiener front-end (sdumc.speech.denoise): it must remove stationary noise from a
noisy tone without distorting a clean one, keep the length, and pass short input through."""
import numpy as np

from sdumc.speech.denoise import wiener

SR = 16000


def _tone(seconds: float) -> np.ndarray:
    t = np.arange(int(SR * seconds)) / SR
    # Speech-like: a 300 Hz tone gated on and off (the off parts are the "pauses" the noise
    # estimate reads).
    gate = (np.sin(2 * np.pi * 1.5 * t) > 0).astype(np.float64)
    return 0.3 * np.sin(2 * np.pi * 300 * t) * gate


def _snr_db(clean: np.ndarray, test: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(clean ** 2) / np.sum((test - clean) ** 2)))


def test_wiener_raises_snr_on_stationary_noise():
    clean = _tone(3.0)
    noise = np.random.default_rng(0).normal(0, 0.03, len(clean))
    noisy = clean + noise
    out = wiener(noisy)
    assert out.dtype == np.float32 and len(out) == len(noisy)
    before, after = _snr_db(clean, noisy), _snr_db(clean, out.astype(np.float64))
    assert after > before + 3, f"SNR {before:.1f} dB -> {after:.1f} dB"


def test_wiener_short_input_passes_through():
    x = np.linspace(-0.1, 0.1, 100)
    np.testing.assert_array_equal(wiener(x), x.astype(np.float32))
