"""Losses of the double-flow training (DESIGN.md, "The model"):
MSE of both flows, RMSE distillation (teacher detached), and Rank-N-Contrast.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


def rmse(pred: torch.Tensor, target: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Root mean squared error over all elements; eps keeps the gradient finite at 0."""
    return torch.sqrt(F.mse_loss(pred, target) + eps)


def rnc_loss(z: torch.Tensor, y: torch.Tensor, tau: float = 2.0) -> torch.Tensor:
    """Rank-N-Contrast (Zha et al., NeurIPS 2023) over features z (N, C) with labels y (N,).

    For anchor i and every j != i, with similarity s_ij = -||z_i - z_j||_2 / tau:
        l_ij = -log( exp(s_ij) / sum_{k != i, |y_i - y_k| >= |y_i - y_j|} exp(s_ik) )
    averaged over all (i, j). Features of samples closer in label are pulled closer than
    those farther in label, so the embedding is ordered like the label. O(N^3) memory in
    booleans: fine for N <= a few hundred (two flows x batch)."""
    n = z.shape[0]
    if n < 2:
        return z.sum() * 0.0
    sq = (z.unsqueeze(1) - z.unsqueeze(0)).pow(2).sum(-1)  # (N, N)
    s = -torch.sqrt(sq + 1e-8) / tau  # (N, N); eps: sqrt'(0) is infinite
    eye = torch.eye(n, dtype=torch.bool, device=z.device)
    s = s.masked_fill(eye, float("-inf"))
    s = s - s.max(dim=1, keepdim=True).values.detach()  # stabilise exp per anchor
    dy = (y.unsqueeze(1) - y.unsqueeze(0)).abs()  # (N, N) label distances
    # allowed[i, j, k]: k is in anchor i's denominator for positive j
    allowed = (dy.unsqueeze(1) >= dy.unsqueeze(2)) & ~eye.unsqueeze(1)  # (N, N, N)
    exp_s = torch.exp(s)  # (N, N), 0 on the diagonal
    denom = (exp_s.unsqueeze(1) * allowed).sum(-1)  # (N, N)
    logp = s - torch.log(denom.clamp(min=1e-30))
    return -(logp.masked_select(~eye)).mean()


@dataclass
class LossWeights:
    """Weights of the loss terms (0 switches a term off for the ablations)."""

    mse_full: float = 1.0
    mse_missing: float = 1.0
    distill_text: float = 1.0  # RMSE(student h_t, teacher h_t) + RMSE(sim sentence emb, real)
    distill_fused: float = 1.0  # RMSE(student fused, teacher fused)
    rnc: float = 0.1  # Rank-N-Contrast over both flows' projections
    rnc_tau: float = 2.0


def double_flow_loss(full: dict, missing: dict | None, y: torch.Tensor,
                     w: LossWeights) -> tuple[torch.Tensor, dict[str, float]]:
    """Total loss of one batch from the full flow's and the missing flow's outputs (dicts of
    SDUMC.forward). `missing` None trains a single flow (text-only, naive fusion)."""
    parts: dict[str, torch.Tensor] = {"mse_full": F.mse_loss(full["valence"], y)}
    if missing is not None:
        parts["mse_missing"] = F.mse_loss(missing["valence"], y)
        if w.distill_text:
            parts["distill_text"] = (rmse(missing["h_t"], full["h_t"].detach())
                                     + rmse(missing["sim_text"], full["real_text"].detach()))
        if w.distill_fused:
            parts["distill_fused"] = rmse(missing["fused"], full["fused"].detach())
        if w.rnc:
            z = torch.cat([full["proj"], missing["proj"]], dim=0)
            parts["rnc"] = rnc_loss(z, torch.cat([y, y]), w.rnc_tau)
    elif w.rnc:
        parts["rnc"] = rnc_loss(full["proj"], y, w.rnc_tau)
    total = sum(getattr(w, k) * v for k, v in parts.items())
    return total, {k: float(v.detach()) for k, v in parts.items()}
