"""One utterance end to end: displays -> prosody -> espeak-ng -> telephone channel -> face.
Everything random comes from a generator seeded by (seed, utterance id), so an utterance's
bytes do not depend on which other utterances are made, in which order, or by which worker."""
from __future__ import annotations

import numpy as np

from . import channel as ch
from . import coupling as C
from .display import draw_display
from .face import face_frames, speech_envelope
from .layout import SAMPLES_PER_FRAME
from .prosody import prosody_params
from .sources import Item
from .speakers import rng_for, speaker_of
from .tts import ESPEAK_RATE, Espeak

MIN_SECONDS = 0.3
"""Shortest audio kept; espeak-ng output shorter than this (e.g. "Hm.") is padded with silence."""


def make_utterance(item: Item, seed: int, tts: Espeak) -> tuple[dict, np.ndarray, np.ndarray]:
    """(meta row without offsets, int16 [samples] at 16 kHz, float16 [frames, 24])."""
    rng = rng_for(seed, "utterance", item.id)
    spk = speaker_of(item.speaker, seed)
    voice_d = draw_display(item.label3, item.emotion, item.valence, item.source,
                           C.VOICE_DISAGREE_SHARE, rng)
    face_d = draw_display(item.label3, item.emotion, item.valence, item.source,
                          C.FACE_DISAGREE_SHARE, rng)
    pros = prosody_params(voice_d, spk, rng)
    speech = tts.synth(item.text, spk.voice, pros["pitch"], pros["range"], pros["rate"])
    speech = speech.astype(np.float64) / 32768.0
    min_len = int(MIN_SECONDS * ESPEAK_RATE)
    if len(speech) < min_len:
        speech = np.pad(speech, (0, min_len - len(speech)))
    snr = float(ch.SNRS_DB[int(rng.integers(len(ch.SNRS_DB)))])
    noise = ch.NOISE_KINDS[int(rng.integers(len(ch.NOISE_KINDS)))]
    mulaw = bool(rng.random() < ch.MULAW_SHARE)
    pcm = ch.telephone(speech, ESPEAK_RATE, pros["gain_db"], snr, noise, mulaw, rng)
    frames = max(1, -(-len(pcm) // SAMPLES_PER_FRAME))
    env = speech_envelope(pcm.astype(np.float32) / 32768.0, frames)
    video, lost = face_frames(face_d, spk, env, rng)
    row = {
        "id": item.id, "source": item.source, "subset": item.subset, "split": item.split,
        "text": item.text, "valence": item.valence, "label3": item.label3,
        "emotion": item.emotion, "speaker": item.speaker, "voice": spk.voice,
        "prosody": pros,
        "voice_label3": voice_d.label3, "voice_emotion": voice_d.emotion,
        "voice_intensity": round(voice_d.intensity, 3), "voice_disagree": voice_d.disagree,
        "face_label3": face_d.label3, "face_emotion": face_d.emotion,
        "face_intensity": round(face_d.intensity, 3), "face_disagree": face_d.disagree,
        "disagree": voice_d.disagree or face_d.disagree,
        "snr_db": snr, "noise": noise, "mulaw": mulaw, "dropped_frames": lost,
        **item.extra,
    }
    return row, pcm, video.astype(np.float16)
