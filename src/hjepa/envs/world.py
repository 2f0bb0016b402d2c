"""The world interface: what hjepa needs to know about an environment, and the registry of worlds.

A world is a small object that says
- what the agent sees: `obs_shape` (C, H, W), float32 images in [0, 1];
- what it can do: a Box of `action_dim` actions, `action_low` .. `action_high` per coordinate
  (and, for displacement worlds, `max_action_norm`);
- how evaluation tasks are drawn: `make_env()` returns a Gymnasium *task env* whose
  `reset(seed=...)` puts the agent at a start and shows it a goal image;
- when a task is solved: `success(state, goal_state)` on the true state (not the pixels);
- how reward-free training data are collected: `collect(...)`;
- its tuned defaults: `train_overrides` (e.g. `model.frameskip=4`) and `planner` (a PlannerConfig).

The task env's contract (every world's `make_env` returns one):

    obs, info = env.reset(seed=s)          # obs: float32 (C, H, W) in [0, 1]
    info["goal_obs"]                       # float32 (C, H, W): the goal image
    info["state"], info["goal_state"]      # optional: true state vectors (S,), for metrics only
    obs, r, terminated, truncated, info = env.step(action)
    info["success"]                        # the world's success rule on the true state
    info["distance"]                       # optional: how far from the goal, in the world's units

Worlds are looked up by name or Gymnasium id (`make_world("rooms")`, `make_world("Pendulum-v1")`):
a registered name gives that world; any other registered Gymnasium id gives the generic
adapter (`envs.gym_adapter.GymWorld`). Only `envs/` and `configurator/` read a world; every
other module works on tensors of whatever shape the world declares.
"""
from __future__ import annotations

from typing import Callable

import gymnasium as gym
import numpy as np


class World:
    """Base class of every world. Subclasses set the attributes and implement the methods."""

    name: str = "world"
    gym_id: str | None = None
    obs_shape: tuple[int, int, int] = (3, 64, 64)
    action_dim: int = 1
    max_action_norm: float | None = None  # displacement worlds: the longest allowed action
    episode_steps: int = 200  # the world protocol's step budget per task
    train_overrides: tuple[str, ...] = ()  # tuned training defaults, as `section.key=value`
    bands: tuple[str, ...] = ()  # names of task bands, when the world's tasks come in bands (Rooms: doors crossed)

    @property
    def action_low(self) -> np.ndarray:
        return np.full(self.action_dim, -np.inf, np.float32)

    @property
    def action_high(self) -> np.ndarray:
        return np.full(self.action_dim, np.inf, np.float32)

    def make_env(self, budget: int | None = None) -> gym.Env:
        """A task env (see the module docstring): each reset draws a start and a goal image;
        `budget` steps per task (default `episode_steps`)."""
        raise NotImplementedError

    def success(self, state: np.ndarray, goal_state: np.ndarray) -> np.ndarray:
        """The world's success rule on (..., S) true states: (...) bool."""
        raise NotImplementedError

    def collect(self, num_trajectories: int, length: int, seed: int = 0, overrides: list[str] | None = None,
                progress: bool = True):
        """Reward-free trajectories (a `data.TrajectoryDataset`, not yet saved); `overrides` set the
        world's collection config, `key=value` each."""
        raise NotImplementedError

    def planner(self):
        """The planner config tuned for this world (`actor.PlannerConfig`)."""
        from ..actor import PlannerConfig

        return PlannerConfig(name="cem+grad", horizon=12, final_share=0.9)

    def replay_env(self, **kwargs) -> gym.Env:
        """An env for the dataset protocol, whose `reset(seed=..., options={"state": s})` puts the
        agent at a recorded state where the world can (then `supports_state_reset` is True)."""
        return self.make_env(**kwargs)

    supports_state_reset: bool = False

    def band_of(self, info: dict) -> str | None:
        """The band of the task an env's reset drew (its info), for worlds with bands."""
        return None

    def distance(self, state: np.ndarray, goal_state: np.ndarray) -> float:
        """How far a state is from the goal, in the world's units (reported, never planned on)."""
        return float(np.linalg.norm(np.asarray(state) - np.asarray(goal_state)))

    probe_names: tuple[str, ...] | None = None  # names of `probe_targets`' columns (None: state_0, state_1, ...)

    def probe_targets(self, states: np.ndarray) -> np.ndarray:
        """(..., K) what a linear probe reads from a latent, from (..., S) true states (default:
        the state itself). The first two columns, when positions in image px, draw GIFs' plans."""
        return np.asarray(states, np.float32)

    def goal_pos(self, goal_state: np.ndarray) -> np.ndarray:
        """The goal's (x, y) in image px, drawn in GIFs (default: the state is that position)."""
        return np.asarray(goal_state, np.float32)

    def task_band(self, start_state: np.ndarray, goal_state: np.ndarray) -> str | None:
        """A band for a task given by its start and goal states (e.g. Push-T: whether the block
        must move), for worlds whose task envs do not draw bands themselves; None: no band."""
        return None

    def episode_metrics(self, state: np.ndarray, goal_state: np.ndarray) -> dict[str, float]:
        """Further numbers on how close a state is to the goal, averaged over a run's episodes at
        their last step (`final_metrics`), e.g. another success rule; none by default."""
        return {}

    def goal_outline(self, goal_state: np.ndarray) -> np.ndarray | None:
        """(N, 2) a polygon in image px drawn in GIFs for the goal (e.g. an object's goal pose), or None."""
        return None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, obs_shape={self.obs_shape}, action_dim={self.action_dim})"


class GoalTasks(gym.Env):
    """Shared by the task envs that wrap a plain env (`self.env`, whose info has "state"):
    `reset` (the subclass's) sets `_goal_state` and `_goal_obs`; each step then reports success
    by the world's rule, distance, and the goal, and the episode ends at success or `budget` steps."""

    def __init__(self, world: World, env: gym.Env, budget: int):
        if budget < 1:
            raise ValueError(f"budget must be >= 1 step, got {budget}")
        self.world, self.env, self.budget = world, env, budget
        self.observation_space, self.action_space = env.observation_space, env.action_space
        self._goal_state = self._goal_obs = None
        self._start_state = None  # set by resets that know it: then the world may band the task
        self._steps = 0

    def step(self, action):
        obs, _, terminated, truncated, info = self.env.step(action)
        self._steps += 1
        info = self._info(info)
        success = bool(info["success"])
        return obs, float(success), success or terminated, (self._steps >= self.budget or truncated) and not success, info

    def _info(self, info: dict) -> dict:
        state = np.asarray(info["state"], np.float32)
        out = {"state": state, "goal_state": self._goal_state, "goal_obs": self._goal_obs, "steps": self._steps,
               "success": bool(self.world.success(state, self._goal_state)),
               "distance": self.world.distance(state, self._goal_state)}
        if "pos" in info:  # a position in pixels: drawn in GIFs
            out["pos"], out["goal_pos"] = info["pos"], self.world.goal_pos(self._goal_state)
        metrics = self.world.episode_metrics(state, self._goal_state)
        if metrics:
            out["metrics"] = metrics
        band = None if self._start_state is None else self.world.task_band(self._start_state, self._goal_state)
        if band is not None:
            out["band"] = band
        outline = self.world.goal_outline(self._goal_state)
        if outline is not None:
            out["goal_outline"] = outline
        return out


WORLDS: dict[str, Callable[..., World]] = {}
GYM_IDS: dict[str, str] = {}  # Gymnasium id -> world name, for worlds that register one


def register_world(name: str, factory: Callable[..., World], gym_id: str | None = None) -> None:
    """Make `make_world(name)` (and `make_world(gym_id)`) build `factory(**kwargs)`."""
    WORLDS[name] = factory
    if gym_id is not None:
        GYM_IDS[gym_id] = name


def known_worlds() -> list[str]:
    return sorted(WORLDS)


def make_world(name: str, **kwargs) -> World:
    """The world registered as `name` (or under Gymnasium id `name`); any other Gymnasium id
    with image observations or rgb_array rendering gets the generic adapter."""
    from ..config import ConfigError

    name = GYM_IDS.get(name, name)
    if name in WORLDS:
        return WORLDS[name](**kwargs)
    if name in gym.registry:
        from .gym_adapter import GymWorld

        return GymWorld(name, **kwargs)
    raise ConfigError(f"unknown world {name!r}: known worlds are {known_worlds()}, or any registered Gymnasium id")
