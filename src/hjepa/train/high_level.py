"""Train a high-level world model (macro-action encoder + predictor) on a run's cached latents.

The low level stays frozen: the run's dataset is encoded once, and level L learns from windows
of the level below it, the latents at every step of level L - 1 and that level's actions (level
1: every frame and the primitive actions; level 2: every level-1 step and the level-1 codes of
its action chunks). The loss is the open-loop latent error over `seq_len` high-level steps,
||rollout_j(z_0, c_1..c_j) - z_{j*S}||^2, so a plan of several macro-actions stays accurate.

    hjepa train-high RUN --steps 4000            # writes RUN/high_level_1.safetensors + .json
    hjepa train-high RUN --level 2 --set model.span=2

After training, the box planners search is fitted to the [p, 100 - p] percentiles of the codes
the data's own action chunks encode to (`box_percentile`).
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from ..config import Checked, ConfigError, ConfigValueError, from_dict
from ..configurator import load_run_config, load_world_model
from ..data.dataset import TrajectoryDataset
from ..utils import seed_everything
from ..world_model.high_level import HighLevelConfig, HighLevelModel
from . import checkpoint as ckpt
from .loop import TrainingLoop, check_resumable, cosine_with_warmup, side_config_path, start_side_run
from .refit import sample_latent_windows
from .value import encode_trajectories


@dataclass
class HighTrainConfig(Checked):
    POSITIVE = ("steps", "batch_size", "seq_len", "lr", "log_every", "checkpoint_every", "level")
    NONNEGATIVE = ("minutes", "weight_decay", "seed")
    RESUME_SAFE = ("minutes", "steps", "log_every", "checkpoint_every")
    model: HighLevelConfig = field(default_factory=HighLevelConfig)
    level: int = 1  # 1: over the JEPA; L > 1: over level L - 1 of the same run
    # Reward-free trajectories to learn from (default: the run's own dataset). Longer ones than the
    # JEPA needed let the open-loop loss cover more high-level steps (`seq_len`).
    data: str = ""
    steps: int = 4000
    minutes: float = 0.0  # wall-clock budget (0: none; --steps is the fixed-work budget)
    batch_size: int = 256
    seq_len: int = 3  # high-level steps per training window (open-loop)
    lr: float = 1e-3
    weight_decay: float = 1e-4
    box_percentile: float = 1.0  # the planners' code box: [p, 100 - p] percentiles of the data's codes
    seed: int = 0
    log_every: int = 50  # RUN/high_<level>_metrics.csv
    checkpoint_every: int = 1000  # RUN/high_<level>_checkpoints/ (resume with --resume)

    def check(self) -> None:
        if not 0 <= self.box_percentile < 50:
            raise ConfigValueError("box_percentile", f"must be in [0, 50), got {self.box_percentile}")


def level_paths(run_dir: str | Path, level: int) -> tuple[Path, Path]:
    """RUN/high_level_<L>.safetensors and RUN/high_level_<L>.json."""
    run_dir = Path(run_dir)
    return run_dir / f"high_level_{level}.safetensors", run_dir / f"high_level_{level}.json"


def load_levels(run_dir: str | Path, low, device=None) -> list[HighLevelModel]:
    """Every high level trained in the run, level 1 first (empty when `train-high` has not run)."""
    levels: list[HighLevelModel] = []
    device = device or next(low.parameters()).device
    while True:
        weights, record = level_paths(run_dir, len(levels) + 1)
        if not record.is_file():
            return levels
        cfg = from_dict(HighTrainConfig, json.loads(record.read_text())["config"])
        model = _build(cfg.model, low, levels)
        model.load_state_dict(ckpt.load_weights(weights))
        model.disagreement_limits = json.loads(record.read_text())["summary"].get("disagreement_p99")
        levels.append(model.to(device).eval())


def _build(cfg: HighLevelConfig, low, below: list[HighLevelModel]) -> HighLevelModel:
    """A new high level over the top of `below` (or over the JEPA `low` when there is none)."""
    top = below[-1] if below else low
    return HighLevelModel(cfg, low.latent_dim, top.cfg.action_dim, top.frameskip, getattr(low, "map_shape", None))


@torch.no_grad()
def base_sequences(low, below: list[HighLevelModel], dataset: TrajectoryDataset, device) -> tuple[torch.Tensor, torch.Tensor]:
    """What a new level learns from: latents at every step of the level below (N, T + 1, D) and
    that level's actions (N, T, A): every frame and the primitive actions when `below` is empty,
    else every step of below[-1] and its normalized codes."""
    latents = encode_trajectories(low, dataset, frame_stride=1).to(device)
    actions = torch.from_numpy(dataset.actions).float().to(device)
    for level in below:
        steps = actions.shape[1] // level.env_steps
        if steps < 1:
            raise ConfigError(f"trajectories of {actions.shape[1]} steps are shorter than one step of the level below "
                              f"({level.env_steps})")
        actions = level.encode_macro(level.group_actions(actions[:, :steps * level.env_steps]))
        latents = latents[:, ::level.env_steps][:, :steps + 1]
    return latents, actions


def open_loop_error(model: HighLevelModel, latents: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    """Mean squared open-loop error of the members' mean over a window: latents (B, H + 1, D) at
    high-level steps, the primitive actions of the level below (B, H * S, A)."""
    codes = model.encode_macro(model.group_actions(actions))
    predicted = model.rollout(latents[:, 0], codes)
    return (predicted - latents[:, 1:]).pow(2).sum(-1).mean()


def member_open_loop_error(model: HighLevelModel, latents: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    """The training loss: each member's own open-loop error over the window, averaged over the
    members (so they stay independent predictors; with one member, `open_loop_error`)."""
    codes = model.encode_macro(model.group_actions(actions))
    predicted = model.rollout_members(latents[:, 0], codes)
    return (predicted - latents[:, 1:]).pow(2).sum(-1).mean()


@torch.no_grad()
def disagreement_limits(model: HighLevelModel, latents: torch.Tensor, actions: torch.Tensor) -> list[float]:
    """The 99th percentile of the members' disagreement 1..H high-level steps ahead on held-out
    windows (latent units): what a bounded search allows (`HierarchyConfig.max_uncertainty`)."""
    _, spread = model.rollout_spread(latents[:, 0], model.encode_macro(model.group_actions(actions)))
    return [round(float(v), 5) for v in torch.quantile(spread, 0.99, dim=0)]


def train_high_level(run_dir: str | Path, cfg: HighTrainConfig = HighTrainConfig(), progress: bool = True,
                     resume: bool = False) -> dict:
    """Fit level `cfg.level` of the run; write RUN/high_level_<L>.safetensors and .json."""
    start_time = time.time()
    run_dir = Path(run_dir)
    side = f"high_{cfg.level}"
    if resume:
        check_resumable(side_config_path(run_dir, side), cfg)
    seed_everything(cfg.seed)
    low = load_world_model(run_dir)
    device = next(low.parameters()).device
    below = load_levels(run_dir, low)[: cfg.level - 1]
    if len(below) < cfg.level - 1:
        raise ConfigError(f"level {cfg.level} builds on level {cfg.level - 1}, which this run does not have yet: "
                          f"run `hjepa train-high {run_dir} --level {len(below) + 1}` first")
    model = _build(cfg.model, low, below).to(device)
    run_cfg = load_run_config(run_dir)
    dataset = TrajectoryDataset.load(cfg.data or run_cfg.data, verify_checksums=False)
    shape = (low.cfg.encoder.in_channels, low.cfg.encoder.image_size, low.cfg.encoder.image_size)
    if tuple(dataset.obs_shape) != shape or dataset.action_dim != low.cfg.action_dim:
        raise ConfigError(f"{cfg.data}: frames {tuple(dataset.obs_shape)} and {dataset.action_dim}-d actions, the run's "
                          f"model reads {shape} and {low.cfg.action_dim}-d actions")
    train_set, holdout = dataset.split(run_cfg.train.holdout_fraction, seed=run_cfg.train.seed)
    pool = base_sequences(low, below, train_set, device)
    held_pool = base_sequences(low, below, holdout, device)
    span = cfg.seq_len * model.env_steps
    if pool[1].shape[1] < span + 1 or held_pool[1].shape[1] < span + 1:
        raise ConfigError(f"windows of {cfg.seq_len} high-level steps of {model.env_steps} need sequences longer than "
                          f"{span} steps of the level below, the data has {pool[1].shape[1]}: lower --set seq_len or "
                          "model.span, or collect longer trajectories")
    generator = torch.Generator().manual_seed(cfg.seed)
    held = sample_latent_windows(*held_pool, 2048, cfg.seq_len, model.env_steps, torch.Generator().manual_seed(cfg.seed + 1))

    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    if not resume:
        start_side_run(run_dir, side, cfg)
    loop = TrainingLoop(run_dir, cfg, optimizer, {"high": model}, {"windows": generator}, resume=resume,
                        desc=f"high level {cfg.level}", progress=progress, schedule=cosine_with_warmup(0), side=side,
                        spent=time.time() - start_time)
    loss = torch.zeros(())
    model.train()
    with loop:
        while loop.next_step():
            loss = member_open_loop_error(model, *sample_latent_windows(*pool, cfg.batch_size, cfg.seq_len, model.env_steps,
                                                                        generator))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loop.end_step({"loss": loss})
    model.eval()
    chunks = pool[1][:, : (pool[1].shape[1] // model.env_steps) * model.env_steps]
    model.fit_box(model.group_actions(chunks).reshape(-1, model.env_steps, chunks.shape[-1]), cfg.box_percentile)
    with torch.no_grad():
        latents, actions = held
        copy = (latents[:, 1:] - latents[:, :1]).pow(2).sum(-1).mean()  # predicting "nothing changes"
        summary = {"level": cfg.level, "steps": loop.step, "minutes": round(loop.elapsed / 60.0, 2),
                   "env_steps_per_step": model.env_steps, "code_dim": model.code_dim,
                   "final_loss": round(float(loss.detach()), 5),
                   "holdout_error": round(float(open_loop_error(model, latents, actions)), 5),
                   "holdout_copy_error": round(float(copy), 5)}
        if model.members > 1:
            summary["disagreement_p99"] = disagreement_limits(model, latents, actions)
        if not below:  # the JEPA's own rollout through the same primitive actions, for comparison
            low_states = low.rollout(latents[:, 0], actions)[:, model.high_cfg.span - 1:: model.high_cfg.span]
            summary["holdout_low_level_error"] = round(float((low_states - latents[:, 1:]).pow(2).sum(-1).mean()), 5)
    weights, record = level_paths(run_dir, cfg.level)
    ckpt.save_weights(weights, {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()})
    ckpt.write_json(record, {"config": asdict(cfg), "summary": summary})
    return summary


__all__ = ["HighTrainConfig", "base_sequences", "disagreement_limits", "load_levels", "member_open_loop_error", "open_loop_error",
           "train_high_level"]
