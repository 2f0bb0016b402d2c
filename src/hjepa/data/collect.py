"""Reward-free exploration policies: the action sequences collection drives a world with.

Two families, both batched (B trajectories at once) and seeded:

- `random_walk_actions`: for worlds whose action is a 2-D displacement (Two-Rooms, Rooms), the
  PLDM / eb_jepa recipe. Each trajectory keeps one heading; every step turns it by von Mises
  noise and moves a length drawn from N(1.0, 0.4) clipped to [0.2, 1.8]. `speed_share` of that
  variance can be drawn once per trajectory instead of per step (same distribution of single
  steps, but some trajectories run consistently fast): then the data also holds the long
  multi-step pushes into walls that a planner holding one action for several steps asks the
  model about. `hold_steps` > 1 draws the turn and the length once per run of that many steps.
- `smooth_noise_actions`: for any Box action space (a Gymnasium env through the adapter).
  Gaussian noise low-pass filtered with a per-trajectory smoothing and scale, each draw held
  `action_repeat` steps, clipped to the box: slow sweeps and quick jitters both appear, so the
  data covers more of the state space than white noise, which mostly cancels out.

Which world uses which, and how the actions are played, is the world's business (`envs/`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..config import Checked, ConfigValueError


@dataclass
class RandomWalkConfig(Checked):
    POSITIVE = ("num_trajectories", "length", "step_max", "hold_steps", "chunk")
    NONNEGATIVE = ("seed", "heading_concentration", "step_mean", "step_std", "step_min")
    FRACTION = ("speed_share", "door_fraction")
    num_trajectories: int = 2000
    length: int = 64  # actions per trajectory
    seed: int = 0
    heading_concentration: float = 4.0  # von Mises kappa of the per-step turn
    step_mean: float = 1.0
    step_std: float = 0.4
    step_min: float = 0.2
    step_max: float = 1.8
    speed_share: float = 0.0  # share of the step-length variance drawn per trajectory (0: every step independent)
    hold_steps: int = 1  # consecutive steps that share one draw of turn and length (1: every step its own)
    door_fraction: float = 0.4  # share of trajectories whose heading aims at a door
    chunk: int = 500  # trajectories generated at once (memory bound)

    def check(self) -> None:
        if self.step_min > self.step_max:
            raise ConfigValueError("step_min", f"must be at most step_max={self.step_max}, got {self.step_min}")


def random_walk_actions(rng: np.random.Generator, heading: np.ndarray, cfg: RandomWalkConfig) -> np.ndarray:
    """(B, T, 2) displacements around a per-trajectory heading, each draw held `hold_steps` steps."""
    b, draws = len(heading), -(-cfg.length // cfg.hold_steps)
    angle = heading[:, None] + rng.vonmises(0.0, cfg.heading_concentration, size=(b, draws))
    step = rng.normal(cfg.step_mean, cfg.step_std * np.sqrt(1 - cfg.speed_share), size=(b, draws))
    if cfg.speed_share > 0:
        step = step + rng.normal(0.0, cfg.step_std * np.sqrt(cfg.speed_share), size=(b, 1))
    step = np.clip(step, cfg.step_min, cfg.step_max)
    actions = np.stack([step * np.cos(angle), step * np.sin(angle)], axis=-1).astype(np.float32)
    return np.repeat(actions, cfg.hold_steps, axis=1)[:, : cfg.length]


@dataclass
class SmoothNoiseConfig(Checked):
    POSITIVE = ("num_trajectories", "length", "scale", "action_repeat")
    NONNEGATIVE = ("seed",)
    ORDERED = ("smoothing", "scale")
    num_trajectories: int = 500
    length: int = 64  # actions per trajectory
    seed: int = 0
    smoothing: tuple[float, float] = (0.0, 0.9)  # per-trajectory low-pass coefficient, uniform in this range
    scale: tuple[float, float] = (0.3, 1.0)  # per-trajectory noise scale, in half-widths of the action box
    action_repeat: int = 1  # steps each draw is held

    def check(self) -> None:
        if not 0.0 <= self.smoothing[0] <= self.smoothing[1] < 1.0:
            raise ConfigValueError("smoothing", f"must be a range within [0, 1), got {list(self.smoothing)}")


def smooth_noise_actions(rng: np.random.Generator, low: np.ndarray, high: np.ndarray, cfg: SmoothNoiseConfig) -> np.ndarray:
    """(N, T, A) actions inside the box [low, high]: smoothed Gaussian noise around its centre."""
    n, draws = cfg.num_trajectories, -(-cfg.length // cfg.action_repeat)
    low, high = np.asarray(low, np.float32), np.asarray(high, np.float32)
    centre, half = (low + high) / 2, (high - low) / 2
    beta = rng.uniform(*cfg.smoothing, size=(n, 1))
    scale = rng.uniform(*cfg.scale, size=(n, 1, 1))
    noise = rng.normal(size=(n, draws, len(low)))
    x = np.empty_like(noise)
    x[:, 0] = noise[:, 0]
    for t in range(1, draws):  # AR(1) with unit stationary variance: x_t = beta x_{t-1} + sqrt(1 - beta^2) eps_t
        x[:, t] = beta * x[:, t - 1] + np.sqrt(1 - beta**2) * noise[:, t]
    actions = np.clip(centre + half * scale * x, low, high).astype(np.float32)
    return np.repeat(actions, cfg.action_repeat, axis=1)[:, : cfg.length]
