"""Short-term memory: the recent latent states, plans and costs the other modules read."""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import torch

from ..cost.intrinsic import latent_per_unit_move


@dataclass
class ShortTermMemory:
    capacity: int = 256
    states: deque = field(default_factory=deque)  # latent states seen, (D,) each
    plans: deque = field(default_factory=deque)  # (step, Plan) for each replan
    actions: deque = field(default_factory=deque)  # actions executed, (A,) each: actions[i] was taken from states[i]
    pending_actions: deque = field(default_factory=deque)  # actions still to execute from the last plan
    _unit: float | None = field(default=None, init=False, repr=False)  # the episode's unit move (see `unit_move`)

    def __post_init__(self):
        self.states = deque(maxlen=self.capacity)
        self.plans = deque(maxlen=self.capacity)
        self.actions = deque(maxlen=self.capacity)

    def clear(self) -> None:
        self.states.clear()
        self.plans.clear()
        self.actions.clear()
        self.pending_actions.clear()
        self._unit = None

    def remember_state(self, z: torch.Tensor) -> None:
        self.states.append(z.detach().cpu())

    def remember_action(self, a) -> None:
        self.actions.append(torch.as_tensor(a).detach().cpu())

    def unit_move(self, model) -> float:
        """The latent length of a move of length 1 at this episode's first state, measured once
        per episode (not again when the first state scrolls out of a full memory)."""
        if self._unit is None:
            first = self.states[0]
            self._unit = latent_per_unit_move(model, first.to(next(model.parameters()).device))
        return self._unit

    def remember_plan(self, step: int, plan) -> None:
        self.plans.append((step, plan))

    @property
    def last_plan(self):
        return self.plans[-1][1] if self.plans else None
