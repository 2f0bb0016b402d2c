"""Does the learned world model stop at walls? A diagnostic of imagined physics.

Puts the agent a few pixels left of the inner wall, away from the door, pushes it right for
`--steps` steps in the real physics and in the model's open-loop imagination, and reads the
imagined positions out with a linear position probe fitted on the run's dataset. A model that
has learned walls keeps the imagined agent left of the wall; one that has not lets it through.

    python benchmarks/wall_contact.py RUN_DIR --step-size 1.5

Prints one JSON line: share of imagined agents past the wall (an ensemble's mean prediction,
and each member's on its own), mean imagined and true final x relative to the wall, and
linear-probe R^2 of position and of the layout from the latent. For an ensemble also the
Spearman correlation, over the pushes, of the members' final disagreement with the distance
between the mean's imagined and the true final position. With `--plan`, the run's planner
(`--planner-set` overrides) also plans once from each case toward the start's mirror image
across the wall: `planned_past_wall` is the share of chosen plans whose imagined path crosses
the wall outside the door.
"""
from __future__ import annotations

import argparse
import json

import numpy as np
import torch

from hjepa.configurator import load_run_config, load_world_model
from hjepa.data import TrajectoryDataset
from hjepa.envs.two_rooms import DOOR_HALF_HEIGHT, WALL_HALF_WIDTH, TwoRoomsPhysics
from hjepa.eval.probes import LinearProbe, encode_dataset
from hjepa.eval.uncertainty import spearman
from hjepa.world_model.jepa import member_spread


def crosses_wall(path: np.ndarray, wall_x: float, door_y: float, margin: float = 1.0) -> bool:
    """Whether a (T, 2) path of positions gets clearly past the wall (x > wall_x + half width +
    margin) without having gone by the door (within margin of its opening, near the wall) first.
    The margin keeps read-out noise of a path that slides along the wall from counting."""
    past = np.nonzero(path[:, 0] > wall_x + WALL_HALF_WIDTH + margin)[0]
    if not len(past):
        return False
    before = path[: past[0] + 1]
    by_door = (np.abs(before[:, 1] - door_y) <= DOOR_HALF_HEIGHT + margin) & (before[:, 0] >= wall_x - WALL_HALF_WIDTH - 3)
    return not bool(by_door.any())


def planned_through_wall(run: str, planner_set: list[str], start: np.ndarray, wall_x: np.ndarray, door_y: np.ndarray,
                         seed: int) -> float:
    """Share of cases whose chosen plan toward the mirror image of the start across the wall has
    an imagined path (read through the probe) through the wall rather than the door."""
    from hjepa.agent import Agent
    from hjepa.cli import planner_overrides
    from hjepa.configurator import planner_for

    agent = Agent.load(run, planner_for("two_rooms", seed=seed, **planner_overrides(planner_set)))
    crossed = []
    for i in range(len(start)):
        goal = np.float32([[2 * wall_x[i] - start[i, 0], start[i, 1]]])
        obs = TwoRoomsPhysics.render(start[i:i + 1], wall_x[i:i + 1], door_y[i:i + 1])[0]
        goal_obs = TwoRoomsPhysics.render(goal, wall_x[i:i + 1], door_y[i:i + 1])[0]
        agent.reset(seed=i)
        agent.act(obs, goal_obs)
        path = np.concatenate([start[i:i + 1], agent.imagined_positions()])
        crossed.append(crosses_wall(path, float(wall_x[i]), float(door_y[i])))
    return float(np.mean(crossed))


@torch.no_grad()
def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run")
    p.add_argument("--step-size", type=float, default=1.5)
    p.add_argument("--steps", type=int, default=12)
    p.add_argument("--cases", type=int, default=200)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--plan", action="store_true", help="also plan once from each case toward its mirror image across "
                   "the wall and report how many chosen plans the model takes through the wall (planned_past_wall)")
    p.add_argument("--planner-set", nargs="*", default=[], help="with --plan: planner overrides, e.g. uncertainty_weight=1")
    args = p.parse_args()
    model = load_world_model(args.run)
    k = model.frameskip
    steps = args.steps // k * k
    dataset = TrajectoryDataset.load(load_run_config(args.run).data, verify_checksums=False)
    z, pos, layout = encode_dataset(model, dataset)
    probe = LinearProbe.fit(z, pos)

    rng = np.random.default_rng(args.seed)
    n = args.cases
    wall_x, door_y = rng.integers(20, 45, n), rng.integers(10, 55, n)
    y = np.where(door_y > 32, rng.uniform(6, 20, n), rng.uniform(44, 58, n))  # far from the door
    start = np.stack([wall_x - rng.uniform(6, 12, n), y], 1).astype(np.float32)
    push = np.tile(np.array([args.step_size, 0.0], np.float32), (n, 1))
    true = start
    for _ in range(steps):
        true = TwoRoomsPhysics.step(true, push, wall_x, door_y)
    device = next(model.parameters()).device
    z0 = model.encode(torch.from_numpy(TwoRoomsPhysics.render(start, wall_x, door_y)).to(device))
    actions = torch.from_numpy(push).to(device)[:, None].expand(-1, steps, -1)
    members = model.rollout_members(z0, actions)[:, :, -1]  # (K, n, D): an ensemble's members, or the one model
    imagined = probe(members.mean(0).cpu()).numpy()
    past_members = (probe(members.cpu()).numpy()[..., 0] > wall_x + WALL_HALF_WIDTH).mean(axis=1)  # (K,)
    extra = {}
    if model.members > 1:  # does the members' disagreement rank these pushes by how wrong the mean is?
        spread = member_spread(members)[1].cpu()
        miss = torch.from_numpy(np.linalg.norm(imagined - true, axis=1))
        extra = {"disagreement_error_spearman": round(spearman(spread, miss), 4),
                 "mean_disagreement": round(float(spread.mean()), 4)}
    if args.plan:
        extra["planned_past_wall"] = planned_through_wall(args.run, args.planner_set, start, wall_x, door_y, args.seed)
        extra["planner_set"] = args.planner_set
    print(json.dumps({**extra,
        "run": args.run, "steps": steps, "step_size": args.step_size, "members": model.members,
        "imagined_past_wall": float((imagined[:, 0] > wall_x + WALL_HALF_WIDTH).mean()),  # the (members') mean
        "imagined_past_wall_per_member": [round(float(m), 4) for m in past_members],
        "imagined_final_x_minus_wall": round(float((imagined[:, 0] - wall_x).mean()), 2),
        "true_final_x_minus_wall": round(float((true[:, 0] - wall_x).mean()), 2),
        "position_probe_r2": round(probe.r2(z, pos), 4),
        "layout_probe_r2": round(LinearProbe.fit(z, layout.float()).r2(z, layout.float()), 4),
    }))


if __name__ == "__main__":
    main()
