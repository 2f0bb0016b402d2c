"""Cost: task objectives, intrinsic costs and guardrails (hard constraints no task cost can buy off)."""
from .guardrails import ActionBound, ForbiddenRegion, Guardrail, violations
from .intrinsic import RevisitCost, latent_per_unit_move
from .objectives import DetourCost, GoalDistanceCost

__all__ = ["ActionBound", "DetourCost", "ForbiddenRegion", "GoalDistanceCost", "Guardrail", "RevisitCost", "latent_per_unit_move",
           "violations"]
