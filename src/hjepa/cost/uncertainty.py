"""Epistemic cost: pay for passing through states where an ensemble's members disagree.

An ensemble world model (`predictor.kind=ensemble`) predicts every plan K times; where the data
covered a transition its members agree, where they did not (a push into a wall the random walks
rarely made) they part ways, and their disagreement (`JEPAWorldModel.rollout_spread`, latent
units) flags a prediction not to trust. A planner exploits model errors when it can: a plan
whose imagined agent slips through a wall looks cheap. Pessimism makes such plans expensive:

    cost = task cost + uncertainty_weight * mean_t spread_t

The weight is dimensionless: both terms are latent distances (a unit of disagreement costs as
much as a unit of distance to the goal). The hard version is a guardrail,
`cost.guardrails.DisagreementBound`, calibrated on the run's held-out transitions
(`eval.uncertainty`).
"""
from __future__ import annotations

import torch


class DisagreementCost:
    """spread (N, T) -> (N,): weight * the members' mean disagreement along each plan."""

    def __init__(self, weight: float):
        if weight < 0:
            raise ValueError(f"uncertainty weight must be >= 0, got {weight}")
        self.weight = weight

    def __call__(self, spread: torch.Tensor) -> torch.Tensor:
        return self.weight * spread.mean(dim=1)


__all__ = ["DisagreementCost"]
