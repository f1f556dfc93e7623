"""The corpus's two voice families, measured (docs/corpus.md, "Held-out voice family").

  cd models && ../.venv/bin/python ../bench/corpus_voices.py cost --n 100
  cd models && ../.venv/bin/python ../bench/corpus_voices.py acoustics --corpus corpus/small2000

cost: CPU seconds (this process and its synthesis children, one core: --workers 1 style) per
sentence for each engine, TTS alone and the whole row (TTS + telephone channel + face).
acoustics: on the test sentences that have both renderings, per family: median F0 of voiced
frames, spectral centroid, words per second; how well a nearest-centroid classifier on the mean
log spectrum and its frame-to-frame SD tells the families apart (linear discriminant,
2-fold by sentence); and the valence-F0 correlation
within each voice (so the prosody coupling reached both engines).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models"))

from sdumc.corpus import tts, tts_flite  # noqa: E402
from sdumc.corpus.display import draw_display  # noqa: E402
from sdumc.corpus import coupling as C  # noqa: E402
from sdumc.corpus.prosody import heldout_params, prosody_params  # noqa: E402
from sdumc.corpus.reader import CorpusReader  # noqa: E402
from sdumc.corpus.sources import load_items  # noqa: E402
from sdumc.corpus.speakers import heldout_voice_of, rng_for, speaker_of  # noqa: E402
from sdumc.corpus.synth import make_utterance  # noqa: E402

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "data")


def _cpu() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def cost(n: int, data: str) -> dict:
    items, _ = load_items(data)
    items = sorted(items, key=lambda it: hashlib.sha1(it.id.encode()).digest())[:n]
    es, fl = tts.shared(), tts_flite.shared()
    out = {}
    for name, eng in (("espeak", es), ("flite", fl)):
        t_tts = t_row = 0.0
        secs = 0.0
        for it in items:
            rng = rng_for(0, "utterance", it.id)
            spk = speaker_of(it.speaker, 0)
            vd = draw_display(it.label3, it.emotion, it.valence, it.source, C.VOICE_DISAGREE_SHARE, rng)
            draw_display(it.label3, it.emotion, it.valence, it.source, C.FACE_DISAGREE_SHARE, rng)
            pros = prosody_params(vd, spk, rng)
            t0 = _cpu()
            if name == "espeak":
                pcm = es.synth(it.text, spk.voice, pros["pitch"], pros["range"], pros["rate"])
                secs += len(pcm) / tts.ESPEAK_RATE
            else:
                v = heldout_voice_of(spk, 0)
                p = heldout_params(pros, v)
                pcm = fl.synth(it.text, v, p["f0_mean_hz"], p["f0_sd_hz"], p["duration_stretch"])
                secs += len(pcm) / tts_flite.FLITE_RATE
            t1 = _cpu()
            make_utterance(it, 0, eng)
            t_tts += t1 - t0
            t_row += _cpu() - t1
        out[name] = {"sentences": n, "speech_s_mean": round(secs / n, 2),
                     "tts_cpu_ms": round(1000 * t_tts / n, 1),
                     "row_cpu_ms": round(1000 * t_row / n, 1),
                     "tts_cpu_ms_per_speech_s": round(1000 * t_tts / secs, 1)}
    return out


def _f0_track(x: np.ndarray, sr: int = 16000) -> np.ndarray:
    """F0 (Hz) of voiced 40 ms frames (10 ms hop) by normalised autocorrelation, 60..400 Hz;
    works on telephone-band speech from the harmonics (missing fundamental)."""
    fl, hop, lo, hi = int(0.04 * sr), int(0.01 * sr), sr // 400, sr // 60
    rms_floor = 0.1 * np.sqrt(np.mean(x ** 2) + 1e-12)
    out = []
    for i in range(0, len(x) - fl, hop):
        s = x[i:i + fl]
        if np.sqrt(np.mean(s ** 2)) < rms_floor:
            continue
        s = s - s.mean()
        c = np.fft.irfft(np.abs(np.fft.rfft(s, 2 * fl)) ** 2)[:fl]
        k = lo + int(np.argmax(c[lo:hi]))
        if c[k] > 0.5 * c[0]:
            out.append(sr / k)
    return np.array(out)


def _spectrum(x: np.ndarray, sr: int = 16000, bands: int = 32) -> tuple[np.ndarray, float]:
    """Mean and SD over active frames of the log power in `bands` linear bands 0..4 kHz, and
    the spectral centroid (Hz)."""
    fl = 512
    frames = [x[i:i + fl] * np.hanning(fl) for i in range(0, len(x) - fl, fl // 2)]
    P = np.abs(np.fft.rfft(np.array(frames), axis=1)) ** 2
    e = P.sum(1)
    P = P[e > 0.1 * np.median(e) + 1e-12]
    f = np.fft.rfftfreq(fl, 1 / sr)
    band = f < 4000
    centroid = float((P[:, band] * f[band]).sum() / P[:, band].sum())
    edges = np.linspace(0, band.sum(), bands + 1).astype(int)
    L = np.log10(np.stack([P[:, band][:, a:b].mean(1) for a, b in zip(edges[:-1], edges[1:])], 1) + 1e-12)
    return np.concatenate([L.mean(0), L.std(0)]), centroid   # spectral envelope and its movement


def acoustics(corpus: str, max_pairs: int) -> dict:
    c = CorpusReader(corpus)
    by_sentence: dict[str, dict[str, int]] = {}
    for i in c.split("test"):
        by_sentence.setdefault(c.rows[i]["sentence_id"], {})[c.rows[i]["voice_family"]] = i
    pairs = [d for d in by_sentence.values() if len(d) == 2][:max_pairs]
    res: dict = {"pairs": len(pairs)}
    feats = {"espeak": [], "flite": []}
    for fam in ("espeak", "flite"):
        f0s, cents, wps, val, voice = [], [], [], [], []
        for d in pairs:
            i = d[fam]
            x = c.audio(i).astype(np.float64)
            tr = _f0_track(x)
            spec, cent = _spectrum(x)
            feats[fam].append(spec)
            f0s.append(float(np.median(tr)) if len(tr) else np.nan)
            cents.append(cent)
            wps.append(len(c.rows[i]["text"].split()) / (len(x) / 16000))
            val.append(c.rows[i]["valence"])
            voice.append(c.rows[i]["voice"])
        f0s, val, voice = np.array(f0s), np.array(val), np.array(voice)
        # valence vs F0 within each voice (z-scored per voice), pooled
        z = np.full(len(f0s), np.nan)
        for v in set(voice):
            m = (voice == v) & np.isfinite(f0s)
            if m.sum() > 2:
                z[m] = (np.log(f0s[m]) - np.log(f0s[m]).mean()) / (np.log(f0s[m]).std() + 1e-9)
        ok = np.isfinite(z)
        res[fam] = {"median_f0_hz": round(float(np.nanmedian(f0s)), 1),
                    "f0_hz_iqr": [round(float(q), 1) for q in np.nanpercentile(f0s, [25, 75])],
                    "spectral_centroid_hz": round(float(np.mean(cents)), 1),
                    "words_per_s": round(float(np.mean(wps)), 2),
                    "voices": len(set(voice)),
                    "r_valence_f0_within_voice": round(float(np.corrcoef(val[ok], z[ok])[0, 1]), 3)}
    X = np.array(feats["espeak"] + feats["flite"])
    y = np.array([0] * len(pairs) + [1] * len(pairs))
    fold = np.tile(np.arange(len(pairs)) % 2, 2)     # both renderings of a sentence in one fold
    correct = 0
    for k in (0, 1):
        tr, te = fold != k, fold == k
        mu, sd = X[tr].mean(0), X[tr].std(0) + 1e-9
        Z = (X - mu) / sd
        m0, m1 = Z[tr & (y == 0)].mean(0), Z[tr & (y == 1)].mean(0)
        S = np.cov(Z[tr].T) + 0.1 * np.eye(Z.shape[1])       # shrunk pooled covariance (LDA)
        w = np.linalg.solve(S, m1 - m0)
        pred = (Z[te] - (m0 + m1) / 2) @ w > 0
        correct += int((pred == (y[te] == 1)).sum())
    res["family_classifier_accuracy"] = round(correct / len(y), 3)
    return res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("what", choices=("cost", "acoustics"))
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--data", default=DATA)
    ap.add_argument("--corpus", default="corpus/small2000")
    ap.add_argument("--pairs", type=int, default=400)
    a = ap.parse_args()
    r = cost(a.n, a.data) if a.what == "cost" else acoustics(a.corpus, a.pairs)
    print(json.dumps(r, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
