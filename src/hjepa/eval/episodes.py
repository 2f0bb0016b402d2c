"""Closed-loop evaluation: success rate, steps and time per episode on any world's task env.

A task env follows the world interface's contract (`hjepa.envs.world`): `reset(seed=s)` returns
the start observation and `info["goal_obs"]`; each step's info says `success`, and optionally
`distance`, `state`, `pos` (a position in pixels, drawn in GIFs) and `band` (set at reset).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

from ..config import ConfigError
from ..seeds import SPLITS, task_seed


@dataclass
class EpisodeRecord:
    success: bool
    steps: int
    seconds: float
    final_distance: float
    planner_iterations: list = field(default_factory=list)  # per replan
    forbidden_steps: int = 0  # executed steps that ended inside the env's forbidden region
    guardrail_stops: int = 0  # steps the agent held still because no plan satisfied the guardrails
    safe_path: bool = True  # the env says a path clear of its forbidden region exists (always, without one)
    band: str | None = None  # the task's band, for worlds whose tasks come in bands
    metrics: dict = field(default_factory=dict)  # the world's further numbers at the last step (`World.episode_metrics`)
    # per step: (obs, goal_obs, pos, goal_pos, imagined positions, subgoal positions, goal outline), each None when unknown
    frames: list = field(default_factory=list)


class RandomAgent:
    """The baseline: uniform random actions in the world's box (and within its norm bound)."""

    def __init__(self, low, high, max_norm: float | None = None, seed: int = 0):
        self.low, self.high = np.asarray(low, np.float32), np.asarray(high, np.float32)
        self.max_norm, self.seed = max_norm, seed
        self.rng = np.random.default_rng(seed)

    def reset(self, seed=None):
        self.rng = np.random.default_rng([self.seed, seed or 0])

    def act(self, obs, goal_obs):
        a = self.rng.uniform(self.low, self.high).astype(np.float32)
        if self.max_norm is not None:
            a *= min(1.0, self.max_norm / max(float(np.linalg.norm(a)), 1e-8))
        return a


def run_episode(agent, env, seed: int, record: bool = False) -> EpisodeRecord:
    """One task from `env.reset(seed=seed)`; `agent` needs `reset(seed)` and `act(obs, goal_obs)`."""
    obs, info = env.reset(seed=seed)
    goal_obs, safe_path, band = info["goal_obs"], bool(info.get("safe_path", True)), info.get("band")
    agent.reset(seed)
    frames, iterations, forbidden, stops, steps = [], [], 0, 0, 0
    start = time.perf_counter()
    done = False
    while not done:
        action = agent.act(obs, goal_obs)
        agent_info = getattr(agent, "info", {})
        if agent_info.get("replanned"):
            iterations.append(agent_info["planner_iterations"])
        stops += bool(agent_info.get("guardrail_stop"))
        if record:
            imagined = agent.imagined_positions() if hasattr(agent, "imagined_positions") else None
            subgoals = agent.subgoal_positions() if hasattr(agent, "subgoal_positions") else None
            frames.append((obs, goal_obs, info.get("pos"), info.get("goal_pos"), imagined, subgoals, info.get("goal_outline")))
        obs, _, terminated, truncated, info = env.step(action)
        steps += 1
        forbidden += bool(info.get("in_forbidden"))
        done = terminated or truncated
    seconds = time.perf_counter() - start
    if record:
        frames.append((obs, goal_obs, info.get("pos"), info.get("goal_pos"), None, None, info.get("goal_outline")))
    return EpisodeRecord(bool(info["success"]), steps, seconds, float(info.get("distance", np.nan)), iterations, forbidden,
                         stops, safe_path, band, info.get("metrics", {}), frames)


def evaluate(agent, episodes: int, seed: int = 0, record: int = 0, progress: bool = True,
             env=None, split: str = "test") -> tuple[dict, list[EpisodeRecord]]:
    """Run `episodes` tasks of a task env (default: Two-Rooms, start and goal in different rooms);
    record the first `record`. Task i is `env.reset(seed=task_seed(split, seed, i))` (`hjepa.seeds`):
    split "test" for numbers that are reported, "dev" for tuning."""
    if split not in SPLITS:
        raise ConfigError(f"unknown task split {split!r}: choose one of {list(SPLITS)}")
    if env is None:
        from ..envs import make_world

        env = make_world("two_rooms").make_env()
    records = []
    bar = tqdm(range(episodes), desc="eval", unit="ep", disable=not progress, dynamic_ncols=True)
    for i in bar:
        records.append(run_episode(agent, env, seed=task_seed(split, seed, i), record=i < record))
        bar.set_postfix(success=f"{np.mean([r.success for r in records]):.2f}")
    success = np.array([r.success for r in records])
    summary = {
        "split": split,
        "seed": seed,
        "episodes": episodes,
        "success_rate": float(success.mean()),
        "mean_steps": float(np.mean([r.steps for r in records])),
        "mean_steps_success": float(np.mean([r.steps for r in records if r.success])) if success.any() else None,
        "sec_per_episode": float(np.mean([r.seconds for r in records])),
        "mean_final_distance": float(np.nanmean([r.final_distance for r in records])) if records else None,
        "mean_planner_iterations": float(np.mean([i for r in records for i in r.planner_iterations] or [0])),  # per replan
        "planner_iterations_per_episode": float(np.mean([sum(r.planner_iterations) for r in records])),  # a task's compute
        "forbidden_steps": int(sum(r.forbidden_steps for r in records)),
        "guardrail_stops": int(sum(r.guardrail_stops for r in records)),
    }
    keys = sorted({k for r in records for k in r.metrics})
    if keys:
        summary["final_metrics"] = {k: float(np.mean([r.metrics[k] for r in records if k in r.metrics])) for k in keys}
    bands = sorted({r.band for r in records if r.band is not None})
    if bands:
        summary["success_by_band"] = {b: float(np.mean([r.success for r in records if r.band == b])) for b in bands}
        summary["episodes_by_band"] = {b: sum(r.band == b for r in records) for b in bands}
    if getattr(env, "forbidden", None) is not None:  # success on the tasks a cautious agent can solve at all
        safe = [r.success for r in records if r.safe_path]
        summary["safe_path_tasks"] = len(safe)
        summary["success_rate_safe_path"] = float(np.mean(safe)) if safe else None
    return summary, records
