"""The committed demo calls (fixtures/calls/): files agree with call.json, channels carry
their own speaker's speech, and the whole fixture set stays small."""
import json
import os

import numpy as np
import pytest

from sdumc.corpus.layout import FEATURE_DIM, IDX_CONF

CALLS = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "calls")
IDS = sorted(d for d in os.listdir(CALLS) if os.path.isfile(os.path.join(CALLS, d, "call.json")))


def test_there_are_five_calls_and_fixtures_stay_small():
    assert len(IDS) == 5
    total = 0
    for root in (CALLS, os.path.join(os.path.dirname(__file__), "..", "fixtures",
                                      "corpus-mini")):
        for dp, _, fs in os.walk(root):
            total += sum(os.path.getsize(os.path.join(dp, f)) for f in fs)
    # 9.4 MB since corpus-mini holds 20 held-out-voice test rows (+1.4 MB); the bound keeps
    # fixtures from growing unnoticed
    assert total < 9.6e6, total


@pytest.mark.parametrize("cid", IDS)
def test_call_files_agree_with_call_json(cid):
    d = os.path.join(CALLS, cid)
    meta = json.load(open(os.path.join(d, "call.json"), encoding="utf-8"))
    assert meta["callId"] == cid and meta["tenant"] == "demo"
    assert meta["channels"] == ["customer", "agent"]
    assert meta["sampleRate"] == 8000 and meta["videoFps"] == 10 and meta["videoDim"] == 24
    assert meta["speakers"]["customer"]["voice"] != meta["speakers"]["agent"]["voice"]
    assert meta["speakers"]["customer"]["name"] != meta["speakers"]["agent"]["name"]
    dur = meta["durationMs"]
    frames = -(-dur // 100)
    pcm = {c: np.fromfile(os.path.join(d, f"{c}.pcm"), "<i2").astype(float) / 32768
           for c in meta["channels"]}
    for c in meta["channels"]:
        assert len(pcm[c]) == round(dur * 8)
        v = np.fromfile(os.path.join(d, f"{c}.video.f32"), "<f4").reshape(-1, FEATURE_DIM)
        assert v.shape[0] == frames and np.all(np.isfinite(v))
        assert 0.0 < np.mean(v[:, IDX_CONF] == 0) < 0.3
    utts = meta["utterances"]
    assert utts[0]["channel"] == "customer"
    assert {u["channel"] for u in utts} == {"customer", "agent"}
    for a, b in zip(utts, utts[1:]):
        assert a["endMs"] < b["startMs"], "utterances overlap"
    for u in utts:
        assert u["text"] and u["label3"] in ("negative", "neutral", "positive") and u["emotion"]
        s, e = u["startMs"] * 8, u["endMs"] * 8
        other = "agent" if u["channel"] == "customer" else "customer"
        own = np.sqrt(np.mean(pcm[u["channel"]][s:e] ** 2))
        far = np.sqrt(np.mean(pcm[other][s:e] ** 2))
        assert own > 3 * far, (u["text"], own, far)   # the speaker's channel carries the speech
