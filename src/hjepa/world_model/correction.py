"""Episodic correction: the world model, plus the prediction errors the agent saw this episode.

A learned model is wrong in places the data covered thinly. In Two-Rooms the worst such place is
the door's edge: the model lets the agent through the wall a few pixels beside the door, the
planner finds that leak, and the real agent pushes into the wall for the rest of the episode
(8 of the 10 failures in 40 tasks on the 20-minute benchmark model of 2026-11-25 that scored 0.71;
benchmarks/RESULTS.md, "episodic correction"). The agent does see its
mistake: after each predictor step's worth of actions, the state it lands in differs from the
predicted one. This adapter remembers those residuals r_m = z_m' - f(z_m, a_m) and adds them,
kernel-weighted, to every later prediction from a nearby state with a similar action:

    f_c(z, a) = f(z, a) + c(w) sum_m w_m r_m / sum_m w_m,
    w_m = exp(-||z - z_m||^2 / (2 (sigma_z s)^2) - ||a - a_m||^2 / (2 sigma_a^2 k)),

the kernel-weighted mean residual, applied with a confidence c(w) in [0, 1]: `"sum"`,
min(1, sum_m w_m), or `"nearest"`, max_m w_m, the weight of the one most similar memory. An
agent pinned against a wall remembers the same push dozens of times; under "sum" their small
weights for a move 90 degrees away add up to full confidence, and the push's residual ("no
motion") cancels the free move too, so the planner sees no way out (Rooms, benchmarks/RESULTS.md
2026-12-03). Under "nearest" repeating a memory adds nothing.

with s the latent length of a unit move (calibrated at the episode's first state, as for the
revisit cost), so sigma_z is in moves of length 1 (pixels), sigma_a in action units per
environment step, and k the predictor's frameskip. Far from anything remembered, f_c = f; at a
remembered (state, action) pair, f_c reproduces what happened. Nothing is trained: the correction
is local by construction and forgotten with the episode. (Fitting the predictor's weights to the
same transitions at test time instead moved the whole model: 27 vs 30 of 40 tasks.)
"""
from __future__ import annotations

import torch
from torch import nn

from .jepa import JEPAWorldModel


def sum_confidence(log_w: torch.Tensor) -> torch.Tensor:
    """(..., 1) min(1, sum_m w_m) of log weights (..., M): many weak memories make a full one."""
    return log_w.logsumexp(-1, keepdim=True).exp().clamp_max(1.0)


def nearest_confidence(log_w: torch.Tensor) -> torch.Tensor:
    """(..., 1) max_m w_m of log weights (..., M): as sure as the most similar memory."""
    return log_w.max(-1, keepdim=True).values.exp()


CONFIDENCE = {"sum": sum_confidence, "nearest": nearest_confidence}


class EpisodicCorrection(nn.Module):
    """Wraps a world model; `next` and the rollouts add this episode's observed residuals.

    Reads the agent's ShortTermMemory: `states[i]` the latent at a step, `actions[i]` the action
    taken from `states[i]` (so at planning time there is one more state than actions).
    """

    def __init__(self, model, memory, state_radius: float, action_radius: float, confidence: str = "sum"):
        super().__init__()
        if state_radius <= 0 or action_radius <= 0:
            raise ValueError(f"correction radii must be positive, got {state_radius} and {action_radius}")
        if confidence not in CONFIDENCE:
            raise ValueError(f"correction confidence must be one of {list(CONFIDENCE)}, got {confidence!r}")
        self.model, self.memory, self.confidence = model, memory, CONFIDENCE[confidence]
        self.state_radius, self.action_radius = state_radius, action_radius
        self._last_state, self._table = None, None

    @property
    def cfg(self):
        return self.model.cfg

    @property
    def frameskip(self) -> int:
        return getattr(self.model, "frameskip", 1)

    @property
    def latent_dim(self) -> int:
        return self.model.latent_dim

    def encode(self, obs: torch.Tensor) -> torch.Tensor:
        return self.model.encode(obs)

    @property
    def members(self) -> int:
        return getattr(self.model, "members", 1)

    @property
    def map_shape(self):
        """The wrapped model's latent map shape (C, h, w), None for a vector latent."""
        return getattr(self.model, "map_shape", None)

    # the same open-loop loops and member mean, through the corrected `step_members`
    group_actions = JEPAWorldModel.group_actions
    next = JEPAWorldModel.next
    next_spread = JEPAWorldModel.next_spread
    rollout_members = JEPAWorldModel.rollout_members
    rollout = JEPAWorldModel.rollout
    rollout_spread = JEPAWorldModel.rollout_spread

    @property
    def window(self) -> int:
        """Environment steps one model step spans: the length of a remembered transition."""
        return self.frameskip

    def unit(self) -> float:
        """The latent length of a unit move at this episode's first state."""
        return self.memory.unit_move(self.model)

    def model_inputs(self, grouped: torch.Tensor) -> torch.Tensor:
        """What `model.next` takes for (M, window * A) remembered actions: the actions themselves."""
        return grouped

    def action_variance(self) -> float:
        """2 sigma^2 of the kernel on model inputs: sigma_a per environment step, over k steps."""
        return 2 * self.action_radius**2 * self.frameskip

    def transitions(self, like: torch.Tensor):
        """(starts (M, D), model inputs (M, ...), residuals (M, D), the unit move) of every
        window of `window` steps in memory, or None; rebuilt once per new remembered state, not per rollout."""
        states, actions = self.memory.states, self.memory.actions
        if not states or not actions:
            return None
        if states[-1] is self._last_state:
            return self._table
        self._last_state, self._table = states[-1], None
        k = self.window
        m = min(len(states) - 1, len(actions))  # steps whose start and end states are both remembered
        if m >= k:
            z = torch.stack(list(states)[-(m + 1):]).to(like)  # (m + 1, D)
            a = torch.stack(list(actions)[-m:]).to(like)  # (m, A)
            starts, ends = z[: m + 1 - k], z[k:]
            grouped = a.unfold(0, k, 1).transpose(1, 2).reshape(m + 1 - k, -1)  # (M, k * A), step-major
            with torch.no_grad():
                inputs = self.model_inputs(grouped)
                residuals = ends - self.model.next(starts, inputs)
            self._table = (starts, inputs, residuals, self.unit())
        return self._table

    def step_members(self, z: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """One corrected predictor step of every member: (K, ..., D), (..., k * A) -> (K, ..., D);
        each member's prediction gets the residuals remembered near its own state."""
        if hasattr(self.model, "step_members"):
            prediction = self.model.step_members(z, a)
        else:  # any model with a one-step `next` is one member
            prediction = self.model.next(z[0], a)[None]
        table = self.transitions(z)
        if table is None:
            return prediction
        starts, inputs, residuals, unit = table
        a = a.expand(z.shape[0], *a.shape)
        flat_z, flat_a = z.reshape(-1, z.shape[-1]), a.reshape(-1, a.shape[-1])
        log_w = (-torch.cdist(flat_z, starts).pow(2) / (2 * (self.state_radius * unit) ** 2)
                 - torch.cdist(flat_a, inputs).pow(2) / self.action_variance())
        mean_residual = torch.softmax(log_w, -1) @ residuals
        return prediction + (self.confidence(log_w) * mean_residual).reshape(prediction.shape)


class MacroCorrection(EpisodicCorrection):
    """The same correction for a high level (`world_model/high_level.py`): a remembered
    transition spans one high-level step (`env_steps` actions), its input is the code those
    actions encode to, the kernel on codes has width `action_radius` in normalized code units
    (the box is [-1, 1]), and the unit move is measured with `unit_model`, the low-level JEPA
    whose latent the high level shares (a high level takes codes, not moves)."""

    def __init__(self, model, memory, state_radius: float, action_radius: float, unit_model):
        super().__init__(model, memory, state_radius, action_radius)
        self.unit_model = unit_model
        self.high_cfg = model.high_cfg

    @property
    def window(self) -> int:
        return self.model.env_steps

    @property
    def env_steps(self) -> int:
        return self.model.env_steps

    @property
    def center(self) -> torch.Tensor:
        return self.model.center

    def encode_macro(self, actions: torch.Tensor) -> torch.Tensor:
        return self.model.encode_macro(actions)

    def unit(self) -> float:
        return self.memory.unit_move(self.unit_model)

    def model_inputs(self, grouped: torch.Tensor) -> torch.Tensor:
        return self.model.encode_macro(grouped.reshape(len(grouped), self.window, -1))

    def action_variance(self) -> float:
        return 2 * self.action_radius**2
