"""Environments: Two-Rooms (Gymnasium id ``hjepa/TwoRooms-v0``) and its batched form."""
import gymnasium as gym

from .two_rooms import MAX_ACTION_NORM, BatchedTwoRooms, Layout, TwoRooms, TwoRoomsPhysics

ENV_ID = "hjepa/TwoRooms-v0"
if ENV_ID not in gym.registry:
    gym.register(id=ENV_ID, entry_point="hjepa.envs.two_rooms:TwoRooms")

__all__ = ["ENV_ID", "MAX_ACTION_NORM", "BatchedTwoRooms", "Layout", "TwoRooms", "TwoRoomsPhysics"]
