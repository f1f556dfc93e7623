"""The label coupling is what docs/corpus.md says: voice and face follow valence in part,
a fixed share disagrees, and the drawn parameters reach the audio and the face features."""
import numpy as np
import pytest

from sdumc.corpus import channel as ch
from sdumc.corpus import coupling as C
from sdumc.corpus.display import draw_display
from sdumc.corpus.face import dropout_mask, face_frames
from sdumc.corpus.layout import AU, IDX_CONF, label3_of
from sdumc.corpus.prosody import prosody_params
from sdumc.corpus.speakers import rng_for, speaker_of
from sdumc.corpus.tts import ESPEAK_RATE, shared

N = 600


@pytest.fixture(scope="module")
def draws():
    """N VADER-like utterances with valence spread over -3..+3 and 40 speakers."""
    rng = np.random.default_rng(7)
    vals = rng.uniform(-3, 3, N)
    out = []
    for i, v in enumerate(vals):
        r = rng_for(0, "utterance", f"t{i}")
        spk = speaker_of(f"spk{i % 40}", 0)
        lab = label3_of(v)
        vd = draw_display(lab, None, v, "vader", C.VOICE_DISAGREE_SHARE, r)
        fd = draw_display(lab, None, v, "vader", C.FACE_DISAGREE_SHARE, r)
        p = prosody_params(vd, spk, r)
        video, _ = face_frames(fd, spk, np.zeros(30), r)
        ok = video[:, IDX_CONF] > 0
        out.append(dict(v=v, lab=lab, vd=vd, fd=fd, p=p, au=video[ok].mean(axis=0)))
    return out


def _corr(a, b):
    return float(np.corrcoef(a, b)[0, 1])


def test_disagree_shares_are_the_documented_ones(draws):
    for key, share in (("vd", C.VOICE_DISAGREE_SHARE), ("fd", C.FACE_DISAGREE_SHARE)):
        flags = np.array([d[key].disagree for d in draws])
        assert abs(flags.mean() - share) < 0.05, (key, flags.mean())
        for d in draws:   # a disagreeing display shows another label, an agreeing one the same
            assert (d[key].label3 != d["lab"]) == d[key].disagree


def test_voice_follows_valence_only_in_part(draws):
    v = np.array([d["v"] for d in draws])
    pitch = np.array([d["p"]["pitch"] for d in draws])
    rng_ = np.array([d["p"]["range"] for d in draws])
    r_pitch, r_range = _corr(v, pitch), _corr(v, rng_)
    # positive: higher and more varied F0 (joy); coupled, yet far from determined
    assert 0.08 < r_pitch < 0.6 and 0.08 < r_range < 0.6, (r_pitch, r_range)
    # sadness (the commoner negative display): slower and quieter than neutral
    sad = [d for d in draws if d["vd"].emotion == "sadness" and d["vd"].intensity > 0.5]
    neu = [d for d in draws if d["vd"].emotion == "neutral"]
    assert np.mean([d["p"]["rate"] for d in sad]) < np.mean([d["p"]["rate"] for d in neu])
    assert np.mean([d["p"]["gain_db"] for d in sad]) < np.mean([d["p"]["gain_db"] for d in neu])


def test_face_follows_valence_more_than_voice(draws):
    v = np.array([d["v"] for d in draws])
    au12 = np.array([d["au"][AU["AU12"]] for d in draws])
    au06 = np.array([d["au"][AU["AU06"]] for d in draws])
    au04 = np.array([d["au"][AU["AU04"]] for d in draws])
    assert 0.25 < _corr(v, au12) < 0.8
    assert 0.25 < _corr(v, au06) < 0.8
    assert -0.8 < _corr(v, au04) < -0.25


def test_face_dropout_share_and_zeroing():
    lost = dropout_mask(200_000, np.random.default_rng(1))
    want = C.FACE["dropout_start"] / (C.FACE["dropout_start"] + C.FACE["dropout_end"])
    assert abs(lost.mean() - want) < 0.01
    spk = speaker_of("x", 0)
    d = draw_display("positive", "joy", 2.5, "vader", 0.0, np.random.default_rng(0))
    video, n = face_frames(d, spk, np.ones(400), np.random.default_rng(3))
    gone = video[:, IDX_CONF] == 0
    assert gone.sum() == n > 0 and np.all(video[gone] == 0)
    seen = video[~gone]
    assert np.all(seen[:, :17] >= 0) and np.all(seen[:, :17] <= 5)
    # AR(1) smoothing: AU12 moves slowly between consecutive frames
    a = video[:, AU["AU12"]]
    both = ~gone[1:] & ~gone[:-1]
    assert _corr(a[1:][both], a[:-1][both]) > 0.5


def _f0(x, rate):
    """Median autocorrelation pitch (Hz) over voiced 40 ms frames."""
    n = int(0.04 * rate)
    f0s = []
    for s in range(0, len(x) - n, n):
        f = x[s: s + n] - x[s: s + n].mean()
        if np.sqrt(np.mean(f ** 2)) < 0.02:
            continue
        ac = np.correlate(f, f, "full")[n - 1:]
        lo, hi = int(rate / 400), int(rate / 70)
        lag = lo + int(np.argmax(ac[lo:hi]))
        if ac[lag] > 0.4 * ac[0]:
            f0s.append(rate / lag)
    return float(np.median(f0s))


def test_prosody_parameters_reach_the_audio():
    tts = shared()
    text = "Well, I think that is a really nice idea."
    low = tts.synth(text, "en-us+m3", 30, 50, 165).astype(float) / 32768
    high = tts.synth(text, "en-us+m3", 70, 50, 165).astype(float) / 32768
    assert _f0(high, ESPEAK_RATE) > 1.15 * _f0(low, ESPEAK_RATE)
    slow = tts.synth(text, "en-us+m3", 50, 50, 130)
    fast = tts.synth(text, "en-us+m3", 50, 50, 200)
    assert len(fast) < 0.8 * len(slow)
    # level survives the channel: +6 dB gain is ~+6 dB out (clean line, SNR 30 dB)
    x = low
    rms = [ch.active_rms(ch.telephone(x, ESPEAK_RATE, g, 30.0, "pink", False,
                                      np.random.default_rng(0)).astype(float), 16000)
           for g in (0.0, 6.0)]
    assert abs(20 * np.log10(rms[1] / rms[0]) - 6.0) < 1.0


def test_telephone_band_and_noise_level():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(ESPEAK_RATE * 2) * 0.1          # white: energy at all frequencies
    y = ch.telephone(x, ESPEAK_RATE, 0.0, 30.0, "pink", True, rng).astype(float) / 32768
    assert len(y) == 32000
    S = np.abs(np.fft.rfft(y)) ** 2
    f = np.fft.rfftfreq(len(y), 1 / 16000)
    assert S[(f < 200) | (f > 3600)].sum() < 1e-3 * S.sum()
    # noise alone sits SNR below the reference speech level
    z = ch.telephone(np.zeros(ESPEAK_RATE), ESPEAK_RATE, 0.0, 10.0, "speech_shaped", False,
                     rng, out_rate=8000).astype(float) / 32768
    assert len(z) == 8000
    assert abs(20 * np.log10(np.sqrt(np.mean(z ** 2))) - (ch.REF_DBFS - 10.0)) < 1.0
