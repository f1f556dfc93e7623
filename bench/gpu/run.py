"""The served graphs on the CUDA execution provider vs the CPU provider, side by side in one run
(bench/gpu.sh runs this on the lent GPU machine; here it runs CPU-only).

  python3 bench/gpu/run.py [--seconds 3] [--cpu-only] [--json out.json]

Scorer: models/sdumc-v1's text encoder (int8) + fusion graph (log-mel + SDUMC), one segment =
4 s of 16 kHz audio + 16 tokens + 40 video frames, as bench/model_throughput.mjs. Speech path:
models/speech-whisper-tiny-en's encoder on a 5 s segment in the served 10 s context (1,000 mel
frames) + greedy decoding of 48 tokens (the manifest's budget for 5 s: 8 + 8/s), as the server's
recogniser does (argmax, no early stop, so every row does the same work). Batch 1 and 32.
Prints segments/s (speech: audio-s per s too) for each provider, and which provider each graph's
nodes actually ran on (from onnxruntime's profile): a graph placed on CUDA can still run some
nodes on the CPU (e.g. int8 ops the CUDA provider lacks), with copies between.

Needs numpy and onnxruntime (the machine's, or the onnxruntime-gpu that bench/gpu.sh unpacks);
no torch, no tokenizer, no package of this repository. Inputs are synthetic: only speed is
measured (the graphs' outputs are checked by the golden tests on CPU).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import onnxruntime as ort

ROOT = Path(__file__).resolve().parents[2]
SCORER = ROOT / "models" / "sdumc-v1"
SPEECH = ROOT / "models" / "speech-whisper-tiny-en"
BATCHES = (1, 32)
AUDIO_S, TOKENS, FRAMES = 4.0, 16, 40  # one scorer segment (as bench/model_throughput)
SPEECH_S = 5.0  # one speech segment
CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"


def session(path: Path, provider: str, profile: bool = False) -> ort.InferenceSession:
    so = ort.SessionOptions()
    so.log_severity_level = 3
    if profile:
        so.enable_profiling = True
        so.profile_file_prefix = f"/tmp/gpu-bench-{path.stem}-{os.getpid()}"
    providers = [CUDA, CPU] if provider == CUDA else [CPU]
    return ort.InferenceSession(str(path), so, providers=providers)


def placement(path: Path, provider: str, feeds: dict) -> dict[str, int]:
    """Nodes run per execution provider in one profiled run (the provider actually used)."""
    s = session(path, provider, profile=True)
    s.run(None, feeds)
    prof = Path(s.end_profiling())
    events = json.loads(prof.read_text())
    prof.unlink(missing_ok=True)
    seen: dict[str, str] = {}
    for e in events:
        if e.get("cat") == "Node" and "provider" in e.get("args", {}):
            seen[e["name"].removesuffix("_kernel_time")] = e["args"]["provider"]
    return dict(Counter(seen.values()))


def rate(fn, seconds: float) -> float:
    """Calls/s of fn() after one warm-up call, over at least `seconds` and 2 calls."""
    fn()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds or n < 2:
        fn()
        n += 1
    return n / (time.perf_counter() - t0)


def scorer_inputs(B: int, text_cpu: ort.InferenceSession) -> tuple[dict, dict]:
    rng = np.random.default_rng(B)
    ids = rng.integers(1000, 29000, (B, TOKENS), dtype=np.int64)
    ids[:, 0], ids[:, -1] = 101, 102  # [CLS] ... [SEP], as the tokenizer writes them
    text = {"input_ids": ids, "attention_mask": np.ones((B, TOKENS), np.int64),
            "token_type_ids": np.zeros((B, TOKENS), np.int64)}
    emb = text_cpu.run(None, text)[0].astype(np.float32)
    S = int(AUDIO_S * 16000)
    t = np.arange(S) / 16000.0
    pcm = np.stack([0.3 * np.sin(2 * np.pi * (110 + 10 * b) * t) + 0.02 * rng.standard_normal(S)
                    for b in range(B)]).astype(np.float32)
    fusion = {"audio_pcm": pcm, "audio_length": np.full(B, S, np.int64), "text_embeddings": emb,
              "text_mask": np.ones((B, TOKENS), np.float32),
              "video_frames": rng.uniform(0, 2, (B, FRAMES, 24)).astype(np.float32),
              "video_mask": np.ones((B, FRAMES), np.float32), "presence": np.ones((B, 3), np.float32)}
    return text, fusion


def speech_plan(m: dict) -> tuple[int, int]:
    """(mel frames of the served context, tokens decoded) for one SPEECH_S segment."""
    ctx_s = max(SPEECH_S, m["decode"]["minContextSeconds"])
    frames = int(ctx_s * m["mel"]["sampleRate"] / m["mel"]["hop"])
    return frames - frames % 2, int(m["decode"]["tokensBase"] + m["decode"]["tokensPerSecond"] * SPEECH_S)


def speech_once(enc: ort.InferenceSession, dec: ort.InferenceSession, mel: np.ndarray, m: dict, steps: int) -> None:
    d, tok = m["dims"], m["tokens"]
    B = mel.shape[0]
    _, ck, cv = enc.run(None, {"mel": mel})
    head = d["n_text_state"] // d["n_text_head"]
    pk = pv = np.zeros((d["n_text_layer"], B, d["n_text_head"], 0, head), np.float32)
    tokens = np.tile(np.array([[tok["sot"], tok["noTimestamps"]]], np.int64), (B, 1))
    for _ in range(steps):
        logits, pk, pv = dec.run(None, {"tokens": tokens, "past_k": pk, "past_v": pv, "cross_k": ck, "cross_v": cv,
                                        "offset": np.array([pk.shape[3]], np.int64)})
        tokens = logits.argmax(-1).astype(np.int64)[:, None]


def measure(providers: list[str], seconds: float) -> dict:
    sm = json.loads((SCORER / "manifest.json").read_text())
    sp = json.loads((SPEECH / "manifest.json").read_text())
    text_path, fusion_path = (SCORER / sm["graphs"][g]["file"] for g in ("textEncoder", "fusion"))
    enc_path, dec_path = (SPEECH / sp["graphs"][g]["file"] for g in ("encoder", "decoder"))
    text_cpu = session(text_path, CPU)
    frames, steps = speech_plan(sp)
    res: dict = {"segment": {"scorer": {"audio_s": AUDIO_S, "tokens": TOKENS, "video_frames": FRAMES},
                             "speech": {"audio_s": SPEECH_S, "mel_frames": frames, "decoded_tokens": steps}},
                 "rates": {}, "placement": {}}
    feeds = {B: scorer_inputs(B, text_cpu) for B in BATCHES}
    mels = {B: np.random.default_rng(B).uniform(-0.8, 1.2, (B, sp["dims"]["n_mels"], frames)).astype(np.float32)
            for B in BATCHES}
    for p in providers:
        s = {"text": session(text_path, p), "fusion": session(fusion_path, p),
             "enc": session(enc_path, p), "dec": session(dec_path, p)}
        fell_back = [k for k, v in s.items() if v.get_providers()[0] != p]
        if fell_back:  # onnxruntime drops a provider that cannot load with a warning, not an error
            raise RuntimeError(f"{p} did not load for {fell_back} (onnxruntime's message above says why); "
                               f"the sessions run on {s[fell_back[0]].get_providers()}")
        res["placement"][p] = {
            "sessionProviders": {k: v.get_providers()[0] for k, v in s.items()},
            "nodes": {"text": placement(text_path, p, feeds[1][0]), "fusion": placement(fusion_path, p, feeds[1][1]),
                      "speechEncoder": placement(enc_path, p, {"mel": mels[1]})}}
        for B in BATCHES:
            text, fusion = feeds[B]
            r = res["rates"].setdefault(p, {}).setdefault(f"b{B}", {})
            r["text"] = B * rate(lambda: s["text"].run(None, text), seconds)
            r["fusion"] = B * rate(lambda: s["fusion"].run(None, fusion), seconds)
            r["segment"] = 1 / (1 / r["text"] + 1 / r["fusion"])  # text encoder + fusion back to back
            r["speech"] = B * rate(lambda: speech_once(s["enc"], s["dec"], mels[B], sp, steps), seconds)
            r["speechAudioSPerS"] = r["speech"] * SPEECH_S
            print(f"  {p:22} batch {B:2}: scorer {r['segment']:8.1f} seg/s (text {r['text']:.1f}, fusion "
                  f"{r['fusion']:.1f}); speech {r['speech']:7.2f} seg/s = {r['speechAudioSPerS']:7.1f} audio-s/s",
                  file=sys.stderr)
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=3.0, help="timing window per cell")
    ap.add_argument("--cpu-only", action="store_true", help="measure the CPU provider alone")
    ap.add_argument("--json", type=Path, help="write the results here too")
    a = ap.parse_args(argv)
    available = ort.get_available_providers()
    providers = [CPU]
    why = "--cpu-only" if a.cpu_only else None
    if not a.cpu_only:
        if CUDA in available:
            if hasattr(ort, "preload_dlls"):
                ort.preload_dlls()  # CUDA/cuDNN from the machine's nvidia-* Python packages
            providers = [CUDA, CPU]
        else:
            why = f"this onnxruntime ({ort.__version__}) has no {CUDA} (providers: {', '.join(available)})"
    print(f"onnxruntime {ort.__version__} from {Path(ort.__file__).parent}; device {ort.get_device()}; "
          f"cpu cores {os.cpu_count()}; measuring {', '.join(providers)}" + (f" (CPU only: {why})" if why else ""),
          file=sys.stderr)
    try:
        res = measure(providers, a.seconds)
    except Exception as e:  # a CUDA provider that cannot load its libraries fails here: say so, then CPU
        if providers == [CPU]:
            raise
        print(f"CUDA run failed ({type(e).__name__}: {str(e).splitlines()[0][:300]}); measuring CPU alone",
              file=sys.stderr)
        res = measure([CPU], a.seconds)
        res["cudaError"] = f"{type(e).__name__}: {str(e)[:2000]}"
    res["onnxruntime"] = {"version": ort.__version__, "device": ort.get_device(), "available": available}
    res["cpuOnlyReason"] = why
    print_table(res)
    if a.json:
        a.json.write_text(json.dumps(res, indent=1))
    return 0


def print_table(res: dict) -> None:
    provs = list(res["rates"])
    seg = res["segment"]
    print(f"scorer segment = {seg['scorer']['audio_s']} s audio + {seg['scorer']['tokens']} tokens + "
          f"{seg['scorer']['video_frames']} video frames; speech segment = {seg['speech']['audio_s']} s audio "
          f"({seg['speech']['mel_frames']} mel frames of context, {seg['speech']['decoded_tokens']} tokens decoded)")
    print("batch  provider               scorer seg/s  text enc/s  fusion/s  speech seg/s  speech audio-s/s")
    for B in BATCHES:
        for p in provs:
            r = res["rates"][p][f"b{B}"]
            print(f"{B:5}  {p:22} {r['segment']:12.1f} {r['text']:11.1f} {r['fusion']:9.1f} {r['speech']:13.2f} "
                  f"{r['speechAudioSPerS']:17.1f}")
        if CUDA in provs:
            c, g = res["rates"][CPU][f"b{B}"], res["rates"][CUDA][f"b{B}"]
            print(f"{B:5}  CUDA / CPU             {g['segment'] / c['segment']:11.2f}x {g['text'] / c['text']:10.2f}x "
                  f"{g['fusion'] / c['fusion']:8.2f}x {g['speech'] / c['speech']:12.2f}x")
    for p, pl in res["placement"].items():
        print(f"provider actually used ({p}): sessions {pl['sessionProviders']}; nodes per provider {pl['nodes']}")
    if res.get("cudaError"):
        print(f"CUDA FAILED: {res['cudaError'].splitlines()[0][:300]}")


if __name__ == "__main__":
    sys.exit(main())
