"""all-MiniLM-L6-v2 in plain torch (a 6-layer post-LN BERT, parameter names as in HF BERT,
flattened) and the loader of its packaged weights."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
import torch.nn.functional as F

from .contract import package_dir


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
