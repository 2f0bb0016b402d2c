"""The action-conditioned JEPA world model: encode, predict the next latent, roll out.

Shape convention everywhere: batch first, then time, then features. Observations are
(B, T, C, H, W) floats in [0, 1], actions (B, T, 2), latents (B, T, D).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn as nn

from ..perception.encoder import ConvEncoder, EncoderConfig
from .predictor import PredictorConfig, ResidualMLPPredictor


@dataclass
class ModelConfig:
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    predictor: PredictorConfig = field(default_factory=PredictorConfig)
    action_dim: int = 2


class JEPAWorldModel(nn.Module):
    """s = Enc(x); s_{t+1} = Pred(s_t, a_t), reused step after step along a plan."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.encoder = ConvEncoder(cfg.encoder)
        self.predictor = ResidualMLPPredictor(cfg.encoder.latent_dim, cfg.action_dim, cfg.predictor)

    @property
    def latent_dim(self) -> int:
        return self.cfg.encoder.latent_dim

    def encode(self, obs: torch.Tensor) -> torch.Tensor:
        """(..., C, H, W) -> (..., D): any leading batch/time dims."""
        lead = obs.shape[:-3]
        return self.encoder(obs.reshape(-1, *obs.shape[-3:])).reshape(*lead, -1)

    def next(self, z: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """One step of the predictor: (..., D), (..., A) -> (..., D)."""
        return self.predictor(z, a)

    def rollout(self, z0: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """Open-loop rollout from (B, D) through (B, T, A): returns (B, T, D), the states after each action."""
        states, z = [], z0
        for t in range(actions.shape[1]):
            z = self.next(z, actions[:, t])
            states.append(z)
        return torch.stack(states, dim=1)
