"""Fixed numbers of the corpus format, shared by the generator and the reader.

The per-frame face feature layout is documented in docs/video-features.md; the order here is
the order on disk and in the model manifest's `video.features`.
"""

FORMAT = 2
"""Version of the on-disk format (corpus.json `format`); bump on any incompatible change.
2: rows carry `voice_family` and `sentence_id`; test sentences may have a held-out-voice row."""

READABLE_FORMATS = (1, 2)
"""Formats the reader opens: a format-1 corpus (v1) reads as all rows in-family."""

VOICE_FAMILIES = ("espeak", "flite")
"""TTS families: espeak-ng speaks every split; flite (held out) only test sentences."""

SAMPLE_RATE = 16000
"""Audio sample rate of `audio.i16`, Hz (mono, int16 little-endian)."""

FPS = 10
"""Video frame rate of `video.f16`, frames per second."""

SAMPLES_PER_FRAME = SAMPLE_RATE // FPS
"""Audio samples spanned by one video frame (1600)."""

AU_NAMES = (
    "AU01_inner_brow_raiser", "AU02_outer_brow_raiser", "AU04_brow_lowerer",
    "AU05_upper_lid_raiser", "AU06_cheek_raiser", "AU07_lid_tightener", "AU09_nose_wrinkler",
    "AU10_upper_lip_raiser", "AU12_lip_corner_puller", "AU14_dimpler",
    "AU15_lip_corner_depressor", "AU17_chin_raiser", "AU20_lip_stretcher",
    "AU23_lip_tightener", "AU25_lips_part", "AU26_jaw_drop", "AU45_blink",
)
"""The 17 FACS action-unit intensities (0..5) that OpenFace 2 estimates, in its order."""

FEATURES = AU_NAMES + (
    "pose_pitch_rad", "pose_yaw_rad", "pose_roll_rad",
    "gaze_angle_x_rad", "gaze_angle_y_rad",
    "face_scale", "face_confidence",
)
"""All 24 per-frame features, in on-disk order (docs/video-features.md)."""

FEATURE_DIM = len(FEATURES)
assert FEATURE_DIM == 24

AU = {name[:4]: i for i, name in enumerate(AU_NAMES)}
"""Index of each AU by its short name ("AU12" -> 8)."""

IDX_PITCH, IDX_YAW, IDX_ROLL = 17, 18, 19
IDX_GAZE_X, IDX_GAZE_Y = 20, 21
IDX_SCALE, IDX_CONF = 22, 23

SPLITS = ("train", "val", "test")
"""Split names; assignment is by sentence (sdumc.corpus.sources.split_of)."""

LABELS3 = ("negative", "neutral", "positive")
"""Three-class labels; valence in (-0.5, 0.5) is neutral, as the model manifest's neutralBand."""

NEUTRAL_BAND = 0.5
"""|valence| below this (on -3..+3) is neutral."""


def label3_of(valence: float) -> str:
    """Three-class label of a valence on -3..+3 (neutral band [-0.5, 0.5])."""
    if valence < -NEUTRAL_BAND:
        return "negative"
    if valence > NEUTRAL_BAND:
        return "positive"
    return "neutral"
