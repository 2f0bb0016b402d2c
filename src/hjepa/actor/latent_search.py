"""Breadth-first search through a world model, nodes told apart in the latent itself (label-free).

The wavefront search (`wavefront.py`) keeps one node per cell of a read-out, the run's position
probe, which is fitted on true positions. This search needs no read-out: a child becomes a node
when no node lies within `cell_size` unit moves of it, the unit being the latent length of a
move of length 1 (`latent_per_unit_move`, so the radius is in pixels on Two-Rooms and Rooms
whatever the latent's scale). Distances are measured in the latent projected onto the
directions the agent's own actions move it along (`controllable_basis`, the top
`search_components` principal components of the states random action sequences reach from the
episode's first state through `unit_model`): a predicted latent also drifts along directions no
action controls (Rooms: the walls it encodes), and in the full latent every such difference
would make a new node, as it does for A*'s radius (`search.py`).
Every frontier node tries every move of a discrete set in one batched predictor call per wave;
the search stops at the first wave that brings a node within `goal_tolerance` unit moves of the
goal latent, or after `max_waves`, and the plan is the path to the node nearest the goal.

Like the wavefront it counts steps and never compares a path with the straight line to the goal,
so a goal behind a wall is as far as the way through the door makes it. On a high level
(`world_model/high_level.py`) the moves are macro-action codes: the data's own kind of action
chunk (a heading and a speed held for one high-level step) encoded by the level's macro encoder
and kept inside its box; the hierarchical planner hands the path's latents down as subgoals.

With `replan_distance` > 0 the agent follows the path it found, one decision step at a time,
while each state it lands in is within that many unit moves of the latent the path predicted
there and the goal is the one it was searched toward; a search costs hundreds of predictor
calls, following costs none.

When no node is nearer the goal than the start, the plan is the single move predicted nearest
the goal latent. Edges that violate a guardrail are never added. Shapes: latents (N, D), moves
(M, model input) for one model step, decisions (M, A) the plan's actions, one row per model step.
"""
from __future__ import annotations

import torch

from ..config import ConfigValueError
from ..cost.guardrails import violations
from ..cost.intrinsic import latent_per_unit_move
from .base import Plan, Planner, PlannerConfig
from .search import action_set, refuse_pessimism


@torch.no_grad()
def controllable_basis(model, z0: torch.Tensor, components: int, generator: torch.Generator, samples: int = 256,
                       steps: int = 8) -> torch.Tensor:
    """(D, r) orthonormal: the top principal directions of the latents that `samples` random
    walks of `steps` predictor steps (unit 2-D moves in random headings) reach from z0 (D,)
    through `model`. What the agent's actions change, without any label."""
    k = getattr(model, "frameskip", 1)
    angles = torch.rand(samples, steps, generator=generator, device=z0.device) * (2 * torch.pi)
    moves = torch.stack([angles.cos(), angles.sin()], -1).to(z0).repeat_interleave(k, dim=1)  # (S, steps * k, 2)
    reached = model.rollout(z0.expand(samples, -1), moves).reshape(-1, z0.shape[-1])
    _, _, vh = torch.linalg.svd(reached - reached.mean(0), full_matrices=False)
    return vh[:components].T


def map_blur_basis(map_shape: tuple[int, int, int], sigma: float) -> torch.Tensor:
    """(D, D), D = C * h * w: the linear map that blurs each channel of a flattened latent map
    with a Gaussian of std `sigma` cells (zero outside the map), as a matrix: z @ B."""
    c, h, w = map_shape
    radius = max(1, int(3 * sigma))
    x = torch.arange(-radius, radius + 1, dtype=torch.float32)
    g = torch.exp(-x ** 2 / (2 * sigma ** 2))
    kernel = (g[:, None] * g[None, :] / g.sum() ** 2)[None, None].expand(c, 1, -1, -1)
    eye = torch.eye(c * h * w).reshape(-1, c, h, w)
    return torch.nn.functional.conv2d(eye, kernel, padding=radius, groups=c).reshape(c * h * w, -1)


def map_centroids(z: torch.Tensor, map_shape: tuple[int, int, int]) -> torch.Tensor:
    """(..., D) flattened latent maps (C, h, w) -> (..., 2C): the (x, y) centroid, in map cells,
    of each channel's mass (negative parts clipped; a channel with none sits at the origin).
    Unlike a distance between maps, which stops growing once two things no longer overlap, the
    distance between centroids keeps growing with how far apart they are."""
    c, h, w = map_shape
    mass = z.reshape(*z.shape[:-1], c, h, w).clamp_min(0)
    xs = torch.arange(w, device=z.device, dtype=z.dtype)
    ys = torch.arange(h, device=z.device, dtype=z.dtype)
    total = mass.sum(dim=(-2, -1)).clamp_min(1e-8)
    x = (mass.sum(dim=-2) * xs).sum(dim=-1) / total
    y = (mass.sum(dim=-1) * ys).sum(dim=-1) / total
    return torch.stack([x, y], dim=-1).flatten(-2)


def novel(children: torch.Tensor, nodes: torch.Tensor, radius: float) -> torch.Tensor:
    """Indices (ascending) of the children (C, D) that become nodes: none within `radius` of an
    existing node (N, D), nor of a child kept before them."""
    far = (torch.cdist(children, nodes).min(dim=1).values > radius).nonzero()[:, 0]
    later = (torch.cdist(children[far], children[far]) <= radius).triu(diagonal=1)  # [i, j]: child j, after i, is i's twin
    keep = torch.ones(len(far), dtype=torch.bool, device=children.device)
    for i in later.any(dim=1).nonzero()[:, 0].tolist():  # greedy in frontier order, over the children that have twins
        if keep[i]:
            keep &= ~later[i]
    return far[keep]


class LatentBFSPlanner(Planner):
    """Breadth-first search over `moves` through `model.next`, deduplicated in latent space."""

    def __init__(self, model, cfg: PlannerConfig, moves: torch.Tensor, decisions: torch.Tensor, unit_model,
                 guardrails=()):
        """`moves` (M, ...) are what `model.next` takes for one step; `decisions` (M, A) the plan's
        action row for each; `unit_model` measures the unit move (a 2-D displacement model: the
        low-level JEPA, also for a high level, which shares its latent space)."""
        super().__init__(model, cfg, guardrails)
        refuse_pessimism(cfg)
        if len(moves) != len(decisions) or not len(moves):
            raise ValueError("one decision row per move, and at least one move")
        self.moves, self.decisions, self.unit_model = moves.to(self.device), decisions.to(self.device), unit_model
        self.basis: torch.Tensor | None = None  # (D, r), measured with the unit at the episode's first plan
        self.path: Plan | None = None  # the rest of the last path found (replan_distance > 0)
        self.expected: torch.Tensor | None = None  # the latent that path predicted for the current state
        self.path_goal: torch.Tensor | None = None  # the goal that path was searched toward
        self.blur: torch.Tensor | None = None  # (D, D), built once (search_blur > 0)
        self.centroid_shape = self.map_shape_for("search_centroids") if cfg.search_centroids else None

    def reset(self) -> None:
        super().reset()
        self.path = self.expected = self.path_goal = None

    def shift(self, steps: int = 1) -> None:
        """The agent executed `steps` decision steps of the last plan: keep the rest of its path."""
        super().shift(steps)
        if self.path is not None and len(self.path.actions) > steps:
            p = self.path
            self.expected = p.imagined[steps - 1]
            self.path = Plan(p.actions[steps:], p.cost, 0, p.imagined[steps:], p.safe)
        else:
            self.path = self.expected = None

    def map_shape_for(self, setting: str) -> tuple[int, int, int]:
        """The unit model's map shape (C, h, w), which `setting` needs."""
        shape = getattr(self.unit_model, "map_shape", None)
        if shape is None:
            raise ConfigValueError(setting, "reads a map latent (model.encoder.kind=map); this one is a vector")
        return shape

    def project(self, z: torch.Tensor) -> torch.Tensor:
        """Latents (..., D) as distances are measured: the map's channel centroids
        (search_centroids), through `search_basis`, or as they are."""
        if self.centroid_shape is not None:
            return map_centroids(z, self.centroid_shape)
        return z if self.basis is None else z @ self.basis

    def distance(self, z: torch.Tensor, z_goal: torch.Tensor) -> torch.Tensor:
        """(N,) distances of latents (N, D) to the goal, between their projections."""
        return (self.project(z) - self.project(z_goal)).norm(dim=-1)

    def grow(self, z0: torch.Tensor, frontier: torch.Tensor, points: torch.Tensor, radius: float):
        """All children of the frontier (F, D) in one batched step; those that become nodes, by
        edges no guardrail forbids, given the nodes' projections `points` (N, r): (children (C, D),
        their projections (C, r), parent frontier rows (C,), moves (C,))."""
        f, m = len(frontier), len(self.moves)
        parents = frontier.repeat_interleave(m, dim=0)  # row i*M + j: parent i, move j
        moves = self.moves.repeat(f, 1)
        children, spread = self.step(parents, moves)
        index = torch.arange(f * m, device=self.device)
        if self.guardrails:
            ok = ~violations(self.guardrails, moves.reshape(f * m, 1, -1), z0, children[:, None], starts=parents, spread=spread)
            index = index[ok]
        projected = self.project(children[index])
        new = novel(projected, points, radius)
        kept = index[new]
        return children[kept], projected[new], kept // m, kept % m

    @torch.no_grad()
    def plan(self, z0: torch.Tensor, z_goal: torch.Tensor) -> Plan:
        if self.unit is None:  # the episode's first plan
            self.basis = self.search_basis(z0)
            self.unit = latent_per_unit_move(self.unit_model, z0, quantile=self.cfg.unit_quantile, project=self.project)
        if self.on_track(z0, z_goal):
            return self.path
        self.path, self.path_goal = self.search(z0, z_goal), z_goal
        return self.path

    def search_basis(self, z0: torch.Tensor) -> torch.Tensor | None:
        """What distances are measured along: the blur of a map latent (search_blur), the
        controllable directions (search_components), or the whole latent (None)."""
        cfg = self.cfg
        if self.centroid_shape is not None:
            return None  # distances between centroids (project)
        if cfg.search_blur > 0:
            if self.blur is None:
                self.blur = map_blur_basis(self.map_shape_for("search_blur"), cfg.search_blur).to(z0)
            return self.blur
        if cfg.search_components:
            return controllable_basis(self.unit_model, z0, cfg.search_components, self.generator)
        return None

    def on_track(self, z0: torch.Tensor, z_goal: torch.Tensor) -> bool:
        """Whether the rest of the last path still holds: it leads to this goal (a hierarchical
        planner hands down a new subgoal now and then) and the agent is where it predicted."""
        if self.cfg.replan_distance <= 0 or self.path is None or self.expected is None:
            return False
        if not torch.equal(self.path_goal, z_goal):
            return False
        return float(self.distance(z0[None], self.expected)[0]) <= self.cfg.replan_distance * self.unit

    def search(self, z0: torch.Tensor, z_goal: torch.Tensor) -> Plan:
        """Breadth-first from z0 (D,) until a node is within `goal_tolerance` of the goal."""
        cfg = self.cfg
        radius, tolerance = cfg.cell_size * self.unit, cfg.goal_tolerance * self.unit
        latents = z0[None]
        points = self.project(latents)  # the nodes along the controllable directions
        parent = torch.tensor([-1], device=self.device)
        move = torch.tensor([-1], device=self.device)
        distance = self.distance(latents, z_goal)
        frontier, waves = torch.tensor([0], device=self.device), 0
        while len(frontier) and waves < cfg.max_waves and float(distance.min()) > tolerance and len(latents) < cfg.max_nodes:
            waves += 1
            children, projected, rows, moves = self.grow(z0, latents[frontier], points, radius)
            first_new = len(latents)
            latents = torch.cat([latents, children])
            points = torch.cat([points, projected])
            parent = torch.cat([parent, frontier[rows]])
            move = torch.cat([move, moves])
            distance = torch.cat([distance, self.distance(children, z_goal)])
            frontier = torch.arange(first_new, len(latents), device=self.device)
        node, path = int(distance.argmin()), []
        while node > 0:
            path.append(node)
            node = int(parent[node])
        if not path:
            return self.settle(z0, z_goal, waves)
        path = torch.tensor(path[::-1], device=self.device)
        return Plan(self.decisions[move[path]], float(distance[path[-1]]) / self.unit, waves, latents[path])

    def settle(self, z0: torch.Tensor, z_goal: torch.Tensor, waves: int) -> Plan:
        """No node nearer the goal than the start: the one safe move predicted nearest the goal."""
        after, spread = self.step(z0.expand(len(self.moves), -1), self.moves)
        cost = self.distance(after, z_goal)
        if self.guardrails:
            unsafe = violations(self.guardrails, self.moves.reshape(len(self.moves), 1, -1), z0, after[:, None], spread=spread)
            cost = cost.masked_fill(unsafe, float("inf"))
        best = int(cost.argmin())
        if not cost[best].isfinite():
            return Plan(self.decisions[:1], float("inf"), waves, z0[None], safe=False)
        return Plan(self.decisions[best:best + 1], float(cost[best]) / self.unit, waves, after[best:best + 1])


def held_moves(cfg: PlannerConfig, frameskip: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The search's moves for a 2-D displacement model, (M, frameskip * 2), and their decision
    rows (M, 2): `directions x step_sizes`, each held for one predictor step."""
    steps = action_set(cfg.directions, cfg.step_sizes)
    return steps.repeat(1, frameskip), steps


__all__ = ["LatentBFSPlanner", "controllable_basis", "held_moves", "map_blur_basis", "map_centroids", "novel"]
