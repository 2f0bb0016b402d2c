"""Refit the predictor of a trained run on cached latents, the encoder frozen.

In the JEPA loop every step pays for encoding each window's pixels, so in a 20-minute CPU
budget the predictor sees each rare transition (a long push into a wall) only a few times.
Once the encoder is trained its latents are fixed targets: the whole dataset is encoded once,
and a predictor step then costs only its own rollout, so batches 8x larger fit in the same
time. Measured on the 20-minute Two-Rooms run (benchmarks/RESULTS.md): 3 minutes of refit
took imagined agents past the wall from 15% to 11% (12 pushes of 1.8 px) and the planner's
success over 200 episodes from 0.63 to 0.71.

    hjepa refit-predictor RUN --minutes 3     # rewrites the predictor in RUN/model.safetensors
    hjepa refit-predictor RUN --minutes 3 --extra-data RUN/explored   # also on the agent's own data

With `extra_data` (for instance what the agent itself did, `hjepa explore`), `extra_share` of
every batch comes from that dataset: the planner's long pushes into walls, rare in random
walks, are then what the predictor learns from too (data aggregation; benchmarks/RESULTS.md).

Only the predictor changes (encoder, probes and value heads stay valid). The JEPA optimizer
state in the run is left as it was, so `train --resume` afterwards restarts Adam's moments
for the predictor from the JEPA phase, not from the refit.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from ..config import Checked, ConfigError
from ..configurator import load_run_config, load_world_model
from ..data.dataset import TrajectoryDataset
from ..utils import seed_everything
from ..world_model.objective import latent_prediction_error
from . import checkpoint as ckpt
from .loop import TrainingLoop, check_resumable, side_config_path, start_side_run
from .value import encode_trajectories


@dataclass
class RefitConfig(Checked):
    POSITIVE = ("steps", "batch_size", "seq_len", "lr", "log_every", "checkpoint_every")
    NONNEGATIVE = ("minutes", "weight_decay", "seed")
    FRACTION = ("extra_share",)
    RESUME_SAFE = ("minutes", "steps", "log_every", "checkpoint_every")
    minutes: float = 3.0  # wall-clock budget, encoding the dataset included
    steps: int = 100_000  # at most this many optimizer steps
    batch_size: int = 512
    seq_len: int = 6  # predictor steps per window (open-loop rollout length), as in training
    lr: float = 3e-4
    weight_decay: float = 1e-4
    seed: int = 0
    extra_data: str = ""  # a second dataset of the same world, e.g. the agent's own (`hjepa explore`)
    extra_share: float = 0.25  # share of each batch drawn from extra_data
    log_every: int = 50  # RUN/refit_metrics.csv
    checkpoint_every: int = 500  # RUN/refit_checkpoints/ (resume with `hjepa refit-predictor RUN --resume`)


def sample_latent_windows(latents: torch.Tensor, actions: torch.Tensor, n: int, seq_len: int, frameskip: int,
                          generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """n random windows from every-frame latents (N, T+1, D) and actions (N, T, A):
    (latents every k-th frame (n, seq_len + 1, D), actions per environment step (n, seq_len * k, A))."""
    num, frames = latents.shape[:2]
    span = seq_len * frameskip
    traj = torch.randint(0, num, (n,), generator=generator)
    start = torch.randint(0, frames - span, (n,), generator=generator)
    action_idx = start[:, None] + torch.arange(span)
    latent_idx = start[:, None] + frameskip * torch.arange(seq_len + 1)
    return latents[traj[:, None], latent_idx], actions[traj[:, None], action_idx]


def latent_pool(model, dataset: TrajectoryDataset, device) -> tuple[torch.Tensor, torch.Tensor]:
    """Every frame's latent (N, T+1, D) and the actions (N, T, A) of a dataset, on `device`."""
    return encode_trajectories(model, dataset, frame_stride=1).to(device), torch.from_numpy(dataset.actions).to(device)


def refit_predictor(run_dir: str | Path, cfg: RefitConfig = RefitConfig(), progress: bool = True,
                    resume: bool = False) -> dict:
    """Fit the run's predictor on its training split's latents; rewrite it in model.safetensors.
    `resume=True` continues a refit that was stopped, exactly, from RUN/refit_checkpoints/."""
    start_time = time.time()
    run_dir = Path(run_dir)
    if resume:
        check_resumable(side_config_path(run_dir, "refit"), cfg)
    seed_everything(cfg.seed)
    model = load_world_model(run_dir)  # the CUDA device when there is one
    device, k = next(model.parameters()).device, model.frameskip
    run_cfg = load_run_config(run_dir)
    train_set, holdout = TrajectoryDataset.load(run_cfg.data, verify_checksums=False).split(
        run_cfg.train.holdout_fraction, seed=run_cfg.train.seed)
    extra = TrajectoryDataset.load(cfg.extra_data, verify_checksums=False) if cfg.extra_data else None
    for name, data in (("the run's dataset", train_set), (cfg.extra_data, extra)):
        if data is not None and data.length < cfg.seq_len * k + 1:
            raise ConfigError(f"seq_len={cfg.seq_len}: windows of {cfg.seq_len} predictor steps need trajectories longer "
                              f"than {cfg.seq_len * k} steps ({name} has {data.length})")
    # Each source: its latent pool and its share of every batch; each check: held windows whose error is reported.
    pools = [latent_pool(model, train_set, device)]
    sizes = [cfg.batch_size]
    checks = {"holdout": sample_latent_windows(*latent_pool(model, holdout, device), 2048, cfg.seq_len, k,
                                               torch.Generator().manual_seed(cfg.seed + 1))}
    if extra is not None:
        pools.append(latent_pool(model, extra, device))
        sizes = [cfg.batch_size - round(cfg.batch_size * cfg.extra_share), round(cfg.batch_size * cfg.extra_share)]
        checks["extra"] = sample_latent_windows(*pools[1], 2048, cfg.seq_len, k, torch.Generator().manual_seed(cfg.seed + 2))
    generator = torch.Generator().manual_seed(cfg.seed)
    with torch.no_grad():
        before = {name: float(latent_prediction_error(model, *held)) for name, held in checks.items()}

    optimizer = torch.optim.AdamW(model.predictor.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    model.predictor.train()
    if not resume:
        start_side_run(run_dir, "refit", cfg)
    loop = TrainingLoop(run_dir, cfg, optimizer, {"predictor": model.predictor}, {"windows": generator}, resume=resume,
                        desc="refit", progress=progress, schedule=lambda step, progress: 1.0, side="refit",
                        spent=time.time() - start_time)
    loss = torch.zeros(())
    with loop:
        while loop.next_step():
            windows = [sample_latent_windows(*pool, size, cfg.seq_len, k, generator) for pool, size in zip(pools, sizes) if size > 0]
            loss = latent_prediction_error(model, *(torch.cat(parts) for parts in zip(*windows)))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loop.end_step({"pred": loss})
    step = loop.step
    model.eval()
    with torch.no_grad():
        after = {name: float(latent_prediction_error(model, *held)) for name, held in checks.items()}

    weights = ckpt.load_weights(run_dir / "model.safetensors")  # the JEPA objective's tensors
    for name, value in model.predictor.state_dict().items():
        weights[f"model.predictor.{name}"] = value.detach().cpu().contiguous()
    ckpt.save_weights(run_dir / "model.safetensors", weights)
    summary = {"steps": step, "minutes": round(loop.elapsed / 60.0, 2), "final_pred_loss": round(float(loss.detach()), 5)}
    for name in checks:  # extra: windows of the data the refit trains on, i.e. how far off the model was there
        summary.update({f"{name}_pred_before": round(before[name], 5), f"{name}_pred_after": round(after[name], 5)})
    if extra is not None:
        summary["extra_trajectories"] = extra.num_trajectories
    ckpt.write_json(run_dir / "refit.json", {"config": asdict(cfg), "summary": summary})
    return summary

