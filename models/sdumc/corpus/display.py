"""What a modality displays: the label, emotion and intensity that a voice or a face shows
for one utterance. Usually the words' own; for a fixed share, another label's (disagree)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import coupling as C
from .layout import LABELS3


@dataclass(frozen=True)
class Display:
    """A displayed expression."""
    label3: str        # negative | neutral | positive
    emotion: str       # a key of coupling.PROSODY_PROFILES / FACE_PROFILES
    intensity: float   # 0..1
    disagree: bool     # True when label3 differs from the words' label


def _pick(options, rng: np.random.Generator) -> str:
    names = [o[0] for o in options]
    p = np.array([o[1] for o in options], float)
    return names[int(rng.choice(len(names), p=p / p.sum()))]


def intensity_of(valence: float, source: str) -> float:
    """Expression intensity (0..1) of an utterance's own label."""
    if source == "meld":
        return C.MELD_INTENSITY if abs(valence) > 0 else 0.0
    return float(min(1.0, abs(valence) / C.VADER_INTENSITY_FULL))


def draw_display(label3: str, emotion: str | None, valence: float, source: str,
                 disagree_share: float, rng: np.random.Generator) -> Display:
    """The display of one modality. With probability `disagree_share`, another of the three
    labels, drawn uniformly, at intensity U(0.4, 1) (0 if neutral); otherwise the words' label
    with the source's emotion (MELD) or a drawn one (VADER) at the label's own intensity."""
    if rng.random() < disagree_share:
        other = [l for l in LABELS3 if l != label3]
        shown = other[int(rng.integers(2))]
        inten = 0.0 if shown == "neutral" else float(rng.uniform(0.4, 1.0))
        return Display(shown, _emotion_for(shown, rng), inten, True)
    inten = 0.0 if label3 == "neutral" else intensity_of(valence, source)
    if emotion is None or (emotion == "neutral" and label3 != "neutral"):
        emotion = _emotion_for(label3, rng)
    if label3 == "neutral":
        emotion = "neutral"
    return Display(label3, emotion, inten, False)


def _emotion_for(label3: str, rng: np.random.Generator) -> str:
    if label3 == "negative":
        return _pick(C.NEGATIVE_EMOTIONS, rng)
    if label3 == "positive":
        return _pick(C.POSITIVE_EMOTIONS, rng)
    return "neutral"
