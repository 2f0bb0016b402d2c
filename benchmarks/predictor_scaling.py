"""Holdout rollout error against parameter count: dense predictors of growing width, mixtures of
growing expert count at a fixed top_k, all on one trained run's frozen latents.

    python benchmarks/predictor_scaling.py --run RUN --steps 3000 --out DIR

The run's encoder is kept: its dataset is encoded once, and every predictor is trained from
scratch on cached latent windows (the open-loop loss of `hjepa refit-predictor`, 6 predictor
steps, batch 512) for the same `--steps`, then scored on held-out windows of 16 environment steps:
the open-loop error after 16 steps over the latent variance, as `rollout_error` reports it.
Comparing kinds at equal work isolates the predictor from the encoder's training. One JSON line
per predictor (`kind`, `params`, `active_params`, `rollout_error_16`, `train_minutes`) and a plot,
DIR/predictor_scaling.png (a mixture's active parameters are one expert's and the router's).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from common import provenance
from hjepa.configurator import load_run_config, load_world_model
from hjepa.data import TrajectoryDataset
from hjepa.eval.render import plot_series
from hjepa.train.refit import latent_pool, sample_latent_windows
from hjepa.world_model.objective import latent_prediction_error
from hjepa.world_model.predictor import PredictorConfig, active_parameters, count_parameters, make_predictor

DENSE_WIDTHS = (96, 192, 384, 768)
MOE_EXPERTS = (2, 4, 8)  # top_k = 1, experts as wide as the dense default (384)


def train_predictor(model, cfg: PredictorConfig, pool, held, steps: int, seed: int) -> tuple[float, float]:
    """Fit a fresh predictor of `cfg` in `model` on the pool's windows: (holdout error at 16 steps, minutes)."""
    torch.manual_seed(seed)
    model.predictor = make_predictor(model.latent_dim, model.cfg.action_dim * model.frameskip, cfg)
    optimizer = torch.optim.AdamW(model.predictor.parameters(), lr=3e-4, weight_decay=1e-4)
    generator, start = torch.Generator().manual_seed(seed), time.time()
    for _ in range(steps):
        loss = latent_prediction_error(model, *sample_latent_windows(*pool, 512, 6, model.frameskip, generator))
        if hasattr(model.predictor, "balance"):
            latents, actions = sample_latent_windows(*pool, 512, 1, model.frameskip, generator)
            loss = loss + 0.01 * model.predictor.balance(latents[:, 0], actions.reshape(len(actions), -1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        latents, actions = held
        predicted = model.rollout(latents[:, 0], actions)[:, -1]
        scale = latents.reshape(-1, latents.shape[-1]).var(0).sum()
        error = float((predicted - latents[:, -1]).pow(2).sum(-1).mean() / scale)
    return error, (time.time() - start) / 60


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", required=True)
    p.add_argument("--steps", type=int, default=3000, help="optimizer steps per predictor (fixed work)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--widths", type=int, nargs="*", default=list(DENSE_WIDTHS))
    p.add_argument("--experts", type=int, nargs="*", default=list(MOE_EXPERTS))
    args = p.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    model = load_world_model(args.run)
    for param in model.encoder.parameters():
        param.requires_grad_(False)
    run_cfg = load_run_config(args.run)
    train_set, holdout = TrajectoryDataset.load(run_cfg.data, verify_checksums=False).split(
        run_cfg.train.holdout_fraction, seed=run_cfg.train.seed)
    device = next(model.parameters()).device
    with torch.no_grad():
        pool = latent_pool(model, train_set, device)
        held = sample_latent_windows(*latent_pool(model, holdout, device), 2048, 16 // model.frameskip, model.frameskip,
                                     torch.Generator().manual_seed(args.seed + 1))
    configs = [("dense", PredictorConfig(hidden_dim=w)) for w in args.widths]
    configs += [("moe", PredictorConfig(kind="moe", experts=e, top_k=1)) for e in args.experts]
    rows = []
    for kind, cfg in configs:
        error, minutes = train_predictor(model, cfg, pool, held, args.steps, args.seed)
        row = {"benchmark": "predictor_scaling", "kind": kind, "hidden_dim": cfg.hidden_dim,
               "experts": cfg.experts if kind == "moe" else None, "params": count_parameters(model.predictor),
               "active_params": active_parameters(model.predictor), "rollout_error_16": round(error, 5),
               "steps": args.steps, "train_minutes": round(minutes, 2), "run": args.run,
               "torch_threads": torch.get_num_threads(), **provenance()}
        rows.append(row)
        print(json.dumps(row), flush=True)
    series = {kind: ([r["params"] for r in rows if r["kind"] == kind], [r["rollout_error_16"] for r in rows if r["kind"] == kind])
              for kind in ("dense", "moe")}
    plot_series({k: v for k, v in series.items() if v[0]}, args.out / "predictor_scaling.png", log_x=True,
                xlabel="predictor parameters (mixture: all experts)", ylabel="holdout rollout error, 16 steps",
                title=f"{args.steps} steps each on frozen latents of {args.run}")

if __name__ == "__main__":
    main()
