"""An int8 text graph holding uint8 weights (onnxruntime's U8U8 kernels; sdumc-v1 served one from
2026-12-02 to 2026-12-07) side by side with the same graph holding int8 weights (U8S8 kernels,
what sdumc-v1 shipped before 2026-12-02), in one run, alternating rounds. Why the graph changed:
docs/model.md, "The int8 text graph gives the same numbers on every CPU". sdumc-v1 now serves
7-bit int8 weights (U8S8 without saturation), so point --model at a folder holding a uint8 graph:

  mkdir -p /tmp/u8 && git show 1fa1c08:models/sdumc-v1/text_encoder.int8.onnx > /tmp/u8/text_encoder.int8.onnx
  .venv/bin/python bench/text_encoder_kernels.py --model /tmp/u8 [--seconds 3] [--rounds 3]

Prints texts/s at batch 1 and 32 (VADER tweets, onnxruntime-python, default threads; the Node
server uses the same MLAS kernels), whether this CPU has VNNI (U8S8 exact and fast) and the
largest output difference between the two graphs here (0 on a VNNI CPU; without VNNI the int8
graph saturates). Not a test: numbers depend on the machine and its load.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "models"))
from sdumc.text_encoder.contract import INT8_FILE  # noqa: E402
from sdumc.text_encoder.encode import session as text_session  # noqa: E402
from sdumc.text_encoder.tokens import load_tokenizer, tokenize  # noqa: E402
from sdumc.text_encoder.vader import vader_texts  # noqa: E402
from shared_data import use_committed_head_if_absent  # noqa: E402


def s8_copy(u8_graph: Path, out: Path) -> Path:
    """The graph with its uint8 MatMulInteger weights and zero points back as int8 (-128)."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(u8_graph))
    inits = {t.name: t for t in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type != "MatMulInteger":
            continue
        for idx in (1, 3):
            t = inits.get(node.input[idx]) if idx < len(node.input) else None
            if t is not None and numpy_helper.to_array(t).dtype == np.uint8:
                a = numpy_helper.to_array(t).astype(np.int16) - 128
                t.CopyFrom(numpy_helper.from_array(a.astype(np.int8), t.name))
    onnx.save(model, str(out))
    return out


def rate(sess, batches, seconds: float) -> float:
    n, t0, i = 0, time.perf_counter(), 0
    while time.perf_counter() - t0 < seconds:
        b = batches[i % len(batches)]
        sess.run(None, b)
        n += len(b["input_ids"])
        i += 1
    return n / (time.perf_counter() - t0)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", type=Path, default=Path("models/sdumc-v1"))
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    graph = a.model / INT8_FILE
    if not graph.is_file():
        print(f"error: {graph} not found", file=sys.stderr)
        return 2
    flags = Path("/proc/cpuinfo").read_text().split("flags")[1].split("\n")[0] if Path("/proc/cpuinfo").is_file() else ""
    vnni = "avx512_vnni" in flags or "avx_vnni" in flags
    use_committed_head_if_absent()  # the first 256 tweets lie within the committed 300 lines
    texts = vader_texts(256)
    tok = load_tokenizer()
    import onnx
    from onnx import numpy_helper
    m = onnx.load(str(graph))
    inits = {t.name: t for t in m.graph.initializer}
    if not any(numpy_helper.to_array(inits[nd.input[1]]).dtype == np.uint8
               for nd in m.graph.node if nd.op_type == "MatMulInteger" and nd.input[1] in inits):
        print(f"error: {graph} holds no uint8 weights (sdumc-v1 serves 7-bit int8 weights since 2026-12-07): "
              "give --model a folder with a uint8 graph (see this file's docstring)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        sessions = {"u8u8 (uint8 weights)": text_session(graph), "u8s8 (int8 weights)": text_session(s8_copy(graph, Path(tmp) / "s8.onnx"))}
        feeds = tokenize(texts[:32], tok=tok)
        outs = [s.run(None, feeds)[0] for s in sessions.values()]
        diff = float(np.abs(outs[0] - outs[1]).max())
        res: dict = {name: {"batch1": [], "batch32": []} for name in sessions}
        for bs in (1, 32):
            batches = [tokenize(texts[i:i + bs], tok=tok) for i in range(0, len(texts) - bs + 1, bs)]
            for s in sessions.values():
                s.run(None, batches[0])  # warm-up
            for _ in range(a.rounds):
                for name, s in sessions.items():
                    res[name][f"batch{bs}"].append(rate(s, batches, a.seconds))
    print(f"CPU VNNI: {vnni}; max |u8u8 - u8s8| on 32 tweets here: {diff:.3g}")
    print("| graph | batch 1 texts/s | batch 32 texts/s |\n|---|---|---|")
    for name, r in res.items():
        print(f"| {name} | {np.median(r['batch1']):.1f} | {np.median(r['batch32']):.1f} |")
    u, s = res["u8u8 (uint8 weights)"], res["u8s8 (int8 weights)"]
    print(f"u8u8 / u8s8: batch 1 {np.median(u['batch1']) / np.median(s['batch1']):.2f}x, "
          f"batch 32 {np.median(u['batch32']) / np.median(s['batch32']):.2f}x (medians of {a.rounds} rounds)")
    print(json.dumps({"vnni": vnni, "max_abs_diff": diff, "rates": res}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
