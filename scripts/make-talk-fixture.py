#!/usr/bin/env python3
"""Writes fixtures/talk/: a synthetic two-channel call whose talk spans, words and levels are
known, for the talk-analytics test (test/analytics/talk-fixture.test.ts).

    .venv/bin/python scripts/make-talk-fixture.py

two-channel.wav: 8 kHz, 16-bit, stereo (left = customer, right = agent), 8 s. Each turn is a
sum of two tones (a voice-like 180/360 Hz or 260/520 Hz pair) at the turn's amplitude with
20 ms raised-cosine edges; a faint deterministic noise floor (seed 0, about -70 dBFS) runs
under both channels. two-channel.json lists the turns (ms), their words (customer) and the
format. Deterministic: the same bytes on every run.
"""
import json
import wave
from pathlib import Path

import numpy as np

RATE = 8000
DURATION_MS = 8000
OUT = Path(__file__).resolve().parent.parent / "fixtures" / "talk"

# (channel, start ms, end ms, amplitude, transcript or None)
TURNS = [
    ("customer", 300, 2300, 0.30, "hi I ordered a blender three weeks ago and it still has not arrived"),
    ("agent", 2700, 3600, 0.08, None),
    ("customer", 3000, 4200, 0.30, "sorry can I just say this is the second time"),
    ("agent", 4000, 5000, 0.08, None),
    ("customer", 5600, 7000, 0.30, "I would like a refund please"),
    ("agent", 6500, 7600, 0.08, None),
]
TONES = {"customer": (180.0, 360.0), "agent": (260.0, 520.0)}


def turn(ms: int, amp: float, tones: tuple) -> np.ndarray:
    t = np.arange(int(ms * RATE / 1000)) / RATE
    x = 0.7 * np.sin(2 * np.pi * tones[0] * t) + 0.3 * np.sin(2 * np.pi * tones[1] * t)
    edge = int(0.02 * RATE)
    ramp = 0.5 - 0.5 * np.cos(np.pi * np.arange(edge) / edge)
    x[:edge] *= ramp
    x[-edge:] *= ramp[::-1]
    return amp * x / np.max(np.abs(x))


def main() -> None:
    n = DURATION_MS * RATE // 1000
    rng = np.random.default_rng(0)
    chans = {c: rng.normal(0.0, 0.0003, n) for c in ("customer", "agent")}
    for ch, s, e, amp, _ in TURNS:
        a = s * RATE // 1000
        chans[ch][a:a + int((e - s) * RATE / 1000)] += turn(e - s, amp, TONES[ch])
    pcm = np.stack([chans["customer"], chans["agent"]], axis=1)
    pcm = np.clip(np.round(pcm * 32767), -32768, 32767).astype("<i2")
    OUT.mkdir(parents=True, exist_ok=True)
    with wave.open(str(OUT / "two-channel.wav"), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(pcm.tobytes())
    meta = {
        "wav": "two-channel.wav", "sampleRate": RATE, "durationMs": DURATION_MS,
        "channels": ["customer", "agent"],
        "turns": [{"channel": c, "startMs": s, "endMs": e, "amplitude": a, "text": t}
                  for c, s, e, a, t in TURNS],
        "made_by": "scripts/make-talk-fixture.py (synthetic, no third-party data; project licence)",
    }
    (OUT / "two-channel.json").write_text(json.dumps(meta, indent=2) + "\n")


if __name__ == "__main__":
    main()
