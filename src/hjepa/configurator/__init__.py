"""Configurator: world -> configured agent (world model from a run, tuned planner, cost)."""
from .configure import load_probe, load_run_config, load_world_model, planner_for, train_config_for, world_of_run

__all__ = ["load_probe", "load_run_config", "load_world_model", "planner_for", "train_config_for", "world_of_run"]
