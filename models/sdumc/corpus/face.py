"""Per-frame facial-expression features (docs/video-features.md) from a parametric model:
the face's display (coupling.FACE_PROFILES, HEAD_PROFILES) scaled by the speaker's
expressivity, on top of the speaker's resting face, reached through AR(1) smoothing, with slow
wander, lip motion that follows the speech envelope, blinks, measurement noise, and bursts of
frames where the face is lost (all 24 features zero, confidence included)."""
from __future__ import annotations

import numpy as np

from . import coupling as C
from .display import Display
from .layout import (AU, FEATURE_DIM, IDX_CONF, IDX_GAZE_X, IDX_GAZE_Y, IDX_PITCH, IDX_SCALE,
                     SAMPLES_PER_FRAME)
from .speakers import Speaker

N_AU = 17


def speech_envelope(pcm16k: np.ndarray, frames: int) -> np.ndarray:
    """Per-frame speech activity 0..1: frame RMS over the utterance's 95th percentile."""
    x = np.zeros(frames * SAMPLES_PER_FRAME, np.float32)
    n = min(len(pcm16k), len(x))
    x[:n] = pcm16k[:n]
    rms = np.sqrt(np.mean(x.reshape(frames, SAMPLES_PER_FRAME) ** 2, axis=1))
    ref = np.percentile(rms, 95) + 1e-9
    return np.clip(rms / ref, 0.0, 1.0)


def dropout_mask(frames: int, rng: np.random.Generator) -> np.ndarray:
    """bool [frames], True where the face is lost (two-state Markov chain, bursts)."""
    p_start, p_end = C.FACE["dropout_start"], C.FACE["dropout_end"]
    u = rng.random(frames)
    lost = np.zeros(frames, bool)
    state = False
    for t in range(frames):
        state = (u[t] >= p_end) if state else (u[t] < p_start)
        lost[t] = state
    return lost


def face_frames(display: Display, speaker: Speaker, envelope: np.ndarray,
                rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """float32 [frames, 24] for one utterance (frames = len(envelope)) and its count of
    dropped frames."""
    f = C.FACE
    T = len(envelope)
    target = np.zeros(N_AU)
    for name, v in C.FACE_PROFILES[display.emotion].items():
        target[AU[name]] = v
    target *= display.intensity * speaker.expressivity
    onset = int(rng.uniform(0.0, f["onset_max_s"]) * 10)
    a, an, pa = f["ar_expression"], f["ar_noise"], f["pose_ar"]
    # all draws up front, in a fixed order, then cheap recursions
    w0 = rng.normal(0.0, f["wander_sd"], N_AU)
    w_in = rng.normal(0.0, f["wander_sd"] * np.sqrt(1 - an * an), (T, N_AU))
    obs = rng.normal(0.0, f["obs_sd"], (T, N_AU))
    p_in = rng.normal(0.0, f["pose_sd"], (T, 3))
    blink_u = rng.random(T)
    blink_len = rng.integers(1, 3, T)
    blink_val = rng.uniform(2.5, 3.5, T)
    gaze_n = rng.normal(0.0, 0.02, (T, 2))
    scale_n = rng.normal(0.0, 0.01, T)
    conf = np.clip(rng.normal(0.93, 0.03, T), 0.5, 1.0)
    expr = np.zeros((T, N_AU))
    wander = np.zeros((T, N_AU))
    pose = np.zeros((T, 3))
    e, w, p = np.zeros(N_AU), w0, np.zeros(3)
    for t in range(T):
        e = a * e + (1 - a) * (target if t >= onset else 0.0)
        w = an * w + w_in[t]
        p = pa * p + p_in[t]
        expr[t], wander[t], pose[t] = e, w, p
    blink = np.zeros(T)
    t = 0
    while t < T:  # blinks: a start with chance blink_rate/10 per frame, 1-2 frames long
        if blink_u[t] < f["blink_rate_hz"] / 10.0:
            blink[t: t + blink_len[t]] = blink_val[t]
            t += blink_len[t]
        else:
            t += 1
    au = speaker.au_baseline + expr + wander + obs
    au[:, AU["AU25"]] += f["speech_au25"] * envelope
    au[:, AU["AU26"]] += f["speech_au26"] * envelope
    au[:, AU["AU45"]] += blink
    head = np.array(C.HEAD_PROFILES.get(display.emotion, (0.0, 0.0, 0.0))) * display.intensity
    out = np.zeros((T, FEATURE_DIM))
    out[:, :N_AU] = np.clip(au, 0.0, 5.0)
    out[:, IDX_PITCH:IDX_PITCH + 3] = speaker.pose + pose + [head[0], head[1], 0.0]
    out[:, IDX_GAZE_X] = speaker.gaze[0] + 0.5 * pose[:, 1] + gaze_n[:, 0]
    out[:, IDX_GAZE_Y] = speaker.gaze[1] + head[2] + gaze_n[:, 1]
    out[:, IDX_SCALE] = speaker.scale * (1.0 + scale_n)
    out[:, IDX_CONF] = conf
    lost = dropout_mask(T, rng)
    out[lost] = 0.0
    return out.astype(np.float32), int(lost.sum())
