"""The speech routes of issue 12: audio as served, the route caches' greedy stop reasons and
row choice, and the route evaluation's pieces (real onnxruntime sessions, small inputs)."""
import json
from pathlib import Path

import numpy as np
import pytest

from sdumc.speech.served_audio import as_served, resample

MODELS = Path(__file__).resolve().parent.parent
SPEECH = MODELS / "speech-whisper-tiny-en"


def test_resampler_port_equals_the_served_typescript_resampler():
    fx = json.loads((MODELS / "fixtures" / "resample-8k-16k.json").read_text())
    y = resample(np.array(fx["x"], np.float32), fx["fromRate"], fx["toRate"])
    assert y.shape == (len(fx["y"]),)
    assert np.abs(y - np.array(fx["y"], np.float32)).max() <= 1e-6  # float32 rounding only


def test_as_served_keeps_telephone_speech_and_the_length():
    t = np.arange(16000) / 16000
    x = (0.5 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)   # in the telephone band
    y = as_served(x)
    assert y.shape == x.shape and y.dtype == np.float32
    assert np.abs(y[100:-100] - x[100:-100]).max() < 2e-3          # a 1 kHz tone passes
    hi = (0.5 * np.sin(2 * np.pi * 3900 * t)).astype(np.float32)   # above the 3.6 kHz pass band
    assert np.abs(as_served(hi)[100:-100]).max() < 0.5 * 0.5
