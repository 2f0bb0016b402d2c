"""Task objectives on predicted latent trajectories.

A cost module maps latent trajectories (N, T, D) and a goal latent (D,) to one cost per
candidate (N,). Lower is better.
"""
from __future__ import annotations

import torch

from .guardrails import path_around_box


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


class DetourCost:
    """A goal distance measured around a forbidden region instead of through it.

    Straight-line goal distance pulls a plan into the face of a region the guardrail forbids:
    every candidate that would cross is rejected, the ones that stop at the face look best, and
    the agent presses against the region like against a wall. This cost adds, for every
    predicted state, the extra length of the shortest path to the goal that goes around the
    region (both read out in the region's coordinates, e.g. pixels) at least `clearance` away
    from its guardrail margin, in latent units:

        task_cost(z, g) + weight * s * sum_t w_t (L_around(p_t, p_g) - |p_t - p_g|)

    with w_t the task cost's per-step weights and s the latent length of a unit move
    (`ShortTermMemory.unit_move`, measured at the episode's first state).
    """

    def __init__(self, task_cost, region, memory, model, weight: float = 1.0, clearance: float = 0.0):
        if weight < 0 or clearance < 0:
            raise ValueError(f"detour weight and clearance must be >= 0, got {weight} and {clearance}")
        if region.low.numel() != 2:
            raise ValueError(f"the detour cost goes around boxes in 2-D state coordinates; this region has {region.low.numel()}")
        self.task_cost, self.region, self.memory, self.model = task_cost, region, memory, model
        self.weight, self.clearance = weight, clearance
        self.weights = task_cost.weights  # so another DetourCost can wrap this one
        self.uses_labels = True  # it reads positions through the region's read-out (a probe fitted on true states)

    def detour(self, z: torch.Tensor, z_goal: torch.Tensor) -> torch.Tensor:
        """(N, T) extra path length, in the region's units, that going around it costs each state."""
        p, p_goal = self.region.readout(z), self.region.readout(z_goal)
        widen = self.region.margin + self.clearance  # the taut path hugs the box: keep it off the guardrail's edge
        low, high = (self.region.low - widen).to(p), (self.region.high + widen).to(p)
        return path_around_box(p, p_goal, low, high) - (p - p_goal).norm(dim=-1)

    def __call__(self, z: torch.Tensor, z_goal: torch.Tensor) -> torch.Tensor:
        s = self.memory.unit_move(self.model)
        return self.task_cost(z, z_goal) + self.weight * s * (self.detour(z, z_goal) @ self.weights.to(z))
