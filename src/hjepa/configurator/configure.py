"""Configurator: task -> configured modules (world model from a run, planner, cost)."""
from __future__ import annotations

import json
from pathlib import Path

import torch

from ..actor import PlannerConfig
from ..config import ConfigError, from_dict
from ..train.checkpoint import CheckpointError, load_trained_model, load_weights
from ..train.trainer import RunConfig
from ..utils import pick_device
from ..world_model import JEPAWorldModel

# Planner defaults per task: what the benchmarks were measured with.
TASK_PLANNERS = {
    # CEM judged mostly on where the plan ends (so it may detour through the door), with 10% of
    # the cost spread over every step as a tie-breaker so that arriving earlier is better (with
    # the last state alone, arrival is put off at every replan: 0.8 on same-room tasks vs 1.0);
    # half the samples from the straight-segment path prior, steps no longer than the data's
    # (1.8), then 5 gradient steps through the model on CEM's plan (cem+grad). Plans ending where
    # the agent has been pay 2 per remembered state within 6 px (revisit cost): pressed against
    # the wall far from the door, the agent slides along it instead of staying (40 tasks on one
    # model: 35 vs 29 successes; exact model: 58 vs 54 of 60; benchmarks/RESULTS.md). Predictions
    # add the residuals seen this episode within 2 px and 1 action unit (episodic correction):
    # the planner stops trusting a leak beside the door once the agent has hit the wall there.
    "two_rooms": PlannerConfig(name="cem+grad", horizon=12, final_share=0.9, explore_fraction=0.5, max_action_norm=1.8,
                               revisit_weight=2.0, revisit_radius=6.0, correction_radius=2.0, correction_action_radius=1.0),
}
# Per-planner adjustments on top of the task's settings: gradient descent costs a backward pass
# per iteration, so it optimizes fewer sequences for more iterations.
PLANNER_ADJUSTMENTS = {
    "gradient": {"num_samples": 32, "iterations": 20, "warm_iterations": 6, "lr": 0.3},
}


def load_run_config(run_dir: str | Path) -> RunConfig:
    path = Path(run_dir) / "config.json"
    if not path.is_file():
        raise CheckpointError(f"{run_dir} is not a run directory: config.json is missing")
    try:
        return from_dict(RunConfig, json.loads(path.read_text()))
    except (json.JSONDecodeError, ConfigError) as err:
        raise CheckpointError(f"{path} is not a valid run config: {err}") from None


def load_world_model(run_dir: str | Path, device: str = "auto") -> JEPAWorldModel:
    """The trained world model of a run, in eval mode on the chosen device."""
    cfg = load_run_config(run_dir)
    model = load_trained_model(JEPAWorldModel(cfg.model), run_dir)
    return model.to(pick_device(device)).eval()


def planner_for(task: str, **overrides) -> PlannerConfig:
    """The task's tuned planner config; `name=` picks another planner (with its adjustments), other keys override."""
    if task not in TASK_PLANNERS:
        raise ConfigError(f"unknown task {task!r}; known: {sorted(TASK_PLANNERS)}")
    base = json.loads(json.dumps(TASK_PLANNERS[task].__dict__))
    base.update(PLANNER_ADJUSTMENTS.get(overrides.get("name", base["name"]), {}))
    base.update(overrides)
    return from_dict(PlannerConfig, base)


def load_probe(run_dir: str | Path):
    """The run's linear position probe (written by `hjepa eval`), or None."""
    from ..eval.probes import LinearProbe

    path = Path(run_dir) / "probe.safetensors"
    return LinearProbe(load_weights(path)["weight"]) if path.is_file() else None


__all__ = ["load_run_config", "load_world_model", "planner_for", "load_probe"]
