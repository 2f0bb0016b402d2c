"""A high-level world model over macro-actions, on top of a frozen low-level JEPA (H-JEPA).

The high level predicts further ahead with coarser actions: one high-level step spans `span`
predictor steps of the model below it (span * frameskip environment steps), and its action is a
macro-action, a code c of `code_dim` numbers that a learned encoder makes of the step's
primitive actions. Its state is the low-level latent z itself, so a high-level prediction is a
latent the low level can plan toward (a subgoal), and guardrails that judge latents apply here
too.

    z_{j+1} = z_j + f(z_j, c_j),   c_j = MacroEnc(a_{j*S}, ..., a_{(j+1)*S - 1}),   S = span * frameskip

Planners search normalized codes u in the box [-1, 1]^code_dim, which `fit_box` maps onto
per-dimension percentiles of the codes the data's own action chunks encode to,
c = center + half_width * u: a plan stays where the predictor was trained. Shapes follow the
package: batch first, then time, then features; codes (B, T, code_dim), latents (B, T, D).

`macro="concat"` is the ablation without an encoder: the code is the span's primitive actions
concatenated (code_dim = S * action_dim).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import torch
import torch.nn as nn

from ..config import Checked, ConfigValueError
from .jepa import member_spread
from .predictor import ConvPredictor, EnsemblePredictor, PredictorConfig, ResidualMLPPredictor, mlp


@dataclass
class HighLevelConfig(Checked):
    POSITIVE = ("span", "code_dim", "hidden_dim", "encoder_hidden", "members")
    NONNEGATIVE = ("depth",)
    CHOICES = {"macro": ("learned", "concat"), "predictor": ("mlp", "conv")}
    span: int = 4  # predictor steps of the level below per high-level step
    code_dim: int = 4  # numbers per macro-action (macro="learned")
    macro: str = "learned"  # learned: an MLP encodes the span's actions | concat: the actions themselves
    hidden_dim: int = 384
    depth: int = 3
    encoder_hidden: int = 128
    # Predictors of one macro encoder, as the low level's ensemble (world_model/predictor.py):
    # their disagreement bounds a high level's search (HierarchyConfig.max_uncertainty). 1: one.
    members: int = 1
    # mlp: a residual MLP over the latent; conv: the low level's kind for map latents
    # (world_model/predictor.py ConvPredictor, the code in place of the actions; hidden_dim channels)
    predictor: str = "mlp"

    def check(self) -> None:
        if self.macro == "learned" and self.code_dim > 64:
            raise ConfigValueError("code_dim", f"a macro-action code is meant to be small (<= 64), got {self.code_dim}")
        if self.predictor == "conv" and self.members > 1:
            raise ConfigValueError("members", "a conv high level has one predictor; ensembles are MLPs (predictor=mlp)")


@dataclass(frozen=True)
class _Shape:
    """What planners read of a model's config: the dimension of one action (here: one code)."""
    action_dim: int


class HighLevelModel(nn.Module):
    """z' = Pred_H(z, c): one step per macro-action, over the latents of the level below."""

    def __init__(self, cfg: HighLevelConfig, latent_dim: int, action_dim: int, frameskip: int,
                 map_shape: tuple[int, int, int] | None = None):
        """`action_dim` and `frameskip`: the primitive actions and the predictor step of the level
        below, so that one high-level step covers `cfg.span * frameskip` primitive actions;
        `map_shape` (C, h, w): the low level's map latent, for `cfg.predictor="conv"`."""
        super().__init__()
        self.high_cfg = cfg
        self.env_steps = cfg.span * frameskip
        self.primitive_dim = action_dim
        flat = self.env_steps * action_dim
        self.code_dim = cfg.code_dim if cfg.macro == "learned" else flat
        self.macro = mlp(flat, cfg.encoder_hidden, self.code_dim, 2) if cfg.macro == "learned" else nn.Identity()
        predictor = PredictorConfig(hidden_dim=cfg.hidden_dim, depth=cfg.depth, action_scale=1.0, members=cfg.members)
        self.members = cfg.members
        if cfg.predictor == "conv":
            if map_shape is None:
                raise ConfigValueError("predictor", "conv predicts map latents: the low level's encoder must be kind=map")
            self.predictor = ConvPredictor(latent_dim, self.code_dim, replace(predictor, kind="conv"), map_shape)
        else:
            self.predictor = (EnsemblePredictor(latent_dim, self.code_dim, predictor) if cfg.members > 1
                              else ResidualMLPPredictor(latent_dim, self.code_dim, predictor))
        self.disagreement_limits: list[float] | None = None  # one-step-ahead p99 on held-out data, set by train-high
        self.register_buffer("center", torch.zeros(self.code_dim))
        self.register_buffer("half_width", torch.ones(self.code_dim))
        self.cfg = _Shape(self.code_dim)  # planners read model.cfg.action_dim

    @property
    def frameskip(self) -> int:
        """Planner steps per model step: one code per high-level step."""
        return 1

    def encode_macro(self, actions: torch.Tensor) -> torch.Tensor:
        """(..., S, A) primitive actions of one high-level step -> (..., code_dim) normalized code u."""
        flat = actions.reshape(*actions.shape[:-2], self.env_steps * self.primitive_dim)
        return (self.macro(flat) - self.center) / self.half_width

    def group_actions(self, actions: torch.Tensor) -> torch.Tensor:
        """(B, T * S, A) primitive actions -> (B, T, S, A): one chunk per high-level step."""
        b, n, a = actions.shape
        if n % self.env_steps:
            raise ValueError(f"{n} actions do not split into high-level steps of {self.env_steps}")
        return actions.reshape(b, n // self.env_steps, self.env_steps, a)

    @torch.no_grad()
    def fit_box(self, actions: torch.Tensor, percentile: float) -> None:
        """Set the planners' box to the [p, 100 - p] percentiles, per dimension, of the codes of
        (N, S, A) action chunks from the data."""
        self.center.zero_()
        self.half_width.fill_(1.0)
        codes = self.macro(actions.reshape(len(actions), -1))
        q = torch.tensor([percentile / 100, 1 - percentile / 100], device=codes.device)
        low, high = torch.quantile(codes, q, dim=0)
        self.center.copy_((low + high) / 2)
        self.half_width.copy_(((high - low) / 2).clamp_min(1e-4))

    def step_members(self, z: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """One high-level step of every member from its own state: (K, ..., D), (..., code_dim)
        normalized code -> (K, ..., D). The predictor reads the code itself,
        c = center + half_width * u, so fitting the box after training changes what planners
        search, not what the predictor learned."""
        c = self.center + self.half_width * u
        return self.predictor(z, c.expand(z.shape[0], *c.shape))

    def next(self, z: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """One high-level step: (..., D), (..., code_dim) -> (..., D), the members' mean."""
        return self.step_members(z.expand(self.members, *z.shape), u).mean(dim=0)

    def next_spread(self, z: torch.Tensor, u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One step with the members' disagreement: the mean (..., D) and the disagreement (...)."""
        return member_spread(self.step_members(z.expand(self.members, *z.shape), u))

    def rollout_members(self, z0: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        """Open-loop from (B, D) through (B, T, code_dim) normalized codes, each member from its
        own previous state: (K, B, T, D)."""
        states, z = [], z0.expand(self.members, *z0.shape)
        for t in range(codes.shape[1]):
            z = self.step_members(z, codes[:, t])
            states.append(z)
        return torch.stack(states, dim=2)

    def rollout(self, z0: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        """(B, D), (B, T, code_dim) -> (B, T, D): the members' mean latent after each high-level step."""
        return self.rollout_members(z0, codes).mean(dim=0)

    def rollout_spread(self, z0: torch.Tensor, codes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, D), (B, T, code_dim) -> the mean (B, T, D) and the members' disagreement (B, T)."""
        return member_spread(self.rollout_members(z0, codes))


__all__ = ["HighLevelConfig", "HighLevelModel"]
