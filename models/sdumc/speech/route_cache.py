"""Feature caches for the text-missing routes of issue 12, one command, reproducible:

  cd models && nice ../.venv/bin/python -m sdumc.speech.route_cache --workers 2

Rows (deterministic, seed 0): a seeded subset of the train and val splits (espeak-ng only, as
the corpus has them) and `--pairs` test sentences drawn with BOTH renderings, the held-out
voice family (Flite) and its in-family espeak-ng twin. For them it builds
- the usual feature cache (log-mel, tuned int8 text embeddings, video: sdumc.data.build_cache),
- Whisper tiny.en's int8 encoder states of every row (the segment's frames [F, 384] at >= 10 s
  context, the manifest's default: exactly the pass the served recogniser runs), and
- the greedy int8 recognition (text, stop reason) of every val and test row,
all on the audio as served (sdumc.speech.served_audio: the 8 kHz call resampled by ingest's
filter). Three views share the feature cache's files through symlinks, each a FeatureCache:
`<cache>-whisper` (audio = encoder states), `<cache>-recognised` (text = the recognised words'
embeddings; a row with no words or no recognition has no text, so it scores as text missing,
as the server falls back) and `<cache>-whisper-recognised` (both). `recognised.json` holds the
words, stop reasons, word error rates and timings.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from sdumc.metrics import word_errors
from sdumc.data import MODELS_DIR, DataError, _ragged_save, _save_text_embeddings, build_cache, open_corpus, select_rows

SPEECH_DIR = MODELS_DIR / "speech-whisper-tiny-en"
LINKED = ("text", "text_off", "audio", "audio_off", "video", "video_off", "vmask", "vmask_off",
          "valence", "split")


class SubsetReader:
    """A corpus reader restricted to rows `keep` (corpus indices, sorted)."""

    def __init__(self, reader, keep: np.ndarray) -> None:
        self._r, self.keep = reader, np.asarray(keep, np.int64)
        self.rows = [reader.rows[int(i)] for i in self.keep]

    def audio(self, i: int) -> np.ndarray:
        return self._r.audio(int(self.keep[i]))

    def video(self, i: int) -> np.ndarray:
        return self._r.video(int(self.keep[i]))


def choose_rows(rows: list[dict], train: int, val: int, pairs: int, seed: int = 0) -> np.ndarray:
    """Corpus indices: seeded train/val subsets (sdumc.data.select_rows) plus both renderings of
    `pairs` test sentences that have a held-out (Flite) rendering."""
    tv = select_rows([r if r["split"] != "test" else {**r, "split": "-"} for r in rows],
                     {"train": train, "val": val}, seed)
    tv = tv[[rows[int(i)]["split"] in ("train", "val") for i in tv]]
    by_sid: dict[str, dict[str, int]] = {}
    for i, r in enumerate(rows):
        if r["split"] == "test" and r.get("valence") is not None:
            by_sid.setdefault(str(r["sentence_id"]), {})[r["voice_family"]] = i
    sids = sorted(s for s, d in by_sid.items() if {"espeak", "flite"} <= set(d))
    pick = np.random.default_rng(seed).choice(len(sids), min(pairs, len(sids)), replace=False)
    test = [by_sid[sids[k]][f] for k in pick for f in ("espeak", "flite")]
    return np.sort(np.concatenate([tv, np.array(test, np.int64)]))


def decode_rules_from_manifest(model_dir: Path):
    """The served greedy rules, read from the speech model's manifest (no PyPI package needed)."""
    from .decode import DecodeRules
    m = json.loads((model_dir / "manifest.json").read_text())
    t, d = m["tokens"], m["decode"]
    return DecodeRules(sot=t["sot"], eot=t["eot"], no_timestamps=t["noTimestamps"],
                       suppress=tuple(t["suppress"]), suppress_begin=tuple(t["suppressBegin"]),
                       max_new_tokens=d["maxNewTokens"]), float(d["minContextSeconds"])


def _work(args: tuple) -> dict:
    """One chunk in a worker process: states of every row, recognition of the flagged ones."""
    corpus, model_dir, keep, recog, part = args
    if part.is_file():
        return dict(np.load(part, allow_pickle=True)["d"].item())
    import onnxruntime as ort
    from tokenizers import Tokenizer
    from .recognise import encode_onnx, transcribe_onnx
    from .served_audio import as_served
    so = ort.SessionOptions()
    so.intra_op_num_threads, so.inter_op_num_threads = 1, 1
    enc = ort.InferenceSession(str(model_dir / "encoder.int8.onnx"), so, providers=["CPUExecutionProvider"])
    dec = ort.InferenceSession(str(model_dir / "decoder.int8.onnx"), so, providers=["CPUExecutionProvider"])
    tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    rules, ctx = decode_rules_from_manifest(model_dir)
    reader = open_corpus(Path(corpus))
    out = {"states": [], "text": [], "stop": [], "cpu_s": [], "audio_s": []}
    for i, rec in zip(keep, recog):
        audio = as_served(reader.audio(int(i)))
        c0 = time.process_time()
        if rec:
            r = transcribe_onnx(enc, dec, audio, rules, ctx)
            states, text, stop = r.states, tok.decode(r.tokens).strip(), r.stop
        else:
            states, text, stop = encode_onnx(enc, audio, ctx), "", ""
        out["cpu_s"].append(time.process_time() - c0)
        out["audio_s"].append(len(audio) / 16000)
        out["states"].append(states.astype(np.float16))
        out["text"].append(text)
        out["stop"].append(stop)
    tmp = part.with_suffix(".tmp.npz")
    np.savez(tmp, d=np.array(out, dtype=object))
    os.replace(tmp, part)
    return out


def _link_view(src: Path, dst: Path, own: dict[str, Path]) -> Path:
    """A FeatureCache folder `dst` whose files are symlinks to `src`'s, except `own` (name ->
    file written for this view). meta.json is copied (FeatureCache reads it as the marker)."""
    dst.mkdir(parents=True, exist_ok=True)
    for name in LINKED:
        f = dst / f"{name}.npy"
        if name in own:
            continue
        if not f.exists():
            f.symlink_to(src / f"{name}.npy")
    (dst / "meta.json").write_text((src / "meta.json").read_text())
    return dst


def features(corpus: Path, train: int, val: int, pairs: int, reader=None) -> Path:
    """The usual feature cache (log-mel, text embeddings, video) of the chosen rows: all the
    log-mel model needs, so its training can start while the Whisper pass runs."""
    corpus = Path(corpus).resolve()
    reader = reader or open_corpus(corpus)
    keep = choose_rows(reader.rows, train, val, pairs)
    limits = {"train": train, "val": val, "test": 2 * pairs, "pairs": pairs}
    return build_cache(corpus, reader=SubsetReader(reader, keep), limits=limits, progress=False)


def build(corpus: Path, train: int, val: int, pairs: int, workers: int, chunk: int = 40,
          model_dir: Path = SPEECH_DIR, log=print) -> dict[str, Path]:
    """Build (or reuse) the feature cache and its three speech views; return their folders."""
    import concurrent.futures as cf
    import multiprocessing as mp
    from sdumc.text_encoder.encode import encode_texts
    corpus = Path(corpus).resolve()
    reader = open_corpus(corpus)
    keep = choose_rows(reader.rows, train, val, pairs)
    fc = features(corpus, train, val, pairs, reader)
    views = {"features": fc, "whisper": fc.with_name(fc.name + "-whisper"),
             "recognised": fc.with_name(fc.name + "-recognised"),
             "whisper_recognised": fc.with_name(fc.name + "-whisper-recognised")}
    if all((v / "meta.json").is_file() for v in views.values()):
        return views
    rows = [reader.rows[int(i)] for i in keep]
    recog = [r["split"] != "train" for r in rows]
    parts = fc.with_name(fc.name + "-whisper.parts")
    parts.mkdir(exist_ok=True)
    jobs = [(str(corpus), model_dir, keep[s:s + chunk], recog[s:s + chunk], parts / f"{s:06d}.npz")
            for s in range(0, len(keep), chunk)]
    order = sorted(range(len(jobs)), key=lambda k: not any(jobs[k][3]))  # recognition chunks first
    t0, res = time.time(), [None] * len(jobs)
    with cf.ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn")) as pool:
        futs = {pool.submit(_work, jobs[k]): k for k in order}
        for n, f in enumerate(cf.as_completed(futs), 1):
            res[futs[f]] = f.result()
            log(f"route_cache: {n}/{len(jobs)} chunks, {time.time() - t0:.0f} s")
    got = {k: [x for r in res for x in r[k]] for k in res[0]}
    wv = views["whisper"]
    wv.mkdir(exist_ok=True)
    _ragged_save(wv, "audio", got["states"], np.float16, 384)
    _link_view(fc, wv, {"audio": wv / "audio.npy", "audio_off": wv / "audio_off.npy"})
    texts = got["text"]
    said = [k for k, t in enumerate(texts) if t.strip()]
    emb_rows = [np.zeros((0, 384), np.float16)] * len(texts)
    if said:
        emb, mask = encode_texts([texts[k] for k in said], batch_size=64)
        for k, e, m in zip(said, emb, mask):
            emb_rows[k] = e[: int(m.sum())]
    rv = views["recognised"]
    rv.mkdir(exist_ok=True)
    _ragged_save(rv, "text", emb_rows, np.float16, 384)
    _link_view(fc, rv, {"text": 1, "text_off": 1})
    wr = views["whisper_recognised"]
    wr.mkdir(exist_ok=True)
    for name in ("text", "text_off"):
        if not (wr / f"{name}.npy").exists():
            (wr / f"{name}.npy").symlink_to(rv / f"{name}.npy")
    for name in ("audio", "audio_off"):
        if not (wr / f"{name}.npy").exists():
            (wr / f"{name}.npy").symlink_to(wv / f"{name}.npy")
    _link_view(fc, wr, {"text": 1, "text_off": 1, "audio": 1, "audio_off": 1})
    report = {"corpus_rows": keep.tolist(), "ids": [r["id"] for r in rows], "recognised": recog,
              "text": texts, "stop": got["stop"], "cpu_s": got["cpu_s"], "audio_s": got["audio_s"],
              "min_context_s": decode_rules_from_manifest(model_dir)[1], "wall_s": round(time.time() - t0, 1),
              "workers": workers}
    (fc.with_name(fc.name + "-recognised") / "recognised.json").write_text(json.dumps(report))
    return views


def wer_by_family(cache_meta: dict, report: dict, split: str = "test") -> dict[str, dict]:
    """Word error rate of the recognised words against the corpus text per voice family of
    `split`, with the share of each stop reason."""
    out: dict[str, dict] = {}
    for k, rec in enumerate(report["recognised"]):
        if not rec:
            continue
        fam = cache_meta["voice_family"][k]
        sp = ("train", "val", "test")[int(cache_meta["split_codes"][k])] if "split_codes" in cache_meta else None
        if sp is not None and sp != split:
            continue
        d = out.setdefault(fam, {"edits": 0, "words": 0, "n": 0, "stops": {}})
        e, n = word_errors(cache_meta["texts"][k], report["text"][k])
        d["edits"] += e
        d["words"] += n
        d["n"] += 1
        d["stops"][report["stop"][k]] = d["stops"].get(report["stop"][k], 0) + 1
    return {f: {"wer": round(d["edits"] / max(1, d["words"]), 4), "n": d["n"], "stops": d["stops"]}
            for f, d in out.items()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Feature caches for the speech routes of issue 12.")
    ap.add_argument("--corpus", type=Path, default=MODELS_DIR / "corpus" / "v2")
    ap.add_argument("--train-rows", type=int, default=2000)
    ap.add_argument("--val-rows", type=int, default=400)
    ap.add_argument("--pairs", type=int, default=600, help="test sentences, each in both voice families")
    ap.add_argument("--workers", type=int, default=2, help="processes, one onnxruntime thread each")
    ap.add_argument("--features-only", action="store_true", help="only the log-mel feature cache")
    a = ap.parse_args(argv)
    try:
        if a.features_only:
            print(features(a.corpus, a.train_rows, a.val_rows, a.pairs))
            return 0
        views = build(a.corpus, a.train_rows, a.val_rows, a.pairs, a.workers,
                      log=lambda s: print(s, file=sys.stderr, flush=True))
    except DataError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(json.dumps({k: str(v) for k, v in views.items()}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
