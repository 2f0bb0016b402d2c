"""Train the JEPA world model on a trajectory dataset.

Single process or data-parallel under `torchrun --nproc_per_node N` (DDP: gloo on CPU, nccl on
GPU). Stops at `train.steps` or after `train.minutes` of wall clock, whichever comes first;
the learning rate follows a cosine over that budget. Rank 0 shows a progress bar with live
loss and the budget that will stop the run, logs to TensorBoard and CSV, and writes crash-safe
checkpoint units; `resume=True` continues a run exactly (train/loop.py).
"""
from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.distributed as dist

from ..config import Checked, ConfigError, ConfigValueError, save_json
from ..data.dataset import TrajectoryDataset, WindowSampler
from ..utils import pick_device, seed_everything
from ..world_model import JEPAObjective, JEPAWorldModel, LossConfig, ModelConfig
from . import checkpoint as ckpt
from .loop import TrainingLoop, check_resumable, distributed


@dataclass
class LoopConfig(Checked):
    """What every training loop takes: budgets, optimizer, device, logging cadence."""
    POSITIVE = ("steps", "batch_size", "lr", "grad_clip", "log_every", "checkpoint_every")
    NONNEGATIVE = ("minutes", "weight_decay", "warmup_steps", "seed")
    RESUME_SAFE = ("steps", "minutes", "log_every", "checkpoint_every", "device")
    steps: int = 100_000
    minutes: float = 0.0  # wall-clock budget; 0 = no limit
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 1e-4
    warmup_steps: int = 100
    grad_clip: float = 1.0
    seed: int = 0
    device: str = "auto"
    log_every: int = 25
    checkpoint_every: int = 500

    def check(self) -> None:
        if self.device != "auto":
            try:
                torch.device(self.device)
            except (RuntimeError, ValueError):
                raise ConfigValueError("device", f"must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {self.device!r}") from None


@dataclass
class TrainConfig(LoopConfig):
    POSITIVE = ("seq_len",)
    NONNEGATIVE = ("max_memory_gb",)
    RESUME_SAFE = ("max_memory_gb",)  # where the frames are read from, not what is learned
    seq_len: int = 6  # predictor steps per training window (open-loop rollout length)
    holdout_fraction: float = 0.05
    max_memory_gb: float = 2.0  # observations larger than this stay on disk, read per batch

    def check(self) -> None:
        super().check()
        if not 0 <= self.holdout_fraction < 1:
            raise ConfigValueError("holdout_fraction", f"must be in [0, 1), got {self.holdout_fraction}")


@dataclass
class RunConfig:
    data: str = ""
    world: str = ""  # the world the data came from (read by the configurator; "" = the dataset's)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    train: TrainConfig = field(default_factory=TrainConfig)


class CollapseWarning(UserWarning):
    """The representation has (nearly) collapsed: its per-dimension std is tiny."""


def load_for_training(data: str, max_memory_gb: float) -> TrajectoryDataset:
    """The dataset, its observations in memory when they fit in `max_memory_gb`, else read from disk per batch."""
    obs = Path(data) / "observations.npy"
    in_memory = not obs.is_file() or obs.stat().st_size <= max_memory_gb * 2**30
    return TrajectoryDataset.load(data, in_memory=in_memory)


def check_shapes(model: ModelConfig, dataset: TrajectoryDataset) -> None:
    """A model config that cannot read the dataset is a one-line error, not a conv shape mismatch."""
    want = (model.encoder.in_channels, model.encoder.image_size, model.encoder.image_size, model.action_dim)
    have = dataset.obs_shape + (dataset.action_dim,)
    if want != have:
        raise ConfigError(f"the model reads {want[0]}x{want[1]}x{want[2]} frames and {want[3]}-d actions; the dataset has "
                          f"{have[0]}x{have[1]}x{have[2]} and {have[3]}-d (hjepa train sets them from the data)")


def parameter_fingerprint(module: torch.nn.Module) -> list[float]:
    """(sum, sum of squares, sum of |x| * index) over all parameters, in float64."""
    flat = torch.cat([p.detach().double().flatten().cpu() for p in module.parameters()])
    idx = torch.arange(flat.numel(), dtype=torch.float64)
    return [flat.sum().item(), flat.pow(2).sum().item(), (flat.abs() * idx).sum().item()]


def train(cfg: RunConfig, run_dir: str | Path, resume: bool = False, progress: bool = True) -> dict:
    """Train and return a summary dict (final losses, steps, minutes). `resume=True` continues
    the run in `run_dir` from its last complete checkpoint, exactly (train/loop.py)."""
    run_dir = Path(run_dir)
    if resume:
        check_resumable(run_dir / "config.json", cfg)
    rank, world = distributed()
    device = pick_device(cfg.train.device, local_rank=int(os.environ.get("LOCAL_RANK", "0")))
    seed_everything(cfg.train.seed)  # same init on every rank
    dataset = load_for_training(cfg.data, cfg.train.max_memory_gb)
    check_shapes(cfg.model, dataset)
    train_set, _ = dataset.split(cfg.train.holdout_fraction, seed=cfg.train.seed)
    sampler = WindowSampler(train_set, cfg.train.seq_len * cfg.model.frameskip, seed=cfg.train.seed * 1000 + rank,
                            frame_stride=cfg.model.frameskip, shard=(rank, world))
    model = JEPAWorldModel(cfg.model)
    objective = JEPAObjective(model, cfg.loss).to(device)
    optimizer = torch.optim.AdamW(objective.parameters(), lr=cfg.train.lr, weight_decay=cfg.train.weight_decay)
    if rank == 0:
        run_dir.mkdir(parents=True, exist_ok=True)
    loop = TrainingLoop(run_dir, cfg.train, optimizer, {"model": objective}, {"sampler": sampler.rng}, resume=resume,
                        progress=progress, rank=rank, world=world)
    if rank == 0:
        save_json(cfg, run_dir / "config.json")
    wrapped = objective
    if world > 1:
        # a mixture's experts that no input of a rank's batch went to get no gradient there
        wrapped = torch.nn.parallel.DistributedDataParallel(objective, device_ids=[device.index] if device.type == "cuda" else None,
                                                            find_unused_parameters=cfg.model.predictor.kind == "moe")
    warned, previous_std = False, None
    with loop:
        while loop.next_step():
            batch = sampler.sample(cfg.train.batch_size, device)
            terms = wrapped(batch["observations"], batch["actions"])
            optimizer.zero_grad(set_to_none=True)
            terms["loss"].backward()
            torch.nn.utils.clip_grad_norm_(objective.parameters(), cfg.train.grad_clip)
            optimizer.step()
            row = loop.end_step(terms)
            if row is not None:
                low = loop.step > cfg.train.warmup_steps and row["latent_std"] < 0.05 * cfg.loss.target_std
                # collapsed = tiny on two logs in a row and not recovering (a small init grows out of it)
                if low and previous_std is not None and row["latent_std"] <= 2 * previous_std and not warned:
                    warned = True
                    msg = (f"representation collapse: mean latent std {row['latent_std']:.4f} at step {loop.step}; "
                           "raise loss.var / loss.sigreg or lower loss.pred")
                    warnings.warn(msg, CollapseWarning, stacklevel=2)
                    loop.bar.write("WARNING: " + msg)
                previous_std = row["latent_std"] if low else None
    summary = loop.summary()
    if world > 1:
        prints = [None] * world
        dist.all_gather_object(prints, parameter_fingerprint(objective))
        if rank == 0:
            ckpt.write_json(run_dir / "replicas.json", {"fingerprints": prints, "steps": loop.step})
        dist.barrier()
    if rank == 0:
        ckpt.write_json(run_dir / "train_summary.json", summary)
    return summary
