"""The served model's metrics that depend on text features, with two int8 text graphs side by
side: what a text-graph swap does to the model's test metrics, without retraining anything.

  cd models && ../.venv/bin/python ../bench/text_encoder_model_metrics.py --before /tmp/before.onnx \
      --after sdumc-v1/text_encoder.int8.onnx --cache cache/<a v2 feature cache> [--model sdumc-v1] \
      [--work /tmp/te-swap] [--record sdumc-v1/metrics.json]

Model: the served fusion network rebuilt from its graph (sdumc.rebuild; the training checkpoint
is not committed), so these are ONE trained model's figures (the served seed), not the mean
over seeds of metrics.json's `test` / `heldout_voice` keys. For each graph:
- `vader_text_alone`: Pearson r of the model given text alone on every VADER sentence of the
  corpus's test split (sdumc.evaluate.heldout_vader / text_path_valence, batch 64 as evaluate does);
- on the feature cache's test rows, with the cache's text embeddings re-encoded by that graph
  exactly as sdumc.data built them (chunks of 1024, batch 64; audio and video as cached):
  `test_full` (in-family rows, all modalities, sdumc.metrics.regression_metrics) and
  `<family>.text_present` (text + audio, no video; sdumc.evaluate.audio_only_scores).
A `-recognised` view of a routes cache (sdumc.speech.route_cache: `recognised.json`, the
recogniser's words per row) is re-encoded from those words as route_cache encodes them (one
call, batch 64; rows without words stay empty): its `text_present` is then route c, the served
route when the transcript is missing, and the VADER part is skipped.
Also prints how closely re-encoding with --before reproduces the cache's own text embeddings
(0 when the cache was built with that graph). `--record` writes the result into a metrics.json
under `text_encoder_swap` (`text_encoder_swap_route_c` for a -recognised view; the card renders both). Not a test.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "models"))

CHUNK, TEXT_BATCH = 1024, 64  # as sdumc.data._save_text_embeddings / build_cache encode a cache


def recoded_cache(cache_dir: Path, graph: Path, work: Path) -> tuple[Path, float]:
    """A copy of `cache_dir` (symlinks) whose text embeddings come from `graph`; and the largest
    |difference| to the cache's own embeddings."""
    from sdumc.data import FeatureCache, _ragged_save
    from sdumc.text_encoder.encode import encode_texts

    src = FeatureCache(cache_dir)
    out = work / f"cache-{cache_dir.name}-{graph.stem}-{abs(hash(str(graph.resolve()))) % 10**8}"
    out.mkdir(parents=True, exist_ok=True)
    for p in cache_dir.iterdir():
        if p.name not in ("text.npy", "text_off.npy") and not (out / p.name).exists():
            (out / p.name).symlink_to(p.resolve())
    recognised = cache_dir / "recognised.json"
    if recognised.is_file():  # as sdumc.speech.route_cache.build: all said texts in one call
        texts = json.loads(recognised.read_text())["text"]
        rows = [np.zeros((0, 384), np.float16)] * len(texts)
        said = [k for k, t in enumerate(texts) if t.strip()]
        emb, mask = encode_texts([texts[k] for k in said], batch_size=TEXT_BATCH, graph=graph)
        for k, e, m in zip(said, emb, mask):
            rows[k] = e[: int(m.sum())]
    else:  # as sdumc.data._save_text_embeddings: chunks of CHUNK
        rows = []
        for s in range(0, src.n, CHUNK):
            emb, mask = encode_texts(src.texts[s:s + CHUNK], batch_size=TEXT_BATCH, graph=graph)
            rows += [e[: int(m.sum())] for e, m in zip(emb, mask)]
    _ragged_save(out, "text", rows, np.float16, 384)
    diff = 0.0
    for i, r in enumerate(rows):
        c = src.text(i)
        diff = max(diff, float(np.abs(r.astype(np.float32) - c.astype(np.float32)).max(initial=0.0))
                   if len(r) == len(c) else float("inf"))
    return out, diff


def scores(net, graph: Path, corpus: Path, cache_dir: Path, work: Path) -> dict:
    from sdumc.data import FeatureCache
    from sdumc.evaluate import HELDOUT_FAMILY, IN_FAMILY, VADER_SUBSETS, audio_only_scores, heldout_vader, text_path_valence
    from sdumc.manifest import sha256_file
    from sdumc.metrics import pearson, regression_metrics
    from sdumc.train import CONDITIONS, predict_many

    r4 = lambda d: {k: (round(float(v), 4) if isinstance(v, float) else v) for k, v in d.items()}  # noqa: E731
    out: dict = {"sha256": sha256_file(graph)}
    recognised = cache_dir is not None and (cache_dir / "recognised.json").is_file()
    if not recognised:
        _, vy, vsub, venc = heldout_vader(corpus, graph)
        vp = text_path_valence(net, venc)
        out["vader_text_alone"] = {s: {"n": int((vsub == s).sum()), "r": round(pearson(vp[vsub == s], vy[vsub == s]), 4)}
                                   for s in VADER_SUBSETS}
    if cache_dir is None:  # the VADER sentences alone: no audio features needed
        return out
    recoded, diff = recoded_cache(cache_dir, graph, work)
    cache = FeatureCache(recoded)
    te = cache.indices("test", family=IN_FAMILY)
    if not recognised:
        p = predict_many(net, cache, te, {"full": CONDITIONS["full"]})["full"]["valence"]
        out["test_full"] = {**r4(regression_metrics(p, cache.valence[te])), "n": int(len(te))}
    cond = "recognised_words" if recognised else "text_present"
    for fam, key in ((HELDOUT_FAMILY, "heldout_voice"), (IN_FAMILY, "in_family_voice")):
        out[f"{key}.{cond}"] = r4(audio_only_scores(net, cache, fam)["text_present"])
    out["max_abs_diff_to_cached_text"] = diff
    return out


def main() -> int:
    import torch
    from sdumc.rebuild import rebuild

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--before", type=Path, required=True, help="baseline int8 text graph")
    ap.add_argument("--after", type=Path, required=True, help="candidate int8 text graph")
    ap.add_argument("--model", type=Path, default=ROOT / "models" / "sdumc-v1")
    ap.add_argument("--cache", type=Path, help="a feature cache of a format-2 corpus (sdumc.data); without it "
                    "only vader_text_alone, from --corpus")
    ap.add_argument("--corpus", type=Path, help="the corpus of the VADER sentences, or the labelled-text folder "
                    "(../shared/data) (default: the cache's)")
    ap.add_argument("--work", type=Path, default=Path("/tmp/text-encoder-swap"))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--record", type=Path, metavar="METRICS_JSON")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    t0 = time.time()
    net = rebuild(a.model).model.eval()
    if a.cache is None and a.corpus is None:
        ap.error("give --cache, --corpus or both")
    corpus = a.corpus or Path(json.loads((a.cache / "meta.json").read_text())["corpus"])
    res = {"before": scores(net, a.before, corpus, a.cache, a.work),
           "after": scores(net, a.after, corpus, a.cache, a.work)}
    res["model"] = f"{a.model.name}: the served fusion network, rebuilt from its graph (one trained model)"
    res["cache"] = str(a.cache.resolve()) if a.cache else None
    res["command"] = "bench/text_encoder_model_metrics.py"
    res["wall_seconds"] = round(time.time() - t0, 1)
    print(json.dumps(res, indent=1))
    if a.record:
        m = json.loads(a.record.read_text())
        key = "text_encoder_swap_route_c" if a.cache and (a.cache / "recognised.json").is_file() else "text_encoder_swap"
        m[key] = {**res, "date": time.strftime("%Y-%m-%d", time.gmtime())}
        a.record.write_text(json.dumps(m, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
