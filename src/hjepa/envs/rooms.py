"""Rooms: a 3 x 3 maze of rooms, the Two-Rooms agent and physics, doors that may be closed.

A 64 x 64 top-down image with 2 channels: channel 0 the agent (a Gaussian blob, std 1.3 px),
channel 1 the walls. A 2 px border and inner walls 2 px thick split the free area into a
3 x 3 grid of rooms of 18-19 px. Each of the 12 inner wall segments between two neighbouring
rooms has one door, 7 px wide, at a random place along it. A layout keeps a random spanning
tree of doors open (every room stays reachable) and opens each other door with probability
`extra_door_prob`, so the short way is often closed and a task may need a detour. An action is
a 2-D displacement of norm <= 2.45; a move into a wall stops at the wall (10 sub-moves).

Tasks put start and goal in rooms whose shortest path through open doors crosses a given number
of doors: the bands "1", "2" and "3-4"; a task has 300 steps and succeeds within 4.5 px.
Reward-free training data are random walks of 64 steps (`collect_rooms`), far shorter than the
long tasks: the world where a flat planner runs out of horizon.

Coordinates: (x, y) in pixels, x the column and y the row; pixel i covers [i - 0.5, i + 0.5].
A layout is a (24,) float vector: the 12 door centres (along their wall) then 12 open flags,
doors in `DOOR_SEGMENTS` order.
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
from .two_rooms import AGENT_STD, MAX_ACTION_NORM, SUCCESS_RADIUS, DotGoalEnv, clip_action_norm
from .world import World

SIZE = 64
GRID = 3
BORDER = 2
WALL = 2
# Free pixel ranges of the rooms along either axis (inclusive): [2, 20], [23, 40], [43, 61].
ROOM_SPANS = ((2, 20), (23, 40), (43, 61))
WALL_PIXELS = ((21, 22), (41, 42))  # the two inner walls along either axis
DOOR_HALF = 3  # a door opens pixels centre - 3 .. centre + 3
MAX_STEPS = 300
BANDS = ("1", "2", "3-4")
_SUBSTEPS = 10
_GRID_PX = np.arange(SIZE, dtype=np.float32)

# Door segments: ("v", row, wall) joins rooms (row, wall) and (row, wall + 1) through vertical
# wall `wall`; ("h", col, wall) joins rooms (wall, col) and (wall + 1, col) through horizontal wall `wall`.
DOOR_SEGMENTS = [("v", r, w) for r in range(GRID) for w in range(GRID - 1)] + \
                [("h", c, w) for c in range(GRID) for w in range(GRID - 1)]
N_DOORS = len(DOOR_SEGMENTS)  # 12


def door_rooms(i: int) -> tuple[int, int]:
    """The two room indices (row * 3 + col) door i joins."""
    kind, along, wall = DOOR_SEGMENTS[i]
    return (along * GRID + wall, along * GRID + wall + 1) if kind == "v" else (wall * GRID + along, (wall + 1) * GRID + along)


def door_point(layout: np.ndarray, i: int) -> np.ndarray:
    """The (x, y) centre of door i's opening, in the middle of the wall's thickness."""
    kind, _, wall = DOOR_SEGMENTS[i]
    across = sum(WALL_PIXELS[wall]) / 2
    return np.float32([across, layout[i]]) if kind == "v" else np.float32([layout[i], across])


def sample_layout(rng: np.random.Generator, extra_door_prob: float = 0.35) -> np.ndarray:
    """A random layout (24,): door centres, then open flags (a random spanning tree plus extras)."""
    centres = np.empty(N_DOORS, np.float32)
    for i, (_, along, _) in enumerate(DOOR_SEGMENTS):
        lo, hi = ROOM_SPANS[along]
        centres[i] = rng.integers(lo + DOOR_HALF + 1, hi - DOOR_HALF)  # the opening stays 1 px off the corners
    open_ = rng.random(N_DOORS) < extra_door_prob
    # Random spanning tree (Kruskal over a random order): every room reachable.
    parent = list(range(GRID * GRID))
    find = lambda a: a if parent[a] == a else find(parent[a])
    for i in rng.permutation(N_DOORS):
        a, b = (find(r) for r in door_rooms(i))
        if a != b:
            parent[a] = b
            open_[i] = True
    return np.concatenate([centres, open_.astype(np.float32)])


def wall_mask(layout: np.ndarray) -> np.ndarray:
    """(64, 64) bool, True on wall pixels (indexed [y, x])."""
    mask = np.zeros((SIZE, SIZE), bool)
    mask[:BORDER], mask[-BORDER:], mask[:, :BORDER], mask[:, -BORDER:] = True, True, True, True
    for lo, hi in WALL_PIXELS:
        mask[:, lo:hi + 1] = True
        mask[lo:hi + 1, :] = True
    for i, (kind, along, wall) in enumerate(DOOR_SEGMENTS):
        if layout[N_DOORS + i] < 0.5:
            continue
        lo, hi = WALL_PIXELS[wall]
        c = int(layout[i])
        if kind == "v":
            mask[c - DOOR_HALF:c + DOOR_HALF + 1, lo:hi + 1] = False
        else:
            mask[lo:hi + 1, c - DOOR_HALF:c + DOOR_HALF + 1] = False
    return mask


def is_free(pos: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """(B, ...) bool: positions (B, ..., 2) outside every wall of their layout's mask (B, 64, 64)."""
    xi = np.clip(np.rint(pos[..., 0]), 0, SIZE - 1).astype(np.int64)
    yi = np.clip(np.rint(pos[..., 1]), 0, SIZE - 1).astype(np.int64)
    b = np.arange(len(masks)).reshape((-1,) + (1,) * (pos.ndim - 2))
    return ~masks[b, yi, xi]


def room_index(pos: np.ndarray) -> np.ndarray:
    """Room (row * 3 + col) of (..., 2) positions; a position in a doorway counts for the room after it."""
    col = np.searchsorted([WALL_PIXELS[0][0] - 0.5, WALL_PIXELS[1][0] - 0.5], pos[..., 0])
    row = np.searchsorted([WALL_PIXELS[0][0] - 0.5, WALL_PIXELS[1][0] - 0.5], pos[..., 1])
    return row * GRID + col


def room_distances(layout: np.ndarray) -> np.ndarray:
    """(9, 9) doors crossed on the shortest path between rooms through open doors (BFS)."""
    n = GRID * GRID
    adjacent = [[] for _ in range(n)]
    for i in range(N_DOORS):
        if layout[N_DOORS + i] >= 0.5:
            a, b = door_rooms(i)
            adjacent[a].append(b)
            adjacent[b].append(a)
    dist = np.full((n, n), -1, np.int64)
    for s in range(n):
        dist[s, s], frontier = 0, [s]
        while frontier:
            nxt = []
            for r in frontier:
                for q in adjacent[r]:
                    if dist[s, q] < 0:
                        dist[s, q] = dist[s, r] + 1
                        nxt.append(q)
            frontier = nxt
    return dist


def band_of_doors(doors: int) -> str | None:
    return {1: "1", 2: "2", 3: "3-4", 4: "3-4"}.get(int(doors))


def sample_in_room(rng: np.random.Generator, rooms: np.ndarray, margin: float = 1.5) -> np.ndarray:
    """Uniform (x, y) positions inside the given rooms, `margin` px from their walls."""
    rows, cols = np.asarray(rooms) // GRID, np.asarray(rooms) % GRID
    spans = np.asarray(ROOM_SPANS, np.float32)
    lo_x, hi_x = spans[cols, 0] - 0.5 + margin, spans[cols, 1] + 0.5 - margin
    lo_y, hi_y = spans[rows, 0] - 0.5 + margin, spans[rows, 1] + 0.5 - margin
    n = len(rows)
    return np.stack([lo_x + rng.random(n) * (hi_x - lo_x), lo_y + rng.random(n) * (hi_y - lo_y)], 1).astype(np.float32)


class RoomsPhysics:
    """Batched physics and rendering; every array is batch first."""

    @staticmethod
    def step(pos: np.ndarray, actions: np.ndarray, masks: np.ndarray) -> np.ndarray:
        """Move (B, 2) positions by (B, 2) actions (norm clipped to 2.45); stop at the first wall hit."""
        actions = clip_action_norm(actions)
        fractions = np.arange(1, _SUBSTEPS + 1, dtype=np.float32) / _SUBSTEPS
        candidates = pos[:, None, :] + fractions[None, :, None] * actions[:, None, :]  # (B, S, 2)
        n_free = np.cumprod(is_free(candidates, masks), axis=1).sum(axis=1)
        last = np.take_along_axis(candidates, np.maximum(n_free - 1, 0)[:, None, None], axis=1)[:, 0]
        return np.where((n_free > 0)[:, None], last, pos).astype(np.float32)

    @staticmethod
    def render(pos: np.ndarray, masks: np.ndarray) -> np.ndarray:
        """(B, 2, 64, 64) float32 in [0, 1]: channel 0 the agent, channel 1 the walls."""
        gx = np.exp(-((_GRID_PX[None, :] - pos[:, 0:1]) ** 2) / (2 * AGENT_STD**2))
        gy = np.exp(-((_GRID_PX[None, :] - pos[:, 1:2]) ** 2) / (2 * AGENT_STD**2))
        agent = gy[:, :, None] * gx[:, None, :]
        return np.stack([agent, masks.astype(np.float32)], axis=1).astype(np.float32)


class Rooms(DotGoalEnv):
    """Gymnasium Rooms (id `hjepa/Rooms-v0`): reach the goal image within 300 steps.

    Observation float32 (2, 64, 64) in [0, 1]; action float32 (2,), norm clipped to 2.45.
    `reset(seed=s)` draws a layout (or uses `fixed_layout`, a layout seed) and a task of band
    `BANDS[s % 3]` (`band=` at construction fixes it for every task, `options={"band": "2"}`
    for one); `options={"state": (x, y), "goal_state":
    (x, y), "layout": (24,)}` sets any of them. info: `pos`/`state`, `goal_pos`/`goal_state`,
    `layout`, `doors` (doors the shortest path crosses), `band`, `distance`, `success`, `steps`,
    `goal_obs`. Reward 1 on reaching the goal (the episode then terminates), else 0.
    """

    metadata = {"render_modes": ["rgb_array"]}

    def __init__(self, fixed_layout: int | None = None, max_steps: int = MAX_STEPS, extra_door_prob: float = 0.35,
                 render_mode: str | None = None, band: str | None = None):
        if band is not None and band not in BANDS:
            raise ValueError(f"band must be one of {BANDS}, got {band!r}")
        self.fixed_layout = fixed_layout
        self.band = band
        self.max_steps = max_steps
        self.extra_door_prob = extra_door_prob
        self.render_mode = render_mode
        self.observation_space = gym.spaces.Box(0.0, 1.0, shape=(2, SIZE, SIZE), dtype=np.float32)
        self.action_space = gym.spaces.Box(-MAX_ACTION_NORM, MAX_ACTION_NORM, shape=(2,), dtype=np.float32)
        self._layout = sample_layout(np.random.default_rng(0))
        self._mask = wall_mask(self._layout)
        self._pos = self._goal = np.zeros(2, np.float32)
        self._steps, self._doors = 0, 0

    def _draw_layout(self, rng):
        if self.fixed_layout is not None:
            return sample_layout(np.random.default_rng(self.fixed_layout), self.extra_door_prob)
        return sample_layout(rng, self.extra_door_prob)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        options = options or {}
        rng = self.np_random
        band = options.get("band", self.band or BANDS[(seed or 0) % len(BANDS)])
        if band not in BANDS:
            raise ValueError(f"band must be one of {BANDS}, got {band!r}")
        want = {"1": (1,), "2": (2,), "3-4": (3, 4)}[band]
        layout = options.get("layout")
        for _ in range(1000):  # a layout whose rooms are that far apart somewhere
            self._layout = np.asarray(layout, np.float32) if layout is not None else self._draw_layout(rng)
            dist = room_distances(self._layout)
            pairs = np.argwhere(np.isin(dist, want))
            if len(pairs) or layout is not None or self.fixed_layout is not None:
                break
        self._mask = wall_mask(self._layout)
        if len(pairs):
            start_room, goal_room = pairs[rng.integers(len(pairs))]
        else:  # a given layout without such a pair: any two different rooms
            start_room, goal_room = 0, GRID * GRID - 1
        start = sample_in_room(rng, [start_room])[0]
        goal = sample_in_room(rng, [goal_room])[0]
        self._pos = np.asarray(options.get("state", start), np.float32)
        self._goal = np.asarray(options.get("goal_state", goal), np.float32)
        for name, p in (("start", self._pos), ("goal", self._goal)):
            if p.shape != (2,) or not is_free(p[None, None], self._mask[None])[0, 0]:
                raise ValueError(f"{name} position {p.tolist()} is not a free (x, y) cell of this layout")
        self._doors = int(dist[room_index(self._pos), room_index(self._goal)])
        self._steps = 0
        return self._observe(self._pos), self._info()

    def _move(self, pos, action):
        return RoomsPhysics.step(pos[None], action, self._mask[None])[0]

    def _observe(self, pos):
        return RoomsPhysics.render(pos[None], self._mask[None])[0]

    def _info(self) -> dict:
        distance = float(np.linalg.norm(self._pos - self._goal))
        return {"pos": self._pos.copy(), "goal_pos": self._goal.copy(), "state": self._pos.copy(),
                "goal_state": self._goal.copy(), "layout": self._layout.copy(), "doors": self._doors,
                "band": band_of_doors(self._doors), "distance": distance, "success": distance <= SUCCESS_RADIUS,
                "steps": self._steps, "goal_obs": self._observe(self._goal)}


@dataclass
class RoomsCollectConfig(RandomWalkConfig):
    """Rooms random walks: `door_fraction` of them start aimed at an open door of their room.

    A walk whose step is blocked (it moved less than half of what it asked) draws a new uniform
    heading for its next steps with probability `redraw_on_block`. At 0 a walk that meets a
    wall pushes into it for the rest of its steps, and the data almost never shows moving away
    from a wall: a model trained on it predicts no motion there in every direction. At 1 a walk
    turns at its first blocked step, and the data almost never shows a push held into a wall
    for a predictor step: a model trained on it walks through walls. In between, a walk pushes
    for 1 / `redraw_on_block` steps on average, then turns.
    """
    FRACTION = ("extra_door_prob", "redraw_on_block")
    fixed_layout: int | None = None
    extra_door_prob: float = 0.35
    redraw_on_block: float = 0.0


def rotate(vectors: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """(B, 2) vectors turned by (B,) angles, float32."""
    c, s = np.cos(angle), np.sin(angle)
    x, y = vectors[:, 0], vectors[:, 1]
    return np.stack([c * x - s * y, s * x + c * y], axis=-1).astype(np.float32)


def collect_rooms(cfg: RoomsCollectConfig, progress: bool = True) -> TrajectoryDataset:
    """Random walks of `cfg.length` steps from uniform free positions in random layouts."""
    rng = np.random.default_rng(task_seed("collect", cfg.seed, 0))  # the collect range: never an evaluation task
    obs_chunks, act_chunks, state_chunks, layout_chunks = [], [], [], []
    bar = tqdm(total=cfg.num_trajectories, desc="collect", unit="traj", disable=not progress)
    remaining, blocked_steps = cfg.num_trajectories, 0
    while remaining > 0:
        n, done = min(cfg.chunk, remaining), cfg.num_trajectories - remaining
        if cfg.fixed_layout is not None:
            seeds = [cfg.fixed_layout] * n
        else:  # trajectory j's layout seed: item 1 + j of the collect block
            seeds = [task_seed("collect", cfg.seed, 1 + done + j) for j in range(n)]
        layouts = np.stack([sample_layout(np.random.default_rng(s), cfg.extra_door_prob) for s in seeds])
        masks = np.stack([wall_mask(lay) for lay in layouts])
        pos = sample_in_room(rng, rng.integers(GRID * GRID, size=n))
        heading = rng.uniform(-np.pi, np.pi, size=n)
        aim = rng.random(n) < cfg.door_fraction
        for b in np.flatnonzero(aim):  # toward an open door of the start room
            doors = [i for i in range(N_DOORS) if layouts[b, N_DOORS + i] >= 0.5 and room_index(pos[b]) in door_rooms(i)]
            if doors:
                d = door_point(layouts[b], doors[rng.integers(len(doors))]) - pos[b]
                heading[b] = np.arctan2(d[1], d[0])
        relative = random_walk_actions(rng, np.zeros(n), cfg)  # (n, T, 2) around heading 0, turned per step below
        actions = np.empty_like(relative)
        obs = np.empty((n, cfg.length + 1, 2, SIZE, SIZE), np.uint8)
        states = np.empty((n, cfg.length + 1, 2), np.float32)
        obs[:, 0], states[:, 0] = np.round(RoomsPhysics.render(pos, masks) * 255), pos
        for t in range(cfg.length):
            actions[:, t] = rotate(relative[:, t], heading)
            new = RoomsPhysics.step(pos, actions[:, t], masks)
            blocked = np.linalg.norm(new - pos, axis=1) < 0.5 * np.linalg.norm(clip_action_norm(actions[:, t]), axis=1)
            blocked_steps += int(blocked.sum())
            if cfg.redraw_on_block > 0:
                redraw = blocked & (rng.random(n) < cfg.redraw_on_block)
                heading = np.where(redraw, rng.uniform(-np.pi, np.pi, size=n), heading)
            pos = new
            obs[:, t + 1], states[:, t + 1] = np.round(RoomsPhysics.render(pos, masks) * 255), pos
        obs_chunks.append(obs)
        act_chunks.append(actions)
        state_chunks.append(states)
        layout_chunks.append(layouts)
        remaining -= n
        bar.update(n)
    bar.close()
    states = np.concatenate(state_chunks)
    rooms = room_index(states)
    meta = {"world": "rooms", "env": "Rooms", "collector": "random_walk", "seed": cfg.seed,
            "room_change_fraction": float((rooms != rooms[:, :1]).any(axis=1).mean()),
            "blocked_step_fraction": blocked_steps / (cfg.num_trajectories * cfg.length),
            "collect_config": {k: v for k, v in vars(cfg).items()}}
    return TrajectoryDataset(np.concatenate(obs_chunks), np.concatenate(act_chunks), states,
                             np.concatenate(layout_chunks), meta)


class RoomsWorld(World):
    """Rooms for the world interface: tasks banded by doors crossed, 300 steps each."""

    name = "rooms"
    gym_id = "hjepa/Rooms-v0"
    obs_shape = (2, SIZE, SIZE)
    action_dim = 2
    max_action_norm = MAX_ACTION_NORM
    episode_steps = MAX_STEPS
    bands = BANDS
    supports_state_reset = True
    # More latent dimensions than Two-Rooms: the latent must hold which of 12 doors are open, and where.
    train_overrides = ("model.encoder.latent_dim=64",)

    def __init__(self, fixed_layout: int | None = None):
        self.fixed_layout = fixed_layout

    @property
    def action_low(self):
        return np.full(2, -MAX_ACTION_NORM, np.float32)

    @property
    def action_high(self):
        return np.full(2, MAX_ACTION_NORM, np.float32)

    def make_env(self, budget: int | None = None, **kwargs) -> Rooms:
        kwargs.setdefault("fixed_layout", self.fixed_layout)
        return Rooms(max_steps=budget or MAX_STEPS, **kwargs)

    def success(self, state, goal_state):
        return np.linalg.norm(np.asarray(state) - np.asarray(goal_state), axis=-1) <= SUCCESS_RADIUS

    def collect(self, num_trajectories, length, seed=0, overrides=None, progress=True):
        cfg = RoomsCollectConfig(num_trajectories=num_trajectories, length=length, seed=seed, fixed_layout=self.fixed_layout)
        return collect_rooms(apply_overrides(cfg, overrides or []), progress)

    def band_of(self, info: dict) -> str | None:
        return info.get("band")

    def planner(self):
        # Two-Rooms' tuned flat planner (benchmarks/RESULTS.md), unchanged: the baseline a
        # hierarchical planner must beat here.
        from ..actor import PlannerConfig

        return PlannerConfig(name="cem+grad", horizon=12, final_share=0.9, explore_fraction=0.5, max_action_norm=1.8,
                             revisit_weight=2.0, revisit_radius=6.0, correction_radius=2.0, correction_action_radius=1.0)


__all__ = ["BANDS", "Rooms", "RoomsCollectConfig", "RoomsPhysics", "RoomsWorld", "collect_rooms", "room_distances",
           "sample_layout", "wall_mask"]
