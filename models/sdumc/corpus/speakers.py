"""Speakers: each has a fixed espeak-ng voice, a fixed prosody offset and a fixed face
(resting AU levels, expressivity, head pose, gaze, camera distance), all drawn from the seed
and the speaker's name, so a speaker is the same person in every utterance and every run."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import coupling as C
from .layout import AU_NAMES
from .sources import stable_hash
from .tts import FEMALE_VARIANTS, LANGS, MALE_VARIANTS

MELD_GENDER = {"Rachel": "f", "Monica": "f", "Phoebe": "f",
               "Ross": "m", "Chandler": "m", "Joey": "m"}
"""Voice gender of MELD's six main characters; other speakers draw one at random."""


@dataclass(frozen=True)
class Speaker:
    """A speaker's fixed traits."""
    name: str
    voice: str                     # espeak-ng voice, "<lang>+<variant>"
    prosody_bias: tuple            # z units: (pitch, range, rate, gain)
    au_baseline: np.ndarray        # [17] resting AU intensity
    expressivity: float            # multiplies the expression profile
    pose: np.ndarray               # [3] head pitch/yaw/roll offset, rad
    gaze: np.ndarray               # [2] gaze x/y offset, rad
    scale: float                   # face scale (~1)


def rng_for(seed: int, *keys: str) -> np.random.Generator:
    """A generator that depends only on the seed and the string keys (order-independent of
    anything else the run does)."""
    return np.random.default_rng([seed] + [stable_hash(k) for k in keys])


def speaker_of(name: str, seed: int) -> Speaker:
    """The speaker called `name` under `seed`."""
    rng = rng_for(seed, "speaker", name)
    short = name.split(":", 1)[-1]
    gender = MELD_GENDER.get(short) or ("f" if rng.random() < 0.5 else "m")
    variants = FEMALE_VARIANTS if gender == "f" else MALE_VARIANTS
    voice = f"{LANGS[rng.integers(len(LANGS))]}+{variants[rng.integers(len(variants))]}"
    f = C.FACE
    return Speaker(
        name=name, voice=voice,
        prosody_bias=tuple(float(x) for x in rng.normal(0.0, C.PROSODY_SPEAKER_SD, 4)),
        au_baseline=np.abs(rng.normal(0.0, f["speaker_au_baseline_sd"], len(AU_NAMES))),
        expressivity=float(np.exp(rng.normal(0.0, f["speaker_gain_log_sd"]))),
        pose=rng.normal(0.0, f["speaker_pose_sd"], 3),
        gaze=rng.normal(0.0, f["speaker_gaze_sd"], 2),
        scale=float(1.0 + rng.normal(0.0, f["speaker_scale_sd"])),
    )


def heldout_voice_of(speaker: Speaker, seed: int) -> str:
    """The speaker's fixed Flite voice in the held-out family: the same gender as its
    espeak-ng voice (slt is Flite's one female voice; males draw kal16 or awb). Drawn from
    its own generator, so adding the family changed no espeak-ng speaker."""
    voices = C.HELDOUT["voices"]
    gender = "f" if "+f" in speaker.voice else "m"
    same = sorted(v for v, (g, _m, _s) in voices.items() if g == gender)
    return same[int(rng_for(seed, "heldout-speaker", speaker.name).integers(len(same)))]
