"""Intrinsic cost: do not end a plan where the agent has already been (reads short-term memory).

A goal-distance cost has local minima: pressed against a wall on the goal's side, every plan
of a bounded horizon that heads for a far-away door ends further from the goal than staying
put. Even with an exact model the sampling planner then stays stuck (7 of 60 held-out
Two-Rooms tasks). Charging plans for ending near remembered states makes staying put cost more
with every step spent there, so the agent slides along the wall until the door is within the
horizon: with the exact model 53 -> 59 of 60 test tasks (`python benchmarks/oracle_model.py
--episodes 60 --split test --set name=cem revisit_weight=0`, and without the last override).
"""
from __future__ import annotations

import math

import torch


def latent_per_unit_move(model, z0: torch.Tensor, quantile: float = 0.5, project=None) -> float:
    """Latent distance of a move of length 1 from z0 (D,): one predictor step of unit actions in
    8 headings, distance over steps, median (a wall may block a few of the headings; `quantile`
    another of the 8, for a start in a corner that blocks most). With `project` (a function of
    latents (N, D) -> (N, r): a basis, a map's centroids) the distance is measured between the
    projections of the states."""
    k = getattr(model, "frameskip", 1)
    angles = torch.arange(8, device=z0.device, dtype=z0.dtype) * (math.pi / 4)
    actions = torch.stack([angles.cos(), angles.sin()], -1)[:, None].expand(8, k, 2)
    with torch.no_grad():
        after = model.rollout(z0.expand(8, -1), actions)[:, -1]
    moved = project(after) - project(z0[None]) if project is not None else after - z0
    lengths = moved.norm(dim=-1)
    # torch's median is the lower middle value and quantile(0.5) interpolates: keep the median
    # exactly, so every unit measured before `quantile` existed is unchanged
    return float(lengths.median() if quantile == 0.5 else lengths.quantile(quantile)) / k


class RevisitCost:
    """task_cost(z, g) + weight * s * sum_m exp(-||z_T - m||^2 / (2 (radius * s)^2)).

    m runs over the latents in `memory` (this episode's states), z_T is the plan's last
    predicted state, and s the latent length of a unit move (`latent_per_unit_move` at the
    episode's first state), so `weight` and `radius` are in units of moves of length 1
    (pixels in Two-Rooms) whatever the latent's scale.
    """

    def __init__(self, task_cost, memory, model, weight: float, radius: float):
        if weight < 0 or radius <= 0:
            raise ValueError(f"revisit weight must be >= 0 and radius > 0, got {weight} and {radius}")
        self.task_cost, self.memory, self.model = task_cost, memory, model
        self.weight, self.radius = weight, radius
        self._last_state, self._visited = None, None
        self.uses_labels = getattr(task_cost, "uses_labels", False)  # the revisit term itself reads latents only

    def visited(self, like: torch.Tensor) -> torch.Tensor:
        """The remembered states (M, D) on `like`'s device; stacked once per new state, not per
        planner iteration (the memory only grows between replans)."""
        last = self.memory.states[-1]
        if last is not self._last_state:
            self._last_state, self._visited = last, torch.stack(list(self.memory.states)).to(like)
        return self._visited

    def penalty(self, z_final: torch.Tensor) -> torch.Tensor:
        """(N,) cost of ending at each of z_final (N, D), from the remembered states."""
        if not self.memory.states or self.weight == 0:
            return torch.zeros(len(z_final), device=z_final.device, dtype=z_final.dtype)
        s = self.memory.unit_move(self.model)
        d2 = torch.cdist(z_final, self.visited(z_final)).pow(2)
        return self.weight * s * torch.exp(-d2 / (2 * (self.radius * s) ** 2)).sum(-1)

    def __call__(self, z: torch.Tensor, z_goal: torch.Tensor) -> torch.Tensor:
        return self.task_cost(z, z_goal) + self.penalty(z[:, -1])
