"""Reward-free collection with the agent itself: plan toward random goal images, keep what happens.

A random walk rarely pushes hard into a wall, but a planner that believes it can go straight
through does so again and again: those pushes are exactly the transitions its world model gets
wrong (on the 20-minute Two-Rooms model their prediction error is 4x the random-walk holdout's).
Collecting them and refitting the predictor on them (`hjepa refit-predictor --extra-data`) is
model-based RL's data aggregation, with goal images in place of rewards: nothing here reads a
reward or the success flag except to report it.

    hjepa explore RUN --out RUN/explored --minutes 3     # then: hjepa refit-predictor RUN --extra-data RUN/explored

Each episode is cut into consecutive chunks of `chunk_length` actions (the dataset format holds
trajectories of one length); the tail of an episode shorter than a chunk is dropped.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np

from ..config import Checked, ConfigError, ConfigValueError
from ..seeds import STRIDE, check_seed, task_seed
from ..progress import BudgetBar
from .dataset import TrajectoryDataset


@dataclass
class ExploreConfig(Checked):
    POSITIVE = ("episodes", "chunk_length")
    NONNEGATIVE = ("minutes", "seed")
    episodes: int = 40  # at most this many tasks
    minutes: float = 0.0  # wall-clock budget (0: no limit, all episodes)
    chunk_length: int = 32  # actions per stored trajectory
    seed: int = 0  # a block of the explore seed range (`hjepa.seeds`): never an evaluation task

    def check(self) -> None:
        check_seed(self.seed, "explore")
        if self.episodes > STRIDE:
            raise ConfigValueError("episodes", f"at most {STRIDE:,} per seed, got {self.episodes}")


def chunk_indices(num_actions: int, length: int) -> np.ndarray:
    """Frame indices (n, length + 1) of the consecutive chunks of `length` actions in an episode;
    neighbours share their boundary frame, chunk i's actions are indices[i, :-1]."""
    n = num_actions // length
    return np.arange(n)[:, None] * length + np.arange(length + 1)


def collect_with_agent(agent, cfg: ExploreConfig, env, progress: bool = True, world: str = "two_rooms") -> TrajectoryDataset:
    """Run `agent` on the tasks of a task env (`World.make_env()`); its trajectories as a dataset.
    The true state (info["state"]) and the scene parameters (info["layout"]) are stored when the
    env reports them."""
    start = time.time()
    obs_chunks, action_chunks, state_chunks, layouts = [], [], [], []
    successes, steps, episodes = 0, 0, 0
    bar = BudgetBar(cfg.episodes, cfg.minutes, desc="explore", unit="ep", disable=not progress)
    for i in range(cfg.episodes):
        if cfg.minutes > 0 and time.time() - start > cfg.minutes * 60:
            break
        obs, info = env.reset(seed=task_seed("explore", cfg.seed, i))
        goal_obs = info["goal_obs"]
        agent.reset(task_seed("explore", cfg.seed, i))
        frames, actions, states = [obs], [], [np.asarray(info.get("state", ()), np.float32)]
        done = False
        while not done:
            action = np.asarray(agent.act(obs, goal_obs), np.float32)
            obs, _, terminated, truncated, info = env.step(action)
            frames.append(obs)
            actions.append(action)
            states.append(np.asarray(info.get("state", ()), np.float32))
            done = terminated or truncated
        episodes, steps, successes = episodes + 1, steps + len(actions), successes + bool(info["success"])
        idx = chunk_indices(len(actions), cfg.chunk_length)
        if len(idx):
            obs_chunks.append(np.round(np.stack(frames)[idx] * 255).astype(np.uint8))
            action_chunks.append(np.stack(actions)[idx[:, :-1]])
            state_chunks.append(np.stack(states).astype(np.float32)[idx])
            layouts.append(np.tile(_scene(info), (len(idx), 1)))
        bar.set_postfix(chunks=sum(len(c) for c in obs_chunks), success=f"{successes / episodes:.2f}")
        bar.update()
    bar.close()
    if not obs_chunks:
        raise ConfigError(f"no episode lasted {cfg.chunk_length} steps: lower chunk_length or raise episodes/minutes")
    states = np.concatenate(state_chunks)
    scenes = np.concatenate(layouts)
    meta = {"world": world, "collector": "agent", "episodes": episodes, "steps": steps,
            "agent_success_rate": successes / episodes, "seconds": round(time.time() - start, 1),
            "explore_config": asdict(cfg)}
    return TrajectoryDataset(np.concatenate(obs_chunks), np.concatenate(action_chunks), states if states.shape[-1] else None,
                             scenes if scenes.shape[-1] else None, meta)


def _scene(info: dict) -> np.ndarray:
    """The task's scene parameters, as the env reports them (empty when it does not)."""
    return np.asarray(info.get("layout", ()), np.float32)
