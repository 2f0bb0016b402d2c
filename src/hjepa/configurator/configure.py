"""Configurator: world -> configured modules (world model from a run, planner, cost).

The world (`hjepa.envs.make_world`) holds its tuned planner and training defaults; the
configurator combines them with the planner's own adjustments and the user's overrides, and
says which world a run was trained on.
"""
from __future__ import annotations

import json
from pathlib import Path

from ..actor import PlannerConfig
from ..config import ConfigError, from_dict
from ..envs import make_world
from ..train.checkpoint import CheckpointError, load_trained_model, load_weights
from ..train.trainer import RunConfig
from ..utils import pick_device
from ..world_model import JEPAWorldModel

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


def planner_for(world: str = "two_rooms", **overrides) -> PlannerConfig:
    """The world's tuned planner config; `name=` picks another planner (with its adjustments), other keys override."""
    base = json.loads(json.dumps(make_world(world).planner().__dict__))
    base.update(PLANNER_ADJUSTMENTS.get(overrides.get("name", base["name"]), {}))
    base.update(overrides)
    return from_dict(PlannerConfig, base)


def world_of_run(run_dir: str | Path) -> str:
    """The world a run was trained on: its config's `world`, else its dataset's, else Two-Rooms."""
    cfg = load_run_config(run_dir)
    if cfg.world:
        return cfg.world
    meta = Path(cfg.data) / "meta.json"
    try:
        return json.loads(meta.read_text()).get("world", "two_rooms") if meta.is_file() else "two_rooms"
    except json.JSONDecodeError:
        return "two_rooms"


def train_config_for(data: str, overrides: list[str], base: RunConfig | None = None) -> RunConfig:
    """A run config for a dataset: the world's tuned training defaults, then the dataset's
    shapes (channels, image size, action dimension), then the user's overrides."""
    from ..config import apply_overrides, overridden_dict
    from ..data.dataset import TrajectoryDataset

    overridden_dict(base or RunConfig(), list(overrides))  # a mistyped key is the first error, before any data
    dataset = TrajectoryDataset.load(data, verify_checksums=False, in_memory=False)  # checked: one-line errors
    world = dataset.world
    c, h, w = dataset.obs_shape
    if h != w:
        raise ConfigError(f"{data}: frames are {h}x{w}; the encoders read square images (resize them on import/collection)")
    action_dim = dataset.action_dim
    try:
        world_defaults = list(make_world(world).train_overrides)
    except ConfigError:  # data from a world this install does not know (an imported dataset): no tuned defaults
        world_defaults = []
    shapes = [f"world={world}", f"data={data}", f"model.encoder.in_channels={c}", f"model.encoder.image_size={h}",
              f"model.action_dim={action_dim}"]
    return apply_overrides(base or RunConfig(), world_defaults + shapes + list(overrides))


def load_probe(run_dir: str | Path):
    """The run's linear position probe (written by `hjepa eval`), or None."""
    from ..eval.probes import LinearProbe

    path = Path(run_dir) / "probe.safetensors"
    return LinearProbe(load_weights(path)["weight"]) if path.is_file() else None


__all__ = ["load_run_config", "load_world_model", "planner_for", "load_probe", "train_config_for", "world_of_run"]
