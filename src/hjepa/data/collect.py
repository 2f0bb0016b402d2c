"""Reward-free random-walk collection in Two-Rooms (the PLDM / eb_jepa recipe).

Each trajectory keeps one heading; every step turns it by von Mises noise and moves a length
drawn from N(1.0, 0.4) clipped to [0.2, 1.8]. `speed_share` of that variance can be drawn once
per trajectory instead of per step (same distribution of single steps, but some trajectories
run consistently fast): then the data also holds the long multi-step pushes into walls that
a planner holding one action for several steps asks the model about. `hold_steps` > 1 draws
the turn and the length once per run of that many steps (again the same single-step
distribution): the data then holds the constant actions a planner sends when it holds each
decision for `action_repeat` steps, and their longer pushes. A share of trajectories
(`door_fraction`) starts aimed at the door, so that about a third of them pass from one room
to the other.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from ..config import ConfigError
from ..envs.two_rooms import BatchedTwoRooms, Layout, room_of
from .dataset import TrajectoryDataset


@dataclass
class CollectConfig:
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
    door_fraction: float = 0.4  # share of trajectories whose heading aims at the door
    fixed_layout: tuple[int, int] | None = None
    chunk: int = 500  # trajectories generated at once (memory bound)

    def __post_init__(self):
        if self.num_trajectories < 1 or self.length < 1:
            raise ConfigError("num_trajectories and length must be positive")
        if not 0.0 <= self.speed_share <= 1.0:
            raise ConfigError(f"speed_share must be in [0, 1], got {self.speed_share}")
        if self.hold_steps < 1:
            raise ConfigError(f"hold_steps must be >= 1, got {self.hold_steps}")


def _random_walk_actions(rng: np.random.Generator, heading: np.ndarray, cfg: CollectConfig) -> np.ndarray:
    """(B, T, 2) displacements around a per-trajectory heading, each draw held `hold_steps` steps."""
    b, draws = len(heading), -(-cfg.length // cfg.hold_steps)
    angle = heading[:, None] + rng.vonmises(0.0, cfg.heading_concentration, size=(b, draws))
    step = rng.normal(cfg.step_mean, cfg.step_std * np.sqrt(1 - cfg.speed_share), size=(b, draws))
    if cfg.speed_share > 0:
        step = step + rng.normal(0.0, cfg.step_std * np.sqrt(cfg.speed_share), size=(b, 1))
    step = np.clip(step, cfg.step_min, cfg.step_max)
    actions = np.stack([step * np.cos(angle), step * np.sin(angle)], axis=-1).astype(np.float32)
    return np.repeat(actions, cfg.hold_steps, axis=1)[:, : cfg.length]


def collect_random_walks(cfg: CollectConfig, progress: bool = True) -> TrajectoryDataset:
    """Roll out `cfg.num_trajectories` random walks; returns the dataset (not yet saved)."""
    rng = np.random.default_rng(cfg.seed)
    layout = Layout(*cfg.fixed_layout) if cfg.fixed_layout else None
    obs_chunks, act_chunks, state_chunks, layout_chunks = [], [], [], []
    bar = tqdm(total=cfg.num_trajectories, desc="collect", unit="traj", disable=not progress)
    remaining = cfg.num_trajectories
    while remaining > 0:
        n = min(cfg.chunk, remaining)
        env = BatchedTwoRooms(n, seed=int(rng.integers(2**31)), fixed_layout=layout)
        first = env.reset()
        heading = rng.uniform(-np.pi, np.pi, size=n)
        to_door = np.stack([env.wall_x, env.door_y], axis=1) - env.pos
        aim = rng.random(n) < cfg.door_fraction
        heading = np.where(aim, np.arctan2(to_door[:, 1], to_door[:, 0]), heading)
        actions = _random_walk_actions(rng, heading, cfg)
        obs = np.empty((n, cfg.length + 1) + first.shape[1:], np.uint8)
        states = np.empty((n, cfg.length + 1, 2), np.float32)
        obs[:, 0], states[:, 0] = np.round(first * 255), env.pos
        for t in range(cfg.length):
            obs[:, t + 1] = np.round(env.step(actions[:, t]) * 255)
            states[:, t + 1] = env.pos
        obs_chunks.append(obs)
        act_chunks.append(actions)
        state_chunks.append(states)
        layout_chunks.append(np.stack([env.wall_x, env.door_y], axis=1))
        remaining -= n
        bar.update(n)
    bar.close()
    layouts = np.concatenate(layout_chunks)
    states = np.concatenate(state_chunks)
    rooms = room_of(states, layouts[:, None, 0])
    crossed = float((rooms != rooms[:, :1]).any(axis=1).mean())
    meta = {"env": "TwoRooms", "collector": "random_walk", "seed": cfg.seed, "door_crossing_fraction": crossed,
            "collect_config": {k: v for k, v in vars(cfg).items()}}
    return TrajectoryDataset(np.concatenate(obs_chunks), np.concatenate(act_chunks), states, layouts, meta)
