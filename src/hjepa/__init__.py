"""hjepa: learn a JEPA world model from reward-free video and actions, then plan through it.

Shape convention: batch first, then time, then features, e.g. observations (B, T, C, H, W),
actions (B, T, A), latents (B, T, D).
"""
from . import envs  # registers hjepa/TwoRooms-v0
from .agent import Agent

__version__ = "0.1.0"
__all__ = ["Agent", "envs", "__version__"]
