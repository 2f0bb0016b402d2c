"""The agent: perception -> world model -> cost -> actor, with short-term memory.

    agent = hjepa.Agent.load("runs/two_rooms")
    agent.reset()
    action = agent.act(obs, goal_obs)   # obs, goal_obs: float arrays (C, H, W) in [0, 1], as the world's env returns them
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .actor import Planner, PlannerConfig, make_planner
from .actor.hierarchical import HierarchyConfig, make_hierarchical
from .config import ConfigError
from .configurator import load_probe, load_world_model, planner_for, world_of_run
from .memory import ShortTermMemory
from .world_model import JEPAWorldModel


class Agent:
    """Model-predictive control in latent space: replan every `action_repeat` steps, warm-started.

    After each `act`, `agent.info` says whether it replanned, with how many planner
    iterations, and `guardrail_stop=True` when no plan satisfied the guardrails and it held still.
    """

    def __init__(self, model: JEPAWorldModel, planner: Planner, probe=None, memory: ShortTermMemory | None = None):
        """`memory`: the one the planner's revisit cost reads, when it has one (see `load`)."""
        self.model = model
        self.planner = planner
        self.probe = probe  # optional linear read-out of position, for drawing imagined plans
        self.memory = memory if memory is not None else ShortTermMemory()
        cfg = model.cfg.encoder
        self.obs_shape = (cfg.in_channels, cfg.image_size, cfg.image_size)
        self.device = next(model.parameters()).device
        self.steps = 0
        self.info: dict = {}  # about the last act(): planner iterations, whether a guardrail stopped the agent

    @classmethod
    def load(cls, run_dir: str | Path, planner: PlannerConfig | None = None, device: str = "auto", world: str | None = None,
             guardrails=(), hierarchy: HierarchyConfig | None = None) -> "Agent":
        """The run's world model with `planner` (default: the tuned planner of `world`, by default
        the world the run was trained on). With `hierarchy`, the run's high levels (`hjepa
        train-high`) hand that planner subgoals (`actor/hierarchical.py`)."""
        from .train.high_level import load_levels
        from .train.value import load_value

        model = load_world_model(run_dir, device)
        cfg = planner or planner_for(world or world_of_run(run_dir))
        value = load_value(run_dir, model.latent_dim, next(model.parameters()).device)
        memory = ShortTermMemory()
        probe = load_probe(run_dir)
        actor = make_planner(model, cfg, guardrails, value, memory, readout=probe)
        if hierarchy is not None:
            levels = load_levels(run_dir, model)
            if not levels:
                raise ConfigError(f"{run_dir} has no high level to plan with: train one first with `hjepa train-high {run_dir}`")
            actor = make_hierarchical(actor, levels, hierarchy, guardrails, memory)
        return cls(model, actor, probe, memory)

    @property
    def uses_labels(self) -> bool:
        """Whether acting reads anything fitted on simulator labels (see `Planner.uses_labels`)."""
        return self.planner.uses_labels

    def reset(self, seed: int | None = None) -> None:
        """Start an episode; with `seed`, the planner's random stream restarts from it, so the
        episode plays out the same whichever episodes ran before it."""
        self.memory.clear()
        self.planner.reset()
        if seed is not None:
            self.planner.reseed(seed)
        self.steps = 0
        self.info = {}

    def _check(self, name: str, obs) -> torch.Tensor:
        if not isinstance(obs, (np.ndarray, torch.Tensor)):
            raise ValueError(f"{name} must be a float array of shape {self.obs_shape}, got {type(obs).__name__}")
        if tuple(obs.shape) != self.obs_shape:
            raise ValueError(f"{name} must have shape {self.obs_shape} (channels, height, width), got {tuple(obs.shape)}")
        dtype = str(obs.dtype)
        if "float" not in dtype:
            raise ValueError(f"{name} must be a float array in [0, 1] (as the env returns it), got dtype {dtype}")
        return torch.as_tensor(np.asarray(obs, np.float32) if isinstance(obs, np.ndarray) else obs.float(), device=self.device)

    @torch.no_grad()
    def act(self, obs, goal_obs) -> np.ndarray:
        """The next action (A,) toward the goal image."""
        x, x_goal = self._check("obs", obs), self._check("goal_obs", goal_obs)
        z, z_goal = self.model.encode(torch.stack([x, x_goal])).unbind(0)
        self.memory.remember_state(z)
        self.info = {"replanned": False}
        if not self.memory.pending_actions:
            if self.memory.plans:
                self.planner.shift(1)
            plan = self.planner.plan(z, z_goal)
            self.memory.remember_plan(self.steps, plan)
            self.info = {"replanned": True, "planner_iterations": plan.iterations, "plan_cost": plan.cost}
            if not plan.safe:
                # No candidate satisfied the guardrails: hold still this step and replan on the next.
                self.planner.reset()
                self.info["guardrail_stop"] = True
                return self._take(np.zeros(self.model.cfg.action_dim, np.float32))
            first = plan.actions[0].cpu().numpy()
            self.memory.pending_actions.extend([first] * self.planner.cfg.action_repeat)
        return self._take(np.asarray(self.memory.pending_actions.popleft(), np.float32))

    def _take(self, action: np.ndarray) -> np.ndarray:
        """Remember the action as executed from the current state (read by the episodic correction)."""
        self.memory.remember_action(action)
        self.steps += 1
        return action

    def subgoal_positions(self) -> np.ndarray | None:
        """The subgoals the high levels handed down at the last replan, read out as (L, 2)
        positions (level 1 first; NaN where a level handed down the goal itself), if a probe
        is loaded and the planner is hierarchical."""
        subgoals = getattr(self.planner, "info", {}).get("subgoals")
        if not subgoals or self.probe is None:
            return None
        return np.stack([self.probe(g[None].cpu()).numpy()[0] if g is not None else np.full(2, np.nan) for g in subgoals])

    def imagined_positions(self) -> np.ndarray | None:
        """The last plan's imagined trajectory read out as (T, 2) positions, if a probe is loaded."""
        plan = self.memory.last_plan
        if plan is None or self.probe is None:
            return None
        return self.probe(plan.imagined.cpu()).numpy()
