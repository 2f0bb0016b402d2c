"""How well a learned cost-to-go V(z, g) knows the world's geometry (Two-Rooms ground truth).

V is fitted on latents alone; here it is checked against the true shortest-path length
(`envs.two_rooms.geodesic_distance`) on rendered states of random layouts. The telling number
is for start and goal in different rooms: a V that ranks such pairs by the path through the
door (geodesic) rather than by the straight line through the wall (Euclidean) knows the door.

    report = value_against_geodesic(value, model, layouts=16, positions=256)
"""
from __future__ import annotations

import numpy as np
import torch

from ..envs.two_rooms import (TwoRoomsPhysics, geodesic_distance, is_free, position_grid, room_of,
                               sample_free_positions, sample_layouts)
from ..seeds import task_seed
from ..train.value import rank_correlation


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Rank correlation of two 1-D arrays."""
    return rank_correlation(torch.from_numpy(np.asarray(a, np.float64)), torch.from_numpy(np.asarray(b, np.float64)))


@torch.no_grad()
def encode_states(model, pos: np.ndarray, wall_x: np.ndarray, door_y: np.ndarray, batch: int = 512) -> torch.Tensor:
    """Latents (N, D) of the Two-Rooms images of (N, 2) positions in (N,) layouts."""
    device = next(model.parameters()).device
    chunks = []
    for i in range(0, len(pos), batch):
        obs = TwoRoomsPhysics.render(pos[i:i + batch], wall_x[i:i + batch], door_y[i:i + batch])
        chunks.append(model.encode(torch.from_numpy(obs).to(device)))
    return torch.cat(chunks)


@torch.no_grad()
def value_against_geodesic(value, model, layouts: int = 16, positions: int = 256, seed: int = 0) -> dict:
    """Rank correlations, averaged over `layouts` random layouts with one random goal each, of
    V(state, goal) for `positions` random free states against the geodesic distance (all
    pairs; pairs in different rooms) and against the straight-line distance (different rooms).
    The layouts and states are drawn from block `seed` of the test range (`hjepa.seeds`)."""
    rng = np.random.default_rng(task_seed("test", seed, 0))
    wall_x, door_y = sample_layouts(rng, layouts)
    wx, dy = np.repeat(wall_x, positions), np.repeat(door_y, positions)
    pos = sample_free_positions(rng, wx, dy)
    goal = sample_free_positions(rng, wall_x, door_y)
    z = encode_states(model, pos, wx, dy).reshape(layouts, positions, -1)
    z_goal = encode_states(model, goal, wall_x, door_y)
    v = value(z, z_goal[:, None]).cpu().numpy()  # (layouts, positions)
    goal_rep = np.repeat(goal, positions, axis=0)
    geo = geodesic_distance(pos, goal_rep, wx, dy).reshape(layouts, positions)
    straight = np.linalg.norm(pos - goal_rep, axis=-1).reshape(layouts, positions)
    cross = (room_of(pos, wx) != room_of(goal_rep, wx)).reshape(layouts, positions)
    per_layout = {"geodesic": [], "geodesic_other_room": [], "straight_other_room": []}
    for i in range(layouts):
        per_layout["geodesic"].append(spearman(v[i], geo[i]))
        if cross[i].sum() >= 8:
            per_layout["geodesic_other_room"].append(spearman(v[i, cross[i]], geo[i, cross[i]]))
            per_layout["straight_other_room"].append(spearman(v[i, cross[i]], straight[i, cross[i]]))
    return {f"rank_corr_{name}": round(float(np.mean(values)), 4) for name, values in per_layout.items()} | {
        "steps_per_px": round(float(np.median(v / np.maximum(geo, 1.0))), 3), "layouts": layouts, "positions": positions}


@torch.no_grad()
def value_map(value, model, wall_x: float, door_y: float, goal: tuple[float, float], spacing: float = 1.0) -> dict:
    """V(state, goal) and the true path length on a grid of free positions of one layout.
    Returns `v` and `geodesic` as (rows, cols) arrays over y, x (NaN inside walls), and the grid
    coordinates `xs`, `ys`."""
    goal_pos = np.asarray(goal, np.float32)
    if not is_free(goal_pos, wall_x, door_y):
        raise ValueError(f"goal {list(goal)} is not a free (x, y) position of the layout wall_x={wall_x}, door_y={door_y}")
    axis, grid = position_grid(spacing, offset=0.5)  # cell centres on whole pixels
    grid = grid.reshape(-1, 2)  # (x, y), row-major over y
    free = is_free(grid, wall_x, door_y)
    pos = grid[free]
    n = len(pos)
    wx, dy = np.full(n, wall_x, np.float32), np.full(n, door_y, np.float32)
    z = encode_states(model, pos, wx, dy)
    z_goal = encode_states(model, goal_pos[None], wx[:1], dy[:1])
    maps = {}
    for name, values in (("v", value(z, z_goal).cpu().numpy()), ("geodesic", geodesic_distance(pos, goal_pos, wx, dy))):
        full = np.full(len(grid), np.nan, np.float32)
        full[free] = values
        maps[name] = full.reshape(len(axis), len(axis))
    return {**maps, "xs": axis, "ys": axis}
