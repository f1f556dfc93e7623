"""The VADER lexicon baseline: rule-based valence for texts, on the model's -3..+3 scale.

`vaderSentiment` (PyPI, Hutto & Gilbert 2014) scores a text by its lexicon; its `compound`
score is the sum of word valences squashed into [-1, 1] by x / sqrt(x^2 + 15). The evaluation
compares the text path of the model against it on held-out VADER sentences (Pearson r is
unaffected by the mapping; MAE is not, so two mappings are offered).

CLI (from models/): python -m sdumc.lexicon "I love it" "this is awful"
"""
from __future__ import annotations

import argparse
import sys

import numpy as np

ALPHA = 15.0  # vaderSentiment's normalisation constant in compound = x / sqrt(x^2 + ALPHA)
VALENCE_MAX = 3.0  # the model's label scale is -3..+3


def compound_to_valence(compound: np.ndarray | float, mapping: str = "linear") -> np.ndarray:
    """Map VADER compound scores to -3..+3.

    linear  (default): 3 * compound.
    inverse: undo the squashing (x = c * sqrt(ALPHA / (1 - c^2)), the raw sum of lexicon
             valences on VADER's -4..+4 word scale), scale by 0.75 as the ground truth is
             rescaled, clip to -3..+3."""
    c = np.clip(np.asarray(compound, dtype=np.float64), -1.0, 1.0)
    if mapping == "linear":
        return VALENCE_MAX * c
    if mapping == "inverse":
        c = np.clip(c, -0.999999, 0.999999)
        raw = c * np.sqrt(ALPHA / (1.0 - c * c))
        return np.clip(0.75 * raw, -VALENCE_MAX, VALENCE_MAX)
    raise ValueError(f"unknown mapping {mapping!r} (use 'linear' or 'inverse')")


class Lexicon:
    """Wraps vaderSentiment's analyzer (loading its lexicon once)."""

    def __init__(self) -> None:
        try:
            from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
        except ImportError as e:  # pragma: no cover - environment problem
            raise RuntimeError("PyPI package vaderSentiment is not installed (models/requirements.txt)") from e
        self._sia = SentimentIntensityAnalyzer()

    def compound(self, texts: list[str]) -> np.ndarray:
        """VADER compound score per text, float64 [N] in [-1, 1]; empty texts are refused."""
        for i, t in enumerate(texts):
            if not isinstance(t, str) or not t.strip():
                raise ValueError(f"lexicon: text {i} is empty")
        return np.array([self._sia.polarity_scores(t)["compound"] for t in texts], dtype=np.float64)

    def valence(self, texts: list[str], mapping: str = "linear") -> np.ndarray:
        """Lexicon valence per text on -3..+3 (see `compound_to_valence`)."""
        return compound_to_valence(self.compound(texts), mapping)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m sdumc.lexicon", description=__doc__.split("\n\n")[0])
    ap.add_argument("texts", nargs="+", help="texts to score")
    ap.add_argument("--mapping", default="linear", choices=["linear", "inverse"])
    a = ap.parse_args(argv)
    try:
        for t, v in zip(a.texts, Lexicon().valence(a.texts, a.mapping)):
            print(f"{v:+.3f}\t{t}")
    except (ValueError, RuntimeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
