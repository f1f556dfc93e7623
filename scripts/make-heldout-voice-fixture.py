"""Regenerates fixtures/heldout-voice/: short human-labelled sentences from the corpus's TEST
split (VADER ground truth and MELD, docs/corpus.md), spoken by Flite, a TTS family the model
never heard in training, as 8 kHz telephone calls (band 300..3400 Hz, line noise 30 dB down,
G.711 mu-law round trip: sdumc.corpus.channel.telephone). Used by the speech path's end-to-end
test (test/integration/heldout-voice.test.ts) with the transcript withheld.

  .venv/bin/python scripts/make-heldout-voice-fixture.py        # from the repository root

The fixture is 20 calls (160 sentences, 12 MB): 64 sentences put the test's bar (r > 0.25) at the
int8 quantisation noise of the text encoder (0.235-0.268 for the same weights quantised two ways),
160 measure the same route at r ~0.5. A different set outside the repository:
  HELDOUT_OUT=/tmp/hv HELDOUT_CALLS=40 .venv/bin/python scripts/make-heldout-voice-fixture.py

Deterministic: the sentences are chosen by sha1 of their ids, the voices cycle in a fixed order
and the noise is seeded, so the same Flite build writes the same files.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import wave

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "models"))
from sdumc.corpus.channel import telephone  # noqa: E402
from sdumc.corpus.sources import load_items  # noqa: E402

DATA = os.environ.get("DATA_DIR_SHARED", os.path.join(ROOT, "..", "..", "shared", "data"))
OUT = os.environ.get("HELDOUT_OUT", os.path.join(ROOT, "fixtures", "heldout-voice"))
VOICES = ("slt", "rms", "awb")
"""Flite's CMU ARCTIC voices (16 kHz); one per call, in turn."""
CALLS = int(os.environ.get("HELDOUT_CALLS", "20"))
PER_CALL = 8
WORDS = (4, 14)
"""Sentence length in words: short enough for ~1-5 s of speech."""
GAP_MS = 1200
"""Silence between sentences: longer than the window's VAD hangover (800 ms), so a sentence
and the next never share a segment."""


def pick(items):
    """VADER (continuous valence) spread over five valence bins, plus MELD balanced over its
    three classes; within each group, lowest sha1 of the id first."""
    test = [i for i in items if i.split == "test" and WORDS[0] <= len(i.text.split()) <= WORDS[1]]
    key = lambda i: hashlib.sha1(i.id.encode()).hexdigest()  # noqa: E731
    out = []
    vader = sorted((i for i in test if i.source == "vader"), key=key)
    bins = [(-3.1, -1.5), (-1.5, -0.5), (-0.5, 0.5), (0.5, 1.5), (1.5, 3.1)]
    per = -(-CALLS * PER_CALL // 8)   # 20 per group: the fixture's 160 sentences, 100 VADER + 60 MELD
    for lo, hi in bins:
        out += [i for i in vader if lo <= i.valence < hi][:per]
    meld = sorted((i for i in test if i.source == "meld"), key=key)
    for label in ("negative", "neutral", "positive"):
        out += [i for i in meld if i.label3 == label][:per]
    out.sort(key=key)
    return out[: CALLS * PER_CALL]


def flite(text: str, voice: str) -> tuple[np.ndarray, int]:
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "u.wav")
        subprocess.run(["flite", "-voice", voice, "-t", text, "-o", path], check=True)
        with wave.open(path) as w:
            rate = w.getframerate()
            x = np.frombuffer(w.readframes(w.getnframes()), np.int16).astype(np.float64) / 32768.0
    return x, rate


def main() -> int:
    items, _ = load_items(DATA)
    chosen = pick(items)
    rng = np.random.default_rng(12)
    os.makedirs(OUT, exist_ok=True)
    for c in range(CALLS):
        call_id = f"heldout-{c + 1}"
        voice = VOICES[c % len(VOICES)]
        pcm, utts, t = [np.zeros(8000 * 600 // 1000, np.int16)], [], 600
        for it in chosen[c * PER_CALL:(c + 1) * PER_CALL]:
            x, rate = flite(it.text, voice)
            y = telephone(x, rate, gain_db=0.0, snr_db=30.0, noise_kind="pink", mulaw=True, rng=rng, out_rate=8000)
            ms = len(y) * 1000 // 8000
            utts.append({"channel": "customer", "startMs": t, "endMs": t + ms, "text": it.text,
                         "label3": it.label3, "valence": it.valence, "id": it.id, "voice": f"flite:{voice}"})
            pcm += [y, np.zeros(8000 * GAP_MS // 1000, np.int16)]
            t += ms + GAP_MS
        audio = np.concatenate(pcm)
        d = os.path.join(OUT, call_id)
        os.makedirs(d, exist_ok=True)
        audio.astype("<i2").tofile(os.path.join(d, "customer.pcm"))
        meta = {"callId": call_id, "tenant": "demo", "durationMs": len(audio) * 1000 // 8000, "sampleRate": 8000,
                "channels": ["customer"], "voice": f"flite:{voice}",
                "source": "VADER ground truth (MIT) and MELD train (GPL-3.0), corpus test split",
                "utterances": utts}
        with open(os.path.join(d, "call.json"), "w") as f:
            json.dump(meta, f, indent=1)
            f.write("\n")
    print(f"wrote {CALLS} calls, {len(chosen)} sentences to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
