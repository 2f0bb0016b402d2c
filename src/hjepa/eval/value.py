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

from ..envs.two_rooms import TwoRoomsPhysics, geodesic_distance, room_of, sample_free_positions, sample_layouts
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
    pairs; pairs in different rooms) and against the straight-line distance (different rooms)."""
    rng = np.random.default_rng(seed)
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
