"""The fixed coupling of voice and face to the label: every constant the generator uses to
tie prosody and facial expression to a sentence's valence. Decided before any model was
trained and never tuned on model results; docs/corpus.md justifies each number, and the
whole table is copied into each corpus's corpus.json (`coupling`), versioned by
COUPLING_VERSION. Changing any number here means a new COUPLING_VERSION and a new corpus.
"""
from __future__ import annotations

COUPLING_VERSION = "c2"
"""c2 = c1 (every c1 number unchanged, so espeak-ng rows keep their c1 bytes) + the held-out
voice family (HELDOUT below)."""

VOICE_DISAGREE_SHARE = 0.25
"""Share of utterances whose prosody is drawn for a different 3-class label than the words'."""

FACE_DISAGREE_SHARE = 0.25
"""Share of utterances whose face is drawn for a different 3-class label (independent of the
voice's draw, so ~6% disagree in both)."""

NEGATIVE_EMOTIONS = (("sadness", 0.6), ("anger", 0.4))
"""Emotion displayed for a negative label when the source has no emotion (VADER) or the
display disagrees: low-arousal sadness or high-arousal anger."""

POSITIVE_EMOTIONS = (("joy", 0.8), ("surprise", 0.2))
"""Emotion displayed for a positive label when the source has no emotion or it disagrees."""

MELD_INTENSITY = 0.75
"""Expression intensity (0..1) of MELD's non-neutral utterances (MELD has no intensity)."""

VADER_INTENSITY_FULL = 2.0
"""VADER |valence| (on -3..+3) at which expression intensity reaches 1; intensity grows
linearly from 0 at valence 0."""

# --- voice --------------------------------------------------------------------------------
# Per emotion, prosody offsets in "z" units at full intensity, for
# (F0 level, F0 range, speech rate, loudness). Directions from Juslin & Laukka (2003, Table 7)
# and Scherer (2003); magnitudes kept moderate because valence is expressed weakly in the
# voice compared with arousal (Bachorowski 1999; Goudbeek & Scherer 2010).
PROSODY_PROFILES = {
    "neutral":  (0.0, 0.0, 0.0, 0.0),
    "joy":      (1.0, 1.0, 0.4, 0.5),
    "surprise": (1.0, 1.2, 0.2, 0.4),
    "sadness":  (-0.8, -1.0, -1.0, -1.0),
    "anger":    (0.5, 0.5, 0.6, 1.2),
    "fear":     (0.8, -0.4, 0.6, -0.2),
    "disgust":  (-0.5, -0.4, -0.6, 0.2),
}

PROSODY_UNITS = {"pitch": 8.0, "range": 14.0, "rate_rel": 0.09, "gain_db": 2.5}
"""One z unit in espeak-ng pitch units (0..100), range units (0..100), relative speech rate,
and dB of level."""

PROSODY_BASE = {"pitch": 50.0, "range": 50.0, "rate": 165.0, "gain_db": 0.0}
"""Neutral voice: espeak-ng defaults, 165 words/min, reference level."""

PROSODY_SPEAKER_SD = 0.6
"""SD (z units) of each speaker's fixed offset on each of the four prosody dimensions."""

PROSODY_SAMPLE_SD = 0.5
"""SD (z units) of the per-utterance jitter on each dimension, independent of the label."""

PROSODY_LIMITS = {"pitch": (5, 95), "range": (5, 95), "rate": (110, 260), "gain_db": (-9, 9)}

# --- held-out voice family (test only) -----------------------------------------------------
# The same prosody z values drive Flite (tts_flite.py) through the perceptual size of one z
# unit in espeak-ng, measured once on two espeak-ng voices (en-us+m3, en-gb-x-rp+f2; median F0
# and F0 SD in semitones of one sentence at pitch 34..66 and range 22..78): 8 pitch units move
# the median F0 by ~1.17 semitones; 14 range units scale the F0 SD by ~1.25. Rate is the same
# relative tempo (flite duration_stretch = base rate / espeak rate); loudness is the channel's
# gain_db, engine-independent.
HELDOUT = {
    "family": "flite",
    "voices": {  # voice: (gender, F0 mean Hz, F0 SD Hz) = the voice model's own statistics
        "kal16": ("m", 95.0, 11.0), "awb": ("m", 132.0, 25.0), "slt": ("f", 172.0, 27.0)},
    "pitch_semitones_per_z": 1.17,
    "range_factor_per_z": 1.25,
}
"""Flite voices of the held-out family and the mapping of prosody z units onto them."""

# --- face -----------------------------------------------------------------------------------
# Per emotion, AU intensities (0..5, OpenFace scale) at full intensity: EMFACS prototypes
# (Ekman & Friesen 1978; Ekman, Friesen & Hager 2002), e.g. joy = AU6 + AU12.
FACE_PROFILES = {
    "neutral":  {},
    "joy":      {"AU06": 2.0, "AU12": 3.0, "AU07": 0.5, "AU25": 0.6},
    "surprise": {"AU01": 2.2, "AU02": 2.0, "AU05": 1.6, "AU26": 1.5},
    "sadness":  {"AU01": 1.8, "AU04": 1.6, "AU15": 2.0, "AU17": 1.0},
    "anger":    {"AU04": 2.5, "AU05": 1.0, "AU07": 2.0, "AU23": 2.0, "AU17": 0.8},
    "fear":     {"AU01": 2.0, "AU02": 1.5, "AU04": 1.5, "AU05": 2.0, "AU20": 2.0},
    "disgust":  {"AU09": 2.5, "AU10": 2.0, "AU15": 1.0, "AU04": 1.0},
}

HEAD_PROFILES = {"sadness": (-0.12, 0.0, -0.10), "joy": (0.04, 0.0, 0.02),
                 "anger": (-0.05, 0.0, 0.0), "surprise": (0.06, 0.0, 0.05)}
"""Per emotion (head pitch rad, head yaw rad, gaze y rad) at full intensity: the head and gaze
lower in sadness (Wallbott 1998), lift slightly in joy and surprise."""

FACE = {
    "speaker_au_baseline_sd": 0.3,    # |N(0, sd)| resting AU level per speaker and AU
    "speaker_gain_log_sd": 0.3,       # expressivity: exp(N(0, sd)) per speaker
    "speaker_pose_sd": 0.10,          # rad, fixed head pitch/yaw/roll offset per speaker
    "speaker_gaze_sd": 0.08,          # rad, fixed gaze offset per speaker
    "speaker_scale_sd": 0.08,         # face scale (camera distance) per speaker, around 1
    "onset_max_s": 0.4,               # expression starts uniformly in [0, onset_max_s]
    "ar_expression": 0.8,             # AR(1) approach of the expression to its target per frame
    "ar_noise": 0.85,                 # AR(1) coefficient of the slow per-AU wander
    "wander_sd": 0.25,                # innovation SD of the slow wander, AU units
    "obs_sd": 0.15,                   # frame-level measurement noise, AU units
    "pose_ar": 0.95, "pose_sd": 0.015,  # head pose random walk (rad) per frame
    "speech_au25": 1.5, "speech_au26": 1.1,  # lips part / jaw drop per unit speech envelope
    "blink_rate_hz": 0.3,             # AU45 blinks per second, value ~3 for 1-2 frames
    "dropout_start": 0.03,            # per-frame chance a face-lost burst starts
    "dropout_end": 0.30,              # per-frame chance a burst ends (~3.3 frames mean)
}
"""Face dynamics, noise and dropout (~9% of frames lost: 0.03 / (0.03 + 0.30))."""


def table() -> dict:
    """All coupling constants as one JSON-able dict (recorded in corpus.json)."""
    return {
        "version": COUPLING_VERSION,
        "voice_disagree_share": VOICE_DISAGREE_SHARE,
        "face_disagree_share": FACE_DISAGREE_SHARE,
        "negative_emotions": NEGATIVE_EMOTIONS, "positive_emotions": POSITIVE_EMOTIONS,
        "meld_intensity": MELD_INTENSITY, "vader_intensity_full": VADER_INTENSITY_FULL,
        "prosody_profiles": PROSODY_PROFILES, "prosody_units": PROSODY_UNITS,
        "prosody_base": PROSODY_BASE, "prosody_speaker_sd": PROSODY_SPEAKER_SD,
        "prosody_sample_sd": PROSODY_SAMPLE_SD, "prosody_limits": PROSODY_LIMITS,
        "heldout": HELDOUT,
        "face_profiles": FACE_PROFILES, "head_profiles": HEAD_PROFILES, "face": FACE,
    }
