"""Push-T planners through the true simulator: how far a planner and a cost get with a perfect model.

    python benchmarks/pusht_oracle.py --data DATA --cost state --episodes 20 --set action_repeat=2 horizon=12

The "world model" here is the simulator itself: a candidate's rollout resets a pymunk copy of
the world to the current true state and steps it. So whatever the planner misses, it misses
with perfect predictions, and the gap between this line and `hjepa eval` on a trained run is
the learned model's. The cost is one of:
- `state`: the distance the success rule measures: pusher and block positions (px) and the
  block angle as 57.3 px * (cos, sin) (20 degrees weigh about as much as 20 px);
- `pixels`: the L2 distance between the frames average-pooled to 16 x 16, the part of a map
  latent (`model.encoder.kind=map model.encoder.downsample=4`) that is the image itself.
Both read the true state (the first to measure, the second to render), so the lines say
`uses_labels: true`: a diagnostic, never a headline. Tasks are the dataset protocol's (dev by
default) from the collected DATA, the planner the world's tuned one with `--set` overrides
(samplers only: the simulator has no gradients). Prints one JSON line.
"""
from __future__ import annotations

import argparse
import json
import time
from types import SimpleNamespace

import numpy as np
import torch

from common import fail, headline, provenance
from hjepa.actor import SAMPLERS
from hjepa.cli import planner_overrides
from hjepa.configurator import planner_for
from hjepa.cost.objectives import GoalDistanceCost
from hjepa.config import ConfigError
from hjepa.data import TrajectoryDataset
from hjepa.envs import make_world
from hjepa.envs.dataset_tasks import DatasetTasks
from hjepa.envs.pusht import ACTION_PX, PushTSim, render
from hjepa.seeds import SPLITS, task_seed

ANGLE_PX = 57.3  # px per radian in the state cost
POOL = 4  # the map latent's pooling: 64 -> 16


def state_features(states: torch.Tensor) -> torch.Tensor:
    """(..., 7) states -> (..., 6): what the success rule compares, in px."""
    angle = states[..., 4:5]
    return torch.cat([states[..., :4], ANGLE_PX * angle.cos(), ANGLE_PX * angle.sin()], -1)


def pooled_frames(states: np.ndarray) -> torch.Tensor:
    """(N, 7) states -> (N, 3 * 16 * 16): their frames, average-pooled as a map latent's image part."""
    frames = torch.from_numpy(render(states.reshape(-1, 7)))
    return torch.nn.functional.avg_pool2d(frames, POOL).flatten(1)


class SimulatorModel(torch.nn.Module):
    """A "world model" whose latent is (cost features, true state): `rollout` steps the simulator."""

    def __init__(self, frameskip: int, pixels: bool):
        super().__init__()
        self.cfg = SimpleNamespace(action_dim=2, frameskip=frameskip)
        self.anchor = torch.nn.Parameter(torch.zeros(1), requires_grad=False)  # planners read the device off it
        self.sim, self.pixels = PushTSim(), pixels

    @property
    def frameskip(self) -> int:
        return self.cfg.frameskip

    def latent(self, states: np.ndarray) -> torch.Tensor:
        """(N, 7) true states -> (N, F + 7) latents: the cost's features, then the state to step on."""
        s = torch.from_numpy(np.asarray(states, np.float32).reshape(-1, 7))
        return torch.cat([pooled_frames(s.numpy()) if self.pixels else state_features(s), s], -1)

    def rollout(self, z0: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """(N, D), (N, T, 2) -> (N, T / frameskip, D): the state after every `frameskip` steps."""
        starts, actions = z0[:, -7:].double().numpy(), actions.double().numpy()
        n, t, _ = actions.shape
        out = np.empty((n, t // self.frameskip, 7), np.float32)
        for i in range(n):  # one pymunk space, reset per candidate: the simulator is not batched
            self.sim.set_state(starts[i])
            state = self.sim.state()
            for k in range(t):
                self.sim.step(state[:2] + ACTION_PX * np.clip(actions[i, k], -1.0, 1.0))
                state = self.sim.state()
                if (k + 1) % self.frameskip == 0:
                    out[i, k // self.frameskip] = state
        return self.latent(out).reshape(n, t // self.frameskip, -1)


class FeatureCost(GoalDistanceCost):
    """The goal distance on the latent's feature part only (the true state rides along, unweighed)."""

    def __call__(self, z: torch.Tensor, z_goal: torch.Tensor) -> torch.Tensor:
        return super().__call__(z[..., :-7], z_goal[..., :-7])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True, help="a Push-T dataset (hjepa collect --world pusht): the tasks' trajectories")
    p.add_argument("--cost", choices=["state", "pixels"], default="state")
    p.add_argument("--episodes", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--split", choices=list(SPLITS), default="dev")
    p.add_argument("--goal-offset", type=int, default=25)
    p.add_argument("--budget", type=int, default=50)
    p.add_argument("--frameskip", type=int, default=4, help="simulator steps per 'predictor' step (a learned model's frameskip)")
    p.add_argument("--set", nargs="*", default=[], help="planner overrides (cem or mppi)")
    args = p.parse_args()
    if args.episodes < 1:
        p.error("--episodes must be at least 1")
    torch.set_num_threads(1)
    try:  # a bad dataset or planner setting: one line, not a traceback (ConfigError and DatasetError are ValueErrors)
        overrides = planner_overrides(args.set)
        if overrides.get("name", "cem") not in SAMPLERS:
            raise ConfigError(f"the simulator has no gradients: choose a sampler ({', '.join(SAMPLERS)})")
        cfg = planner_for("pusht", **{"name": "cem", **overrides})
        if (cfg.horizon * cfg.action_repeat) % args.frameskip:
            raise ConfigError(f"horizon {cfg.horizon} x action_repeat {cfg.action_repeat} does not split into "
                              f"--frameskip {args.frameskip} steps")
        dataset = TrajectoryDataset.load(args.data, verify_checksums=False)
        if dataset.world != "pusht":
            raise ConfigError(f"{args.data} holds {dataset.world!r} trajectories; this oracle plays Push-T")
        tasks = DatasetTasks(make_world("pusht"), dataset, args.goal_offset, args.budget)
    except ValueError as err:
        fail(str(err))
    model = SimulatorModel(args.frameskip, args.cost == "pixels")
    steps = cfg.horizon * cfg.action_repeat // args.frameskip
    cost = FeatureCost(GoalDistanceCost.blend(steps, cfg.final_share).weights)
    planner = SAMPLERS[cfg.name](model, cfg, (), cost)
    wins, bands, t0 = [], [], time.time()
    for k in range(args.episodes):
        _, info = tasks.reset(seed=task_seed(args.split, args.seed, k))
        planner.reset()
        planner.reseed(k)
        goal, done = model.latent(info["goal_state"])[0], False
        while not done:
            plan = planner.plan(model.latent(info["state"])[0], goal)
            for action in plan.actions[0].numpy()[None].repeat(cfg.action_repeat, 0):
                _, _, terminated, truncated, info = tasks.step(action)
                done = terminated or truncated or info["success"]
                if done:
                    break
            planner.shift(1)
        wins.append(bool(info["success"]))
        bands.append(info.get("band"))
    line = {"benchmark": "pusht_oracle", **headline(args.split), "headline": False, "uses_labels": True,
            "cost": args.cost, "success_rate": float(np.mean(wins)), "episodes": args.episodes,
            "sec_per_episode": round((time.time() - t0) / args.episodes, 2), "goal_offset": args.goal_offset,
            "budget": args.budget, "frameskip": args.frameskip, "planner": cfg.name,
            "planner_set": args.set}
    if any(b is not None for b in bands):
        line["success_by_band"] = {b: float(np.mean([w for w, c in zip(wins, bands) if c == b])) for b in sorted(set(bands))}
        line["episodes_by_band"] = {b: bands.count(b) for b in sorted(set(bands))}
    line.update({"seed": args.seed, **provenance()})
    print(json.dumps(line))


if __name__ == "__main__":
    main()
