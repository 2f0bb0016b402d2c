"""Cost: task objectives (and, later, guardrails and critics)."""
from .objectives import GoalDistanceCost

__all__ = ["GoalDistanceCost"]
