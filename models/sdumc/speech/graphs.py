"""The two ONNX-exportable halves of Whisper (modules over a loaded `Whisper`).

encoder: mel (B, 80, 2F) -> states (B, F, d), cross_k, cross_v (L, B, h, F, d/h)
decoder: tokens (B, T), past_k, past_v (L, B, h, P, d/h), cross_k, cross_v, offset int64 [1]
         -> logits of the last position (B, V), present_k, present_v (L, B, h, P+T, d/h)
The decoder reads the token table as one (d, V) matrix for both the embedding (columns by
token) and the output projection (x @ table), so after quantisation one int8 copy serves both
(quantize.nbits_table); the two copies of a plain export would not fit the 30 MB file limit.
"""
from __future__ import annotations

import torch
from torch import nn

from .model import Whisper


class EncoderGraph(nn.Module):
    def __init__(self, w: Whisper) -> None:
        super().__init__()
        self.w = w

    def forward(self, mel: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        states = self.w.encoder(mel)
        cross_k, cross_v = self.w.cross_kv(states)
        return states, cross_k, cross_v


class DecoderGraph(nn.Module):
    def __init__(self, w: Whisper) -> None:
        super().__init__()
        dec = w.decoder
        self.table = nn.Parameter(dec.tok.weight.detach().T.contiguous(), requires_grad=False)  # (d, V)
        self.pos, self.blocks, self.ln = dec.pos, dec.blocks, dec.ln

    def forward(self, tokens: torch.Tensor, past_k: torch.Tensor, past_v: torch.Tensor, cross_k: torch.Tensor,
                cross_v: torch.Tensor, offset: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        B, T = tokens.shape
        q_pos = offset + torch.arange(T)  # (T,)
        emb = self.table.index_select(1, tokens.reshape(-1)).T.reshape(B, T, -1)  # (B, T, d)
        x = emb + self.pos[q_pos]
        k_pos = torch.arange(past_k.shape[3] + T)
        mask = torch.zeros(T, k_pos.shape[0]).masked_fill(k_pos[None, :] > q_pos[:, None], float("-inf"))
        new_k, new_v = [], []
        for i, block in enumerate(self.blocks):
            x, k, v = block(x, past_k[i], past_v[i], cross_k[i], cross_v[i], mask)
            new_k.append(k)
            new_v.append(v)
        logits = self.ln(x[:, -1]) @ self.table  # (B, V)
        return logits, torch.stack(new_k), torch.stack(new_v)


ENCODER_INPUTS = ["mel"]
ENCODER_OUTPUTS = ["states", "cross_k", "cross_v"]
DECODER_INPUTS = ["tokens", "past_k", "past_v", "cross_k", "cross_v", "offset"]
DECODER_OUTPUTS = ["logits", "present_k", "present_v"]


def export_encoder(w: Whisper, path: str) -> None:
    mel = torch.zeros(1, w.dims.n_mels, 200)
    dyn = {"mel": {0: "batch", 2: "mel_frames"}, "states": {0: "batch", 1: "frames"},
           "cross_k": {1: "batch", 3: "frames"}, "cross_v": {1: "batch", 3: "frames"}}
    with torch.no_grad():
        torch.onnx.export(EncoderGraph(w).eval(), (mel,), path, input_names=ENCODER_INPUTS,
                          output_names=ENCODER_OUTPUTS, dynamic_axes=dyn, opset_version=17, do_constant_folding=True)


def export_decoder(w: Whisper, path: str) -> None:
    d = w.dims
    hd = d.n_text_state // d.n_text_head
    past = torch.zeros(d.n_text_layer, 1, d.n_text_head, 3, hd)
    cross = torch.zeros(d.n_text_layer, 1, d.n_text_head, 100, hd)
    args = (torch.tensor([[50257, 50362]]), past, past.clone(), cross, cross.clone(), torch.tensor([3]))
    dyn = {"tokens": {0: "batch", 1: "tokens"}, "past_k": {1: "batch", 3: "past"}, "past_v": {1: "batch", 3: "past"},
           "cross_k": {1: "batch", 3: "frames"}, "cross_v": {1: "batch", 3: "frames"}, "logits": {0: "batch"},
           "present_k": {1: "batch", 3: "total"}, "present_v": {1: "batch", 3: "total"}}
    with torch.no_grad():
        torch.onnx.export(DecoderGraph(w).eval(), args, path, input_names=DECODER_INPUTS,
                          output_names=DECODER_OUTPUTS, dynamic_axes=dyn, opset_version=17, do_constant_folding=True)
