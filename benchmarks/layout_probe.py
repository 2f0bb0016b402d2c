"""Does a Rooms run's latent know the layout? Which doors are open, read from one frame's latent.

A planner can only route around a closed door if the world model knows it is closed, and a
predictor can only know what the latent holds. This diagnostic renders `--frames` frames of
fresh random layouts (agent anywhere free), encodes them, and fits a ridge-regularized linear
read-out from the latent to the 12 doors' open flags on all but `--test-frames` of them. It
prints one JSON line: the read-out's accuracy on the held-out frames, for all doors and for
the doors of the agent's own room (the ones the next steps can hit), against always guessing
each door's commoner state. The layouts are labels, used here to measure only.

    python benchmarks/layout_probe.py --run RUN --frames 6000 --test-frames 1000 --seed 0
"""
from __future__ import annotations

import argparse
import json

import numpy as np
import torch

from common import provenance
from hjepa.configurator import load_world_model
from hjepa.envs.rooms import N_DOORS, RoomsPhysics, door_rooms, room_index, sample_in_room, sample_layout, wall_mask
from hjepa.seeds import task_seed


def ridge(x: np.ndarray, y: np.ndarray, alpha: float) -> np.ndarray:
    """Weights (D + 1, K) of the ridge regression of y (N, K) on x (N, D) with a bias."""
    x = np.c_[x, np.ones(len(x))]
    gram = x.T @ x + alpha * len(x) * np.eye(x.shape[1])
    return np.linalg.solve(gram, x.T @ y)


@torch.no_grad()
def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", required=True, help="a run trained on Rooms data")
    p.add_argument("--frames", type=int, default=6000)
    p.add_argument("--test-frames", type=int, default=1000)
    p.add_argument("--alpha", type=float, default=1e-6, help="ridge penalty, per frame, on standardized latents (the door flags sit in "
                   "low-variance directions of a vector latent: a larger penalty hides them)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    if not 0 < args.test_frames < args.frames:
        raise SystemExit("error: --test-frames must be between 0 and --frames")
    model = load_world_model(args.run, "cpu")
    rng = np.random.default_rng(task_seed("dev", args.seed, 0))
    layouts = np.stack([sample_layout(np.random.default_rng(task_seed("dev", args.seed, 1 + i))) for i in range(args.frames)])
    masks = np.stack([wall_mask(lay) for lay in layouts])
    pos = sample_in_room(rng, rng.integers(9, size=args.frames))
    obs = torch.from_numpy(RoomsPhysics.render(pos, masks))
    z = torch.cat([model.encode(obs[i:i + 500]) for i in range(0, args.frames, 500)]).numpy().astype(np.float64)
    z = (z - z.mean(0)) / (z.std(0) + 1e-8)
    flags = layouts[:, N_DOORS:]
    train, test = slice(0, args.frames - args.test_frames), slice(args.frames - args.test_frames, None)
    weights = ridge(z[train], flags[train], args.alpha)
    guess = np.c_[z[test], np.ones(args.test_frames)] @ weights > 0.5
    right = guess == (flags[test] > 0.5)
    rooms = room_index(pos[test])
    own = np.array([[room in door_rooms(i) for i in range(N_DOORS)] for room in rooms])
    share_open = flags[train].mean(0)
    commoner = np.where(share_open >= 0.5, flags[test] > 0.5, flags[test] < 0.5)
    print(json.dumps({"benchmark": "layout_probe", "run": args.run, "latent_dim": int(z.shape[1]),
                      "frames": args.frames, "test_frames": args.test_frames,
                      "door_accuracy": round(float(right.mean()), 4),
                      "own_room_door_accuracy": round(float(right[own].mean()), 4),
                      "commoner_state_accuracy": round(float(commoner.mean()), 4),
                      "own_room_commoner_accuracy": round(float(commoner[own].mean()), 4),
                      "seed": args.seed, **provenance()}))


if __name__ == "__main__":
    main()
