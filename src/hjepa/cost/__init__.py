"""Cost: task objectives and guardrails (hard constraints no task cost can buy off)."""
from .guardrails import ActionBound, ForbiddenRegion, Guardrail, violations
from .objectives import GoalDistanceCost

__all__ = ["ActionBound", "ForbiddenRegion", "GoalDistanceCost", "Guardrail", "violations"]
