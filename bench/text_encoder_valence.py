"""What a text-graph swap does to the whole model's segment valence, text present: two int8 text
graphs side by side, each feeding the served fusion graph (sdumc.onnx), one transcript per run.

  .venv/bin/python bench/text_encoder_valence.py --before /tmp/before.onnx \
      --after models/sdumc-v1/text_encoder.int8.onnx [--model models/sdumc-v1]

Texts: every utterance of the demo calls (fixtures/calls) and the golden texts. Each text is
scored twice per graph through fusion: with the golden `fusion.flows` "all" row's audio and
video (all modalities present) and text alone ("text_only" row). Prints the largest and mean
|valence(after) - valence(before)| per flow, and the same for the spread of valence across
texts (std), so the change reads against how much text moves the score. Not a test.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "models"))
from sdumc import golden  # noqa: E402
from sdumc.text_encoder.encode import session  # noqa: E402
from sdumc.text_encoder.tokens import load_tokenizer, tokenize  # noqa: E402


def transcripts() -> list[str]:
    out = []
    for call in sorted((ROOT / "fixtures" / "calls").glob("*/call.json")):
        out += [u["text"] for u in json.loads(call.read_text())["utterances"] if u["text"].strip()]
    return out + golden.TEXTS


def valences(graph: Path, model: Path, texts: list[str], rows: dict[str, int]) -> dict[str, np.ndarray]:
    """Valence per text for each named fusion.flows row (its audio/video/presence, this text)."""
    m = json.loads((model / "manifest.json").read_text())
    g = json.loads((model / m.get("golden", golden.GOLDEN_FILE)).read_text())
    flows = next(c for c in g["cases"] if c["name"] == "fusion.flows")
    base = {r: golden.from_json(t) for r, t in flows["inputs"].items()}
    text_sess, tok, sessions = session(graph, threads=1), load_tokenizer(m["text"]["maxTokens"]), {}
    out = {name: np.zeros(len(texts), np.float32) for name in rows}
    for i, t in enumerate(texts):
        f = tokenize([t], tok=tok)
        emb = text_sess.run(None, f)[0]
        mask = f["attention_mask"].astype(np.float32)
        for name, row in rows.items():
            inputs = {r: a[row:row + 1] for r, a in base.items()}
            inputs["text.embeddings"], inputs["text.mask"] = emb.astype(np.float32), mask
            c = {"graph": "fusion", "inputs": {r: golden.to_json(a) for r, a in inputs.items()}}
            out[name][i] = golden.run_case(m, model, c, sessions)["valence"][0]
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--before", type=Path, required=True)
    ap.add_argument("--after", type=Path, required=True)
    ap.add_argument("--model", type=Path, default=ROOT / "models" / "sdumc-v1")
    a = ap.parse_args()
    texts = transcripts()
    rows = {"all": golden.FLOW_ROWS.index("all"), "text_only": golden.FLOW_ROWS.index("text_only")}
    before, after = valences(a.before, a.model, texts, rows), valences(a.after, a.model, texts, rows)
    print(f"{len(texts)} texts (fixtures/calls + golden), one per run; fusion: {a.model / 'sdumc.onnx'}")
    print("| flow | max abs change | mean abs change | valence std across texts (before) | r before/after |")
    print("|---|---:|---:|---:|---:|")
    for name in rows:
        d = np.abs(after[name] - before[name])
        r = float(np.corrcoef(before[name], after[name])[0, 1])
        print(f"| {name} | {d.max():.3f} | {d.mean():.3f} | {before[name].std():.3f} | {r:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
