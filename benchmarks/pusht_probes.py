"""What a Push-T latent holds: linear and MLP probes of the pusher, the block and its angle.

    python benchmarks/pusht_probes.py RUN [--data DIR] [--frames 12000] [--steps 3000]

Encodes random frames of the run's dataset (or `--data`), and fits on 5/6 of them, then scores
on the rest: a ridge probe (the one `hjepa eval` reports) and a two-layer MLP (256 units,
`--steps` Adam steps), both onto the world's probe targets (pusher and block positions in image
px, the block angle as cosine and sine). The MLP asks whether the information is there at all,
the linear probe whether it is there in a form a latent distance sees. Prints one JSON line:
R^2 per target for each probe and the MLP's median angle error in degrees (random: 90).

For an encoder with a linear head (kind keypoints or conv), `head_input_linear_r2` is the ridge
probe on what that head reads (soft-argmax keypoints and pooled feature maps): whether the
encoder's features hold something that its head, trained by the JEPA objective, then drops.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from common import provenance
from hjepa.configurator import load_run_config, load_world_model
from hjepa.data import TrajectoryDataset
from hjepa.envs import make_world
from hjepa.eval.probes import LinearProbe, encode_dataset, r2_by_column


def mlp_probe(z_train, y_train, z_test, steps: int, seed: int) -> torch.Tensor:
    """A two-layer MLP fitted on standardized targets; returns its test predictions."""
    torch.manual_seed(seed)
    mean, std = y_train.mean(0), y_train.std(0).clamp_min(1e-6)
    net = torch.nn.Sequential(torch.nn.Linear(z_train.shape[1], 256), torch.nn.GELU(), torch.nn.Linear(256, 256),
                              torch.nn.GELU(), torch.nn.Linear(256, y_train.shape[1]))
    opt = torch.optim.Adam(net.parameters(), 1e-3)
    for _ in range(steps):
        idx = torch.randint(0, len(z_train), (256,))
        loss = (net(z_train[idx]) - (y_train[idx] - mean) / std).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        return net(z_test) * std + mean


def encode_with_head_inputs(model, data: TrajectoryDataset, frames: int, seed: int):
    """`encode_dataset`'s latents and states, and the input of the encoder's linear head for the
    same frames (N, F), read by a forward pre-hook; None when the encoder has no `head`."""
    head, seen = getattr(model.encoder, "head", None), []
    hook = None if head is None else head.register_forward_pre_hook(lambda _, inputs: seen.append(inputs[0].detach().cpu()))
    try:
        z, states, _ = encode_dataset(model, data, max_frames=frames, seed=seed)
    finally:
        if hook is not None:
            hook.remove()
    return z, states, torch.cat(seen) if seen else None


def trained_steps(run: str) -> int | None:
    """The last step the run logged (metrics.csv), or None."""
    path = Path(run) / "metrics.csv"
    lines = path.read_text().strip().splitlines() if path.is_file() else []
    return int(lines[-1].split(",")[0]) if len(lines) > 1 else None


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run")
    p.add_argument("--data", help="frames to probe on (default: the run's dataset)")
    p.add_argument("--frames", type=int, default=12000)
    p.add_argument("--steps", type=int, default=3000, help="MLP probe: Adam steps")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    world = make_world("pusht")
    try:
        model = load_world_model(args.run, "cpu")
        data = TrajectoryDataset.load(args.data or load_run_config(args.run).data, verify_checksums=False, in_memory=False)
    except ValueError as err:  # CheckpointError, DatasetError: a missing or broken run or dataset
        raise SystemExit(f"pusht_probes: {err}") from None
    z, states, features = encode_with_head_inputs(model, data, args.frames, args.seed)
    y = torch.from_numpy(world.probe_targets(states.numpy()))
    z = (z - z.mean(0)) / z.std(0).clamp_min(1e-6)
    cut = len(z) * 5 // 6
    linear = LinearProbe.fit(z[:cut], y[:cut])
    head_input = {}
    if features is not None:
        probe = LinearProbe.fit(features[:cut], y[:cut])
        head_input = {"head_input_dim": features.shape[1], "head_input_linear_r2": dict(
            zip(world.probe_names, np.round(probe.r2_by_column(features[cut:], y[cut:]), 4).tolist()))}
    mlp = mlp_probe(z[:cut], y[:cut], z[cut:], args.steps, args.seed)
    angle = torch.atan2(mlp[:, 5], mlp[:, 4]) - torch.atan2(y[cut:, 5], y[cut:, 4])
    error = torch.rad2deg(torch.atan2(torch.sin(angle), torch.cos(angle)).abs())
    names = world.probe_names
    print(json.dumps({"benchmark": "pusht_probes", "run": args.run, "frames": len(z),
                      "linear_r2": dict(zip(names, np.round(linear.r2_by_column(z[cut:], y[cut:]), 4).tolist())),
                      "mlp_r2": dict(zip(names, np.round(r2_by_column(mlp, y[cut:]), 4).tolist())),
                      "mlp_angle_error_deg_median": round(float(error.median()), 2), **head_input,
                      "train_steps": trained_steps(args.run),
                      **provenance()}))


if __name__ == "__main__":
    main()
