"""An exact Two-Rooms "world model" with latent = (x, y, wall_x, door_y), for planner diagnostics.

It answers: with a perfect model, how well does a planner configuration do? Any gap between
that and the learned model is the world model's fault, not the planner's. The model reads the
true state off the pixels by hand, so its numbers are labelled (`uses_labels: true`). It is a
tuning tool: its tasks default to the dev split (`hjepa.seeds`).

    python benchmarks/oracle_model.py --episodes 50 --set horizon=8 action_repeat=4
"""
from __future__ import annotations

import argparse
import json
from types import SimpleNamespace

import torch

from hjepa.actor import make_planner
from common import headline, provenance
from hjepa.agent import Agent
from hjepa.cli import planner_overrides
from hjepa.configurator import planner_for
from hjepa.envs import two_rooms as tr
from hjepa.eval import evaluate
from hjepa.memory import ShortTermMemory
from hjepa.seeds import SPLITS


class OracleWorldModel(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.cfg = SimpleNamespace(action_dim=2, encoder=SimpleNamespace(in_channels=2, image_size=tr.SIZE))
        self.anchor = torch.nn.Parameter(torch.zeros(1), requires_grad=False)
        self.grid = torch.arange(tr.SIZE, dtype=torch.float32)

    def encode(self, obs: torch.Tensor) -> torch.Tensor:
        agent, walls = obs[..., 0, :, :], obs[..., 1, :, :]
        mass = agent.sum((-1, -2)).clamp_min(1e-6)
        x = (agent.sum(-2) * self.grid).sum(-1) / mass
        y = (agent.sum(-1) * self.grid).sum(-1) / mass
        interior = walls[..., tr.BORDER:-tr.BORDER, tr.BORDER:-tr.BORDER]
        column = interior.sum(-2)  # wall pixels per column
        wall_x = (column * self.grid[tr.BORDER:-tr.BORDER]).sum(-1) / column.sum(-1).clamp_min(1e-6)
        open_rows = 1 - walls[..., tr.BORDER:-tr.BORDER, :].gather(-1, wall_x.round().long()[..., None, None].expand(*wall_x.shape, tr.SIZE - 2 * tr.BORDER, 1))[..., 0]
        door_y = (open_rows * self.grid[tr.BORDER:-tr.BORDER]).sum(-1) / open_rows.sum(-1).clamp_min(1e-6)
        return torch.stack([x, y, wall_x, door_y], -1)

    def _free(self, x, y, wall_x, door_y):
        inside = (x >= tr._FREE_LO) & (x <= tr._FREE_HI) & (y >= tr._FREE_LO) & (y <= tr._FREE_HI)
        in_wall = ((x - wall_x).abs() < tr.WALL_HALF_WIDTH) & ((y - door_y).abs() > tr.DOOR_HALF_HEIGHT + 0.5)
        return inside & ~in_wall

    def next(self, z, a):
        a = a * (tr.MAX_ACTION_NORM / a.norm(dim=-1, keepdim=True).clamp_min(1e-8)).clamp(max=1)
        f = torch.arange(1, 11, dtype=z.dtype) / 10
        cand = z[..., None, :2] + f[:, None] * a[..., None, :]
        free = self._free(cand[..., 0], cand[..., 1], z[..., None, 2], z[..., None, 3])
        n = free.long().cumprod(-1).sum(-1)
        last = cand.gather(-2, (n - 1).clamp_min(0)[..., None, None].expand(*n.shape, 1, 2))[..., 0, :]
        pos = torch.where((n > 0)[..., None], last, z[..., :2])
        return torch.cat([pos, z[..., 2:]], -1)

    def rollout(self, z0, actions):
        out, z = [], z0
        for t in range(actions.shape[1]):
            z = self.next(z, actions[:, t])
            out.append(z)
        return torch.stack(out, 1)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--episodes", type=int, default=50)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--set", nargs="*", default=[])
    p.add_argument("--split", choices=list(SPLITS), default="dev", help="dev: tuning tasks (default); test: held-out tasks")
    args = p.parse_args()
    overrides = planner_overrides(args.set)
    model = OracleWorldModel()
    memory = ShortTermMemory()  # read by the planner's revisit cost
    agent = Agent(model, make_planner(model, planner_for("two_rooms", **overrides), memory=memory), memory=memory)
    summary, _ = evaluate(agent, args.episodes, seed=args.seed, progress=False, split=args.split)
    print(json.dumps(dict(summary, **headline(summary["split"]), model="oracle", uses_labels=True, overrides=args.set, **provenance())))


if __name__ == "__main__":
    main()
