"""The SDUMC network in one file: double-flow self-distillation with Unified Modality
Cross-Attention (after Weng et al. 2024), with padding masks everywhere.

One forward pass serves both flows. `presence[:, 0]` (text present 1/0) selects per row,
with tensor ops only (no Python branching on values, so one ONNX graph serves both):
- full flow (text present): the real text-encoder token embeddings are the text frames;
- missing flow (text absent): the text simulator turns audio (+ video) frames into K
  pseudo-token embeddings in the text encoder's 384-d space, the MIA autoencoders correct
  the simulated text representation (stage 1) and the text cross-attention output (stage 2).
Audio or video may be missing too: their frames are masked out and alpha (modality weights)
is a softmax over the modalities that are present (simulated text counts as present).

Shapes: B batch, Ta audio frames (log-mel, 100/s), Tt text tokens, Tv video frames (10/s),
d model width, K simulated text slots, V = 7 query views (fused, ta, tv, av, t, a, v).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import torch
from torch import nn
import torch.nn.functional as F

NEG = -1e4  # additive score for masked keys: exp(NEG - max) underflows to exactly 0 in fp32
VIEWS = ("fused", "ta", "tv", "av", "t", "a", "v")  # order of beta and of the query views


@dataclass
class ModelConfig:
    """Architecture hyper-parameters; saved in every checkpoint."""

    n_mels: int = 64  # log-mel bands from sdumc.frontend.LogMel
    text_dim: int = 384  # all-MiniLM-L6-v2 token embedding width
    video_dim: int = 24  # facial-expression features per frame (docs/video-features.md)
    d: int = 128  # shared frame-level width (paper: 256; halved to fit 2-core CPU training)
    n_heads: int = 4  # heads in every attention
    audio_channels: int = 96  # width of the audio conv stack
    audio_strides: tuple = (4, 2, 2)  # one patch layer (kernel = stride) per entry: 100/16 = 6.25 frames/s
    sim_slots: int = 8  # K simulated text tokens
    mia_hidden: int = 128  # bottleneck of each MIA autoencoder
    fused_dim: int = 128  # fused vector fed to the valence head
    rnc_dim: int = 64  # projection for the Rank-N-Contrast loss
    dropout: float = 0.1
    valence_max: float = 3.0  # valence = valence_max * tanh(.)
    use_simulator: bool = True  # False: text missing => text masked out (naive fusion / text-only)
    use_mia: bool = True  # False: simulated text used uncorrected (ablation no_mia)


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over valid frames: x (B, T, C), mask (B, T) 1/0 -> (B, C); zeros where none valid."""
    m = mask.unsqueeze(-1)
    return (x * m).sum(1) / m.sum(1).clamp(min=1.0)


class MaskedAttention(nn.Module):
    """Multi-head attention of Q queries over T keys with a key padding mask.
    A row with no valid key returns exactly the output bias (its weights are all 0), never NaN."""

    def __init__(self, d: int, n_heads: int, dropout: float) -> None:
        super().__init__()
        assert d % n_heads == 0
        self.h, self.dh = n_heads, d // n_heads
        self.q, self.k, self.v, self.o = (nn.Linear(d, d) for _ in range(4))
        self.drop = nn.Dropout(dropout)

    def forward(self, q: torch.Tensor, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        B, Q, d = q.shape
        T = x.shape[1]
        qh = self.q(q).view(B, Q, self.h, self.dh).transpose(1, 2)  # (B, h, Q, dh)
        kh = self.k(x).view(B, T, self.h, self.dh).transpose(1, 2)  # (B, h, T, dh)
        vh = self.v(x).view(B, T, self.h, self.dh).transpose(1, 2)  # (B, h, T, dh)
        m = mask.view(B, 1, 1, T)  # (B, 1, 1, T)
        s = qh @ kh.transpose(-1, -2) / math.sqrt(self.dh)  # (B, h, Q, T)
        s = s * m + NEG * (1.0 - m)
        w = torch.softmax(s, dim=-1) * m  # all-masked row: uniform * 0 = 0
        out = self.drop(w) @ vh  # (B, h, Q, dh)
        return self.o(out.transpose(1, 2).reshape(B, Q, d))  # (B, Q, d)


class QueryPool(nn.Module):
    """UMCA stage 1 pooling: one learnable query attends over a modality's frames -> (B, d)."""

    def __init__(self, d: int, n_heads: int, dropout: float) -> None:
        super().__init__()
        self.query = nn.Parameter(torch.randn(1, 1, d) * 0.02)
        self.attn = MaskedAttention(d, n_heads, dropout)
        self.ln = nn.LayerNorm(d)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        q = self.query.expand(x.shape[0], 1, x.shape[2])  # (B, 1, d)
        return self.ln(self.attn(q, x, mask)[:, 0])  # (B, d)


def mlp(d_in: int, d_hidden: int, d_out: int, dropout: float = 0.0) -> nn.Sequential:
    return nn.Sequential(nn.Linear(d_in, d_hidden), nn.GELU(), nn.Dropout(dropout),
                         nn.Linear(d_hidden, d_out))


class AudioEncoder(nn.Module):
    """Log-mel (B, Ta, n_mels) -> frames (B, ceil(Ta / prod(strides)), d): a stack of patch
    embeddings, each a conv with kernel = stride (non-overlapping patches of s frames; 4, 2, 2
    -> 16 log-mel frames = 160 ms per output frame, 6.25 frames/s). Inputs are zeroed past each
    row's length before every layer, so a row's valid outputs do not depend on how far the
    batch is padded; output i is valid iff input i * s is (mask[:, ::s]).

    Two computations of the same weights: the ONNX export runs the conv (right-padded by s - 1
    so the output count is ceil(T / s) for any T in the graph); eager PyTorch runs it as one
    matmul over reshaped patches, because the conv kernel that torch 1.13 uses here (oneDNN is
    off, see train.safe_backends) is 4x slower than the matmul. tests/test_model.py checks the
    two agree."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        n = len(cfg.audio_strides)
        chans = [cfg.n_mels] + [cfg.audio_channels] * n
        self.strides = tuple(int(s) for s in cfg.audio_strides)
        self.convs = nn.ModuleList(nn.Conv1d(chans[i], chans[i + 1], s, stride=s)
                                   for i, s in enumerate(self.strides))
        self.proj = nn.Linear(cfg.audio_channels, cfg.d)

    @staticmethod
    def _patch_conv(conv: nn.Conv1d, h: torch.Tensor, s: int) -> torch.Tensor:
        """conv(h) for h (B, T, C) channels-last -> (B, ceil(T / s), C_out), as a matmul."""
        B, T, C = h.shape
        if T % s:
            h = F.pad(h, (0, 0, 0, s - T % s))
        w = conv.weight.permute(0, 2, 1).reshape(conv.out_channels, s * C)  # [o, k * C + c]
        return F.linear(h.reshape(B, -1, s * C), w, conv.bias)

    def forward(self, x: torch.Tensor, mask: torch.Tensor,
                as_conv: bool | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """as_conv: run the conv form (default: only while tracing / exporting to ONNX)."""
        h = x * mask.unsqueeze(-1)  # (B, Ta, n_mels)
        graph = (torch.onnx.is_in_onnx_export() or torch.jit.is_tracing()) if as_conv is None else as_conv
        if graph:
            h = h.transpose(1, 2)  # (B, n_mels, Ta)
        for conv, stride in zip(self.convs, self.strides):
            mask = mask[:, ::stride]  # (B, ceil(T / s))
            if graph:
                h = F.gelu(conv(F.pad(h, (0, stride - 1)))) * mask.unsqueeze(1)  # (B, C, T/s)
            else:
                h = F.gelu(self._patch_conv(conv, h, stride)) * mask.unsqueeze(-1)  # (B, T/s, C)
        if graph:
            h = h.transpose(1, 2)
        return self.proj(h), mask  # (B, Ta', d), (B, Ta')


class TextSimulator(nn.Module):
    """Audio (+ video) frames -> K pseudo-token embeddings in the text encoder's space
    (B, K, text_dim). Trained to imitate the real sentence embedding (mean of real tokens)
    and, through the shared text projection and pooling, the teacher's h_t."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.slots = nn.Parameter(torch.randn(1, cfg.sim_slots, cfg.d) * 0.02)
        self.attn = MaskedAttention(cfg.d, cfg.n_heads, cfg.dropout)
        self.ln = nn.LayerNorm(cfg.d)
        self.out = mlp(cfg.d, cfg.d, cfg.text_dim)

    def forward(self, frames: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        q = self.slots.expand(frames.shape[0], -1, -1)  # (B, K, d)
        h = self.ln(q + self.attn(q, frames, mask))  # (B, K, d)
        return self.out(h)  # (B, K, text_dim)


class MIA(nn.Module):
    """Modality Imagination Autoencoder: from concat(audio, simulated text, video)
    representations, a bottleneck autoencoder predicts a residual correction of the
    simulated text representation. Works on (..., 3d) -> (..., d)."""

    def __init__(self, d: int, hidden: int) -> None:
        super().__init__()
        self.enc = nn.Sequential(nn.LayerNorm(3 * d), nn.Linear(3 * d, hidden), nn.GELU())
        self.dec = nn.Linear(hidden, d)
        nn.init.zeros_(self.dec.weight)  # start as identity: correction 0
        nn.init.zeros_(self.dec.bias)

    def forward(self, a: torch.Tensor, t: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return t + self.dec(self.enc(torch.cat([a, t, v], dim=-1)))


class SDUMC(nn.Module):
    """The whole network. See `forward` for the contract the exporter relies on."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        d, H, p = cfg.d, cfg.n_heads, cfg.dropout
        # feature normalisation stats (set from the training split by `set_norm_stats`)
        self.register_buffer("audio_mean", torch.zeros(cfg.n_mels))
        self.register_buffer("audio_std", torch.ones(cfg.n_mels))
        self.register_buffer("video_mean", torch.zeros(cfg.video_dim))
        self.register_buffer("video_std", torch.ones(cfg.video_dim))
        # per-modality projections to the shared width, frame level
        self.audio = AudioEncoder(cfg)
        self.text_proj = nn.Sequential(nn.LayerNorm(cfg.text_dim), nn.Linear(cfg.text_dim, d))
        self.video_proj = mlp(cfg.video_dim, d, d)
        self.simulator = TextSimulator(cfg)
        # UMCA stage 1
        self.pool = nn.ModuleList(QueryPool(d, H, p) for _ in range(3))  # text, audio, video
        self.alpha_mlp = mlp(3 * d, d, 3, p)
        self.view_in = (3, 2, 2, 2, 1, 1, 1)  # modalities feeding each view in VIEWS
        self.view_mlp = nn.ModuleList(mlp(k * d, d, d, p) for k in self.view_in)
        # UMCA stage 2
        self.cross = nn.ModuleList(MaskedAttention(d, H, p) for _ in range(3))  # text, audio, video
        self.ln2 = nn.LayerNorm(d)
        self.beta_score = nn.Linear(d, 1)
        self.fuse_out = nn.Sequential(nn.Linear(d, cfg.fused_dim), nn.GELU())
        self.head = mlp(cfg.fused_dim, cfg.fused_dim // 2, 1, p)
        self.rnc_proj = nn.Linear(cfg.fused_dim, cfg.rnc_dim)
        # MIA at both levels
        self.mia1 = MIA(d, cfg.mia_hidden)
        self.mia2 = MIA(d, cfg.mia_hidden)

    # ---- normalisation stats -------------------------------------------------------
    def set_norm_stats(self, audio_mean, audio_std, video_mean, video_std) -> None:
        """Store per-feature mean/std (train split) used to normalise raw inputs in forward."""
        for name, val in (("audio_mean", audio_mean), ("audio_std", audio_std),
                          ("video_mean", video_mean), ("video_std", video_std)):
            t = torch.as_tensor(val, dtype=torch.float32)
            if name.endswith("std"):
                t = t.clamp(min=1e-3)
            getattr(self, name).copy_(t)

    # ---- forward -------------------------------------------------------------------
    def forward(self, audio_feats: torch.Tensor, audio_mask: torch.Tensor,
                text_emb: torch.Tensor, text_mask: torch.Tensor,
                video: torch.Tensor, video_mask: torch.Tensor,
                presence: torch.Tensor) -> dict[str, torch.Tensor]:
        """audio_feats (B, Ta, 64) log-mel, audio_mask (B, Ta); text_emb (B, Tt, 384) token
        embeddings, text_mask (B, Tt); video (B, Tv, 24) raw features, video_mask (B, Tv);
        presence (B, 3) 1/0 for text, audio, video. Masks are float 1/0.
        Returns valence (B,) in [-3, 3], alpha (B, 3) [text, audio, video], beta (B, 7),
        fused (B, 128), proj (B, 64), h_t (B, d) text representation used (real or
        simulated+MIA), sim_text (B, 384) and real_text (B, 384) sentence embeddings."""
        return self.fuse(self.encode(audio_feats, audio_mask, text_emb, text_mask, video, video_mask),
                         presence)

    def encode(self, audio_feats, audio_mask, text_emb, text_mask, video, video_mask) -> dict:
        """Frame-level encodings of width d (independent of presence, so the two flows of a
        training step share them): xa (B, Ta', d) + ma, xt (B, Tt, d) + mt, xv (B, Tv, d) + mv."""
        a_in = (audio_feats - self.audio_mean) / self.audio_std
        xa, ma = self.audio(a_in, audio_mask.float())  # (B, Ta', d), (B, Ta')
        xv = self.video_proj((video - self.video_mean) / self.video_std)  # (B, Tv, d)
        mt = text_mask.float()
        return {"xa": xa, "ma": ma, "xt": self.text_proj(text_emb * mt.unsqueeze(-1)), "mt": mt,
                "xv": xv, "mv": video_mask.float(), "text_emb": text_emb}

    def fuse(self, enc: dict, presence: torch.Tensor) -> dict[str, torch.Tensor]:
        """Everything after the frame encoders, for one presence pattern (B, 3)."""
        cfg = self.cfg
        presence = presence.float()
        tp, ap, vp = presence[:, 0:1], presence[:, 1:2], presence[:, 2:3]  # (B, 1) each
        xa, ma = enc["xa"], enc["ma"] * ap
        text_mask = enc["mt"] * tp
        video_mask = enc["mv"] * vp
        xv = enc["xv"] * video_mask.unsqueeze(-1)
        xt = enc["xt"]
        real_text = masked_mean(enc["text_emb"], text_mask)  # (B, 384)

        # text simulator from audio (+ video) frames; used only where text is absent
        src = torch.cat([xa, xv], dim=1)  # (B, Ta'+Tv, d)
        src_mask = torch.cat([ma, video_mask], dim=1)
        sim_tok = self.simulator(src, src_mask)  # (B, K, 384)
        sim_text = sim_tok.mean(1)  # (B, 384)
        xs = self.text_proj(sim_tok)  # (B, K, d)
        # simulation possible where the flag is on and audio or video has a valid frame
        has_src = (src_mask.sum(1, keepdim=True) > 0).float()  # (B, 1)
        sim_on = (1.0 - tp) * has_src * (1.0 if cfg.use_simulator else 0.0)  # (B, 1)
        # text keys: real tokens where text present, simulated slots where simulated
        xt_all = torch.cat([xt, xs], dim=1)  # (B, Tt+K, d)
        mt_all = torch.cat([text_mask, sim_on.expand(-1, xs.shape[1])], dim=1)  # (B, Tt+K)
        t_eff = tp + sim_on  # (B, 1) text slot present (real or simulated)

        # UMCA stage 1: pooled modality vectors
        h_t = self.pool[0](xt_all, mt_all)  # (B, d)
        h_a = self.pool[1](xa, ma)
        h_v = self.pool[2](xv, video_mask)
        if cfg.use_mia:  # config flag, fixed at build time (not data-dependent)
            h_t = torch.where(sim_on > 0, self.mia1(h_a, h_t, h_v), h_t)
        pres = torch.cat([t_eff, ap * (ma.sum(1, keepdim=True) > 0).float(),
                          vp * (video_mask.sum(1, keepdim=True) > 0).float()], dim=1)  # (B, 3)
        h_t, h_a, h_v = h_t * pres[:, 0:1], h_a * pres[:, 1:2], h_v * pres[:, 2:3]
        logits = self.alpha_mlp(torch.cat([h_t, h_a, h_v], dim=-1))  # (B, 3)
        alpha = torch.softmax(logits * pres + NEG * (1.0 - pres), dim=-1) * pres
        alpha = alpha / alpha.sum(-1, keepdim=True).clamp(min=1e-6)  # (B, 3); all 0 if none present
        groups = ((h_t, h_a, h_v), (h_t, h_a), (h_t, h_v), (h_a, h_v), (h_t,), (h_a,), (h_v,))
        query = torch.stack([f(torch.cat(g, dim=-1)) for f, g in zip(self.view_mlp, groups)],
                            dim=1)  # (B, 7, d)

        # UMCA stage 2: the multi-view query cross-attends over each modality's frames
        ot = self.cross[0](query, xt_all, mt_all)  # (B, 7, d)
        oa = self.cross[1](query, xa, ma)
        ov = self.cross[2](query, xv, video_mask)
        if cfg.use_mia:
            ot = torch.where(sim_on.unsqueeze(-1) > 0, self.mia2(oa, ot, ov), ot)
        w = alpha.unsqueeze(-1).unsqueeze(-1)  # (B, 3, 1, 1)
        u = self.ln2(query + w[:, 0] * ot + w[:, 1] * oa + w[:, 2] * ov)  # (B, 7, d)
        beta = torch.softmax(self.beta_score(u).squeeze(-1), dim=-1)  # (B, 7)
        fused = self.fuse_out((beta.unsqueeze(-1) * u).sum(1))  # (B, fused_dim)
        valence = cfg.valence_max * torch.tanh(self.head(fused).squeeze(-1))  # (B,)
        return {"valence": valence, "alpha": alpha, "beta": beta, "fused": fused,
                "proj": self.rnc_proj(fused), "h_t": h_t, "sim_text": sim_text,
                "real_text": real_text}

    # ---- checkpoints ---------------------------------------------------------------
    def checkpoint(self, **extra) -> dict:
        """A self-contained checkpoint: config, weights (incl. normalisation buffers), extras."""
        return {"format": 1, "config": asdict(self.cfg), "state_dict": self.state_dict(), **extra}

    @classmethod
    def from_checkpoint(cls, path_or_ckpt, map_location: str = "cpu") -> "SDUMC":
        """Rebuild the model from a checkpoint file (or its loaded dict), in eval mode."""
        ckpt = path_or_ckpt
        if not isinstance(ckpt, dict):
            ckpt = torch.load(path_or_ckpt, map_location=map_location)
        if not isinstance(ckpt, dict) or "config" not in ckpt or "state_dict" not in ckpt:
            raise ValueError(f"{path_or_ckpt!s:.200}: not an SDUMC checkpoint (needs config + state_dict)")
        cfg = {k: tuple(v) if isinstance(v, list) else v for k, v in ckpt["config"].items()}
        model = cls(ModelConfig(**cfg))
        model.load_state_dict(ckpt["state_dict"])
        return model.eval()


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
