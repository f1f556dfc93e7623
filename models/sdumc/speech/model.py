"""Whisper in plain torch (after openai/whisper's whisper/model.py), loading CTranslate2 weights.

The encoder may run on a trimmed audio context (F <= n_audio_ctx frames, positional embedding
sliced to F, as whisper.cpp's audio_ctx): a segment of S seconds costs ~S/30 of the full window.
The decoder runs with a self-attention KV cache and precomputed cross-attention K/V.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

from .ct2 import read_ct2


@dataclass(frozen=True)
class ModelDimensions:
    n_mels: int = 80
    n_audio_ctx: int = 1500  # encoder frames of a full 30 s window (2 mel frames each)
    n_audio_state: int = 384
    n_audio_head: int = 6
    n_audio_layer: int = 4
    n_vocab: int = 51864
    n_text_ctx: int = 448
    n_text_state: int = 384
    n_text_head: int = 6
    n_text_layer: int = 4


def heads(x: torch.Tensor, h: int) -> torch.Tensor:
    """(B, T, C) -> (B, h, T, C/h)."""
    B, T, C = x.shape
    return x.view(B, T, h, C // h).transpose(1, 2)


def attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Scaled dot-product attention on (B, h, T, d) heads -> (B, T, h*d)."""
    att = q @ k.transpose(-1, -2) / (q.shape[-1] ** 0.5)  # (B, h, Tq, Tk)
    if mask is not None:
        att = att + mask
    out = att.softmax(-1) @ v  # (B, h, Tq, d)
    B, h, T, d = out.shape
    return out.transpose(1, 2).reshape(B, T, h * d)


class EncoderBlock(nn.Module):
    def __init__(self, d: int, h: int) -> None:
        super().__init__()
        self.h = h
        self.attn_ln, self.qkv, self.attn_out = nn.LayerNorm(d), nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.mlp_ln, self.mlp1, self.mlp2 = nn.LayerNorm(d), nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q, k, v = (heads(t, self.h) for t in self.qkv(self.attn_ln(x)).chunk(3, -1))
        x = x + self.attn_out(attend(q, k, v))
        return x + self.mlp2(F.gelu(self.mlp1(self.mlp_ln(x))))


class AudioEncoder(nn.Module):
    """log-mel (B, n_mels, 2F) -> states (B, F, d), F <= n_audio_ctx."""

    def __init__(self, dims: ModelDimensions) -> None:
        super().__init__()
        d = dims.n_audio_state
        self.conv1 = nn.Conv1d(dims.n_mels, d, 3, padding=1)
        self.conv2 = nn.Conv1d(d, d, 3, stride=2, padding=1)
        self.pos = nn.Parameter(torch.zeros(dims.n_audio_ctx, d), requires_grad=False)
        self.blocks = nn.ModuleList(EncoderBlock(d, dims.n_audio_head) for _ in range(dims.n_audio_layer))
        self.ln_post = nn.LayerNorm(d)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        x = F.gelu(self.conv2(F.gelu(self.conv1(mel)))).transpose(1, 2)  # (B, F, d)
        x = x + self.pos[: x.shape[1]]
        for block in self.blocks:
            x = block(x)
        return self.ln_post(x)


class DecoderBlock(nn.Module):
    def __init__(self, d: int, h: int) -> None:
        super().__init__()
        self.h = h
        self.attn_ln, self.qkv, self.attn_out = nn.LayerNorm(d), nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.cross_ln, self.cross_q, self.cross_kv, self.cross_out = nn.LayerNorm(d), nn.Linear(d, d), nn.Linear(d, 2 * d), nn.Linear(d, d)
        self.mlp_ln, self.mlp1, self.mlp2 = nn.LayerNorm(d), nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

    def cross_kv_of(self, xa: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Cross-attention K and V of encoder states xa (B, F, d): each (B, h, F, d/h)."""
        k, v = self.cross_kv(xa).chunk(2, -1)
        return heads(k, self.h), heads(v, self.h)

    def forward(self, x: torch.Tensor, past_k: torch.Tensor, past_v: torch.Tensor, cross_k: torch.Tensor,
                cross_v: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """x (B, T, d); past_k/v (B, h, P, d/h); returns x and the grown cache (B, h, P+T, d/h)."""
        q, k, v = (heads(t, self.h) for t in self.qkv(self.attn_ln(x)).chunk(3, -1))
        k, v = torch.cat([past_k, k], 2), torch.cat([past_v, v], 2)
        x = x + self.attn_out(attend(q, k, v, mask))
        x = x + self.cross_out(attend(heads(self.cross_q(self.cross_ln(x)), self.h), cross_k, cross_v))
        return x + self.mlp2(F.gelu(self.mlp1(self.mlp_ln(x)))), k, v


class TextDecoder(nn.Module):
    """tokens (B, T) at positions offset.. with caches -> logits of the last position (B, V)."""

    def __init__(self, dims: ModelDimensions) -> None:
        super().__init__()
        d = dims.n_text_state
        self.tok = nn.Embedding(dims.n_vocab, d)
        self.pos = nn.Parameter(torch.zeros(dims.n_text_ctx, d), requires_grad=False)
        self.blocks = nn.ModuleList(DecoderBlock(d, dims.n_text_head) for _ in range(dims.n_text_layer))
        self.ln = nn.LayerNorm(d)

    def forward(self, tokens: torch.Tensor, past_k: torch.Tensor, past_v: torch.Tensor, cross_k: torch.Tensor,
                cross_v: torch.Tensor, offset: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """past_k/v and the returned caches are stacked over layers: (L, B, h, P, d/h);
        cross_k/v (L, B, h, F, d/h); offset int64 [1] == P, the position of tokens[:, 0]."""
        T = tokens.shape[1]
        q_pos = offset + torch.arange(T)  # (T,) absolute positions of the new tokens
        x = self.tok(tokens) + self.pos[q_pos]
        k_pos = torch.arange(past_k.shape[3] + T)
        mask = torch.zeros(T, k_pos.shape[0]).masked_fill(k_pos[None, :] > q_pos[:, None], float("-inf"))
        new_k, new_v = [], []
        for i, block in enumerate(self.blocks):
            x, k, v = block(x, past_k[i], past_v[i], cross_k[i], cross_v[i], mask)
            new_k.append(k)
            new_v.append(v)
        logits = self.ln(x[:, -1]) @ self.tok.weight.T  # (B, V), tied output projection
        return logits, torch.stack(new_k), torch.stack(new_v)


class Whisper(nn.Module):
    def __init__(self, dims: ModelDimensions) -> None:
        super().__init__()
        self.dims = dims
        self.encoder = AudioEncoder(dims)
        self.decoder = TextDecoder(dims)

    def cross_kv(self, states: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Every decoder layer's cross K/V of encoder states: two (L, B, h, F, d/h) tensors."""
        kv = [b.cross_kv_of(states) for b in self.decoder.blocks]
        return torch.stack([k for k, _ in kv]), torch.stack([v for _, v in kv])

    def empty_cache(self, batch: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
        d = self.dims
        z = torch.zeros(d.n_text_layer, batch, d.n_text_head, 0, d.n_text_state // d.n_text_head)
        return z, z.clone()


def _ct2_names(dims: ModelDimensions) -> dict[str, str]:
    """Parameter name here -> CTranslate2 variable name (WhisperSpec revision 3)."""
    names = {"encoder.conv1.weight": "encoder/conv1/weight", "encoder.conv1.bias": "encoder/conv1/bias",
             "encoder.conv2.weight": "encoder/conv2/weight", "encoder.conv2.bias": "encoder/conv2/bias",
             "encoder.pos": "encoder/position_encodings/encodings",
             "decoder.tok.weight": "decoder/embeddings/weight", "decoder.pos": "decoder/position_encodings/encodings"}
    ln = {"weight": "gamma", "bias": "beta"}
    for p, t in ln.items():
        names[f"encoder.ln_post.{p}"] = f"encoder/layer_norm/{t}"
        names[f"decoder.ln.{p}"] = f"decoder/layer_norm/{t}"
    enc = {"attn_ln": "self_attention/layer_norm", "qkv": "self_attention/linear_0", "attn_out": "self_attention/linear_1",
           "mlp_ln": "ffn/layer_norm", "mlp1": "ffn/linear_0", "mlp2": "ffn/linear_1"}
    dec = {**enc, "cross_ln": "attention/layer_norm", "cross_q": "attention/linear_0",
           "cross_kv": "attention/linear_1", "cross_out": "attention/linear_2"}
    for side, n, table in (("encoder", dims.n_audio_layer, enc), ("decoder", dims.n_text_layer, dec)):
        for i in range(n):
            for ours, theirs in table.items():
                for p in ("weight", "bias"):
                    names[f"{side}.blocks.{i}.{ours}.{p}"] = f"{side}/layer_{i}/{theirs}/" + (ln[p] if theirs.endswith("layer_norm") else p)
    return names


def load_whisper(model_bin: Path, dims: ModelDimensions = ModelDimensions()) -> Whisper:
    """Whisper with the weights of a CTranslate2 model.bin, float32, eval mode. Fails when a
    parameter has no variable or a shape differs."""
    variables = read_ct2(model_bin).variables
    model = Whisper(dims).eval()
    names = _ct2_names(dims)
    state = {}
    for ours, param in model.state_dict().items():
        if ours not in names or names[ours] not in variables:
            raise ValueError(f"{model_bin}: no variable for {ours} ({names.get(ours)})")
        arr = variables[names[ours]].astype(np.float32)
        if tuple(arr.shape) != tuple(param.shape):
            raise ValueError(f"{model_bin}: {names[ours]} has shape {arr.shape}, {ours} needs {tuple(param.shape)}")
        state[ours] = torch.from_numpy(arr)
    model.load_state_dict(state)
    return model
