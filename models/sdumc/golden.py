"""golden.json: committed fixture inputs and reference outputs for every serving graph.

Format (docs/model-manifest.md, "golden.json"): `cases`, each with the graph it runs, the
reference that produced its outputs, a tolerance, and `inputs`/`outputs` keyed by ROLE, each
tensor as {"dtype", "dims", "data" (flat, row-major)}. Inputs are rounded to 6 significant
digits before the reference runs, so the numbers in the file are exactly the numbers used.
The PyTorch reference runs fusion; the int8 text encoder is its own reference (onnxruntime),
which pins the quantised numbers and the tokenizer (`texts` -> `text.input_ids`). A third
kind, `pipeline.flows`, chains the two: the text case's recorded embeddings feed fusion (the
`fusion.flows` audio and video), run by onnxruntime-python; it is what the server's own path
(tokenise, encode, fuse) must reproduce.

    python -m sdumc.golden --check sdumc-v1          # every case against onnxruntime-python
    python -m sdumc.golden --refresh-text sdumc-v1   # re-record the text and pipeline cases
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

GOLDEN_FILE = "golden.json"
FORMAT = 1
TOLERANCE = 1e-4  # max abs difference allowed against the recorded outputs
# The int8 text graph quantises its activations at run time: a last-bit difference in a float op
# (another CPU's kernels, fused or not) can move a value across a rounding boundary, and that
# step travels on. Measured on the golden texts, fused vs unfused kernels on one CPU: max 0.038,
# mean 0.003 (embeddings up to 5.7); downstream valence 0.0009. So the text case holds against
# recorded numbers within CROSS_CPU_TOLERANCE on any CPU, and within TOLERANCE where the float
# path is the recording's (e.g. onnxruntime-python vs -node on one machine: ~5e-9).
CROSS_CPU_TOLERANCE = 0.2

# real sentences (VADER tweets style) of different lengths, for the text-encoder case
TEXTS = [
    "I love this, thank you so much!",
    "This is the worst service I have ever had. Cancel my account now.",
    "ok",
    "The package arrived on Tuesday, which is about what I expected.",
]


# which of TEXTS each fusion.flows row carries (rows without text get zeros)
TEXT_ROWS = [0, 1, 2, 3, 0, 1]
FLOW_ROWS = ["all", "text_missing", "video_missing", "audio_missing", "audio_only", "text_only"]


def _round6(a: np.ndarray) -> np.ndarray:
    """Round to 6 significant digits (short JSON), then to the tensor's dtype."""
    return np.array([float(f"{x:.6g}") for x in a.ravel()], dtype=a.dtype).reshape(a.shape)


def to_json(a: np.ndarray, digits: int = 9) -> dict:
    """Tensor -> {"dtype", "dims", "data"}; 9 digits round-trip float32 exactly."""
    a = np.asarray(a)
    if a.dtype == np.int64:
        data = [int(x) for x in a.ravel()]
    else:
        data = [float(f"{float(x):.{digits}g}") for x in a.ravel()]
    return {"dtype": str(a.dtype), "dims": list(a.shape), "data": data}


def from_json(t: dict) -> np.ndarray:
    """{"dtype", "dims", "data"} -> numpy array."""
    return np.array(t["data"], dtype=t["dtype"]).reshape(t["dims"])


def fusion_inputs(text_emb: np.ndarray, text_mask: np.ndarray, seed: int = 0, video_dim: int = 24) -> dict:
    """Six rows that cover the flows: all present; text missing; video missing; audio missing;
    audio only; text only. Lengths differ per row so every padding path is exercised.
    `text_emb`/`text_mask` [6, T, 384]/[6, T]: real encoder outputs for rows with text."""
    rng = np.random.default_rng(seed)
    B, S, Tv = 6, 6400, 8  # 0.4 s of audio, 0.8 s of video at 10 fps
    presence = np.array([[1, 1, 1], [0, 1, 1], [1, 1, 0], [1, 0, 1], [0, 1, 0], [1, 0, 0]], np.float32)
    lengths = np.array([6400, 5000, 3333, 0, 6400, 0], np.int64)
    t = np.arange(S) / 16000.0
    pcm = np.zeros((B, S), np.float32)
    for b in range(B):
        f0 = 120 + 40 * b
        tone = 0.3 * np.sin(2 * np.pi * f0 * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))
        pcm[b, :lengths[b]] = (tone + 0.02 * rng.standard_normal(S))[:lengths[b]]
    pcm = np.round(pcm * 32767) / 32767  # int16 grid, as a telephone stream would carry
    v_frames = np.array([8, 6, 0, 5, 0, 0])
    video = np.zeros((B, Tv, video_dim), np.float32)
    vmask = np.zeros((B, Tv), np.float32)
    for b in range(B):
        n = v_frames[b]
        video[b, :n, :17] = rng.uniform(0, 3, (n, 17))  # AU intensities 0..5
        video[b, :n, 17:22] = rng.uniform(-0.4, 0.4, (n, 5))  # pose / gaze, radians
        video[b, :n, 22] = rng.uniform(0.8, 1.2, n)  # face scale
        video[b, :n, 23] = rng.uniform(0.6, 1.0, n)  # face confidence
        vmask[b, :n] = 1
    vmask[0, 3] = 0  # a dropped frame inside a present stream
    video[0, 3] = 0
    tmask = text_mask * presence[:, :1]
    temb = text_emb * tmask[..., None]
    return {
        "audio.pcm": _round6(pcm), "audio.length": lengths,
        "text.embeddings": _round6(temb.astype(np.float32)), "text.mask": tmask.astype(np.float32),
        "video.frames": _round6(video), "video.mask": vmask, "presence": presence,
    }


def allowed(c: dict) -> float:
    """The largest difference a case's recorded outputs allow on any CPU."""
    return float(c.get("crossCpuTolerance", c["tolerance"]))


def case(name: str, graph: str, reference: str, inputs: dict, outputs: dict, **extra) -> dict:
    """One golden case; `inputs`/`outputs` map role -> numpy array."""
    return {"name": name, "graph": graph, "reference": reference, "tolerance": TOLERANCE, **extra,
            "inputs": {r: to_json(a) for r, a in inputs.items()},
            "outputs": {r: to_json(a) for r, a in outputs.items()}}


def write(folder: Path, version: str, cases: list[dict]) -> Path:
    """Write `<folder>/golden.json`; refuses to write more than 2 MB (it is committed)."""
    text = json.dumps({"format": FORMAT, "version": version, "cases": cases}, separators=(",", ":"))
    if len(text) > 2_000_000:
        raise ValueError(f"golden.json would be {len(text)} bytes (> 2 MB): use fewer or shorter fixtures")
    path = Path(folder) / GOLDEN_FILE
    path.write_text(text)
    return path


def run_case(manifest: dict, folder: Path, c: dict, sessions: dict | None = None) -> dict[str, np.ndarray]:
    """Run case `c` in onnxruntime (python, CPU) through the manifest's role -> name binding."""
    import onnxruntime as ort

    g = manifest["graphs"][c["graph"]]
    sessions = sessions if sessions is not None else {}
    if c["graph"] not in sessions:
        sessions[c["graph"]] = ort.InferenceSession(str(Path(folder) / g["file"]), providers=["CPUExecutionProvider"])
    feeds = {t["name"]: from_json(c["inputs"][t["role"]]) for t in g["inputs"] if t["role"] in c["inputs"]}
    names = [t["name"] for t in g["outputs"]]
    res = sessions[c["graph"]].run(names, feeds)
    return {t["role"]: r for t, r in zip(g["outputs"], res)}


def check(folder: Path) -> list[tuple[str, str, float, float]]:
    """(case, role, max abs diff, the case's cross-CPU limit `allowed`) for every recorded output
    of `<folder>/golden.json`, run in onnxruntime against the folder's manifest."""
    manifest = json.loads((Path(folder) / "manifest.json").read_text())
    golden = json.loads((Path(folder) / manifest.get("golden", GOLDEN_FILE)).read_text())
    out, sessions = [], {}
    for c in golden["cases"]:
        got = run_case(manifest, folder, c, sessions)
        for role, ref in c["outputs"].items():
            out.append((c["name"], role, float(np.abs(got[role] - from_json(ref)).max()), allowed(c)))
    return out


def pipeline_case(manifest: dict, folder: Path, te_case: dict, flows_case: dict,
                  sessions: dict | None = None) -> dict:
    """`pipeline.flows`: `flows_case`'s audio and video with the text embeddings that
    `te_case` recorded (TEXT_ROWS), through the fusion graph in onnxruntime-python."""
    temb = from_json(te_case["outputs"]["text.token_embeddings"])
    amask = from_json(te_case["inputs"]["text.attention_mask"]).astype(np.float32)
    inputs = {r: from_json(t) for r, t in flows_case["inputs"].items()}
    tmask = amask[TEXT_ROWS] * inputs["presence"][:, :1]
    inputs["text.mask"] = tmask
    inputs["text.embeddings"] = _round6((temb[TEXT_ROWS] * tmask[..., None]).astype(np.float32))
    c = case("pipeline.flows", "fusion", "onnxruntime-python (textEncoder.int8 outputs -> fusion)", inputs, {},
             rows=FLOW_ROWS, text_rows=TEXT_ROWS)
    c["outputs"] = {r: to_json(a) for r, a in run_case(manifest, folder, c, sessions).items()}
    return c


def refresh_text(folder: Path) -> dict:
    """Re-record the text-encoder case and the pipeline case of `<folder>/golden.json` from the
    folder's graphs (after the text graph changed, e.g. `python -m sdumc.text_encoder --u8-weights`),
    and the text graph's size, sha256 and one-line description (`text.encoder`, from its
    text_encoder.json) in its manifest. The PyTorch fusion cases are kept:
    their inputs are fixtures, their outputs need the checkpoint. Returns the new golden dict."""
    from . import manifest as mf

    folder = Path(folder)
    m = json.loads((folder / "manifest.json").read_text())
    g = json.loads((folder / m.get("golden", GOLDEN_FILE)).read_text())
    te = next((c for c in g["cases"] if c["graph"] == "textEncoder"), None)
    flows = next((c for c in g["cases"] if c["name"] == "fusion.flows"), None)
    if te is None or flows is None:
        raise ValueError(f"{folder}/golden.json has no text-encoder case or no fusion.flows case")
    entry = m["graphs"]["textEncoder"]
    path = folder / entry["file"]
    entry["sha256"], entry["bytes"] = mf.sha256_file(path), path.stat().st_size
    if "text" in m:
        from .text_encoder.export import describe
        m["text"]["encoder"] = describe(folder)
    sessions: dict = {}
    te["outputs"] = {r: to_json(a) for r, a in run_case(m, folder, te, sessions).items()}
    cases = [c for c in g["cases"] if c["name"] != "pipeline.flows"]
    cases.append(pipeline_case(m, folder, te, flows, sessions))
    write(folder, g["version"], cases)
    (folder / "manifest.json").write_text(json.dumps(m, indent=2) + "\n")
    return {**g, "cases": cases}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m sdumc.golden", description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", type=Path, metavar="DIR", help="run every case of DIR/golden.json")
    ap.add_argument("--refresh-text", type=Path, metavar="DIR", help="re-record the text and pipeline cases")
    a = ap.parse_args(argv)
    if not a.check and not a.refresh_text:
        ap.error("give --check DIR or --refresh-text DIR")
    try:
        if a.refresh_text:
            refresh_text(a.refresh_text)
        rows = check(a.check or a.refresh_text)
    except (FileNotFoundError, ValueError, KeyError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    bad = 0
    for name, role, d, limit in rows:
        note = ""
        if d > limit:
            note, bad = " FAILS", bad + 1
        elif d > TOLERANCE:
            note = f" (within {limit}: another CPU's float path)"
        print(f"{name} {role}: max abs diff {d:.1e}{note}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
