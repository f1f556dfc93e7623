"""One utterance end to end: displays -> prosody -> TTS -> telephone channel -> face.
Everything random comes from a generator seeded by (seed, utterance id), so an utterance's
bytes do not depend on which other utterances are made, in which order, or by which worker.

A test sentence is rendered twice (make_rows): by espeak-ng (the in-family voice, as in
train and val) and by the held-out family, Flite. Both renderings draw the same displays,
prosody z values, SNR, noise kind and mu-law choice from the same generator; only the voice
differs, plus the noise samples and face frames drawn after it (their length follows the
speech's)."""
from __future__ import annotations

import numpy as np

from . import channel as ch
from . import coupling as C
from .display import draw_display
from .face import face_frames, speech_envelope
from .layout import SAMPLES_PER_FRAME
from .prosody import heldout_params, prosody_params
from .sources import Item
from .speakers import heldout_voice_of, rng_for, speaker_of
from .tts import ESPEAK_RATE, Espeak
from .tts_flite import FLITE_RATE, Flite

IN_FAMILY = "espeak"
"""Voice family of every train and val row, and of one rendering of each test sentence."""

HELDOUT_FAMILY = C.HELDOUT["family"]
"""Voice family heard only in test rows ("flite")."""

HELDOUT_ID_SUFFIX = "~" + HELDOUT_FAMILY
"""A held-out rendering's row id is its sentence's id plus this ("vader-movie-17~flite")."""

MIN_SECONDS = 0.3
"""Shortest audio kept; espeak-ng output shorter than this (e.g. "Hm.") is padded with silence."""


def make_rows(item: Item, seed: int, tts: Espeak, heldout: Flite | None
              ) -> list[tuple[dict, np.ndarray, np.ndarray]]:
    """The rows of one sentence: its espeak-ng rendering, and for a test sentence when
    `heldout` is given, its Flite rendering right after it."""
    out = [make_utterance(item, seed, tts)]
    if heldout is not None and item.split == "test":
        out.append(make_utterance(item, seed, heldout))
    return out


def make_utterance(item: Item, seed: int, tts: Espeak | Flite
                   ) -> tuple[dict, np.ndarray, np.ndarray]:
    """(meta row without offsets, int16 [samples] at 16 kHz, float16 [frames, 24]) of `item`
    spoken by `tts`: espeak-ng (in-family) or Flite (held-out family)."""
    rng = rng_for(seed, "utterance", item.id)
    spk = speaker_of(item.speaker, seed)
    voice_d = draw_display(item.label3, item.emotion, item.valence, item.source,
                           C.VOICE_DISAGREE_SHARE, rng)
    face_d = draw_display(item.label3, item.emotion, item.valence, item.source,
                          C.FACE_DISAGREE_SHARE, rng)
    pros = prosody_params(voice_d, spk, rng)
    family, engine = IN_FAMILY, {}
    if isinstance(tts, Flite):
        family, voice, rate = HELDOUT_FAMILY, heldout_voice_of(spk, seed), FLITE_RATE
        engine = heldout_params(pros, voice)
        speech = tts.synth(item.text, voice, engine["f0_mean_hz"], engine["f0_sd_hz"],
                           engine["duration_stretch"])
    else:
        voice, rate = spk.voice, ESPEAK_RATE
        speech = tts.synth(item.text, voice, pros["pitch"], pros["range"], pros["rate"])
    speech = speech.astype(np.float64) / 32768.0
    min_len = int(MIN_SECONDS * rate)
    if len(speech) < min_len:
        speech = np.pad(speech, (0, min_len - len(speech)))
    snr = float(ch.SNRS_DB[int(rng.integers(len(ch.SNRS_DB)))])
    noise = ch.NOISE_KINDS[int(rng.integers(len(ch.NOISE_KINDS)))]
    mulaw = bool(rng.random() < ch.MULAW_SHARE)
    pcm = ch.telephone(speech, rate, pros["gain_db"], snr, noise, mulaw, rng)
    frames = max(1, -(-len(pcm) // SAMPLES_PER_FRAME))
    env = speech_envelope(pcm.astype(np.float32) / 32768.0, frames)
    video, lost = face_frames(face_d, spk, env, rng)
    row = {
        "id": item.id + (HELDOUT_ID_SUFFIX if family == HELDOUT_FAMILY else ""),
        "sentence_id": item.id, "voice_family": family,
        "source": item.source, "subset": item.subset, "split": item.split,
        "text": item.text, "valence": item.valence, "label3": item.label3,
        "emotion": item.emotion, "speaker": item.speaker, "voice": voice,
        "prosody": pros,
        "voice_label3": voice_d.label3, "voice_emotion": voice_d.emotion,
        "voice_intensity": round(voice_d.intensity, 3), "voice_disagree": voice_d.disagree,
        "face_label3": face_d.label3, "face_emotion": face_d.emotion,
        "face_intensity": round(face_d.intensity, 3), "face_disagree": face_d.disagree,
        "disagree": voice_d.disagree or face_d.disagree,
        "snr_db": snr, "noise": noise, "mulaw": mulaw, "dropped_frames": lost,
        **item.extra,
    }
    if engine:
        row["flite"] = engine
    return row, pcm, video.astype(np.float16)
