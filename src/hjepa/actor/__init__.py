"""Actor: planners that find the action sequence minimizing the cost through the world model."""
from .sampling import CEMPlanner, MPPIPlanner, Plan, PlannerConfig, SamplingPlanner, make_planner

__all__ = ["CEMPlanner", "MPPIPlanner", "Plan", "PlannerConfig", "SamplingPlanner", "make_planner"]
