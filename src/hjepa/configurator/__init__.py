"""Configurator: sets up perception, world model, cost and actor for a task."""
from .configure import load_probe, load_run_config, load_world_model, planner_for

__all__ = ["load_probe", "load_run_config", "load_world_model", "planner_for"]
