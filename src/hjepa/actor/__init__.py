"""Actor: planners that find the action sequence minimizing the cost through the world model.

    planner = make_planner(model, PlannerConfig(name="cem"), guardrails=[...])
    plan = planner.plan(z0, z_goal)   # Plan: actions, cost, iterations used, imagined latents, safe
"""
from __future__ import annotations

from typing import Sequence

from ..config import ConfigError
from ..cost.critic import TerminalValueCost
from ..cost.guardrails import ForbiddenRegion, Guardrail
from ..cost.intrinsic import RevisitCost
from ..cost.objectives import DetourCost, GoalDistanceCost
from ..world_model.correction import EpisodicCorrection
from .base import PLANNER_NAMES, Plan, Planner, PlannerConfig, bound_actions, project_to_ball
from .gradient import GradientPlanner, HybridPlanner
from .hierarchical import HierarchicalPlanner, HierarchyConfig, make_hierarchical
from .sampling import CEMPlanner, MPPIPlanner, SamplingPlanner
from .search import AStarPlanner, astar
from .latent_search import LatentBFSPlanner, held_moves
from .wavefront import WavefrontPlanner

SAMPLERS = {"mppi": MPPIPlanner, "cem": CEMPlanner}


def make_planner(model, cfg: PlannerConfig, guardrails: Sequence[Guardrail] = (), value=None, memory=None,
                 readout=None) -> Planner:
    """The planner `cfg.name` names, checked against the model's predictor step. `value` is a
    fitted cost-to-go V(z, g), needed by `terminal_value=True` and by A* with heuristic "value".
    `readout` maps latents to a low-dimensional state (the run's position probe), needed by the
    wavefront search, whose cells it defines.
    `memory` (the agent's ShortTermMemory) is read by the revisit cost when `revisit_weight` > 0,
    by the detour cost around each ForbiddenRegion guardrail when `detour_weight` > 0, and by
    the episodic correction of the model's predictions when `correction_radius` > 0.
    A config that cannot work raises ConfigError (a ValueError), which the CLI prints in one line."""
    if cfg.name not in PLANNER_NAMES:
        raise ConfigError(f"unknown planner {cfg.name!r}; choose one of {list(PLANNER_NAMES)}")
    frameskip = getattr(model, "frameskip", 1)
    if (cfg.horizon * cfg.action_repeat) % frameskip:
        raise ConfigError(f"a plan of horizon {cfg.horizon} x action_repeat {cfg.action_repeat} environment steps "
                         f"does not split into the model's predictor steps of {frameskip}")
    if not 0.0 <= cfg.final_share <= 1.0:
        raise ConfigError(f"final_share is a share of the plan's cost: choose it in [0, 1], got {cfg.final_share}")
    needs_value = cfg.terminal_value or (cfg.name == "astar" and cfg.heuristic == "value")
    if needs_value and value is None:
        raise ConfigError("this planner needs the run's learned cost-to-go: fit it first with `hjepa fit-value RUN`")
    if cfg.correction_radius < 0:
        raise ConfigError(f"correction_radius must be >= 0 (0: off), got {cfg.correction_radius}")
    if cfg.correction_radius > 0:
        if memory is None:
            raise ConfigError("correction_radius > 0 needs the agent's short-term memory: pass memory= to make_planner")
        if cfg.correction_action_radius <= 0:
            raise ConfigError(f"correction_action_radius must be positive, got {cfg.correction_action_radius}")
        model = EpisodicCorrection(model, memory, cfg.correction_radius, cfg.correction_action_radius,
                                    cfg.correction_confidence)
    if cfg.name in ("astar", "wavefront", "bfs") and model.cfg.action_dim != 2:
        raise ConfigError(f"{cfg.name} searches over headings of a 2-D displacement; this model's actions have "
                          f"{model.cfg.action_dim} dimensions: use cem, mppi, gradient or a hybrid")
    if cfg.name in ("astar", "wavefront", "bfs") and cfg.action_repeat != frameskip:
        raise ConfigError(f"{cfg.name} takes one predictor step per edge: set action_repeat={frameskip}")
    if cfg.name == "wavefront":
        if readout is None:
            raise ConfigError("the wavefront search needs the run's position probe (RUN/probe.safetensors): "
                              "`hjepa eval RUN` fits it, unless --skip-probes")
        if cfg.cell_size <= 0 or cfg.goal_tolerance < 0 or cfg.max_waves < 1:
            raise ConfigError(f"wavefront needs cell_size > 0, goal_tolerance >= 0 and max_waves >= 1, "
                              f"got {cfg.cell_size}, {cfg.goal_tolerance} and {cfg.max_waves}")
        return WavefrontPlanner(model, cfg, readout, guardrails)
    if cfg.name == "bfs":
        if cfg.cell_size <= 0 or cfg.goal_tolerance < 0 or cfg.max_waves < 1:
            raise ConfigError(f"bfs needs cell_size > 0, goal_tolerance >= 0 and max_waves >= 1, "
                              f"got {cfg.cell_size}, {cfg.goal_tolerance} and {cfg.max_waves}")
        return LatentBFSPlanner(model, cfg, *held_moves(cfg, frameskip), model, guardrails)
    if cfg.name == "astar":
        if cfg.heuristic not in ("value", "zero"):
            raise ConfigError(f"unknown heuristic {cfg.heuristic!r}; choose value or zero")
        return AStarPlanner(model, cfg, guardrails, value if cfg.heuristic == "value" else None)
    steps = cfg.horizon * cfg.action_repeat // frameskip  # predicted states per plan
    cost = TerminalValueCost(value) if cfg.terminal_value else GoalDistanceCost.blend(steps, cfg.final_share)
    regions = [g for g in guardrails if isinstance(g, ForbiddenRegion)]
    if cfg.detour_weight < 0 or cfg.detour_clearance < 0:
        raise ConfigError(f"detour_weight and detour_clearance must be >= 0 (weight 0: off), "
                          f"got {cfg.detour_weight} and {cfg.detour_clearance}")
    if cfg.detour_weight > 0 and regions and not cfg.terminal_value:
        if memory is None:
            raise ConfigError("a forbidden-region guardrail with detour_weight > 0 needs the agent's short-term memory: "
                              "pass memory= to make_planner (or set detour_weight=0)")
        for region in regions:
            cost = DetourCost(cost, region, memory, model, cfg.detour_weight, cfg.detour_clearance)
    if cfg.revisit_weight > 0:
        if memory is None:
            raise ConfigError("revisit_weight > 0 needs the agent's short-term memory: pass memory= to make_planner")
        if cfg.revisit_radius <= 0:
            raise ConfigError(f"revisit_radius must be positive, got {cfg.revisit_radius}")
        cost = RevisitCost(cost, memory, model, cfg.revisit_weight, cfg.revisit_radius)
    if cfg.name == "gradient":
        return GradientPlanner(model, cfg, guardrails, cost)
    if cfg.name.endswith("+grad"):
        return HybridPlanner(SAMPLERS[cfg.name.removesuffix("+grad")](model, cfg, guardrails, cost))
    return SAMPLERS[cfg.name](model, cfg, guardrails, cost)


__all__ = ["AStarPlanner", "astar", "CEMPlanner", "GradientPlanner", "HierarchicalPlanner", "HierarchyConfig", "HybridPlanner", "LatentBFSPlanner",
           "make_hierarchical", "MPPIPlanner", "Plan", "Planner", "PlannerConfig",
           "SamplingPlanner", "WavefrontPlanner", "make_planner", "bound_actions", "project_to_ball", "PLANNER_NAMES"]
