"""How far off are a map-latent Rooms run's open-loop predictions, in pixels?

A map latent (`model.encoder.kind=map`) starts with the image itself average-pooled, so the
imagined agent can be read off the latent without any probe: the centroid of the pooled agent
channel (Rooms draws the agent in image channel 0). This diagnostic plays random chains of
held moves (a heading and a speed held for one predictor step) from the start of Rooms tasks,
in the real physics and open-loop through the run's predictor, and prints one JSON line per
predictor step: the median and 90th percentile of the distance between the agent's centroid in
the prediction and in the encoding of the true frame, the same for predicting no change (the
copy baseline), how far the agent really moved, the share of moves stopped by a wall, and how
the prediction's squared error splits over the map's channels (image channels first, then the
learned ones).

    python benchmarks/map_prediction.py --run RUN --tasks 20 --chains 64 --steps 6 --split dev
"""
from __future__ import annotations

import argparse
import json

import numpy as np
import torch

from common import headline, provenance
from hjepa.actor.latent_search import map_centroids
from hjepa.agent import Agent
from hjepa.envs.rooms import Rooms, RoomsPhysics
from hjepa.seeds import SPLITS, task_seed


def agent_centroid(z: torch.Tensor, map_shape: tuple[int, int, int], image_size: int) -> np.ndarray:
    """(N, D) map latents -> (N, 2) (x, y) pixel centroid of channel 0, negative values clipped."""
    cell = image_size / map_shape[-1]
    return ((map_centroids(z, map_shape)[:, :2] + 0.5) * cell).numpy()


@torch.no_grad()
def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", required=True, help="a Rooms run with a map latent (model.encoder.kind=map)")
    p.add_argument("--tasks", type=int, default=20)
    p.add_argument("--chains", type=int, default=64, help="random chains of held moves per task")
    p.add_argument("--steps", type=int, default=6, help="predictor steps per chain")
    p.add_argument("--speeds", type=float, nargs="*", default=[0.9, 1.8], help="action norms of the moves")
    p.add_argument("--directions", type=int, default=8)
    p.add_argument("--band", default="3-4")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--split", choices=list(SPLITS), default="dev")
    args = p.parse_args()
    model = Agent.load(args.run).model
    shape, k = model.map_shape, model.frameskip
    if shape is None:
        raise SystemExit(f"error: {args.run} has a vector latent; this reads map latents (model.encoder.kind=map)")
    angles = np.arange(args.directions) * 2 * np.pi / args.directions
    moves = np.concatenate([np.stack([np.cos(angles), np.sin(angles)], 1) * s for s in args.speeds]).astype(np.float32)
    rng = np.random.default_rng(args.seed)
    env = Rooms(band=args.band)
    size = env.observation_space.shape[-1]
    rows = {key: [[] for _ in range(args.steps)] for key in ("pred", "copy", "moved", "blocked")}
    channel_error = np.zeros((args.steps, shape[0]))
    for task in range(args.tasks):
        _, info = env.reset(seed=task_seed(args.split, args.seed, task))
        masks = np.repeat(env._mask[None], args.chains, 0)
        pos = np.repeat(info["pos"][None], args.chains, 0).astype(np.float32)
        z0 = model.encode(torch.from_numpy(RoomsPhysics.render(pos[:1], masks[:1])))[0].expand(args.chains, -1)
        chosen = moves[rng.integers(0, len(moves), (args.chains, args.steps))]  # (C, L, 2)
        imagined = model.rollout(z0, torch.from_numpy(np.repeat(chosen, k, axis=1)))  # (C, L, D)
        start = agent_centroid(z0, shape, size)
        for step in range(args.steps):
            before = pos.copy()
            for _ in range(k):
                pos = RoomsPhysics.step(pos, chosen[:, step], masks)
            moved = np.linalg.norm(pos - before, axis=1)
            true = model.encode(torch.from_numpy(RoomsPhysics.render(pos, masks)))
            target = agent_centroid(true, shape, size)
            rows["pred"][step].extend(np.linalg.norm(agent_centroid(imagined[:, step], shape, size) - target, axis=1))
            rows["copy"][step].extend(np.linalg.norm(start - target, axis=1))
            rows["moved"][step].extend(moved)
            rows["blocked"][step].extend(moved < 0.5 * np.linalg.norm(chosen[:, step], axis=1) * k)
            channel_error[step] += ((imagined[:, step] - true) ** 2).reshape(args.chains, shape[0], -1).sum((0, 2)).numpy()
    for step in range(args.steps):
        line = {"benchmark": "map_prediction", "predictor_step": step + 1, "env_steps": (step + 1) * k,
                **headline(args.split), "blocked_share": round(float(np.mean(rows["blocked"][step])), 3),
                "moved_median_px": round(float(np.median(rows["moved"][step])), 2)}
        for name in ("pred", "copy"):
            line[f"{name}_median_px"] = round(float(np.median(rows[name][step])), 2)
            line[f"{name}_p90_px"] = round(float(np.percentile(rows[name][step], 90)), 2)
        line["error_share_by_channel"] = [round(float(v), 3) for v in channel_error[step] / channel_error[step].sum()]
        line.update(tasks=args.tasks, chains=args.chains, run=args.run, **provenance())
        print(json.dumps(line))


if __name__ == "__main__":
    main()
