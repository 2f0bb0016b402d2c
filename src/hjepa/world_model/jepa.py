"""The action-conditioned JEPA world model: encode, predict the next latent, roll out.

Shape convention everywhere: batch first, then time, then features. Observations are
(B, T, C, H, W) floats in [0, 1], actions (B, T, 2), latents (B, T, D).

Time scale: one predictor step covers `frameskip` environment steps (k). The predictor sees
the k actions of its step concatenated, (B, k * 2), and `rollout` takes actions per environment
step and returns one latent per predictor step. k > 1 makes planning k times cheaper and
shortens the open-loop chains the model must keep accurate.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn as nn

from ..config import Checked

from ..perception.encoder import EncoderConfig, make_encoder
from .predictor import PredictorConfig, ResidualMLPPredictor


@dataclass
class ModelConfig(Checked):
    POSITIVE = ("action_dim", "frameskip")
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    predictor: PredictorConfig = field(default_factory=PredictorConfig)
    action_dim: int = 2
    frameskip: int = 4  # environment steps per predictor step


class JEPAWorldModel(nn.Module):
    """s = Enc(x); s_{t+1} = Pred(s_t, a_t), reused step after step along a plan."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.encoder = make_encoder(cfg.encoder)
        if cfg.frameskip < 1:
            raise ValueError(f"model.frameskip must be >= 1, got {cfg.frameskip}")
        self.predictor = ResidualMLPPredictor(cfg.encoder.latent_dim, cfg.action_dim * cfg.frameskip, cfg.predictor)

    @property
    def latent_dim(self) -> int:
        return self.cfg.encoder.latent_dim

    def encode(self, obs: torch.Tensor) -> torch.Tensor:
        """(..., C, H, W) -> (..., D): any leading batch/time dims."""
        lead = obs.shape[:-3]
        return self.encoder(obs.reshape(-1, *obs.shape[-3:])).reshape(*lead, -1)

    @property
    def frameskip(self) -> int:
        return self.cfg.frameskip

    def next(self, z: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """One predictor step: (..., D), (..., k * A) the step's k actions -> (..., D)."""
        return self.predictor(z, a)

    def group_actions(self, actions: torch.Tensor) -> torch.Tensor:
        """(B, T * k, A) actions per environment step -> (B, T, k * A) actions per predictor step."""
        b, n, a = actions.shape
        if n % self.frameskip:
            raise ValueError(f"{n} actions do not split into predictor steps of {self.frameskip}")
        return actions.reshape(b, n // self.frameskip, self.frameskip * a)

    def rollout(self, z0: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """Open-loop rollout from (B, D) through (B, T * k, A) environment-step actions:
        returns (B, T, D), the state after each predictor step (every k environment steps)."""
        actions = self.group_actions(actions)
        states, z = [], z0
        for t in range(actions.shape[1]):
            z = self.next(z, actions[:, t])
            states.append(z)
        return torch.stack(states, dim=1)
