"""Training on action-free clips: the video JEPA and the pixel-space baseline share one loop.

    cfg = VideoRunConfig(); cfg.train.minutes = 10
    summary = train_video(cfg, "runs/physics")          # generates the clips, trains, checkpoints
    model = load_video_model("runs/physics")            # VideoJEPA (or PixelPredictor) in eval mode

A run directory holds config.json (the resolved config, with "kind"), model.safetensors,
checkpoints/ (crash-safe units, resumed exactly: train/loop.py), metrics.csv, tb/ and
train_summary.json. Clips stay in memory as uint8; a batch is B random windows of consecutive
frames: `context + 1` for the vector JEPA and the pixel baseline (one target each); for the spatial
JEPA `train.window` (default context + 1), every frame after the context a target.
"""
from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..config import Checked, ConfigError, from_dict, save_json
from ..data.physics import PhysicsConfig, possible_clips
from ..data.video_io import read_clip_folder
from ..utils import pick_device, seed_everything
from ..world_model.memory_video import MemoryVideoJEPA, MemoryVideoJEPAObjective, MemoryVideoLossConfig, MemoryVideoModelConfig
from ..world_model.pixel import PixelModelConfig, PixelObjective, PixelPredictor
from ..world_model.spatial_video import SpatialVideoJEPA, SpatialVideoJEPAObjective, SpatialVideoLossConfig, SpatialVideoModelConfig
from ..world_model.video import VideoJEPA, VideoJEPAObjective, VideoLossConfig, VideoModelConfig
from . import checkpoint as ckpt
from .loop import TrainingLoop, check_resumable
from .trainer import CollapseWarning, LoopConfig


@dataclass
class ClipDataConfig(Checked):
    POSITIVE = ("clips",)
    NONNEGATIVE = ("seed",)
    clips: int = 2000  # physically possible training clips, generated from `seed`
    seed: int = 0
    folder: str = ""  # a folder of the user's clips (.npy, .gif, .mp4; any length) instead of generated ones
    physics: PhysicsConfig = field(default_factory=PhysicsConfig)


@dataclass
class ClipTrainConfig(LoopConfig):
    minutes: float = 10.0  # wall-clock budget (0: no limit, stop at `steps`)
    batch_size: int = 32  # windows of context + 1 frames


@dataclass
class SpatialClipTrainConfig(ClipTrainConfig):
    # Frames per sample, 0 = context + 1. Each frame after the context is a target, so a long
    # window shares one encoder pass among many targets: with context 8, windows of 20 (batch 8)
    # took 38% more steps than windows of 9 (batch 32) in the same minutes and scored no worse
    # (benchmarks/RESULTS.md, 2026-11-27).
    NONNEGATIVE = ("window",)
    window: int = 0


@dataclass
class VideoRunConfig:
    kind: str = "video_jepa"
    data: ClipDataConfig = field(default_factory=ClipDataConfig)
    model: VideoModelConfig = field(default_factory=VideoModelConfig)
    loss: VideoLossConfig = field(default_factory=VideoLossConfig)
    train: ClipTrainConfig = field(default_factory=ClipTrainConfig)


@dataclass
class SpatialVideoRunConfig:
    kind: str = "spatial_jepa"
    data: ClipDataConfig = field(default_factory=ClipDataConfig)
    model: SpatialVideoModelConfig = field(default_factory=SpatialVideoModelConfig)
    loss: SpatialVideoLossConfig = field(default_factory=SpatialVideoLossConfig)
    train: SpatialClipTrainConfig = field(default_factory=SpatialClipTrainConfig)


@dataclass
class MemoryClipTrainConfig(ClipTrainConfig):
    # Frames per sample: longer than the longest blackout run and the longest natural occlusion,
    # so the memory is trained to carry a ball through either and see it again.
    POSITIVE = ("window",)
    window: int = 16
    batch_size: int = 16


@dataclass
class MemoryVideoRunConfig:
    kind: str = "memory_jepa"
    data: ClipDataConfig = field(default_factory=ClipDataConfig)
    model: MemoryVideoModelConfig = field(default_factory=MemoryVideoModelConfig)
    loss: MemoryVideoLossConfig = field(default_factory=MemoryVideoLossConfig)
    train: MemoryClipTrainConfig = field(default_factory=MemoryClipTrainConfig)


@dataclass
class PixelRunConfig:
    kind: str = "pixel"
    data: ClipDataConfig = field(default_factory=ClipDataConfig)
    model: PixelModelConfig = field(default_factory=PixelModelConfig)
    train: ClipTrainConfig = field(default_factory=ClipTrainConfig)


RUN_KINDS = {"video_jepa": (VideoRunConfig, VideoJEPA), "spatial_jepa": (SpatialVideoRunConfig, SpatialVideoJEPA),
             "memory_jepa": (MemoryVideoRunConfig, MemoryVideoJEPA), "pixel": (PixelRunConfig, PixelPredictor)}


def sample_windows(clips: torch.Tensor, batch: int, length: int, rng: np.random.Generator,
                   lengths: np.ndarray | None = None) -> torch.Tensor:
    """(N, T, ...) clips -> (batch, length, ...) random windows of consecutive frames; with
    `lengths` (N,) (padded clips of different lengths) every window inside a clip is equally likely."""
    n, t = clips.shape[:2]
    if lengths is None:
        idx = torch.as_tensor(rng.integers(0, n, batch))
        start = torch.as_tensor(rng.integers(0, t - length + 1, batch))
    else:
        windows = np.maximum(lengths - length + 1, 0).astype(np.float64)
        idx_np = rng.choice(n, size=batch, p=windows / windows.sum())
        idx, start = torch.as_tensor(idx_np), torch.as_tensor(rng.integers(0, lengths[idx_np] - length + 1))
    return clips[idx[:, None], start[:, None] + torch.arange(length)]


def fit(objective: torch.nn.Module, clips: torch.Tensor, window: int, cfg: ClipTrainConfig, run_dir: Path,
        resume: bool = False, progress: bool = True, lengths: np.ndarray | None = None) -> dict:
    """Minimize `objective(windows)["loss"]` on random windows of `clips` until the step or time
    budget; logs, checkpoints and resumes (exactly) in `run_dir`. Returns a summary of the last losses."""
    device = pick_device(cfg.device)
    objective.to(device)
    params = [p for p in objective.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    rng = np.random.default_rng([cfg.seed, 0])  # the stream of runs before resume was exact
    loop = TrainingLoop(run_dir, cfg, optimizer, {"model": objective}, {"windows": rng}, resume=resume, progress=progress)
    warned = False
    with loop:
        while loop.next_step():
            terms = objective(sample_windows(clips, cfg.batch_size, window, rng, lengths).to(device))
            optimizer.zero_grad(set_to_none=True)
            terms["loss"].backward()
            torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
            optimizer.step()
            objective.update_target()
            row = loop.end_step(terms)
            if row and "latent_std" in row and loop.step > 4 * cfg.warmup_steps and row["latent_std"] < 0.01 and not warned:
                warned = True
                msg = f"representation collapse: mean latent std {row['latent_std']:.4f} at step {loop.step}"
                warnings.warn(msg, CollapseWarning, stacklevel=2)
                loop.bar.write("WARNING: " + msg)
    summary = loop.summary()
    del summary["world_size"]
    ckpt.write_json(run_dir / "train_summary.json", summary)
    return summary


def load_clips(cfg, image_size: int, window: int) -> tuple[np.ndarray, np.ndarray | None]:
    """The training clips: the user's folder (`data.folder`, resized to the model's input, with
    their lengths) or generated physics clips (all one length: lengths None)."""
    if cfg.data.folder:
        return read_clip_folder(cfg.data.folder, image_size, window)
    return possible_clips(cfg.data.clips, cfg.data.seed, cfg.data.physics), None


def _prepare(cfg, run_dir, clips, window: int, image_size: int, resume: bool) -> tuple[Path, torch.Tensor, np.ndarray | None]:
    if resume:  # before anything is written
        check_resumable(Path(run_dir) / "config.json", cfg)
    lengths = None
    if clips is None:  # read before the run directory is written: a bad folder leaves nothing behind
        clips, lengths = load_clips(cfg, image_size, window)
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    save_json(cfg, run_dir / "config.json")
    if lengths is not None:
        ckpt.write_json(run_dir / "clips.json", {"folder": cfg.data.folder, "clips": len(lengths),
                                                 "frames": int(lengths.sum()), "image_size": image_size})
    return run_dir, torch.as_tensor(clips), lengths


def train_video(cfg: VideoRunConfig, run_dir: str | Path, clips: np.ndarray | None = None, resume: bool = False,
                progress: bool = True) -> dict:
    """Train the video JEPA on `clips` (N, T, 3, H, W) uint8, generated from cfg.data if None."""
    seed_everything(cfg.train.seed)  # before the model is built: its initialization is part of the run
    model = VideoJEPA(cfg.model)
    run_dir, clips, lengths = _prepare(cfg, run_dir, clips, cfg.model.context + 1, model.image_size, resume)
    return fit(VideoJEPAObjective(model, cfg.loss), clips, cfg.model.context + 1, cfg.train, run_dir, resume, progress, lengths)


def train_spatial_video(cfg: SpatialVideoRunConfig, run_dir: str | Path, clips: np.ndarray | None = None,
                        resume: bool = False, progress: bool = True) -> dict:
    """Train the spatial video JEPA (latent maps, conv predictor) on the same kind of clips."""
    window = cfg.train.window or cfg.model.context + 1
    frames = clips.shape[1] if clips is not None else (10**9 if cfg.data.folder else cfg.data.physics.frames)
    if not cfg.model.context < window <= frames:  # checked before the run directory is touched
        raise ConfigError(f"train.window={window} must be above model.context={cfg.model.context} "
                          f"and at most the clip length {frames}")
    seed_everything(cfg.train.seed)  # before the model is built: its initialization is part of the run
    model = SpatialVideoJEPA(cfg.model)
    run_dir, clips, lengths = _prepare(cfg, run_dir, clips, window, model.image_size, resume)
    return fit(SpatialVideoJEPAObjective(model, cfg.loss), clips, window, cfg.train, run_dir, resume, progress, lengths)


def train_memory_video(cfg: MemoryVideoRunConfig, run_dir: str | Path, clips: np.ndarray | None = None,
                       resume: bool = False, progress: bool = True) -> dict:
    """Train the video JEPA with memory (recurrent latent map, blackout runs) on the same kind of clips."""
    frames = clips.shape[1] if clips is not None else (10**9 if cfg.data.folder else cfg.data.physics.frames)
    if not 1 < cfg.train.window <= frames:  # checked before the run directory is touched
        raise ConfigError(f"train.window={cfg.train.window} must be at least 2 and at most the clip length {frames}")
    seed_everything(cfg.train.seed)  # before the model is built: its initialization is part of the run
    model = MemoryVideoJEPA(cfg.model)
    run_dir, clips, lengths = _prepare(cfg, run_dir, clips, cfg.train.window, model.image_size, resume)
    objective = MemoryVideoJEPAObjective(model, cfg.loss, seed=cfg.train.seed)
    return fit(objective, clips, cfg.train.window, cfg.train, run_dir, resume, progress, lengths)


def train_pixel(cfg: PixelRunConfig, run_dir: str | Path, clips: np.ndarray | None = None, resume: bool = False,
                progress: bool = True) -> dict:
    """Train the pixel-space next-frame predictor on the same kind of clips."""
    seed_everything(cfg.train.seed)  # before the model is built: its initialization is part of the run
    model = PixelPredictor(cfg.model)
    run_dir, clips, lengths = _prepare(cfg, run_dir, clips, cfg.model.context + 1, model.image_size, resume)
    return fit(PixelObjective(model), clips, cfg.model.context + 1, cfg.train, run_dir, resume, progress, lengths)


def load_video_model(run_dir: str | Path, device: str = "auto"):
    """The trained clip model of a run (VideoJEPA, SpatialVideoJEPA or PixelPredictor), in eval mode."""
    path = Path(run_dir) / "config.json"
    if not path.is_file():
        raise ckpt.CheckpointError(f"{run_dir} is not a run directory: config.json is missing")
    try:
        raw = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ckpt.CheckpointError(f"{path} is not valid JSON: {err}") from None
    if not isinstance(raw, dict) or raw.get("kind") not in RUN_KINDS:
        raise ckpt.CheckpointError(f"{run_dir} is not a video run (its config names no video model kind): "
                                   "train one with `hjepa train-video`")
    cfg_cls, model_cls = RUN_KINDS[raw["kind"]]
    try:
        cfg = from_dict(cfg_cls, raw)
    except ConfigError as err:
        raise ckpt.CheckpointError(f"{path} is not a valid video run config: {err}") from None
    model = ckpt.load_trained_model(model_cls(cfg.model), run_dir)
    return model.to(pick_device(device)).eval()
