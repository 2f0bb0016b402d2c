"""A learned goal-conditioned cost-to-go V(z, g): how many environment steps from latent z to
the state whose latent is g. Trained from the reward-free dataset alone (`hjepa.train.value`).

It serves twice: as the heuristic of search planners (A*, beam) and as a terminal cost for the
sampling planners, so a short horizon is still judged by how far its end is from the goal
*by the paths the data took* (through the door), not by latent distance (through the wall).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..config import Checked

from ..world_model.predictor import mlp


@dataclass
class CostToGoConfig(Checked):
    POSITIVE = ("hidden_dim", "scale")
    NONNEGATIVE = ("depth",)
    hidden_dim: int = 256
    depth: int = 3
    scale: float = 64.0  # steps; outputs are learned in units of scale so targets sit near [0, 1]


class CostToGo(nn.Module):
    """V(z, g) >= 0 in environment steps; inputs (..., D) and (..., D) broadcast together.

    `uses_labels`: fitted with hindsight targets (steps within one trajectory) it is label-free;
    with Bellman targets it pairs trajectories by their true layouts, which are simulator labels."""

    def __init__(self, latent_dim: int, cfg: CostToGoConfig, uses_labels: bool = False):
        super().__init__()
        self.cfg = cfg
        self.uses_labels = uses_labels
        self.net = mlp(3 * latent_dim, cfg.hidden_dim, 1, cfg.depth)

    def forward(self, z: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        z, g = torch.broadcast_tensors(z, g)
        return self.cfg.scale * F.softplus(self.net(torch.cat([z, g, z - g], dim=-1))[..., 0])


class TerminalValueCost:
    """Task cost of a latent trajectory (N, T, D): V(z_T, goal) in steps, plus `step_weight` x
    the mean latent distance to the goal along the way (a small pull that breaks ties)."""

    def __init__(self, value: CostToGo, step_weight: float = 0.0):
        self.value = value
        self.step_weight = step_weight
        self.uses_labels = getattr(value, "uses_labels", False)

    def __call__(self, z: torch.Tensor, z_goal: torch.Tensor) -> torch.Tensor:
        cost = self.value(z[:, -1], z_goal)
        if self.step_weight:
            cost = cost + self.step_weight * (z - z_goal).norm(dim=-1).mean(dim=1)
        return cost
