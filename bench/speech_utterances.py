"""Spoken test utterances for the speech benchmarks: MELD-style lines (written here) spoken by
espeak-ng voices into 16 kHz mono WAVs (espeak-ng and sox must be installed)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "models"))
from sdumc.metrics import word_errors  # noqa: E402

# (voice, text): four espeak-ng voice variants, short conversational lines with emotion words.
UTTERANCES = [
    ("en-us", "I can't believe you would do something like that."),
    ("en-us", "That is the best news I have heard all week!"),
    ("en-gb-x-rp", "Could you please just leave me alone for a minute?"),
    ("en-gb-x-rp", "We were on a break, and you know it."),
    ("en-us+m3", "Thank you so much, this means a lot to me."),
    ("en-us+m3", "I am so tired of waiting for your call."),
    ("en-us+f3", "Okay, everybody relax. This is not even a date."),
    ("en-us+f3", "My flight was cancelled and nobody told me anything."),
    ("en-us", "Well, that went better than I expected."),
    ("en-gb-x-rp", "Honestly, I don't care what they think about us."),
]


def synthesise(voice: str, text: str, path: Path) -> Path:
    """espeak-ng at 160 words per minute, resampled by sox to 16 kHz 16-bit mono."""
    espeak = subprocess.run(["espeak-ng", "-v", voice, "-s", "160", "--stdout", text], check=True, capture_output=True)
    subprocess.run(["sox", "-t", "wav", "-", "-r", "16000", "-b", "16", "-c", "1", str(path)], input=espeak.stdout, check=True)
    return path


# Word error counts: one rule for every WER the project reports (sdumc.metrics).
wer = word_errors
