"""Closed-loop evaluation: success rate, steps and time per episode on Two-Rooms tasks."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

from ..envs import TwoRooms


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
    frames: list = field(default_factory=list)  # (obs, pos, goal_pos, imagined positions or None) per step


def run_episode(agent, env: TwoRooms, seed: int, record: bool = False) -> EpisodeRecord:
    """One task from `env.reset(seed=seed)`; `agent` needs `reset(seed)` and `act(obs, goal_obs)`."""
    obs, info = env.reset(seed=seed)
    goal_obs, safe_path = info["goal_obs"], bool(info.get("safe_path", True))
    agent.reset(seed)
    frames, iterations, forbidden, stops = [], [], 0, 0
    start = time.perf_counter()
    done = False
    while not done:
        action = agent.act(obs, goal_obs)
        agent_info = getattr(agent, "info", {})
        if agent_info.get("replanned"):
            iterations.append(agent_info["planner_iterations"])
        stops += bool(agent_info.get("guardrail_stop"))
        if record:
            frames.append((obs, info["pos"], info["goal_pos"], agent.imagined_positions()))
        obs, _, terminated, truncated, info = env.step(action)
        forbidden += bool(info.get("in_forbidden"))
        done = terminated or truncated
    seconds = time.perf_counter() - start
    if record:
        frames.append((obs, info["pos"], info["goal_pos"], None))
    return EpisodeRecord(bool(info["success"]), info["steps"], seconds, info["distance"], iterations, forbidden, stops, safe_path, frames)


def evaluate(agent, episodes: int, seed: int = 0, record: int = 0, progress: bool = True,
             env: TwoRooms | None = None) -> tuple[dict, list[EpisodeRecord]]:
    """Run `episodes` random-layout tasks (start and goal in different rooms); record the first `record`."""
    env = env or TwoRooms()
    records = []
    bar = tqdm(range(episodes), desc="eval", unit="ep", disable=not progress, dynamic_ncols=True)
    for i in bar:
        records.append(run_episode(agent, env, seed=seed * 100_003 + i, record=i < record))
        bar.set_postfix(success=f"{np.mean([r.success for r in records]):.2f}")
    success = np.array([r.success for r in records])
    summary = {
        "episodes": episodes,
        "success_rate": float(success.mean()),
        "mean_steps": float(np.mean([r.steps for r in records])),
        "mean_steps_success": float(np.mean([r.steps for r in records if r.success])) if success.any() else None,
        "sec_per_episode": float(np.mean([r.seconds for r in records])),
        "mean_final_distance": float(np.mean([r.final_distance for r in records])),
        "mean_planner_iterations": float(np.mean([i for r in records for i in r.planner_iterations] or [0])),  # per replan
        "planner_iterations_per_episode": float(np.mean([sum(r.planner_iterations) for r in records])),  # a task's compute
        "forbidden_steps": int(sum(r.forbidden_steps for r in records)),
        "guardrail_stops": int(sum(r.guardrail_stops for r in records)),
    }
    if getattr(env, "forbidden", None) is not None:  # success on the tasks a cautious agent can solve at all
        safe = [r.success for r in records if r.safe_path]
        summary["safe_path_tasks"] = len(safe)
        summary["success_rate_safe_path"] = float(np.mean(safe)) if safe else None
    return summary, records
