"""The text encoder's tokenizer: the packaged WordPiece tokenizer, truncating to the graph's
`MAX_TOKENS` and padding to the batch's longest text, and the served copy of it."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .contract import MAX_TOKENS, TOKENIZER_FILE, package_dir

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
