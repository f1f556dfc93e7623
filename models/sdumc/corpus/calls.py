"""Write the two-channel demo calls under fixtures/calls/ (format: fixtures/calls/README.md).

    cd models && ../.venv/bin/python -m sdumc.corpus.calls --out ../fixtures/calls --count 5

Each call is a MELD train dialogue with exactly two speakers: the first to speak is the
customer, the other the agent, each with its own voice and face. Utterances are spoken in
order with natural gaps; each channel holds the whole call timeline (silence and line noise
while the other side speaks), as s16le 8 kHz telephone PCM, and face features at 10 fps.
Voice and face follow the same fixed coupling as the corpus (sdumc.corpus.coupling).
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np

from . import channel as ch
from . import coupling as C
from .display import Display, draw_display
from .errors import CorpusError
from .face import face_frames, speech_envelope
from .layout import FEATURE_DIM, FPS
from .prosody import prosody_params
from .sources import MELD_VALENCE, clean_text, load_meld_rows
from .speakers import rng_for, speaker_of
from .tts import ESPEAK_RATE, FEMALE_VARIANTS, LANGS, MALE_VARIANTS, Espeak, shared

REPO = Path(__file__).resolve().parents[3]
CHANNELS = ("customer", "agent")
LEAD_IN_MS = (400, 900)
"""Silence before the first utterance, ms (uniform)."""
TURN_GAP_MS = (150, 700)
"""Gap when the speaker changes, ms: conversational turn gaps cluster near 200 ms
(Stivers et al. 2009); widened a little for a telephone line."""
SAME_GAP_MS = (350, 1000)
"""Pause between two utterances of the same speaker, ms."""
TAIL_MS = 800
CHANNEL_SNR_DB = {"customer": 20.0, "agent": 30.0}
"""Line noise per channel: the customer calls from a noisier place than the agent's headset."""
MIN_UTTERANCES, MAX_UTTERANCES = 5, 9


def pick_dialogues(rows: list[dict], count: int) -> list[list[dict]]:
    """`count` two-speaker dialogues of 5..9 utterances, those with the most non-neutral
    utterances (ties: more distinct labels, then lower dialogue id) first."""
    by_d = collections.defaultdict(list)
    for r in rows:
        by_d[int(r["Dialogue_ID"])].append(r)
    cands = []
    for d, us in by_d.items():
        us.sort(key=lambda r: int(r["Utterance_ID"]))
        if len({u["Speaker"] for u in us}) != 2 or not MIN_UTTERANCES <= len(us) <= MAX_UTTERANCES:
            continue
        nonneutral = sum(u["Sentiment"] != "neutral" for u in us)
        labels = len({u["Sentiment"] for u in us})
        cands.append((-labels, -nonneutral, d, us))
    cands.sort(key=lambda c: c[:3])
    if len(cands) < count:
        raise CorpusError(f"only {len(cands)} two-speaker dialogues fit; asked for {count}")
    return [c[3] for c in cands[:count]]


def _distinct_voice(spk, other_voice: str) -> str:
    """The agent keeps its voice unless it equals the customer's; then the next variant."""
    if spk.voice != other_voice:
        return spk.voice
    lang, var = spk.voice.split("+")
    pool = FEMALE_VARIANTS if var.startswith("f") else MALE_VARIANTS
    return f"{LANGS[(LANGS.index(lang) + 1) % len(LANGS)]}+{pool[(pool.index(var) + 1) % len(pool)]}"


def build_call(dialogue: list[dict], seed: int, tts: Espeak) -> dict:
    """Audio (int16 8 kHz), video (float32 [F, 24]) per channel and the call.json dict."""
    d = int(dialogue[0]["Dialogue_ID"])
    call_id = f"meld-d{d}"
    rng = rng_for(seed, "call", call_id)
    names = list(dict.fromkeys(u["Speaker"] for u in dialogue))
    chan_of = {names[0]: "customer", names[1]: "agent"}
    spk = {c: speaker_of(f"meld:{n}", seed) for n, c in chan_of.items()}
    voice = {"customer": spk["customer"].voice}
    voice["agent"] = _distinct_voice(spk["agent"], voice["customer"])
    # place utterances on the timeline and synthesise them (clean, at 22050 Hz)
    t_ms = int(rng.integers(*LEAD_IN_MS))
    prev = None
    placed = []
    for u in dialogue:
        c = chan_of[u["Speaker"]]
        if prev is not None:
            t_ms += int(rng.integers(*(SAME_GAP_MS if c == prev else TURN_GAP_MS)))
        label, emo = u["Sentiment"], u["Emotion"]
        vd = draw_display(label, emo, MELD_VALENCE[label], "meld", C.VOICE_DISAGREE_SHARE, rng)
        fd = draw_display(label, emo, MELD_VALENCE[label], "meld", C.FACE_DISAGREE_SHARE, rng)
        pros = prosody_params(vd, spk[c], rng)
        text = clean_text(u["Utterance"])
        pcm = tts.synth(text, voice[c], pros["pitch"], pros["range"], pros["rate"])
        x = pcm.astype(np.float64) / 32768.0
        x *= ch.db_to_gain(ch.REF_DBFS + pros["gain_db"]) / max(ch.active_rms(x, ESPEAK_RATE),
                                                                  1e-6)
        dur_ms = int(round(len(x) * 1000 / ESPEAK_RATE))
        placed.append(dict(channel=c, startMs=t_ms, endMs=t_ms + dur_ms, text=text, label3=label,
                           emotion=emo, speaker=u["Speaker"], utteranceId=int(u["Utterance_ID"]),
                           voiceLabel3=vd.label3, faceLabel3=fd.label3, prosody=pros,
                           _x=x, _face=fd))
        t_ms += dur_ms
        prev = c
    total_ms = t_ms + TAIL_MS
    n22 = int(round(total_ms * ESPEAK_RATE / 1000))
    frames = -(-total_ms // (1000 // FPS))
    out = {}
    for c in CHANNELS:
        line = np.zeros(n22)
        for p in placed:
            if p["channel"] == c:
                s = int(round(p["startMs"] * ESPEAK_RATE / 1000))
                line[s: s + len(p["_x"])] += p["_x"][: n22 - s]
        # level already set per utterance: gain 0 relative to the line's own active level
        gain = ch.REF_DBFS - 20 * np.log10(max(ch.active_rms(line, ESPEAK_RATE), 1e-6))
        pcm8 = ch.telephone(line, ESPEAK_RATE, -gain, CHANNEL_SNR_DB[c], "pink", True, rng,
                            out_rate=ch.TEL_RATE)
        video = _channel_video(placed, c, spk[c], pcm8, frames, rng)
        out[c] = (pcm8, video)
    utts = [{k: v for k, v in p.items() if not k.startswith("_")} for p in placed]
    meta = {
        "callId": call_id, "tenant": "demo", "durationMs": total_ms,
        "sampleRate": ch.TEL_RATE, "videoFps": FPS, "videoDim": FEATURE_DIM,
        "channels": list(CHANNELS),
        "speakers": {c: {"name": n, "voice": voice[c]} for n, c in chan_of.items()},
        "source": {"dataset": "MELD train (Poria et al. 2019, GPL-3.0)", "dialogueId": d},
        "seed": seed, "coupling": C.COUPLING_VERSION,
        "utterances": utts,
    }
    return {"meta": meta, "channels": out}


def _channel_video(placed, c, speaker, pcm8, frames, rng) -> np.ndarray:
    """Face of channel c over the whole call: its utterances' displays while it speaks,
    a neutral listening face otherwise (lip motion from this channel's own audio)."""
    x = np.zeros(frames * 800, np.float32)
    x[: min(len(pcm8), len(x))] = pcm8[: len(x)] / 32768.0
    up = np.repeat(x, 2)  # 16 kHz view for the envelope (frame = 1600 samples)
    env = speech_envelope(up, frames)
    video = np.zeros((frames, FEATURE_DIM), np.float32)
    spans, t = [], 0
    for p in placed:
        if p["channel"] != c:
            continue
        a, b = p["startMs"] // 100, min(frames, -(-p["endMs"] // 100))
        if a > t:
            spans.append((t, a, Display("neutral", "neutral", 0.0, False)))
        spans.append((a, b, p["_face"]))
        t = b
    if t < frames:
        spans.append((t, frames, Display("neutral", "neutral", 0.0, False)))
    for a, b, disp in spans:
        if b > a:
            video[a:b], _ = face_frames(disp, speaker, env[a:b], rng)
    return video


def write_calls(out_dir: str, count: int, seed: int, data_dir: str) -> list[str]:
    """Write `count` calls under out_dir/<callId>/; returns the call ids."""
    dialogues = pick_dialogues(load_meld_rows(data_dir), count)
    tts = shared()
    ids = []
    for dlg in dialogues:
        call = build_call(dlg, seed, tts)
        cid = call["meta"]["callId"]
        d = os.path.join(out_dir, cid)
        if os.path.isdir(d):
            shutil.rmtree(d)
        os.makedirs(d)
        for c, (pcm, video) in call["channels"].items():
            with open(os.path.join(d, f"{c}.pcm"), "wb") as f:
                f.write(pcm.astype("<i2").tobytes())
            with open(os.path.join(d, f"{c}.video.f32"), "wb") as f:
                f.write(video.astype("<f4").tobytes())
        with open(os.path.join(d, "call.json"), "w", encoding="utf-8") as f:
            json.dump(call["meta"], f, indent=1, ensure_ascii=False)
            f.write("\n")
        ids.append(cid)
    return ids


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m sdumc.corpus.calls",
                                description="Write two-channel demo calls from MELD dialogues.")
    p.add_argument("--data", default=str(REPO.parent / "shared" / "data"),
                   help="folder with meld/ (default: ../shared/data from the repo)")
    p.add_argument("--out", default=str(REPO / "fixtures" / "calls"),
                   help="output folder (default: fixtures/calls)")
    p.add_argument("--count", type=int, default=5, help="number of calls (default 5)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    a = p.parse_args(argv)
    if a.count < 1:
        p.error("--count must be >= 1")
    try:
        ids = write_calls(a.out, a.count, a.seed, a.data)
    except CorpusError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {len(ids)} calls to {a.out}: {', '.join(ids)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
