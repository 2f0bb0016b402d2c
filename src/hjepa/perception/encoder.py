"""Perception: pixels -> latent state vector s = Enc(x)."""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class EncoderConfig:
    in_channels: int = 2
    image_size: int = 65
    downsample: int = 4  # average-pool the image by this factor first (65 -> 16): 16x less compute
    channels: tuple[int, ...] = (32, 32, 64)
    latent_dim: int = 32


class ConvEncoder(nn.Module):
    """A small conv net: (B, C, H, W) in [0, 1] -> (B, latent_dim).

    The first conv keeps full (pooled) resolution so sub-pixel agent positions survive; the
    rest halve the resolution each time. No batch norm, so encoding one frame at planning time
    behaves exactly as in training.
    """

    def __init__(self, cfg: EncoderConfig):
        super().__init__()
        self.cfg = cfg
        layers, c_in = [], cfg.in_channels
        for i, c_out in enumerate(cfg.channels):
            layers += [nn.Conv2d(c_in, c_out, 3, stride=1 if i == 0 else 2, padding=1), nn.GELU()]
            c_in = c_out
        self.conv = nn.Sequential(*layers)
        with torch.no_grad():
            n_flat = self.conv(torch.zeros(1, cfg.in_channels, *self._pooled_hw())).numel()
        self.head = nn.Linear(n_flat, cfg.latent_dim)

    def _pooled_hw(self) -> tuple[int, int]:
        side = self.cfg.image_size // self.cfg.downsample
        return side, side

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        if self.cfg.downsample > 1:
            obs = F.avg_pool2d(obs, self.cfg.downsample)
        return self.head(self.conv(obs).flatten(1))
