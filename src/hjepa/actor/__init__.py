"""Actor: planners that find the action sequence minimizing the cost through the world model.

    planner = make_planner(model, PlannerConfig(name="cem"), guardrails=[...])
    plan = planner.plan(z0, z_goal)   # Plan: actions, cost, iterations used, imagined latents, safe
"""
from __future__ import annotations

from typing import Sequence

from ..cost.guardrails import Guardrail
from .base import Plan, Planner, PlannerConfig, project_to_ball
from .gradient import GradientPlanner, HybridPlanner
from .sampling import CEMPlanner, MPPIPlanner, SamplingPlanner

SAMPLERS = {"mppi": MPPIPlanner, "cem": CEMPlanner}
PLANNER_NAMES = ("mppi", "cem", "gradient", "cem+grad", "mppi+grad")


def make_planner(model, cfg: PlannerConfig, guardrails: Sequence[Guardrail] = ()) -> Planner:
    """The planner `cfg.name` names, checked against the model's predictor step."""
    if cfg.name not in PLANNER_NAMES:
        raise ValueError(f"unknown planner {cfg.name!r}; choose one of {list(PLANNER_NAMES)}")
    frameskip = getattr(model, "frameskip", 1)
    if (cfg.horizon * cfg.action_repeat) % frameskip:
        raise ValueError(f"a plan of horizon {cfg.horizon} x action_repeat {cfg.action_repeat} environment steps "
                         f"does not split into the model's predictor steps of {frameskip}")
    if cfg.name == "gradient":
        return GradientPlanner(model, cfg, guardrails)
    if cfg.name.endswith("+grad"):
        return HybridPlanner(SAMPLERS[cfg.name.removesuffix("+grad")](model, cfg, guardrails))
    return SAMPLERS[cfg.name](model, cfg, guardrails)


__all__ = ["CEMPlanner", "GradientPlanner", "HybridPlanner", "MPPIPlanner", "Plan", "Planner", "PlannerConfig",
           "SamplingPlanner", "make_planner", "project_to_ball", "PLANNER_NAMES"]
