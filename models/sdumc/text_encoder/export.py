"""Export the served text graph: fp32 ONNX from the torch model, int8 quantisation, the int8
fidelity bar, the tokenizer and the provenance file, and the manifest's one-line description."""
from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import torch

from .contract import BASE_NAME, INFO_FILE, INPUT_NAMES, INT8_FILE, MAX_TOKENS, OUTPUT_NAME
from .encode import mean_pool, session
from .model import MiniLM, load_minilm
from .quantise import QUANTISATION, QUANTISATION_7BIT, quantize_int8
from .tokens import tokenize, write_tokenizer
from .vader import vader_texts


def export_fp32(path: Path, model: MiniLM | None = None) -> Path:
    """Write the fp32 ONNX graph (opset 17, dynamic batch and tokens) to `path`."""
    model = model or load_minilm()
    dummy = tokenize(["a short example sentence", "another one"])
    args = tuple(torch.from_numpy(dummy[n]) for n in INPUT_NAMES)
    dyn = {n: {0: "batch", 1: "tokens"} for n in INPUT_NAMES + [OUTPUT_NAME]}
    with torch.no_grad():
        torch.onnx.export(model, args, str(path), input_names=INPUT_NAMES, output_names=[OUTPUT_NAME],
                          dynamic_axes=dyn, opset_version=17, do_constant_folding=True)
    return Path(path)


# int8 fidelity bar: mean-pooled cosine of the int8 graph to the fp32 weights it came from
MIN_MEAN_COS, MIN_COS = 0.98, 0.94


def int8_fidelity(model: MiniLM, int8_path: Path, texts: list[str]) -> dict[str, float]:
    """Mean-pooled cosine between the int8 graph and the fp32 torch model on `texts`
    (batches of 32, as the server may batch): {"mean", "min", "texts"}."""
    sess = session(int8_path)
    cos = []
    for i in range(0, len(texts), 32):
        f = tokenize(texts[i:i + 32])
        with torch.no_grad():
            ref = model(*(torch.from_numpy(f[n]) for n in INPUT_NAMES)).numpy()
        ref = mean_pool(ref, f["attention_mask"])
        got = mean_pool(sess.run([OUTPUT_NAME], f)[0], f["attention_mask"])
        cos.append((ref * got).sum(1) / np.linalg.norm(ref, axis=1) / np.linalg.norm(got, axis=1))
    c = np.concatenate(cos)
    return {"mean": round(float(c.mean()), 4), "min": round(float(c.min()), 4), "texts": len(c)}


def export(out_dir: Path, max_tokens: int = MAX_TOKENS, model: MiniLM | None = None,
           tuned: dict | None = None, distilled: dict | None = None, seven_bit: bool = False,
           requantised: dict | None = None) -> Path:
    """Export `text_encoder.int8.onnx`, `tokenizer.json` and `text_encoder.json` (provenance and
    int8 fidelity) into `out_dir`; returns the graph path. `model` defaults to the packaged
    weights; a sentiment-tuned one comes from sdumc.text_tune.load_tuned, with its summary as
    `tuned`; a distilled student from sdumc.text_distil.load_distilled, with its provenance as
    `distilled`; an exported graph's own weights re-quantised from sdumc.text_distil.teacher_from_graph,
    with `requantised` saying which graph (`requantised_from`). `seven_bit`: 7-bit int8 weights
    (U8S8 kernels, quantise.quantize_int8).
    Refuses (ValueError, nothing written) when the int8 graph strays from its fp32
    weights beyond the bar on 96 VADER tweets. The fp32 graph (~90 MB, too big to ship) only
    lives in a temp folder."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model = model or load_minilm()
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = export_fp32(Path(tmp) / "text_encoder.fp32.onnx", model)
        int8 = quantize_int8(fp32, Path(tmp) / INT8_FILE, seven_bit=seven_bit)
        fid = int8_fidelity(model, int8, vader_texts(96))
        if fid["mean"] < MIN_MEAN_COS or fid["min"] < MIN_COS:
            raise ValueError(f"int8 text graph too far from its fp32 weights: pooled cosine mean {fid['mean']} "
                             f"(bar {MIN_MEAN_COS}), min {fid['min']} (bar {MIN_COS}); not exported")
        shutil.copyfile(int8, out_dir / INT8_FILE)
    write_tokenizer(out_dir, max_tokens)
    info = {"base": BASE_NAME, "layers": len(model.layers), "quantisation": QUANTISATION_7BIT if seven_bit else QUANTISATION,
            "int8_vs_fp32_pooled_cosine": fid, "tuned": tuned}
    if distilled:
        info["distilled"] = distilled
    if requantised:
        info["requantised_from"] = requantised
    (out_dir / INFO_FILE).write_text(json.dumps(info, indent=1) + "\n")
    return out_dir / INT8_FILE


def describe(out_dir: Path) -> str:
    """One line for the manifest: which weights the exported text graph holds."""
    p = Path(out_dir) / INFO_FILE
    info = json.loads(p.read_text()) if p.is_file() else {"tuned": None}
    t = info.get("tuned")
    d = info.get("distilled")
    desc = f"{BASE_NAME}, dynamic int8" + (" (7-bit weights)" if "7-bit" in info.get("quantisation", "") else "")
    if t:
        desc += (f"; top {t['layers_tuned']} layers sentiment-tuned on {t['train_texts']} train-split"
                 f" texts (sdumc.text_tune, validation MAE {t['best_val_mae']})")
    if d:
        desc += (f"; distilled to {len(d['keep'])} layers (teacher layers {','.join(map(str, d['keep']))},"
                 f" sdumc.text_distil, validation MSE {d['best_val_mse']})")
    return desc
