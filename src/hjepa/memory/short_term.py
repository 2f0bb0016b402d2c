"""Short-term memory: the recent latent states, plans and costs the other modules read."""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import torch


@dataclass
class ShortTermMemory:
    capacity: int = 256
    states: deque = field(default_factory=deque)  # latent states seen, (D,) each
    plans: deque = field(default_factory=deque)  # (step, Plan) for each replan
    actions: deque = field(default_factory=deque)  # actions executed, (A,) each: actions[i] was taken from states[i]
    pending_actions: deque = field(default_factory=deque)  # actions still to execute from the last plan

    def __post_init__(self):
        self.states = deque(maxlen=self.capacity)
        self.plans = deque(maxlen=self.capacity)
        self.actions = deque(maxlen=self.capacity)

    def clear(self) -> None:
        self.states.clear()
        self.plans.clear()
        self.actions.clear()
        self.pending_actions.clear()

    def remember_state(self, z: torch.Tensor) -> None:
        self.states.append(z.detach().cpu())

    def remember_action(self, a) -> None:
        self.actions.append(torch.as_tensor(a).detach().cpu())

    def remember_plan(self, step: int, plan) -> None:
        self.plans.append((step, plan))

    @property
    def last_plan(self):
        return self.plans[-1][1] if self.plans else None
