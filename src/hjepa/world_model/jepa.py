"""The action-conditioned JEPA world model: encode, predict the next latent, roll out.

Shape convention everywhere: batch first, then time, then features. Observations are
(B, T, C, H, W) floats in [0, 1], actions (B, T, 2), latents (B, T, D).

Time scale: one predictor step covers `frameskip` environment steps (k). The predictor sees
the k actions of its step concatenated, (B, k * 2), and `rollout` takes actions per environment
step and returns one latent per predictor step. k > 1 makes planning k times cheaper and
shortens the open-loop chains the model must keep accurate.

An ensemble predictor (`predictor.kind=ensemble`) rolls each of its K members out on its own:
`rollout_members` gives (K, B, T, D), `rollout` their mean, `rollout_spread` the mean and the
members' disagreement per step (B, T), sqrt(mean_k ||z_k - mean||^2): where the data were
thin the members part ways. A dense or mixture predictor is one member (disagreement 0).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn as nn

from ..config import Checked

from ..perception.encoder import EncoderConfig, make_encoder
from .predictor import PredictorConfig, make_predictor


@dataclass
class ModelConfig(Checked):
    POSITIVE = ("action_dim", "frameskip")
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    predictor: PredictorConfig = field(default_factory=PredictorConfig)
    action_dim: int = 2
    frameskip: int = 4  # environment steps per predictor step


def member_spread(members: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Members' predictions (K, ..., D) -> their mean (..., D) and disagreement (...),
    sqrt(mean_k ||z_k - mean||^2)."""
    mean = members.mean(dim=0)
    return mean, (members - mean).pow(2).sum(-1).mean(0).sqrt()


class JEPAWorldModel(nn.Module):
    """s = Enc(x); s_{t+1} = Pred(s_t, a_t), reused step after step along a plan."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.encoder = make_encoder(cfg.encoder)
        if cfg.frameskip < 1:
            raise ValueError(f"model.frameskip must be >= 1, got {cfg.frameskip}")
        self.map_shape = getattr(self.encoder, "map_shape", None)  # (C, h, w) for a map latent, else None
        self.predictor = make_predictor(cfg.encoder.latent_dim, cfg.action_dim * cfg.frameskip, cfg.predictor, self.map_shape)

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

    def feature_vectors(self, z: torch.Tensor) -> torch.Tensor:
        """(..., D) latents -> (N, d): the vectors the anti-collapse terms spread out. A vector
        latent is one; a map latent (C, h, w) is h * w vectors of C channels, one per place (a
        variance per map cell would ask the image's fixed border to vary)."""
        if self.map_shape is None:
            return z.reshape(-1, z.shape[-1])
        c = self.map_shape[0]
        return z.reshape(-1, c, z.shape[-1] // c).transpose(1, 2).reshape(-1, c)

    @property
    def members(self) -> int:
        """Predictors that each carry their own state (an ensemble's K; 1 otherwise)."""
        return self.predictor.members

    def step_members(self, z: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """One predictor step of every member from its own state: (K, ..., D), (..., k * A) -> (K, ..., D)."""
        return self.predictor(z, a.expand(z.shape[0], *a.shape))

    def next(self, z: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """One predictor step: (..., D), (..., k * A) the step's k actions -> (..., D), the
        members' mean prediction from the same state."""
        return self.step_members(z.expand(self.members, *z.shape), a).mean(dim=0)

    def next_spread(self, z: torch.Tensor, a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One predictor step with the members' disagreement: (..., D), (..., k * A) -> the mean
        (..., D) and the disagreement (...)."""
        return member_spread(self.step_members(z.expand(self.members, *z.shape), a))

    def group_actions(self, actions: torch.Tensor) -> torch.Tensor:
        """(B, T * k, A) actions per environment step -> (B, T, k * A) actions per predictor step."""
        b, n, a = actions.shape
        if n % self.frameskip:
            raise ValueError(f"{n} actions do not split into predictor steps of {self.frameskip}")
        return actions.reshape(b, n // self.frameskip, self.frameskip * a)

    def rollout_members(self, z0: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """Open-loop rollout from (B, D) through (B, T * k, A) environment-step actions, each
        member from its own previous state: (K, B, T, D), the state after each predictor step."""
        actions = self.group_actions(actions)
        states, z = [], z0.expand(self.members, *z0.shape)
        for t in range(actions.shape[1]):
            z = self.step_members(z, actions[:, t])
            states.append(z)
        return torch.stack(states, dim=2)

    def rollout(self, z0: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """(B, D), (B, T * k, A) -> (B, T, D): the members' mean state after each predictor step
        (every k environment steps)."""
        return self.rollout_members(z0, actions).mean(dim=0)

    def rollout_spread(self, z0: torch.Tensor, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, D), (B, T * k, A) -> the mean (B, T, D) and the members' disagreement (B, T)."""
        return member_spread(self.rollout_members(z0, actions))
