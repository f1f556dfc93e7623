"""Golden outputs of the speech model on its committed clips (golden/*.wav), for the Python
and Node parity tests. CTranslate2 is the reference for tokens; the torch model (fp32) is the
reference for encoder states; the committed int8 graphs through onnxruntime-python give the
states the Node runtime must reproduce.

  cd models && python -m sdumc.speech.golden --model speech-whisper-tiny-en

Writes golden/golden.json (per clip: text, reference tokens, sizes, measured agreements) and
golden/<clip>.mel.f32, <clip>.states.f32 (torch), <clip>.states-int8.f32 (onnxruntime-python):
raw little-endian float32, row-major: the mel of the clip with its context (80, 2C) and the
clip's own encoder frames (F, 384).
"""
from __future__ import annotations

import argparse
import json
import sys
import wave
from pathlib import Path

import numpy as np

from .export import ENCODER_FILE, DECODER_FILE, TOKENIZER_FILE, decode_rules, package_dir
from .mel import SAMPLE_RATE, log_mel, with_context
from .model import load_whisper
from .recognise import transcribe_ct2, transcribe_onnx, transcribe_torch

# What each clip is (espeak-ng 1.51, `espeak-ng -v VOICE -s 160 --stdout TEXT | sox -t wav -
# -r 16000 -b 16 -c 1 CLIP.wav`): lines in the style of MELD (Friends) dialogue, written here.
# Each clip is decoded with the encoder context it names: trimmed to the clip (0) or at least 10 s.
CLIPS = {
    "joey": ("en-us", "How you doin? I haven't seen you since the party.", 0.0),
    "rachel": ("en-gb-x-rp", "Oh no, I can't believe you did that to me!", 10.0),
    "monica": ("en-us+f3", "Okay, everybody relax. This is not even a date.", 10.0),
}


def read_wav(path: Path) -> np.ndarray:
    """16 kHz mono 16-bit PCM -> float32 in [-1, 1)."""
    with wave.open(str(path)) as w:
        if (w.getframerate(), w.getnchannels(), w.getsampwidth()) != (SAMPLE_RATE, 1, 2):
            raise ValueError(f"{path}: need 16 kHz mono 16-bit PCM")
        return np.frombuffer(w.readframes(w.getnframes()), np.int16).astype(np.float32) / 32768.0


def cosine_rows(a: np.ndarray, b: np.ndarray) -> float:
    """Smallest cosine similarity between matching rows (frames) of a and b."""
    num = (a * b).sum(-1)
    return float((num / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))).min())


def record(model_dir: Path) -> dict:
    import onnxruntime as ort
    from tokenizers import Tokenizer

    pkg = package_dir()
    rules = decode_rules(pkg)
    torch_model = load_whisper(pkg / "model.bin")
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    enc = ort.InferenceSession(str(model_dir / ENCODER_FILE), so, providers=["CPUExecutionProvider"])
    dec = ort.InferenceSession(str(model_dir / DECODER_FILE), so, providers=["CPUExecutionProvider"])
    tok = Tokenizer.from_file(str(model_dir / TOKENIZER_FILE))
    gdir = model_dir / "golden"
    clips = []
    for name, (voice, text, context) in CLIPS.items():
        audio = read_wav(gdir / f"{name}.wav")
        mel = log_mel(with_context(audio, context))
        ct2 = transcribe_ct2(str(pkg), audio, rules, context)
        pt = transcribe_torch(torch_model, audio, rules, context)
        ox = transcribe_onnx(enc, dec, audio, rules, context)
        mel.tofile(gdir / f"{name}.mel.f32")
        pt.states.astype(np.float32).tofile(gdir / f"{name}.states.f32")
        ox.states.astype(np.float32).tofile(gdir / f"{name}.states-int8.f32")
        clips.append({
            "name": name, "voice": voice, "spoken": text, "samples": len(audio), "minContextSeconds": context,
            "melFrames": mel.shape[1], "frames": pt.states.shape[0],
            "tokens": ct2.tokens, "text": tok.decode(ct2.tokens),
            "torchTokens": pt.tokens, "int8Tokens": ox.tokens, "int8Text": tok.decode(ox.tokens),
            "torchVsCt2StatesMaxAbs": float(np.abs(pt.states - ct2.states).max()),
            "int8VsTorchStatesMinCosine": cosine_rows(ox.states, pt.states),
            "int8VsTorchStatesMaxAbs": float(np.abs(ox.states - pt.states).max()),
        })
    out = {"format": 1, "clips": clips}
    (gdir / "golden.json").write_text(json.dumps(out, indent=1) + "\n")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", type=Path, required=True)
    a = ap.parse_args(argv)
    out = record(a.model)
    for c in out["clips"]:
        same = c["tokens"] == c["torchTokens"] == c["int8Tokens"]
        print(f"{c['name']}: {c['text']!r} int8 {c['int8Text']!r} tokens {'agree' if same else 'DIFFER'}; "
              f"states torch-ct2 {c['torchVsCt2StatesMaxAbs']:.2e}, int8 cos >= {c['int8VsTorchStatesMinCosine']:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
