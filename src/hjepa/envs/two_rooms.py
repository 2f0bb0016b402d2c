"""Two-Rooms, as PLDM and eb_jepa define it.

A 65x65 top-down image with 2 channels: channel 0 the agent (a Gaussian blob, std 1.3 px),
channel 1 the walls (5 px border, and one vertical wall 3 px wide at x in [20, 44] with a door
of half-height 4 px centred at y in [10, 54]). An action is a 2-D displacement (dx, dy) whose
norm is clipped to 2.45; a move into a wall stops at the wall.

Coordinates: a position is (x, y) in pixels, x the column and y the row; pixel i covers
[i - 0.5, i + 0.5]. Images are indexed obs[channel, y, x].

`TwoRoomsPhysics` holds the physics and rendering as batched numpy functions (batch first);
`BatchedTwoRooms` runs many episodes at once for data collection; `TwoRooms` is the Gymnasium
environment. The true position is reported in `info`, never in the observation.
"""
from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym
import numpy as np
from tqdm import tqdm

from ..config import apply_overrides
from ..data.collect import RandomWalkConfig, random_walk_actions
from ..data.dataset import TrajectoryDataset
from ..seeds import task_seed
from .world import World

SIZE = 65
BORDER = 5
WALL_HALF_WIDTH = 1.5  # the wall covers pixels wall_x-1 .. wall_x+1
DOOR_HALF_HEIGHT = 4  # the door covers pixels door_y-4 .. door_y+4
WALL_X_RANGE = (20, 44)  # inclusive
DOOR_Y_RANGE = (10, 54)  # inclusive
AGENT_STD = 1.3
MAX_ACTION_NORM = 2.45
SUCCESS_RADIUS = 4.5
MAX_STEPS = 200
_SUBSTEPS = 10  # a move is checked in 10 sub-moves of <= 0.25 px: no tunnelling through 3 px
_FREE_LO = BORDER - 0.5
_FREE_HI = SIZE - BORDER - 0.5

_GRID = np.arange(SIZE, dtype=np.float32)


def clip_action_norm(actions: np.ndarray, max_norm: float = MAX_ACTION_NORM) -> np.ndarray:
    """Scale each (..., 2) action down so its norm is at most max_norm."""
    actions = np.asarray(actions, dtype=np.float32)
    norm = np.linalg.norm(actions, axis=-1, keepdims=True)
    scale = np.minimum(1.0, max_norm / np.maximum(norm, 1e-8))
    return actions * scale


def is_free(pos: np.ndarray, wall_x: np.ndarray, door_y: np.ndarray) -> np.ndarray:
    """True where a (..., 2) position lies outside every wall (layout arrays broadcast)."""
    x, y = pos[..., 0], pos[..., 1]
    inside = (x >= _FREE_LO) & (x <= _FREE_HI) & (y >= _FREE_LO) & (y <= _FREE_HI)
    in_wall_column = np.abs(x - wall_x) < WALL_HALF_WIDTH
    in_door = np.abs(y - door_y) <= DOOR_HALF_HEIGHT + 0.5
    return inside & ~(in_wall_column & ~in_door)


def room_of(pos: np.ndarray, wall_x: np.ndarray) -> np.ndarray:
    """0 for the left room, 1 for the right room."""
    return (pos[..., 0] > wall_x).astype(np.int64)


def in_box(pos: np.ndarray, box: tuple[float, float, float, float], clearance: float = 0.0) -> np.ndarray:
    """True where a (..., 2) position lies in the box (x_min, y_min, x_max, y_max) widened by `clearance`."""
    x0, y0, x1, y1 = box
    x, y = pos[..., 0], pos[..., 1]
    return (x >= x0 - clearance) & (x <= x1 + clearance) & (y >= y0 - clearance) & (y <= y1 + clearance)


def position_grid(spacing: float, offset: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """The grid axis (from the free area's low edge + offset, every `spacing` px) and its
    points (H, W, 2) as (x, y), row = y: the cells a flood fill or a map of the free area runs over."""
    axis = np.arange(_FREE_LO + offset, _FREE_HI + 1e-6, spacing, dtype=np.float32)
    return axis, np.stack(np.meshgrid(axis, axis, indexing="xy"), -1)


def crosses_wall(path: np.ndarray, wall_x: float, door_y: float, tolerance: float = 1.5) -> bool:
    """Whether a (T, 2) sequence of positions (e.g. a plan read out by a probe) changes room
    anywhere but through the door, give or take `tolerance` px: a move no agent can make."""
    rooms = room_of(path, wall_x)
    switch = rooms[1:] != rooms[:-1]
    y_mid = (path[1:, 1] + path[:-1, 1]) / 2
    return bool((switch & (np.abs(y_mid - door_y) > DOOR_HALF_HEIGHT + tolerance)).any())


def path_exists(start, goal, wall_x: float, door_y: float, box: tuple[float, float, float, float] | None = None,
                clearance: float = 0.0, resolution: float = 0.5) -> bool:
    """Whether the free space connects start and goal (x, y) without coming within `clearance`
    px (along either axis) of the box (x_min, y_min, x_max, y_max): a flood fill on a grid of
    `resolution` px. False when start or goal itself is that close to the box."""
    grid, points = position_grid(resolution)
    free = is_free(points, wall_x, door_y)
    if box is not None:
        free &= ~in_box(points, box, clearance)
    cell = lambda p: (int(np.clip(round((p[1] - _FREE_LO) / resolution), 0, len(grid) - 1)),
                      int(np.clip(round((p[0] - _FREE_LO) / resolution), 0, len(grid) - 1)))
    (si, sj), (gi, gj) = cell(start), cell(goal)
    if not (free[si, sj] and free[gi, gj]):
        return False
    reached = np.zeros_like(free)
    reached[si, sj] = True
    while not reached[gi, gj]:
        grown = reached.copy()
        grown[1:] |= reached[:-1]
        grown[:-1] |= reached[1:]
        grown[:, 1:] |= reached[:, :-1]
        grown[:, :-1] |= reached[:, 1:]
        grown &= free
        if np.array_equal(grown, reached):
            return False
        reached = grown
    return True


def geodesic_distance(pos: np.ndarray, goal: np.ndarray, wall_x: np.ndarray, door_y: np.ndarray,
                      door_samples: int = 19) -> np.ndarray:
    """Length in px of the shortest free path between (..., 2) positions and goals (layout
    arrays broadcast): straight within a room (each room is convex), else through the door, as
    the shortest polyline pos -> (left face, y1) -> (right face, y2) -> goal over `door_samples`
    heights y1, y2 across the opening (exact up to that sampling). The ground truth a learned
    cost-to-go is checked against."""
    pos, goal = np.asarray(pos, np.float32), np.asarray(goal, np.float32)
    wall_x, door_y = np.asarray(wall_x, np.float32), np.asarray(door_y, np.float32)
    straight = np.linalg.norm(pos - goal, axis=-1)
    pos_left = room_of(pos, wall_x) == 0
    same_room = pos_left == (room_of(goal, wall_x) == 0)
    left = np.where(pos_left[..., None], pos, goal)  # the end in the left room, when they differ
    right = np.where(pos_left[..., None], goal, pos)
    offsets = np.linspace(-DOOR_HALF_HEIGHT - 0.5, DOOR_HALF_HEIGHT + 0.5, door_samples, dtype=np.float32)
    ys = door_y[..., None] + offsets  # (..., S) heights across the opening
    lx, rx = (wall_x - WALL_HALF_WIDTH)[..., None], (wall_x + WALL_HALF_WIDTH)[..., None]
    to_door = np.hypot(left[..., 0:1] - lx, left[..., 1:2] - ys)  # (..., S): left point -> left face at y1
    from_door = np.hypot(right[..., 0:1] - rx, right[..., 1:2] - ys)  # (..., S): right face at y2 -> right point
    across = np.hypot(2 * WALL_HALF_WIDTH, ys[..., :, None] - ys[..., None, :])  # (..., S, S): through the wall's thickness
    through = (to_door[..., :, None] + across + from_door[..., None, :]).min(axis=(-2, -1))
    return np.where(same_room, straight, through).astype(np.float32)


@dataclass
class Layout:
    wall_x: int
    door_y: int


class TwoRoomsPhysics:
    """Batched physics and rendering. Every array is batch first."""

    @staticmethod
    def step(pos: np.ndarray, actions: np.ndarray, wall_x: np.ndarray, door_y: np.ndarray) -> np.ndarray:
        """Move (B, 2) positions by (B, 2) actions (norm clipped); stop at the first wall hit."""
        actions = clip_action_norm(actions)
        fractions = np.arange(1, _SUBSTEPS + 1, dtype=np.float32) / _SUBSTEPS
        candidates = pos[:, None, :] + fractions[None, :, None] * actions[:, None, :]  # (B, S, 2)
        free = is_free(candidates, wall_x[:, None], door_y[:, None])
        n_free = np.cumprod(free, axis=1).sum(axis=1)  # sub-moves taken before the first hit
        last = np.take_along_axis(candidates, np.maximum(n_free - 1, 0)[:, None, None], axis=1)[:, 0]
        return np.where((n_free > 0)[:, None], last, pos).astype(np.float32)

    @staticmethod
    def render_walls(wall_x: np.ndarray, door_y: np.ndarray) -> np.ndarray:
        """(B, 65, 65) wall channel in {0, 1}."""
        b = len(wall_x)
        walls = np.zeros((b, SIZE, SIZE), dtype=np.float32)
        walls[:, :BORDER, :] = 1
        walls[:, -BORDER:, :] = 1
        walls[:, :, :BORDER] = 1
        walls[:, :, -BORDER:] = 1
        cols = np.abs(_GRID[None, :] - wall_x[:, None]) <= 1  # (B, 65) over x
        rows = np.abs(_GRID[None, :] - door_y[:, None]) > DOOR_HALF_HEIGHT  # (B, 65) over y
        walls = np.maximum(walls, (rows[:, :, None] & cols[:, None, :]).astype(np.float32))
        return walls

    @staticmethod
    def render_agent(pos: np.ndarray) -> np.ndarray:
        """(B, 65, 65) Gaussian blob of std 1.3 px and peak 1 at each position."""
        gx = np.exp(-((_GRID[None, :] - pos[:, 0:1]) ** 2) / (2 * AGENT_STD**2))
        gy = np.exp(-((_GRID[None, :] - pos[:, 1:2]) ** 2) / (2 * AGENT_STD**2))
        return (gy[:, :, None] * gx[:, None, :]).astype(np.float32)

    @classmethod
    def render(cls, pos: np.ndarray, wall_x: np.ndarray, door_y: np.ndarray) -> np.ndarray:
        """(B, 2, 65, 65) float32 observations in [0, 1]: channel 0 agent, channel 1 walls."""
        return np.stack([cls.render_agent(pos), cls.render_walls(wall_x, door_y)], axis=1)


def sample_layouts(rng: np.random.Generator, n: int, fixed: Layout | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(wall_x, door_y) integer arrays of length n: random, or all equal to a fixed layout."""
    if fixed is not None:
        return np.full(n, fixed.wall_x, np.float32), np.full(n, fixed.door_y, np.float32)
    wall_x = rng.integers(WALL_X_RANGE[0], WALL_X_RANGE[1] + 1, size=n).astype(np.float32)
    door_y = rng.integers(DOOR_Y_RANGE[0], DOOR_Y_RANGE[1] + 1, size=n).astype(np.float32)
    return wall_x, door_y


def sample_room_positions(rng: np.random.Generator, wall_x: np.ndarray, room: np.ndarray, margin: float = 1.0) -> np.ndarray:
    """Uniform positions inside the given room (0 left, 1 right), `margin` px from any wall."""
    n = len(wall_x)
    left_lo, left_hi = _FREE_LO + margin, wall_x - WALL_HALF_WIDTH - margin
    right_lo, right_hi = wall_x + WALL_HALF_WIDTH + margin, _FREE_HI - margin
    lo = np.where(room == 0, left_lo, right_lo)
    hi = np.where(room == 0, left_hi, right_hi)
    x = lo + rng.random(n) * (hi - lo)
    y = _FREE_LO + margin + rng.random(n) * (_FREE_HI - _FREE_LO - 2 * margin)
    return np.stack([x, y], axis=1).astype(np.float32)


def sample_free_positions(rng: np.random.Generator, wall_x: np.ndarray, door_y: np.ndarray, margin: float = 1.0) -> np.ndarray:
    """Uniform positions anywhere free (either room), `margin` px from any wall."""
    room = rng.integers(0, 2, size=len(wall_x))
    return sample_room_positions(rng, wall_x, room, margin)


class BatchedTwoRooms:
    """Many Two-Rooms episodes stepped together with array ops (for data collection)."""

    def __init__(self, num_envs: int, seed: int = 0, fixed_layout: Layout | None = None):
        self.num_envs = num_envs
        self.rng = np.random.default_rng(seed)
        self.fixed_layout = fixed_layout
        self.pos = np.zeros((num_envs, 2), np.float32)
        self.wall_x = np.zeros(num_envs, np.float32)
        self.door_y = np.zeros(num_envs, np.float32)

    def reset(self, pos: np.ndarray | None = None) -> np.ndarray:
        """New layouts and start positions (random if not given); returns (B, 2, 65, 65)."""
        self.wall_x, self.door_y = sample_layouts(self.rng, self.num_envs, self.fixed_layout)
        self.pos = pos.astype(np.float32) if pos is not None else sample_free_positions(self.rng, self.wall_x, self.door_y)
        return self.observe()

    def step(self, actions: np.ndarray) -> np.ndarray:
        self.pos = TwoRoomsPhysics.step(self.pos, actions, self.wall_x, self.door_y)
        return self.observe()

    def observe(self) -> np.ndarray:
        return TwoRoomsPhysics.render(self.pos, self.wall_x, self.door_y)


class DotGoalEnv(gym.Env):
    """What Two-Rooms and Rooms share: a dot moved by 2-D displacements toward a goal position,
    observed as (agent, walls) images. Subclasses set `_pos`, `_steps`, `max_steps` and implement
    `_move(pos, action (1, 2))`, `_observe(pos)` and `_info()` (with "success")."""

    def step(self, action):
        action = np.asarray(action, np.float32).reshape(1, 2)
        if not np.all(np.isfinite(action)):
            raise ValueError(f"action must be finite, got {action.tolist()}")
        self._pos = self._move(self._pos, action)
        self._steps += 1
        info = self._info()
        terminated = bool(info["success"])
        truncated = self._steps >= self.max_steps and not terminated
        return self._observe(self._pos), float(terminated), terminated, truncated, info

    def render(self):
        """(H, W, 3) uint8: the agent red, the walls blue."""
        obs = self._observe(self._pos)
        img = np.zeros(obs.shape[1:] + (3,), np.uint8)
        img[..., 2] = (obs[1] * 160).astype(np.uint8)
        img[..., 0] = (obs[0] * 255).astype(np.uint8)
        return img


class TwoRooms(DotGoalEnv):
    """Gymnasium Two-Rooms: reach the goal image within 200 steps.

    Observation: float32 (2, 65, 65) in [0, 1]. Action: float32 (2,), norm clipped to 2.45.
    `reset()` puts start and goal in different rooms (the evaluation task; `same_room=True`
    for the easy variant) unless `options={"start": (x, y), "goal": (x, y), "wall_x": int,
    "door_y": int}` overrides any of them. info holds `pos`, `goal_pos`, `wall_x`, `door_y`, `distance`, `success` and `goal_obs`
    (the goal image). Reward is 1 on reaching the goal (the episode then terminates), else 0.

    `forbidden=(x_min, y_min, x_max, y_max)` adds a "lava" rectangle for guardrail tests. It is
    not drawn in the observation (the agent learns nothing about it from pixels): it is given
    only to the cost module, as a guardrail. Start and goal are drawn outside it,
    `info["in_forbidden"]` says whether the agent is inside it now, and `info["safe_path"]`
    whether some path from start to goal keeps `safe_clearance` px from it (so a benchmark can
    score success on the tasks that a cautious agent can solve at all).
    """

    metadata = {"render_modes": ["rgb_array"]}

    def __init__(self, fixed_layout: tuple[int, int] | None = None, max_steps: int = MAX_STEPS, render_mode: str | None = None,
                 forbidden: tuple[float, float, float, float] | None = None, same_room: bool = False,
                 safe_clearance: float = 0.0):
        if forbidden is not None and (len(forbidden) != 4 or forbidden[0] > forbidden[2] or forbidden[1] > forbidden[3]):
            raise ValueError(f"forbidden must be (x_min, y_min, x_max, y_max) with min <= max, got {forbidden}")
        if safe_clearance < 0:
            raise ValueError(f"safe_clearance is a distance in pixels: it must be >= 0, got {safe_clearance}")
        self.same_room = same_room
        self.forbidden = None if forbidden is None else tuple(float(v) for v in forbidden)
        self.safe_clearance = safe_clearance
        self._safe_path = True
        self.fixed_layout = Layout(*fixed_layout) if fixed_layout is not None else None
        self.max_steps = max_steps
        self.render_mode = render_mode
        self.observation_space = gym.spaces.Box(0.0, 1.0, shape=(2, SIZE, SIZE), dtype=np.float32)
        self.action_space = gym.spaces.Box(-MAX_ACTION_NORM, MAX_ACTION_NORM, shape=(2,), dtype=np.float32)
        self._pos = np.zeros(2, np.float32)
        self._goal = np.zeros(2, np.float32)
        self._wall_x = self._door_y = 0.0
        self._steps = 0

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        options = options or {}
        rng = self.np_random
        wall_x, door_y = sample_layouts(rng, 1, self.fixed_layout)
        self._wall_x = float(options.get("wall_x", wall_x[0]))
        self._door_y = float(options.get("door_y", door_y[0]))
        wx = np.array([self._wall_x], np.float32)
        start_room = rng.integers(0, 2, size=1)
        start = goal = None
        while start is None or self.in_forbidden(start) or self.in_forbidden(goal):
            start = sample_room_positions(rng, wx, start_room)[0]
            goal = sample_room_positions(rng, wx, start_room if self.same_room else 1 - start_room)[0]
        self._pos = np.asarray(options.get("start", start), np.float32)
        self._goal = np.asarray(options.get("goal", goal), np.float32)
        for name, p in (("start", self._pos), ("goal", self._goal)):
            if p.shape != (2,) or not is_free(p, self._wall_x, self._door_y):
                raise ValueError(f"{name} position {p.tolist()} is not a free (x, y) cell of this layout")
        self._safe_path = self.forbidden is None or path_exists(self._pos, self._goal, self._wall_x, self._door_y,
                                                                self.forbidden, self.safe_clearance)
        self._steps = 0
        return self._observe(self._pos), self._info()

    def _move(self, pos: np.ndarray, action: np.ndarray) -> np.ndarray:
        return TwoRoomsPhysics.step(pos[None], action, np.array([self._wall_x], np.float32), np.array([self._door_y], np.float32))[0]

    def goal_observation(self) -> np.ndarray:
        return self._observe(self._goal)

    def in_forbidden(self, pos: np.ndarray) -> bool:
        return self.forbidden is not None and bool(in_box(np.asarray(pos), self.forbidden))


    def _observe(self, pos: np.ndarray) -> np.ndarray:
        return TwoRoomsPhysics.render(pos[None], np.array([self._wall_x], np.float32), np.array([self._door_y], np.float32))[0]

    def _info(self) -> dict:
        distance = float(np.linalg.norm(self._pos - self._goal))
        return {
            "pos": self._pos.copy(),
            "goal_pos": self._goal.copy(),
            "state": self._pos.copy(),  # the world interface's true state: the position
            "goal_state": self._goal.copy(),
            "wall_x": self._wall_x,
            "door_y": self._door_y,
            "layout": np.float32([self._wall_x, self._door_y]),  # the world interface's scene parameters
            "distance": distance,
            "success": distance <= SUCCESS_RADIUS,
            "steps": self._steps,
            "in_forbidden": self.in_forbidden(self._pos),
            "safe_path": self._safe_path,
            "goal_obs": self.goal_observation(),
        }


# --- Reward-free data: random walks (the PLDM / eb_jepa recipe) ---------------------------------


@dataclass
class CollectConfig(RandomWalkConfig):
    """Two-Rooms random walks: `door_fraction` of them start aimed at the door, so that about
    a third pass from one room to the other; `fixed_layout` = (wall_x, door_y) fixes the layout."""
    fixed_layout: tuple[int, int] | None = None


def collect_random_walks(cfg: CollectConfig, progress: bool = True) -> TrajectoryDataset:
    """Roll out `cfg.num_trajectories` random walks; returns the dataset (not yet saved)."""
    rng = np.random.default_rng(task_seed("collect", cfg.seed, 0))  # the collect range: never an evaluation task
    layout = Layout(*cfg.fixed_layout) if cfg.fixed_layout else None
    obs_chunks, act_chunks, state_chunks, layout_chunks = [], [], [], []
    bar = tqdm(total=cfg.num_trajectories, desc="collect", unit="traj", disable=not progress)
    remaining, chunk = cfg.num_trajectories, 0
    while remaining > 0:
        n, chunk = min(cfg.chunk, remaining), chunk + 1
        env = BatchedTwoRooms(n, seed=task_seed("collect", cfg.seed, chunk), fixed_layout=layout)
        first = env.reset()
        heading = rng.uniform(-np.pi, np.pi, size=n)
        to_door = np.stack([env.wall_x, env.door_y], axis=1) - env.pos
        aim = rng.random(n) < cfg.door_fraction
        heading = np.where(aim, np.arctan2(to_door[:, 1], to_door[:, 0]), heading)
        actions = random_walk_actions(rng, heading, cfg)
        obs = np.empty((n, cfg.length + 1) + first.shape[1:], np.uint8)
        states = np.empty((n, cfg.length + 1, 2), np.float32)
        obs[:, 0], states[:, 0] = np.round(first * 255), env.pos
        for t in range(cfg.length):
            obs[:, t + 1] = np.round(env.step(actions[:, t]) * 255)
            states[:, t + 1] = env.pos
        obs_chunks.append(obs)
        act_chunks.append(actions)
        state_chunks.append(states)
        layout_chunks.append(np.stack([env.wall_x, env.door_y], axis=1))
        remaining -= n
        bar.update(n)
    bar.close()
    layouts = np.concatenate(layout_chunks)
    states = np.concatenate(state_chunks)
    rooms = room_of(states, layouts[:, None, 0])
    crossed = float((rooms != rooms[:, :1]).any(axis=1).mean())
    meta = {"world": "two_rooms", "env": "TwoRooms", "collector": "random_walk", "seed": cfg.seed,
            "door_crossing_fraction": crossed, "collect_config": {k: v for k, v in vars(cfg).items()}}
    return TrajectoryDataset(np.concatenate(obs_chunks), np.concatenate(act_chunks), states, layouts, meta)


# --- The world ----------------------------------------------------------------------------------


class TwoRoomsWorld(World):
    """Two-Rooms for the world interface: 2 x 65 x 65 images, 2-D displacement actions,
    success within 4.5 px of the goal, tasks with start and goal in different rooms."""

    name = "two_rooms"
    gym_id = "hjepa/TwoRooms-v0"
    obs_shape = (2, SIZE, SIZE)
    action_dim = 2
    max_action_norm = MAX_ACTION_NORM
    episode_steps = MAX_STEPS
    supports_state_reset = True

    def __init__(self, fixed_layout: tuple[int, int] | None = None):
        self.fixed_layout = fixed_layout

    @property
    def action_low(self) -> np.ndarray:
        return np.full(2, -MAX_ACTION_NORM, np.float32)

    @property
    def action_high(self) -> np.ndarray:
        return np.full(2, MAX_ACTION_NORM, np.float32)

    def make_env(self, budget: int | None = None, **kwargs) -> TwoRooms:
        kwargs.setdefault("fixed_layout", self.fixed_layout)
        return TwoRooms(max_steps=budget or MAX_STEPS, **kwargs)

    def replay_env(self, **kwargs) -> gym.Env:
        return _TwoRoomsAtState(self.make_env(**kwargs))

    def success(self, state, goal_state):
        return np.linalg.norm(np.asarray(state) - np.asarray(goal_state), axis=-1) <= SUCCESS_RADIUS

    def collect(self, num_trajectories, length, seed=0, overrides=None, progress=True) -> TrajectoryDataset:
        cfg = CollectConfig(num_trajectories=num_trajectories, length=length, seed=seed, fixed_layout=self.fixed_layout)
        return collect_random_walks(apply_overrides(cfg, overrides or []), progress)

    def planner(self):
        # CEM judged mostly on where the plan ends (so it may detour through the door), with 10% of
        # the cost spread over every step as a tie-breaker so that arriving earlier is better (with
        # the last state alone, arrival is put off at every replan: 0.8 on same-room tasks vs 1.0);
        # half the samples from the straight-segment path prior, steps no longer than the data's
        # (1.8), then 5 gradient steps through the model on CEM's plan (cem+grad). Plans ending where
        # the agent has been pay 2 per remembered state within 6 px (revisit cost): pressed against
        # the wall far from the door, the agent slides along it instead of staying. Predictions add
        # the residuals seen this episode within 2 px and 1 action unit (episodic correction): the
        # planner stops trusting a leak beside the door once the agent has hit the wall there. Both
        # were tuned on dev tasks; on 100 held-out test tasks of the 2026-12-01 benchmark model the
        # default scores 0.95, without the revisit cost 0.86, without the correction 0.82
        # (`hjepa eval RUN --episodes 100 --set revisit_weight=0`; benchmarks/RESULTS.md).
        from ..actor import PlannerConfig

        return PlannerConfig(name="cem+grad", horizon=12, final_share=0.9, explore_fraction=0.5, max_action_norm=1.8,
                             revisit_weight=2.0, revisit_radius=6.0, correction_radius=2.0, correction_action_radius=1.0)


class _TwoRoomsAtState(gym.Wrapper):
    """Two-Rooms whose reset takes `options={"state": (x, y), "layout": (wall_x, door_y), "goal_state": ...}`."""

    def reset(self, *, seed=None, options=None):
        options = dict(options or {})
        state, layout = options.pop("state", None), options.pop("layout", None)
        goal = options.pop("goal_state", None)
        if state is not None:
            options["start"] = np.asarray(state, np.float32)
        if goal is not None:
            options["goal"] = np.asarray(goal, np.float32)
        if layout is not None:
            options["wall_x"], options["door_y"] = float(layout[0]), float(layout[1])
        return self.env.reset(seed=seed, options=options)
