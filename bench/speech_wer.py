"""Word error rate of the speech model's runtimes on espeak-ng utterances (issue 12).

For each encoder context (trimmed to the segment, or at least --min-context seconds) decodes
bench/speech_utterances.py's lines greedily with CTranslate2 (float32, the reference), the
torch model, and onnxruntime-python on the committed int8 graphs and on the float graphs
(built by `python -m sdumc.speech.export --out ... --fp32 cache/speech-fp32`), and prints
WER per runtime plus how many transcripts equal CTranslate2's token for token.

  cd models && ../.venv/bin/python ../bench/speech_wer.py [--fp32 cache/speech-fp32]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "models"))

from speech_utterances import UTTERANCES, synthesise, wer  # noqa: E402
from sdumc.speech.export import DECODER_FILE, ENCODER_FILE, decode_rules, package_dir  # noqa: E402
from sdumc.speech.golden import read_wav  # noqa: E402
from sdumc.speech.model import load_whisper  # noqa: E402
from sdumc.speech.recognise import transcribe_ct2, transcribe_onnx, transcribe_torch  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", type=Path, default=Path("speech-whisper-tiny-en"))
    ap.add_argument("--fp32", type=Path, help="folder with encoder.fp32.onnx and decoder.fp32.onnx")
    ap.add_argument("--min-context", type=float, nargs="*", default=[0.0, 10.0])
    a = ap.parse_args()
    import onnxruntime as ort
    from tokenizers import Tokenizer

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    sess = lambda p: ort.InferenceSession(str(p), so, providers=["CPUExecutionProvider"])  # noqa: E731
    pkg, rules = package_dir(), decode_rules()
    torch_model = load_whisper(pkg / "model.bin")
    runtimes = {
        "ct2_fp32": lambda x, c: transcribe_ct2(str(pkg), x, rules, c),
        "torch_fp32": lambda x, c: transcribe_torch(torch_model, x, rules, c),
    }
    int8 = (sess(a.model / ENCODER_FILE), sess(a.model / DECODER_FILE))
    runtimes["onnx_int8"] = lambda x, c: transcribe_onnx(*int8, x, rules, c)
    if a.fp32:
        fp32 = (sess(a.fp32 / "encoder.fp32.onnx"), sess(a.fp32 / "decoder.fp32.onnx"))
        runtimes["onnx_fp32"] = lambda x, c: transcribe_onnx(*fp32, x, rules, c)
        runtimes["onnx_fp32enc_int8dec"] = lambda x, c: transcribe_onnx(fp32[0], int8[1], x, rules, c)
    tok = Tokenizer.from_file(str(a.model / "tokenizer.json"))
    tmp = Path(tempfile.mkdtemp())
    audio = [read_wav(synthesise(v, t, tmp / f"{i}.wav")) for i, (v, t) in enumerate(UTTERANCES)]
    report = {}
    for ctx in a.min_context:
        ref = [runtimes["ct2_fp32"](x, ctx).tokens for x in audio]
        for name, run in runtimes.items():
            edits = words = same = 0
            for x, (_, text), r in zip(audio, UTTERANCES, ref):
                toks = run(x, ctx).tokens
                e, n = wer(text, tok.decode(toks))
                edits, words, same = edits + e, words + n, same + (toks == r)
            report[f"context>={ctx:g}s/{name}"] = {"wer": round(edits / words, 3), "same_tokens_as_ct2": f"{same}/{len(audio)}"}
            print(f"min context {ctx:g} s  {name:22s} WER {edits / words:.3f}  tokens = ct2 on {same}/{len(audio)}", flush=True)
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
