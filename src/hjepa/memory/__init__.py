"""Memory: short-term state shared by the agent's modules."""
from .short_term import ShortTermMemory

__all__ = ["ShortTermMemory"]
