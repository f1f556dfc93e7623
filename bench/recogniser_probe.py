"""Learned text simulator vs an offline recogniser (issue 2, "measure which serves better").

For test-split utterances of the feature cache, decodes the corpus audio with PocketSphinx
(PyPI `pocketsphinx`, its bundled en-us model; not a project dependency: install it in a
scratch venv, see docs/benchmarks.md) and scores, with the served checkpoint:
  true_text      the model given the real transcript alone (the ceiling of any recogniser)
  asr_text       the model given the recognised words alone
  asr_full       the model given recognised words as the transcript + audio + video
                 (how a recogniser in the serving path would be used)
  text_missing   the model's missing-text flow (learned simulator + MIA; what is served)
with MAE and Pearson r against the label, the recogniser's word error rate and its real-time
factor (CPU seconds per second of audio, one thread).

  cd models && /tmp/asrvenv/bin/python ../bench/recogniser_probe.py \
      --checkpoint runs/full-s1/best.pt --cache cache/v1-test2000-train3000-val600-<fp> --rows 200
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "models"))

from sdumc.data import FeatureCache, open_corpus  # noqa: E402
from sdumc.evaluate import text_path_valence  # noqa: E402
from sdumc.metrics import pearson, word_errors  # noqa: E402
from sdumc.model import SDUMC  # noqa: E402
from sdumc.text_encoder.encode import encode_texts  # noqa: E402
from sdumc.train import _to_inputs  # noqa: E402


# Word error counts by the project's one rule (sdumc.metrics; punctuation dropped on both
# sides: this probe used to keep the hypothesis's punctuation, counting "hello," != "hello").
wer = word_errors


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--checkpoint", type=Path, required=True)
    ap.add_argument("--cache", type=Path, required=True, help="media feature cache with test rows")
    ap.add_argument("--rows", type=int, default=200)
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    from pocketsphinx import Decoder  # scratch-venv only

    torch.set_num_threads(1)
    cache = FeatureCache(a.cache)
    corpus = open_corpus(Path(cache.meta["corpus"]))
    te = cache.indices("test")[: a.rows]
    model = SDUMC.from_checkpoint(a.checkpoint)
    dec = Decoder(samprate=16000, loglevel="FATAL")

    hyps, edits, words, cpu, audio_s = [], 0, 0, 0.0, 0.0
    for i in te:
        pcm = corpus.audio(int(cache.meta["corpus_rows"][i]))
        t0 = time.process_time()
        dec.start_utt()
        dec.process_raw((np.clip(pcm, -1, 1) * 32767).astype(np.int16).tobytes(), full_utt=True)
        dec.end_utt()
        cpu += time.process_time() - t0
        audio_s += len(pcm) / 16000
        hyp = dec.hyp().hypstr if dec.hyp() is not None else ""
        hyps.append(hyp)
        e, n = wer(cache.texts[i], hyp)
        edits, words = edits + e, words + n

    y = cache.valence[te]
    out: dict = {"rows": int(len(te)), "audio_seconds": round(audio_s, 1),
                 "asr_rtf_one_thread": round(cpu / audio_s, 3), "asr_wer": round(edits / max(words, 1), 3),
                 "empty_hypotheses": int(sum(not h.strip() for h in hyps))}
    preds = {}
    emb, mask = encode_texts([cache.texts[i] for i in te], batch_size=1)
    preds["true_text"] = text_path_valence(model, {"emb": emb, "mask": mask})
    safe = [h if h.strip() else "uh" for h in hyps]  # an empty hypothesis still gets a score
    aemb, amask = encode_texts(safe, batch_size=1)
    preds["asr_text"] = text_path_valence(model, {"emb": aemb, "mask": amask})
    with torch.no_grad():  # media rows with the recognised words as their transcript
        b = cache.batch(te)
        b["text_emb"], b["text_mask"] = torch.from_numpy(aemb.astype(np.float32)), torch.from_numpy(amask)
        pres = b["presence"].clone()
        pres[:, 0] = 1.0
        preds["asr_full"] = model(*_to_inputs(b, pres))["valence"].numpy()
        pres[:, 0] = 0.0
        preds["text_missing"] = model(*_to_inputs(b, pres))["valence"].numpy()
    for k, p in preds.items():
        out[k] = {"mae": round(float(np.mean(np.abs(p - y))), 4), "r": round(pearson(p, y), 4)}
    out["examples"] = [{"text": cache.texts[i], "asr": h} for i, h in zip(te[:5], hyps[:5])]
    print(json.dumps(out, indent=1))
    if a.json:
        a.json.write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
