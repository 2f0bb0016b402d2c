"""Hierarchical planning: high levels pick subgoals over macro-actions, the low level reaches them.

Every level is a planner over its own world model, all in the same latent space (a high level's
state is the low-level latent, see `world_model/high_level.py`). At each replan, from the top:

1. the level plans a sequence of macro-action codes toward its goal (the task's goal for the
   top level), judged by the earliest close approach along the way,
   cost = min_j ||z_j - g|| * (1 + depth_weight * j), so it picks the depth it needs;
2. its predicted latent after `subgoal_step` steps becomes the goal of the level below, unless
   the best approach comes before that step (the goal is within reach: the level below plans
   toward the goal itself) or the plan gets no closer than the agent is now;
3. the bottom level (any flat planner: cem+grad, MPPI, ...) plans toward its goal and its first
   action is executed, as in flat MPC.

A level keeps the subgoal it handed down for one of its own steps (`commit`), unless the agent
has nearly reached it or the level above changed its goal: a subgoal that moved at every
low-level replan would leave the low level chasing noise. High levels warm-start from their
previous plan and shift it once a whole high-level step of environment steps has gone by. Guardrails on predicted latents (a forbidden region) apply at
every level; those reading primitive actions (`reads_actions`, the action bound) at the bottom
only. Three levels or more are a list of three planners: no other code.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import torch

from ..config import Checked, ConfigValueError
from .base import Plan, Planner, PlannerConfig


def high_planner_defaults() -> PlannerConfig:
    """CEM over normalized codes: the box [-1, 1]^m is the data's support (the norm ball is left
    wide so that the box is the bound); one code per decision step."""
    return PlannerConfig(name="cem", horizon=10, action_repeat=1, num_samples=256, iterations=6, warm_iterations=3,
                         init_std=0.6, min_std=0.05, max_action=1.0, max_action_norm=1e3)


@dataclass
class HierarchyConfig(Checked):
    POSITIVE = ("subgoal_step",)
    NONNEGATIVE = ("depth_weight", "commit", "reached", "correction_radius", "correction_code_radius", "max_uncertainty")
    planner: PlannerConfig = field(default_factory=high_planner_defaults)  # every high level's planner
    # Defaults chosen on 20 dev tasks of Rooms' 3-4-door band (benchmarks/RESULTS.md, issue #27).
    depth_weight: float = 0.01  # of two plans that come as close, the one that gets there sooner wins
    subgoal_step: int = 2  # the predicted latent after this many high-level steps is the subgoal
    # A level keeps the subgoal it handed down for `commit` of its own steps (in environment steps,
    # 0: replan at every low-level replan) unless the level above changed its goal, or the agent
    # is within `reached` of the way there (latent distance now / at hand-off).
    commit: float = 1.0
    reached: float = 0.25
    # Episodic correction of level 1 (world_model/correction.py MacroCorrection): its predictions
    # add the residuals of the high-level steps the agent took this episode, from states within
    # `correction_radius` unit moves and codes within `correction_code_radius` (box units). 0: off.
    correction_radius: float = 0.0
    correction_code_radius: float = 0.3
    # With an ensemble high level (train-high --set model.members=K): its planner never takes a
    # step whose members disagree more than this times their held-out 99th percentile. 0: off.
    max_uncertainty: float = 0.0

    def check(self) -> None:
        if self.planner.name not in ("cem", "mppi", "gradient", "cem+grad", "mppi+grad", "bfs"):
            raise ConfigValueError("planner.name", f"a high level plans over codes with cem, mppi, gradient or bfs, "
                                   f"got {self.planner.name}")
        if self.planner.action_repeat != 1:
            raise ConfigValueError("planner.action_repeat", "a high level takes one code per decision step: set it to 1")


class EarliestApproachCost:
    """min_j ||z_j - g|| * (1 + depth_weight * j) over a plan's predicted latents (N, T, D)."""

    def __init__(self, depth_weight: float):
        self.depth_weight = depth_weight

    def depths(self, z: torch.Tensor, z_goal: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(cost (N,), the step j (N,) that attains it)."""
        distance = (z - z_goal).norm(dim=-1)
        penalty = 1 + self.depth_weight * torch.arange(z.shape[1], device=z.device, dtype=z.dtype)
        return (distance * penalty).min(dim=1)

    def __call__(self, z: torch.Tensor, z_goal: torch.Tensor) -> torch.Tensor:
        return self.depths(z, z_goal)[0]


class HierarchicalPlanner(Planner):
    """`low` acts; `high[0]` gives it subgoals, `high[1]` gives `high[0]` subgoals, and so on.
    `env_steps[i]`: environment steps one step of `high[i]` spans (for its warm-start shift)."""

    def __init__(self, low: Planner, high: Sequence[Planner], env_steps: Sequence[int], cfg: HierarchyConfig):
        super().__init__(low.model, low.cfg, low.guardrails, low.cost)
        if len(high) != len(env_steps) or not high:
            raise ValueError("one env_steps entry per high level, and at least one high level")
        self.low, self.high, self.env_steps, self.hierarchy = low, list(high), list(env_steps), cfg
        self.approach = EarliestApproachCost(cfg.depth_weight)
        self.elapsed = [0] * len(self.high)  # environment steps since each high level last shifted
        self.kept: list[dict | None] = [None] * len(self.high)  # per level: its goal, what it handed down, age
        self.info: dict = {}  # about the last plan: the subgoal each level handed down, or None for the goal

    @property
    def uses_labels(self) -> bool:
        return self.low.uses_labels or any(p.uses_labels for p in self.high)

    def reset(self) -> None:
        super().reset()
        for planner in (self.low, *self.high):
            planner.reset()
        self.elapsed = [0] * len(self.high)
        self.kept = [None] * len(self.high)
        self.info = {}

    def reseed(self, episode: int) -> None:
        for planner in (self.low, *self.high):
            planner.reseed(episode)

    def shift(self, steps: int = 1) -> None:
        """`steps` low-level decision steps were executed: shift the low plan by them, and each
        high plan by the whole high-level steps that have now gone by."""
        self.low.shift(steps)
        for i, planner in enumerate(self.high):
            self.elapsed[i] += steps * self.low.cfg.action_repeat
            if self.kept[i] is not None:
                self.kept[i]["age"] += steps * self.low.cfg.action_repeat
            if self.elapsed[i] >= self.env_steps[i]:
                planner.shift(self.elapsed[i] // self.env_steps[i])
                self.elapsed[i] %= self.env_steps[i]

    def subgoal(self, planner: Planner, z0: torch.Tensor, goal: torch.Tensor) -> tuple[torch.Tensor, bool]:
        """One high level's plan toward `goal`: (the goal it hands down, whether that is a subgoal)."""
        plan = planner.plan(z0, goal)
        if not plan.safe:
            return goal, False  # no code sequence kept off the guardrails: the level below decides alone
        step = self.hierarchy.subgoal_step
        _, depth = self.approach.depths(plan.imagined[None], goal)
        closest = float((plan.imagined - goal).norm(dim=-1).min())
        if int(depth[0]) < step or closest >= float((z0 - goal).norm()):
            return goal, False  # the goal is within reach, or the plan gets no closer than the agent is now
        return plan.imagined[step - 1], True

    def keeps(self, i: int, z0: torch.Tensor, goal: torch.Tensor) -> bool:
        """Whether level i may keep the subgoal it handed down last time (see HierarchyConfig)."""
        kept = self.kept[i]
        if kept is None or not torch.equal(kept["goal"], goal) or kept["age"] >= self.hierarchy.commit * self.env_steps[i]:
            return False
        return float((z0 - kept["handed"]).norm()) > self.hierarchy.reached * kept["distance"]

    def plan(self, z0: torch.Tensor, z_goal: torch.Tensor) -> Plan:
        goal, handed = z_goal, []
        for i in reversed(range(len(self.high))):
            if self.keeps(i, z0, goal):
                goal, is_subgoal = self.kept[i]["handed"], self.kept[i]["is_subgoal"]
            else:
                above, (goal, is_subgoal) = goal, self.subgoal(self.high[i], z0, goal)
                self.kept[i] = {"goal": above, "handed": goal, "is_subgoal": is_subgoal, "age": 0,
                                "distance": float((z0 - goal).norm())}
            handed.append(goal if is_subgoal else None)
        plan = self.low.plan(z0, goal)
        self.info = {"subgoals": handed[::-1], "subgoal": handed[-1]}  # level 1 first; the low level's goal
        return plan


def high_level_planner(model, cfg: PlannerConfig, guardrails, depth_weight: float) -> Planner:
    """A sampler (or gradient descent, or both) over one high level's codes, judged by the
    earliest approach to its goal."""
    from .gradient import GradientPlanner, HybridPlanner
    from .sampling import CEMPlanner, MPPIPlanner

    cost, samplers = EarliestApproachCost(depth_weight), {"cem": CEMPlanner, "mppi": MPPIPlanner}
    if cfg.name == "gradient":
        return GradientPlanner(model, cfg, guardrails, cost)
    sampler = samplers[cfg.name.removesuffix("+grad")](model, cfg, guardrails, cost)
    return HybridPlanner(sampler) if cfg.name.endswith("+grad") else sampler


@torch.no_grad()
def macro_moves(model, lower_moves: torch.Tensor, bound: float | None = 1.0) -> torch.Tensor:
    """The discrete moves of a high level for breadth-first search: each move of the level below
    (M, A) held for one step of this level, encoded by its macro encoder (M, code_dim) and
    clipped to [-bound, bound] per code dimension, the box of the data's support at 1 (the
    planner's `max_action`; None leaves the codes where the encoder put them). Held moves are
    the kind of chunk the data's random walks are made of."""
    held = lower_moves[:, None].expand(-1, model.env_steps, -1).to(model.center)
    codes = model.encode_macro(held)
    return codes if bound is None else codes.clamp(-bound, bound)


def level_bound(model, max_uncertainty: float, level: int) -> list:
    """[DisagreementBound] for an ensemble high level when `max_uncertainty` > 0, else []."""
    from ..cost.guardrails import DisagreementBound

    if max_uncertainty <= 0:
        return []
    limits = getattr(model, "disagreement_limits", None)
    if getattr(model, "members", 1) < 2 or not limits:
        raise ConfigValueError("max_uncertainty", f"level {level} is one predictor with nothing to disagree with: "
                               "train it as an ensemble (hjepa train-high RUN --set model.members=5)")
    return [DisagreementBound(limits, max_uncertainty)]


def make_hierarchical(low: Planner, levels: Sequence, cfg: HierarchyConfig, guardrails=(), memory=None) -> HierarchicalPlanner:
    """A two-level (or deeper) planner: `low` the flat planner, `levels` the run's high-level
    models, level 1 first. Every level gets a planner from `cfg.planner`, with the guardrails
    that judge latents alone (not those reading primitive actions, nor the disagreement of the
    low level's ensemble: a high level is one model of its own). With `bfs`, level 1 searches
    the held primitive moves `cfg.planner.directions x step_sizes` (2-D displacements), level 2
    the held level-1 moves, and so on. `memory` (the agent's ShortTermMemory) is read by level
    1's episodic correction when `cfg.correction_radius` > 0."""
    from ..world_model.correction import MacroCorrection
    from .latent_search import LatentBFSPlanner
    from .search import action_set

    on_latents = [g for g in guardrails if not getattr(g, "reads_actions", False) and not getattr(g, "reads_spread", False)]
    high, env_steps, span = [], [], getattr(low.model, "frameskip", 1)
    if cfg.planner.name == "bfs" and low.model.cfg.action_dim != 2:
        raise ConfigValueError("planner.name", f"bfs holds headings of a 2-D displacement; this model's actions have "
                               f"{low.model.cfg.action_dim} dimensions: use cem, mppi or gradient")
    if cfg.correction_radius > 0 and memory is None:
        raise ConfigValueError("correction_radius", "the high level's episodic correction reads the agent's short-term "
                               "memory: pass memory= to make_hierarchical (Agent.load does)")
    moves = action_set(cfg.planner.directions, cfg.planner.step_sizes)
    for i, model in enumerate(levels):
        bounds = on_latents + level_bound(model, cfg.max_uncertainty, i + 1)
        if i == 0 and cfg.correction_radius > 0:  # level 1's steps are windows of primitive actions in memory
            model = MacroCorrection(model, memory, cfg.correction_radius, cfg.correction_code_radius, low.model)
        if cfg.planner.name == "bfs":
            moves = macro_moves(model, moves, cfg.planner.max_action)
            high.append(LatentBFSPlanner(model, cfg.planner, moves, moves, low.model, bounds))
        else:
            high.append(high_level_planner(model, cfg.planner, bounds, cfg.depth_weight))
        span = model.high_cfg.span * span  # environment steps of one step of this level
        env_steps.append(span)
    return HierarchicalPlanner(low, high, env_steps, cfg)


__all__ = ["EarliestApproachCost", "HierarchicalPlanner", "HierarchyConfig", "high_level_planner", "high_planner_defaults",
           "level_bound", "macro_moves", "make_hierarchical"]
