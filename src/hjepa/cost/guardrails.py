"""Guardrails: hard constraints that no task cost can buy off.

A guardrail judges a batch of candidate plans and says which ones violate it. Planners give a
violating candidate an infinite cost, so it can never be chosen however cheap its task cost;
when every candidate violates one, the plan is marked unsafe and the agent holds still instead
of executing it.

    violated(actions (N, T_env, A), z0 (D,), latents (N, T, D), starts=None) -> (N,) bool

`actions` are per environment step, `latents` the model's prediction after each predictor
step, `z0` the current latent state. Candidates start at z0, or, when they are the edges of a
search graph, each at its own node: `starts` (N, D). A guardrail that declares `reads_spread`
also gets `spread` (N, T), an ensemble's disagreement after each predictor step.
"""
from __future__ import annotations

from typing import Callable, Protocol, Sequence

import torch


class Guardrail(Protocol):
    def violated(self, actions: torch.Tensor, z0: torch.Tensor, latents: torch.Tensor,
                 starts: torch.Tensor | None = None) -> torch.Tensor: ...


class ActionBound:
    """Every action's norm must stay within `max_norm`.

    Reads primitive actions, so a hierarchical planner applies it at the low level only (a
    high level's actions are macro-action codes); guardrails on predicted latents apply at
    every level."""

    reads_actions = True

    def __init__(self, max_norm: float):
        self.max_norm = max_norm

    def violated(self, actions, z0, latents, starts=None):
        return actions.norm(dim=-1).amax(dim=-1) > self.max_norm * (1 + 1e-5)


class ForbiddenRegion:
    """The predicted state must never enter an axis-aligned box of the state space.

    `readout` maps latents (..., D) to the state coordinates the box is written in, e.g. a
    linear position probe fitted on the dataset (`hjepa.eval.probes.LinearProbe`). The path
    between consecutive predicted states is checked at `substeps` points, since one predictor
    step may cover several environment steps; `margin` widens the box to absorb read-out error.

    An agent already inside the margin (it started there, or the read-out erred) could not
    move at all if the full margin applied, since every path would begin inside it. So the
    margin shrinks to the current clearance (less `slack`): a plan may leave the margin or
    move along it, never get closer to the box than the agent is now by more than `slack`.
    The agent's state z0 sets the margin for search edges too (`starts`): were it set by each
    edge's own start, a path could creep `slack` closer with every edge.

    Uses labels: the box is written in the simulator's coordinates, so the read-out into them is
    fitted on true states (the run's position probe).
    """

    uses_labels = True

    def __init__(self, readout: Callable[[torch.Tensor], torch.Tensor], low: Sequence[float], high: Sequence[float],
                 margin: float = 0.0, substeps: int = 4, slack: float = 0.5):
        self.readout = readout
        self.low = torch.as_tensor(low, dtype=torch.float32)
        self.high = torch.as_tensor(high, dtype=torch.float32)
        if self.low.shape != self.high.shape or bool((self.low > self.high).any()):
            raise ValueError(f"forbidden region needs low <= high per coordinate, got {low} and {high}")
        if margin < 0 or slack < 0:
            raise ValueError(f"margin and slack must be >= 0, got {margin} and {slack}")
        self.margin = margin
        self.slack = slack
        self.substeps = substeps

    def clearance(self, states: torch.Tensor) -> torch.Tensor:
        """(..., S) states -> (...) distance to the box along the farthest axis (L-inf), 0 inside."""
        low, high = self.low.to(states), self.high.to(states)
        return torch.maximum(low - states, states - high).amax(dim=-1).clamp_min(0)

    def inside(self, states: torch.Tensor, margin: float | torch.Tensor = 0.0) -> torch.Tensor:
        """(..., S) states -> (...) bool: inside the box widened by `margin`."""
        low, high = self.low.to(states), self.high.to(states)
        return ((states >= low - margin) & (states <= high + margin)).all(dim=-1)

    def violated(self, actions, z0, latents, starts=None):
        starts = z0.expand(len(latents), -1) if starts is None else starts  # (N, D)
        states = self.readout(torch.cat([starts[:, None], latents], dim=1))  # (N, T+1, S)
        margin = (self.clearance(self.readout(z0)) - self.slack).clamp(0, self.margin)
        t = torch.linspace(0, 1, self.substeps + 1, device=states.device)[1:, None]  # (K, 1)
        path = states[:, :-1, None] + t * (states[:, 1:, None] - states[:, :-1, None])  # (N, T, K, S)
        return self.inside(path, margin).flatten(1).any(dim=1)


class DisagreementBound:
    """An ensemble's members must not disagree about any predicted state more than they do on
    the data: spread_t <= max_uncertainty * limit_t, where limit_t is the 99th percentile of
    the disagreement t predictor steps ahead on the run's held-out transitions (RUN/uncertainty.json,
    `eval.uncertainty.calibrate_disagreement`; steps past the calibrated ones use the last).
    Label-free: it reads the members' predictions only."""

    reads_spread = True

    def __init__(self, limits, max_uncertainty: float = 1.0):
        self.limits = torch.as_tensor(limits, dtype=torch.float32)
        if self.limits.ndim != 1 or not len(self.limits) or bool((self.limits <= 0).any()):
            raise ValueError("disagreement limits must be a non-empty list of positive numbers, one per predictor step")
        if max_uncertainty <= 0:
            raise ValueError(f"max_uncertainty must be > 0, got {max_uncertainty}")
        self.max_uncertainty = max_uncertainty

    def violated(self, actions, z0, latents, starts=None, spread=None):
        if spread is None:
            raise ValueError("DisagreementBound needs the ensemble's spread: plan with an ensemble world model")
        steps = torch.arange(spread.shape[1], device=spread.device).clamp(max=len(self.limits) - 1)
        return (spread > self.max_uncertainty * self.limits.to(spread)[steps]).any(dim=1)


def crosses_box(a: torch.Tensor, b: torch.Tensor, low: torch.Tensor, high: torch.Tensor) -> torch.Tensor:
    """(...) bool: the segment from a (..., 2) to b (..., 2) passes through the open box low < x < high
    (touching an edge or a corner does not count). Liang-Barsky clipping, batched."""
    d = b - a
    flat = d.abs() < 1e-9
    safe_d = torch.where(flat, torch.ones_like(d), d)
    t_low, t_high = (low - a) / safe_d, (high - a) / safe_d
    inside = (a > low) & (a < high)  # a flat axis is crossed for every t, or never
    enter = torch.where(flat, torch.where(inside, -torch.inf, torch.inf), torch.minimum(t_low, t_high))
    leave = torch.where(flat, torch.where(inside, torch.inf, -torch.inf), torch.maximum(t_low, t_high))
    t_enter = enter.amax(dim=-1).clamp_min(0)
    t_leave = leave.amin(dim=-1).clamp_max(1)
    return t_leave - t_enter > 1e-6


def path_around_box(p: torch.Tensor, g: torch.Tensor, low: torch.Tensor, high: torch.Tensor) -> torch.Tensor:
    """(...) length of the shortest path from p (..., 2) to g (..., 2) that stays out of the open
    box low < x < high. The taut path is straight, or wraps one corner, or two adjacent ones;
    every candidate whose legs stay out of the box is a real path, so the shortest of them is
    the answer. A point inside the box is first moved to its nearest edge."""
    p, g = torch.broadcast_tensors(project_out_of_box(p, low, high), project_out_of_box(g, low, high))
    corners = torch.stack([low, torch.stack([high[0], low[1]]), high, torch.stack([low[0], high[1]])])  # (4, 2) in order
    best = torch.where(crosses_box(p, g, low, high), torch.inf, (g - p).norm(dim=-1))
    pc, cg = p[..., None, :], g[..., None, :]  # (..., 1, 2) against the corners (4, 2)
    to_corner = torch.where(crosses_box(pc, corners, low, high), torch.inf, (corners - pc).norm(dim=-1))  # (..., 4)
    from_corner = torch.where(crosses_box(corners, cg, low, high), torch.inf, (cg - corners).norm(dim=-1))
    best = torch.minimum(best, (to_corner + from_corner).amin(dim=-1))
    edge = (corners.roll(-1, 0) - corners).norm(dim=-1)  # (4,) edge i joins corner i and i + 1
    forward = to_corner + edge + from_corner.roll(-1, -1)  # corner i, then i + 1
    backward = to_corner.roll(-1, -1) + edge + from_corner  # corner i + 1, then i
    return torch.minimum(best, torch.minimum(forward, backward).amin(dim=-1))


def project_out_of_box(p: torch.Tensor, low: torch.Tensor, high: torch.Tensor) -> torch.Tensor:
    """Points (..., 2) inside the open box moved to the nearest point of its boundary; others unchanged."""
    gaps = torch.cat([p - low, high - p], dim=-1)  # (..., 4): distance to the low x, low y, high x, high y edges
    inside = (gaps > 0).all(dim=-1, keepdim=True)
    nearest = gaps.argmin(dim=-1, keepdim=True)  # edge k moves coordinate k % 2 onto torch.cat([low, high])[k]
    moved = p.scatter(-1, nearest % 2, torch.cat([low, high]).to(p)[nearest])
    return torch.where(inside, moved, p)


def reads_spread(guardrails: Sequence[Guardrail]) -> bool:
    """Whether any of them judges an ensemble's disagreement (the planner must then compute it)."""
    return any(getattr(g, "reads_spread", False) for g in guardrails)


def violations(guardrails: Sequence[Guardrail], actions: torch.Tensor, z0: torch.Tensor, latents: torch.Tensor,
               starts: torch.Tensor | None = None, spread: torch.Tensor | None = None) -> torch.Tensor:
    """(N,) True where a candidate violates at least one guardrail."""
    bad = torch.zeros(len(latents), dtype=torch.bool, device=latents.device)
    for guardrail in guardrails:
        if getattr(guardrail, "reads_spread", False):
            bad |= guardrail.violated(actions, z0, latents, starts, spread=spread)
        else:
            bad |= guardrail.violated(actions, z0, latents, starts)
    return bad
