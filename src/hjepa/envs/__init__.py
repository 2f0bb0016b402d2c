"""Worlds: the world interface and registry, Two-Rooms, Rooms, Push-T, and any Gymnasium env through an adapter.

    world = make_world("two_rooms")      # or "rooms", "pusht", or a Gymnasium id such as "Pendulum-v1"
    env = world.make_env()               # a task env: reset() draws a start and a goal image
"""
import gymnasium as gym

from .gym_adapter import GymWorld, pendulum_world
from .pusht import PushT, PushTWorld
from .rooms import Rooms, RoomsWorld
from .two_rooms import MAX_ACTION_NORM, BatchedTwoRooms, Layout, TwoRooms, TwoRoomsPhysics, TwoRoomsWorld
from .world import World, known_worlds, make_world, register_world

ENV_ID = "hjepa/TwoRooms-v0"
if ENV_ID not in gym.registry:
    gym.register(id=ENV_ID, entry_point="hjepa.envs.two_rooms:TwoRooms")
register_world("two_rooms", TwoRoomsWorld, gym_id=ENV_ID)
ROOMS_ID = "hjepa/Rooms-v0"
if ROOMS_ID not in gym.registry:
    gym.register(id=ROOMS_ID, entry_point="hjepa.envs.rooms:Rooms")
register_world("rooms", RoomsWorld, gym_id=ROOMS_ID)
PUSHT_ID = "hjepa/PushT-v0"
if PUSHT_ID not in gym.registry:
    gym.register(id=PUSHT_ID, entry_point="hjepa.envs.pusht:PushT")
register_world("pusht", PushTWorld, gym_id=PUSHT_ID)
register_world("pendulum", pendulum_world, gym_id="Pendulum-v1")

__all__ = ["ENV_ID", "ROOMS_ID", "PUSHT_ID", "PushT", "PushTWorld", "Rooms", "RoomsWorld", "GymWorld", "pendulum_world", "MAX_ACTION_NORM", "BatchedTwoRooms", "Layout", "TwoRooms", "TwoRoomsPhysics", "TwoRoomsWorld",
           "World", "known_worlds", "make_world", "register_world"]
