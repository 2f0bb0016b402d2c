"""What every planner shares: its config, the plan it returns, warm starts, and how a batch of
candidate action sequences is judged (task cost through the world model, guardrails).

A plan is `horizon` decision steps, each held for `action_repeat` environment steps, so a
short search (horizon x 2 numbers) looks horizon * action_repeat steps ahead. Shapes: decision
actions (N, horizon, A), environment-step actions (N, horizon * repeat, A), predicted latents
(N, T, D) with T = horizon * repeat / frameskip.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from ..config import Checked, ConfigValueError
from ..cost.guardrails import Guardrail, reads_spread, violations
from ..cost.intrinsic import latent_per_unit_move
from ..cost.objectives import GoalDistanceCost
from ..cost.uncertainty import DisagreementCost


PLANNER_NAMES = ("mppi", "cem", "gradient", "cem+grad", "mppi+grad", "astar", "wavefront", "bfs")


def reads_labels(*parts) -> bool:
    """Whether any of these parts (guardrails, costs, critics, read-outs; None skipped) declares
    `uses_labels`: it was fitted on, or reads, the simulator's true states or layouts."""
    return any(getattr(p, "uses_labels", False) for p in parts if p is not None)


@dataclass
class PlannerConfig(Checked):
    POSITIVE = ("horizon", "action_repeat", "num_samples", "iterations", "init_std", "temperature", "max_action_norm",
                "max_action", "explore_segments", "lr", "search_weight", "max_expansions", "directions", "step_sizes",
                "cell_size", "max_waves", "max_nodes")
    NONNEGATIVE = ("warm_iterations", "min_std", "revisit_weight", "revisit_radius", "detour_weight", "detour_clearance",
                   "correction_radius", "correction_action_radius", "tolerance", "refine_steps", "goal_radius",
                   "dedup_radius", "goal_tolerance", "seed", "uncertainty_weight", "search_components", "replan_distance", "search_blur")
    FRACTION = ("final_share", "explore_fraction", "unit_quantile")
    CHOICES = {"name": PLANNER_NAMES, "heuristic": ("value", "zero"), "correction_confidence": ("sum", "nearest")}
    name: str = "mppi"  # mppi | cem | gradient | cem+grad | mppi+grad | astar | wavefront | bfs (a high level's)
    horizon: int = 8  # decision steps
    action_repeat: int = 4  # env steps per decision step
    num_samples: int = 256  # candidates per iteration (gradient: sequences optimized in parallel)
    iterations: int = 6  # on a fresh plan: the most it may use
    warm_iterations: int = 3  # after a warm start from the previous plan: the most it may use
    init_std: float = 1.5
    min_std: float = 0.05
    temperature: float = 0.5  # MPPI: softmax temperature in units of the cost spread
    elite_fraction: float = 0.1  # CEM
    max_action_norm: float = 2.45  # every action's norm is at most this (a displacement's length)
    max_action: float | None = None  # and, when set, every coordinate within +-max_action (a Box of normalized actions)
    final_share: float = 0.0  # weight of the plan's last state in its cost; the rest is spread over every step
    explore_fraction: float = 0.0  # share of samples drawn from the path prior, not around the mean
    explore_segments: int = 2  # straight segments per path-prior sample
    # Intrinsic cost (cost/intrinsic.py): plans ending near this episode's remembered states pay
    # revisit_weight per state, within revisit_radius (both in moves of length 1: Two-Rooms pixels).
    revisit_weight: float = 0.0  # 0: off
    revisit_radius: float = 6.0
    # With a ForbiddenRegion guardrail, the goal distance goes around the region (cost/objectives.py
    # DetourCost): weight of the detour it forces, in moves of length 1 per pixel of detour (0: off).
    detour_weight: float = 0.0
    detour_clearance: float = 1.0  # the path around keeps this far (pixels) outside the guardrail's margin
    # Episodic correction (world_model/correction.py): predictions add the residuals observed this
    # episode at nearby states (within correction_radius moves) and actions (correction_action_radius).
    correction_radius: float = 0.0  # 0: off
    correction_action_radius: float = 1.0
    # How much of the remembered mean residual applies: "sum" min(1, sum of kernel weights),
    # "nearest" the weight of the most similar memory (repeats of one memory add nothing).
    correction_confidence: str = "sum"
    # Pessimism (cost/uncertainty.py): with an ensemble world model, a plan also pays this much per
    # unit of the members' mean disagreement along it (dimensionless: both are latent distances).
    uncertainty_weight: float = 0.0  # 0: off
    # Anytime inference: stop before the budget once the best cost is good enough or has stopped improving.
    # cost_threshold is in moves of length 1 (pixels in Two-Rooms): the latent length of a unit
    # move is measured at the episode's first plan, so one number fits any model's latent scale.
    cost_threshold: float | None = None  # stop as soon as the best cost is at or below this
    tolerance: float = 0.0  # stop when an iteration improves the best cost by less than this fraction (0: never)
    # Gradient descent through the model (gradient planner, and the refinement of the hybrids).
    lr: float = 0.2  # Adam step size, in action units
    refine_steps: int = 5  # hybrids: gradient steps on the sampler's result
    # The run's learned cost-to-go V(z, g) (`hjepa fit-value`): terminal cost and search heuristic.
    terminal_value: bool = False  # samplers/gradient: judge a plan by V(last state, goal) instead of latent distance
    # Search (astar): a discretized action set, one edge = one predictor step.
    heuristic: str = "value"  # value (the learned V) | zero (uninformed: Dijkstra)
    search_weight: float = 1.0  # weighted A*: f = g + weight * h
    max_expansions: int = 300
    directions: int = 8
    step_sizes: tuple[float, ...] = (1.0, 1.8)
    goal_radius: float = 0.5  # latent distance counted as "at the goal"
    dedup_radius: float = 0.1  # latent distance under which two nodes are the same node
    # Wavefront search (wavefront): breadth-first through the model, nodes deduplicated by cells
    # of the run's position read-out; both lengths in read-out units (Two-Rooms pixels). The
    # label-free breadth-first search of a high level (bfs, actor/latent_search.py) reads both
    # in unit moves (a node's radius in the latent, and the goal's).
    cell_size: float = 3.0
    goal_tolerance: float = 3.0  # a node whose read-out is this close to the goal's is the goal
    max_waves: int = 40  # predictor steps deep at most
    # bfs: latent directions its distances are measured along (controllable_basis); 0: the whole
    # latent (a map latent, whose few principal directions near the start say nothing of far places)
    search_components: int = 6
    # bfs on a map latent (model.encoder.kind=map): distances between the maps blurred by a
    # Gaussian of this std, in map cells, so they keep growing with how far apart things are
    # beyond a thing's own size (0: off; overrides search_components)
    search_blur: float = 0.0
    # bfs on a map latent: distances between the centroids of the map's channels (each channel's
    # mass, negative parts clipped, in map cells), which grow with separation without bound
    # (overrides search_blur and search_components)
    search_centroids: bool = False
    # bfs: which of the 8 headings' lengths is the unit move (0.5: the median; 0.875: the 7th
    # longest, so that a start in a corner, where walls block most headings, does not shrink it)
    unit_quantile: float = 0.5
    # bfs: keep following the last path while the agent lands within this many unit moves of the
    # latent the path predicted for it (0: search again at every decision step)
    replan_distance: float = 0.0
    max_nodes: int = 4000  # bfs: the search stops growing at this many nodes
    seed: int = 0

    def check(self) -> None:
        if not 0 < self.elite_fraction <= 1:
            raise ConfigValueError("elite_fraction", f"must be in (0, 1], got {self.elite_fraction}")


def project_to_ball(actions: torch.Tensor, max_norm: float) -> torch.Tensor:
    norm = actions.norm(dim=-1, keepdim=True).clamp_min(1e-8)
    return actions * (max_norm / norm).clamp(max=1.0)


def bound_actions(actions: torch.Tensor, cfg: PlannerConfig) -> torch.Tensor:
    """The planner's hard action bound: onto the norm ball, then into the box when it has one."""
    actions = project_to_ball(actions, cfg.max_action_norm)
    return actions if cfg.max_action is None else actions.clamp(-cfg.max_action, cfg.max_action)


@dataclass
class Plan:
    actions: torch.Tensor  # (horizon, A): the chosen sequence, one row per decision step
    cost: float  # its task cost (inf when no candidate satisfied the guardrails)
    iterations: int  # optimizer iterations used (anytime planners may stop early)
    imagined: torch.Tensor  # (T, D): the latent after each predictor step
    safe: bool = True  # False: every candidate violated a guardrail; do not execute `actions`


class Planner:
    """Base class: holds the model, the task cost, the guardrails and the warm-start mean."""

    def __init__(self, model, cfg: PlannerConfig, guardrails: Sequence[Guardrail] = (), cost=None):
        """`cost(latents (N, T, D), goal (D,)) -> (N,)`; default: latent distance to the goal
        (the last state weighted `final_share`, the rest spread over every step)."""
        self.model = model
        self.cfg = cfg
        self.guardrails = list(guardrails)
        steps = cfg.horizon * cfg.action_repeat // getattr(model, "frameskip", 1)  # predicted states per plan
        if cost is None:
            cost = GoalDistanceCost.blend(steps, cfg.final_share)
        self.cost = cost
        self.device = next(model.parameters()).device
        self.generator = torch.Generator(device=self.device)
        self.generator.manual_seed(cfg.seed)
        self.mean: torch.Tensor | None = None
        self.unit: float | None = None  # latent length of a unit move, measured at the episode's first plan
        self.pessimism = DisagreementCost(cfg.uncertainty_weight) if cfg.uncertainty_weight > 0 else None
        self.wants_spread = self.pessimism is not None or reads_spread(self.guardrails)
        if self.wants_spread and getattr(model, "members", 1) < 2:
            raise ConfigValueError("uncertainty_weight", "and the disagreement guardrail need an ensemble world model "
                                   "(train with --set model.predictor.kind=ensemble): this model has one predictor")

    @property
    def uses_labels(self) -> bool:
        """Whether acting reads anything fitted on simulator labels (true states or layouts): a
        guardrail judged through a position probe, a cost built on one, a cost-to-go fitted with
        Bellman targets over true layouts. Latents, actions and goal images alone are label-free."""
        return reads_labels(*self.guardrails, self.cost)

    def reset(self) -> None:
        self.mean = None
        self.unit = None

    def reseed(self, episode: int) -> None:
        """Restart the random stream from (cfg.seed, episode): an episode's plans then depend on
        its own seed, not on how many samples the episodes before it drew."""
        self.generator.manual_seed(int(np.random.SeedSequence([self.cfg.seed, episode]).generate_state(1)[0]))

    def shift(self, steps: int = 1) -> None:
        """Warm start: drop the executed decision steps, pad with zeros."""
        if self.mean is not None:
            self.mean = torch.cat([self.mean[steps:], torch.zeros_like(self.mean[:steps])])

    def warm_start(self) -> tuple[torch.Tensor, int]:
        """The sequence to start from (the shifted previous plan, or zeros) and the iteration
        budget that goes with it (`warm_iterations` after a warm start, else `iterations`)."""
        if self.mean is not None:
            return self.mean, self.cfg.warm_iterations
        return torch.zeros(self.cfg.horizon, self.model.cfg.action_dim, device=self.device), self.cfg.iterations

    def expand(self, actions: torch.Tensor) -> torch.Tensor:
        """(..., horizon, A) decision steps -> (..., horizon * repeat, A) env steps."""
        return actions.repeat_interleave(self.cfg.action_repeat, dim=-2)

    def imagine(self, z0: torch.Tensor, z_goal: torch.Tensor, env_actions: torch.Tensor):
        """(N, T_env, A) environment-step candidates from z0 (D,): their imagined latents
        (N, T, D), the ensemble's disagreement (N, T) when a cost or guardrail reads it (else
        None) and their costs (N,): the task cost, plus the pessimism term when it is on."""
        start = z0.expand(len(env_actions), -1)
        if not self.wants_spread:
            imagined = self.model.rollout(start, env_actions)
            return imagined, None, self.cost(imagined, z_goal)
        imagined, spread = self.model.rollout_spread(start, env_actions)
        costs = self.cost(imagined, z_goal)
        if self.pessimism is not None:
            costs = costs + self.pessimism(spread)
        return imagined, spread, costs

    def step(self, starts: torch.Tensor, grouped: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """One predictor step for search edges: (N, D), (N, k * A) -> children (N, D) and, when a
        guardrail reads it, the ensemble's disagreement about each as (N, 1) (else None)."""
        if not self.wants_spread:
            return self.model.next(starts, grouped), None
        children, spread = self.model.next_spread(starts, grouped)
        return children, spread[:, None]

    def judge(self, z0: torch.Tensor, z_goal: torch.Tensor, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Roll (N, horizon, A) candidates out from z0 (D,): their imagined latents (N, T, D) and
        costs (N,), inf for every candidate that violates a guardrail, whatever its task cost."""
        env_actions = self.expand(actions)
        imagined, spread, costs = self.imagine(z0, z_goal, env_actions)
        if self.guardrails:
            costs = costs.masked_fill(violations(self.guardrails, env_actions, z0, imagined, spread=spread), float("inf"))
        return imagined, costs

    def calibrate(self, z0: torch.Tensor) -> None:
        """Measure the unit move at the episode's first plan (only needed by `cost_threshold`)."""
        if self.cfg.cost_threshold is not None and self.unit is None:
            self.unit = latent_per_unit_move(self.model, z0)

    def converged(self, previous_best: float, best: float) -> bool:
        """Anytime stopping rule, checked after each iteration (after `calibrate`)."""
        cfg = self.cfg
        if cfg.cost_threshold is not None and best <= cfg.cost_threshold * self.unit:
            return True
        return cfg.tolerance > 0 and previous_best < float("inf") and previous_best - best <= cfg.tolerance * abs(previous_best)

    def finish(self, z0: torch.Tensor, z_goal: torch.Tensor, candidates: torch.Tensor, iterations: int) -> Plan:
        """Pick the cheapest of a few final candidates (N, horizon, A), remember it for the warm start."""
        imagined, costs = self.judge(z0, z_goal, candidates)
        i = int(costs.argmin())
        self.mean = candidates[i]
        return Plan(candidates[i], float(costs[i]), iterations, imagined[i], safe=bool(torch.isfinite(costs[i])))

    def plan(self, z0: torch.Tensor, z_goal: torch.Tensor) -> Plan:
        raise NotImplementedError
