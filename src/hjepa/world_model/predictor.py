"""Action-conditioned predictor: s_{t+1} = s_t + f(s_t, a_t)."""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn

from ..config import Checked


@dataclass
class PredictorConfig(Checked):
    POSITIVE = ("hidden_dim", "action_scale")
    NONNEGATIVE = ("depth",)
    hidden_dim: int = 384
    depth: int = 3  # hidden layers
    action_scale: float = 2.45  # actions are divided by this so they enter near unit scale


def mlp(in_dim: int, hidden: int, out_dim: int, depth: int) -> nn.Sequential:
    layers, d = [], in_dim
    for _ in range(depth):
        layers += [nn.Linear(d, hidden), nn.GELU()]
        d = hidden
    layers.append(nn.Linear(d, out_dim))
    return nn.Sequential(*layers)


class ResidualMLPPredictor(nn.Module):
    """Residual MLP over (latent, action); works on any leading batch shape."""

    def __init__(self, latent_dim: int, action_dim: int, cfg: PredictorConfig):
        super().__init__()
        self.cfg = cfg
        self.net = mlp(latent_dim + action_dim, cfg.hidden_dim, latent_dim, cfg.depth)

    def forward(self, z: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        return z + self.net(torch.cat([z, a / self.cfg.action_scale], dim=-1))
