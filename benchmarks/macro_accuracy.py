"""How far off are a Rooms run's open-loop predictions of macro-action chains, in pixels?

The hierarchical planner (issue #27) trusts its high level for several steps of 16 environment
steps each. This diagnostic plays random chains of macro-actions (each a direction and a speed
held for one high-level step) from the start of Rooms tasks, in the real physics and open-loop
in the model: through the high level (one prediction per macro-action) and through the low-level
JEPA (its primitive actions). It reads the imagined positions with the run's position probe
(fitted on true positions: labels, used here to measure only) and prints one JSON line per
high-level step: the median and 90th percentile of the distance to the true position for both
models, the same for the probe on the true state's own encoding (the read-out's floor), and
the share of chains whose real agent was stopped by a wall on that step (moved less than half
the commanded distance).

    python benchmarks/macro_accuracy.py --run RUN --tasks 20 --chains 64 --steps 4 --split dev
"""
from __future__ import annotations

import argparse
import json

import numpy as np
import torch

from common import headline, provenance
from hjepa.agent import Agent
from hjepa.envs.rooms import Rooms, RoomsPhysics
from hjepa.seeds import SPLITS, task_seed
from hjepa.train.high_level import load_levels


@torch.no_grad()
def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", required=True, help="a Rooms run with a high level (hjepa train-high)")
    p.add_argument("--tasks", type=int, default=20)
    p.add_argument("--chains", type=int, default=64, help="random macro-action chains per task")
    p.add_argument("--steps", type=int, default=4, help="high-level steps per chain")
    p.add_argument("--speeds", type=float, nargs="*", default=[0.6, 1.2, 2.4], help="action norms of the macro-actions")
    p.add_argument("--directions", type=int, default=8)
    p.add_argument("--band", default="3-4")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--split", choices=list(SPLITS), default="dev")
    args = p.parse_args()
    agent = Agent.load(args.run)
    low, probe = agent.model, agent.probe
    levels = load_levels(args.run, low)
    if not levels or probe is None:
        raise SystemExit(f"error: {args.run} needs a high level (hjepa train-high) and a position probe (hjepa eval)")
    high, span = levels[0], levels[0].env_steps
    angles = np.arange(args.directions) * 2 * np.pi / args.directions
    macros = np.concatenate([np.stack([np.cos(angles), np.sin(angles)], 1) * s for s in args.speeds]).astype(np.float32)
    rng = np.random.default_rng(args.seed)
    env = Rooms(band=args.band)
    errors = {name: [[] for _ in range(args.steps)] for name in ("high", "low", "encoded")}
    blocked = [[] for _ in range(args.steps)]
    for task in range(args.tasks):
        _, info = env.reset(seed=task_seed(args.split, args.seed, task))
        masks = np.repeat(env._mask[None], args.chains, 0)
        pos = np.repeat(info["pos"][None], args.chains, 0).astype(np.float32)
        z0 = low.encode(torch.from_numpy(RoomsPhysics.render(pos[:1], masks[:1])))[0].expand(args.chains, -1)
        chosen = macros[rng.integers(0, len(macros), (args.chains, args.steps))]  # (C, L, 2)
        primitive = torch.from_numpy(np.repeat(chosen, span, axis=1))  # (C, L * span, 2)
        codes = high.encode_macro(primitive.reshape(args.chains, args.steps, span, 2))
        imagined_high = probe(high.rollout(z0, codes)).numpy()  # (C, L, 2)
        per_high = span // low.frameskip
        imagined_low = probe(low.rollout(z0, primitive)[:, per_high - 1::per_high]).numpy()
        for step in range(args.steps):
            before = pos.copy()
            for _ in range(span):
                pos = RoomsPhysics.step(pos, chosen[:, step], masks)
            moved, commanded = np.linalg.norm(pos - before, axis=1), np.linalg.norm(chosen[:, step], axis=1) * span
            blocked[step].extend(moved < 0.5 * commanded)
            encoded = probe(low.encode(torch.from_numpy(RoomsPhysics.render(pos, masks)))).numpy()
            for name, imagined in (("high", imagined_high[:, step]), ("low", imagined_low[:, step]), ("encoded", encoded)):
                errors[name][step].extend(np.linalg.norm(imagined - pos, axis=1))
    split = headline(args.split)
    for step in range(args.steps):
        line = {"benchmark": "macro_accuracy", "high_step": step + 1, "env_steps": (step + 1) * span, **split,
                "blocked_share": round(float(np.mean(blocked[step])), 3)}
        for name, values in errors.items():
            line[f"{name}_median_px"] = round(float(np.median(values[step])), 2)
            line[f"{name}_p90_px"] = round(float(np.percentile(values[step], 90)), 2)
        line.update(tasks=args.tasks, chains=args.chains, run=args.run, **provenance())
        print(json.dumps(line))


if __name__ == "__main__":
    main()
