"""Task objectives on predicted latent trajectories.

A cost module maps latent trajectories (N, T, D) and a goal latent (D,) to one cost per
candidate (N,). Lower is better.
"""
from __future__ import annotations

import torch


class GoalDistanceCost:
    """sum_t w_t * ||z_t - z_goal||_2, with per-step weights w (summing to 1).

    `every_step()` weighs the whole horizon equally (reach the goal soon and stay);
    `final_step()` only judges where the plan ends (lets a plan detour, e.g. through a door,
    but is indifferent to when it arrives, so a replanning agent may put arrival off forever);
    `blend(final_share)` gives the last state that share and spreads the rest over every step
    (detours still pay off, and of two plans that end at the goal the earlier arrival wins).
    """

    def __init__(self, weights: torch.Tensor):
        self.weights = weights / weights.sum()

    @classmethod
    def every_step(cls, horizon: int) -> "GoalDistanceCost":
        return cls(torch.ones(horizon))

    @classmethod
    def final_step(cls, horizon: int) -> "GoalDistanceCost":
        w = torch.zeros(horizon)
        w[-1] = 1.0
        return cls(w)

    @classmethod
    def blend(cls, horizon: int, final_share: float) -> "GoalDistanceCost":
        if not 0.0 <= final_share <= 1.0:
            raise ValueError(f"final_share must be in [0, 1], got {final_share}")
        w = torch.full((horizon,), (1.0 - final_share) / horizon)
        w[-1] += final_share
        return cls(w)

    def __call__(self, z: torch.Tensor, z_goal: torch.Tensor) -> torch.Tensor:
        distance = (z - z_goal).norm(dim=-1)  # (N, T)
        return distance @ self.weights.to(distance)
