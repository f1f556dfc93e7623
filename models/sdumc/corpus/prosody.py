"""Prosody of one utterance: espeak-ng pitch, pitch range, rate and a level gain, from the
voice's display (coupling.PROSODY_PROFILES), the speaker's offset and per-utterance jitter."""
from __future__ import annotations

import numpy as np

from . import coupling as C
from .display import Display
from .speakers import Speaker


def prosody_params(display: Display, speaker: Speaker, rng: np.random.Generator) -> dict:
    """{"pitch", "range", "rate" (words/min), "gain_db"} for espeak-ng and the channel.
    z = profile[emotion] * intensity + speaker bias + N(0, PROSODY_SAMPLE_SD), per dimension."""
    prof = np.array(C.PROSODY_PROFILES[display.emotion]) * display.intensity
    z = prof + np.array(speaker.prosody_bias) + rng.normal(0.0, C.PROSODY_SAMPLE_SD, 4)
    u, b, lim = C.PROSODY_UNITS, C.PROSODY_BASE, C.PROSODY_LIMITS
    raw = {
        "pitch": b["pitch"] + u["pitch"] * z[0],
        "range": b["range"] + u["range"] * z[1],
        "rate": b["rate"] * (1.0 + u["rate_rel"] * z[2]),
        "gain_db": b["gain_db"] + u["gain_db"] * z[3],
    }
    out = {k: float(np.clip(v, *lim[k])) for k, v in raw.items()}
    for k in ("pitch", "range", "rate"):
        out[k] = int(round(out[k]))          # espeak-ng takes integers
    out["gain_db"] = round(out["gain_db"], 2)
    return out


def heldout_params(pros: dict, voice: str) -> dict:
    """Flite targets for the held-out voice `voice` carrying the same prosody as `pros` (the
    espeak-ng values of prosody_params): {"f0_mean_hz", "f0_sd_hz", "duration_stretch"}.
    The z values are read back from espeak-ng units (so the espeak-ng limits apply to both)
    and sized by coupling.HELDOUT's semitones and SD factor per z; rate is the same relative
    tempo. Flite has no pitch-range control beyond the F0 SD target, no voice quality."""
    u, b, h = C.PROSODY_UNITS, C.PROSODY_BASE, C.HELDOUT
    _gender, mean_hz, sd_hz = h["voices"][voice]
    z_pitch = (pros["pitch"] - b["pitch"]) / u["pitch"]
    z_range = (pros["range"] - b["range"]) / u["range"]
    return {
        "f0_mean_hz": round(mean_hz * 2.0 ** (h["pitch_semitones_per_z"] * z_pitch / 12.0), 2),
        "f0_sd_hz": round(sd_hz * h["range_factor_per_z"] ** z_range, 2),
        "duration_stretch": round(b["rate"] / pros["rate"], 4),
    }
