"""Wavefront search: breadth-first search through the world model, one batched call per wave.

Every node of the frontier tries every action of a discrete set (`directions x step_sizes`, each
held for one predictor step of k environment steps) in a single batched predictor call. A child
becomes a node when its read-out (a small head on the latent, e.g. the run's position probe)
falls in a cell of side `cell_size` that no node holds yet; the first child to reach a cell
keeps it. So the graph covers the read-out space at a fixed resolution, where deduplicating
latents by a radius (A*, `search.py`) lets the node count grow with every small difference in
the latent. The search stops at the first wave that brings a node within `goal_tolerance` of
the goal's read-out, or after `max_waves`; the plan is the path to the node nearest the goal.
Edges that violate a guardrail are never added, so the paths go around forbidden regions.

Why it plans through the door where CEM and the learned cost-to-go do not: it never compares a
path with the straight line to the goal, it only counts predictor steps, so a goal right behind
the wall is as far as the path through the far door makes it.

When the start itself is within `goal_tolerance` (the read-out is a few pixels coarse), the
plan is one fine move: of the zero move and `directions` headings at a quarter, half and all of
the smallest step size, the one predicted nearest the goal latent (`settle`).

Shapes: latents (N, D), read-outs (N, S), actions (M, A); a plan's actions (L, A), one row per
predictor step, so it needs action_repeat == the model's frameskip. A plan's cost is the
read-out distance from its end to the goal, its iterations the waves searched.
"""
from __future__ import annotations

import torch

from ..cost.guardrails import violations
from .base import Plan, Planner, PlannerConfig
from .search import action_set, refuse_pessimism

_CELL_OFFSET = 1 << 20  # cell coordinates are shifted positive before they are packed into one key
_FINE_SCALES = (0.25, 0.5, 1.0)  # settle: fractions of the smallest step size


class WavefrontPlanner(Planner):
    """`readout(latents (..., D)) -> (..., S)`: the cells are read in its units (pixels for the
    Two-Rooms position probe), and so are `cell_size` and `goal_tolerance`.

    Uses labels: the read-out that defines its cells is the run's position probe, fitted on the
    simulator's true positions (`uses_labels` is True unless the read-out says otherwise)."""

    def __init__(self, model, cfg: PlannerConfig, readout, guardrails=()):
        super().__init__(model, cfg, guardrails)
        refuse_pessimism(cfg)
        self.readout = readout
        self.k = getattr(model, "frameskip", 1)
        self.actions = action_set(cfg.directions, cfg.step_sizes).to(self.device)  # (M, A)
        self.moves = self.actions.repeat(1, self.k)  # (M, k*A): each action held one predictor step
        fine = action_set(cfg.directions, tuple(s * min(cfg.step_sizes) for s in _FINE_SCALES))
        self.fine = torch.cat([torch.zeros(1, fine.shape[1]), fine]).to(self.device)  # zero move first

    @property
    def uses_labels(self) -> bool:
        return getattr(self.readout, "uses_labels", True) or super().uses_labels

    def cells(self, states: torch.Tensor) -> torch.Tensor:
        """(..., S) read-outs -> (...) int64: one key per cell of side `cell_size` (S <= 3 fits in 64 bits)."""
        coords = torch.floor(states / self.cfg.cell_size).long() + _CELL_OFFSET
        key = coords[..., 0]
        for i in range(1, coords.shape[-1]):
            key = key * (2 * _CELL_OFFSET) + coords[..., i]
        return key

    def grow(self, z0: torch.Tensor, frontier: torch.Tensor, seen: torch.Tensor):
        """All children of the frontier latents (F, D) in one batched step; keep the first child
        to reach each unseen cell by an edge that no guardrail forbids (judged with the margin
        the agent's state z0 allows: see `ForbiddenRegion`). Returns the kept children (C, D), their
        read-outs (C, S), cell keys (C,), parents' frontier rows (C,) and actions (C,)."""
        f, m = len(frontier), len(self.actions)
        parents = frontier.repeat_interleave(m, dim=0)  # (F*M, D), row i*M + j: parent i, action j
        moves = self.moves.repeat(f, 1)  # (F*M, k*A)
        children, spread = self.step(parents, moves)
        points = self.readout(children)
        keys = self.cells(points)
        ok = ~torch.isin(keys, seen)
        if self.guardrails:
            ok &= ~violations(self.guardrails, moves.view(f * m, self.k, -1), z0, children[:, None], starts=parents, spread=spread)
        index = ok.nonzero()[:, 0]
        unique, inverse = torch.unique(keys[index], return_inverse=True)
        first = torch.full((len(unique),), len(index), device=index.device)
        first = first.scatter_reduce(0, inverse, torch.arange(len(index), device=index.device), "amin")
        kept = index[first].sort().values  # one child per new cell, in frontier order
        return children[kept], points[kept], keys[kept], kept // m, kept % m

    @torch.no_grad()
    def plan(self, z0: torch.Tensor, z_goal: torch.Tensor) -> Plan:
        """Search wave by wave from z0 (D,) until a node reads within `goal_tolerance` of the goal;
        the plan is the path to the node read nearest the goal (or `settle` when that is z0)."""
        cfg = self.cfg
        goal = self.readout(z_goal)
        latents = z0[None]
        parent = torch.tensor([-1], device=self.device)
        action = torch.tensor([-1], device=self.device)
        start = self.readout(latents)
        distance = (start - goal).norm(dim=-1)  # (nodes,) read-out distance to the goal
        seen = self.cells(start)
        frontier = torch.tensor([0], device=self.device)
        waves = 0
        while len(frontier) and waves < cfg.max_waves and float(distance.min()) > cfg.goal_tolerance:
            waves += 1
            children, points, keys, rows, moves = self.grow(z0, latents[frontier], seen)
            first_new = len(latents)
            latents = torch.cat([latents, children])
            parent = torch.cat([parent, frontier[rows]])
            action = torch.cat([action, moves])
            distance = torch.cat([distance, (points - goal).norm(dim=-1)])
            seen = torch.cat([seen, keys])
            frontier = torch.arange(first_new, len(latents), device=self.device)
        node = int(distance.argmin())
        path = []
        while node > 0:
            path.append(node)
            node = int(parent[node])
        if not path:
            return self.settle(z0, z_goal, goal, waves)
        path = torch.tensor(path[::-1], device=self.device)
        return Plan(self.actions[action[path]], float(distance[path[-1]]), waves, latents[path])

    def settle(self, z0: torch.Tensor, z_goal: torch.Tensor, goal: torch.Tensor, waves: int) -> Plan:
        """No node nearer the goal than the start: the safe fine move predicted nearest the goal
        latent z_goal (the zero move among them; `goal` is its read-out); unsafe when every fine
        move violates a guardrail."""
        moves = self.fine.repeat(1, self.k)
        after, spread = self.step(z0.expand(len(moves), -1), moves)
        cost = (after - z_goal).norm(dim=-1)
        if self.guardrails:
            cost = cost.masked_fill(violations(self.guardrails, moves.view(len(moves), self.k, -1), z0, after[:, None],
                                               spread=spread), float("inf"))
        best = int(cost.argmin())
        if not cost[best].isfinite():
            return Plan(self.fine[:1], float("inf"), waves, z0[None], safe=False)
        return Plan(self.fine[best:best + 1], float((self.readout(after[best]) - goal).norm()), waves, after[best:best + 1])
