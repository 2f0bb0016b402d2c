"""Video JEPA with memory: a recurrent latent map that keeps what it cannot see.

    Z_t  = Enc(x_t)                                   (B, T, C, h, w) latent maps, as the spatial JEPA
    Z^_t = Read(H_{t-1})                              the prediction of frame t, before it is seen
    g_t  = sigmoid(Gate([Z^_t, Z_t]))                 (B, 1, h, w): per location, trust the observation?
    U_t  = g_t * Z_t + (1 - g_t) * Z^_t               fused input; a hidden frame has g_t = 0
    H_t  = ConvGRU(H_{t-1}, U_t)                      the memory (B, M, h, w)
    surprise_t = mean over locations of sum_C (Z^_t - Z_t)^2

Why: a model that only sees the last few frames finds a ball coming out from behind the
occluder as surprising as one that never comes out, so "a ball vanishes behind the occluder"
stayed at 0.18-0.28 for every memoryless model (benchmarks/RESULTS.md). Here the memory H can
carry a ball through the frames in which no observation shows it.

Training is JEPA-style (prediction in latent space, no pixels): windows of `train.window`
frames, every frame after the first a target. **Blackout** (Loci-Looped's recipe): runs of
frames are hidden from the model (g = 0: it fuses its own prediction) while their targets stay,
so the memory must carry every ball through the run; the share of hidden frames ramps from
`blackout_start` to `blackout_end` over `blackout_ramp_steps`. Runs last up to
`blackout_max_run` frames, longer than the longest natural occlusion (about 8 frames at the
slowest speed and the widest occluder). Collapse is prevented as in the spatial JEPA: VICReg
variance and covariance over per-location vectors, and each channel must move somewhere.

`frame_errors` runs the filter from the clip's first frame (the context is a warm-up: no score
before it); `rollout_errors` observes `context` frames and then predicts open loop.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn

from ..config import Checked
from .spatial_video import SpatialVideoLossConfig, encode_maps, map_encoder, map_regularizers


@dataclass
class MemoryVideoModelConfig(Checked):
    POSITIVE = ("image_size", "channels", "encoder_width", "memory_channels", "context")
    image_size: int = 64
    channels: int = 16  # C: channels of the latent map (the prediction target)
    encoder_width: int = 32
    memory_channels: int = 32  # M: channels of the recurrent memory H (48: 1.3x the time per step)
    context: int = 4  # frames observed before the first scored frame (a warm-up, not a window)


@dataclass
class MemoryVideoLossConfig(SpatialVideoLossConfig):
    """The spatial JEPA's anti-collapse terms, plus blackout and synthetic occluders."""
    NONNEGATIVE = ("blackout_start", "blackout_end", "blackout_ramp_steps")
    POSITIVE = ("blackout_max_run", "occluder_width")
    FRACTION = ("blackout_start", "blackout_end", "occluder_share")
    ORDERED = ("occluder_width",)
    blackout_start: float = 0.1  # share of hidden frames at the first step ...
    blackout_end: float = 0.45  # ... and after the ramp
    blackout_ramp_steps: int = 1500  # about half of what 20 minutes of 2 CPU cores train
    blackout_max_run: int = 10  # frames per hidden run: 1..max_run, uniform
    # Synthetic occluders: this share of the training windows get a static vertical band of one
    # random colour, `occluder_width` pixels wide (a range), painted over every frame, input and
    # target alike: more events of a ball going behind something and coming out, for the memory
    # to learn from. 0: the clips as they are.
    occluder_share: float = 0.0
    occluder_width: tuple[int, int] = (10, 18)


class ConvGRUCell(nn.Module):
    """A GRU whose gates are 3x3 convolutions: state (B, M, h, w), input (B, C, h, w)."""

    def __init__(self, inputs: int, state: int):
        super().__init__()
        self.gates = nn.Conv2d(inputs + state, 2 * state, 3, 1, 1)
        self.candidate = nn.Conv2d(inputs + state, state, 3, 1, 1)

    def forward(self, h: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        update, reset = torch.sigmoid(self.gates(torch.cat([u, h], 1))).chunk(2, 1)
        candidate = torch.tanh(self.candidate(torch.cat([u, reset * h], 1)))
        return (1 - update) * h + update * candidate


def blackout_mask(batch: int, length: int, share: float, max_run: int, rng: np.random.Generator) -> torch.Tensor:
    """(batch, length) bool, True = hidden: runs of 1..max_run frames that start at random, about
    `share` of the frames in all; frame 0 is never hidden (the memory starts from it)."""
    # A frame is hidden unless no run that covers it started: P = 1 - prod_k (1 - rate * P(run > k)).
    # Solve that for the rate of run starts (bisection: it grows with the rate).
    longer = (max_run - np.arange(max_run)) / max_run  # P(run > k), k = 0 .. max_run - 1
    lo, hi = 0.0, 1.0
    for _ in range(40):
        rate = (lo + hi) / 2
        lo, hi = (rate, hi) if 1 - np.prod(1 - rate * longer) < share else (lo, rate)
    starts = rng.random((batch, length)) < rate
    runs = rng.integers(1, max_run + 1, (batch, length))
    hidden = np.zeros((batch, length), bool)
    for k in range(min(max_run, length)):  # frame s + k is hidden by a run that starts at s and lasts more than k
        hidden[:, k:] |= (starts & (runs > k))[:, :length - k]
    hidden[:, 0] = False
    return torch.as_tensor(hidden)


def paint_occluders(windows: torch.Tensor, share: float, width: tuple[int, int], rng: np.random.Generator) -> torch.Tensor:
    """uint8 windows (B, L, 3, H, W) with, in about `share` of them, a full-height band of one
    random colour at a random column, the same in every frame (a static occluder)."""
    b, w = windows.shape[0], windows.shape[-1]
    chosen = np.flatnonzero(rng.random(b) < share)
    if len(chosen) == 0:
        return windows
    windows = windows.clone()
    for i in chosen:  # a few windows per batch: the loop is not a hot path
        band = int(rng.integers(width[0], width[1] + 1))
        left = int(rng.integers(0, w - band + 1))
        colour = torch.as_tensor(rng.integers(0, 256, 3), dtype=windows.dtype)
        windows[i, :, :, :, left:left + band] = colour.view(1, 3, 1, 1)
    return windows


class MemoryVideoJEPA(nn.Module):
    """Encoder to latent maps + a gated recurrent memory that predicts the next map."""

    def __init__(self, cfg: MemoryVideoModelConfig):
        super().__init__()
        self.cfg = cfg
        c, m = cfg.channels, cfg.memory_channels
        self.encoder = map_encoder(cfg.encoder_width, c)
        self.memory = ConvGRUCell(c, m)
        self.read = nn.Sequential(nn.Conv2d(m, m, 3, 1, 1), nn.GELU(), nn.Conv2d(m, c, 3, 1, 1))
        self.gate = nn.Conv2d(2 * c, 1, 3, 1, 1)

    @property
    def image_size(self) -> int:
        return self.cfg.image_size

    def encode(self, clips: torch.Tensor) -> torch.Tensor:
        """(B, T, 3, H, W) frames -> (B, T, C, h, w) latent maps."""
        return encode_maps(self.encoder, clips)

    def initial_state(self, z0: torch.Tensor) -> torch.Tensor:
        """The memory after seeing the first map (B, C, h, w): a GRU step from zeros."""
        h = z0.new_zeros(z0.shape[0], self.cfg.memory_channels, *z0.shape[2:])
        return self.memory(h, z0)

    def fuse(self, predicted: torch.Tensor, observed: torch.Tensor, seen: torch.Tensor) -> torch.Tensor:
        """The input of one memory step: g * observed + (1 - g) * predicted per location, with
        g = 0 where `seen` (B,) is False (a hidden frame: the model feeds itself its prediction)."""
        g = torch.sigmoid(self.gate(torch.cat([predicted, observed], 1))) * seen.view(-1, 1, 1, 1).to(predicted.dtype)
        return g * observed + (1 - g) * predicted

    def filter(self, z: torch.Tensor, seen: torch.Tensor) -> torch.Tensor:
        """Maps (B, T, C, h, w) and (B, T) bool seen -> (B, T, C, h, w) predictions Z^_t of each
        map from the frames before it (entry 0 is Z_0 itself: nothing predicts it)."""
        h = self.initial_state(z[:, 0])
        predictions = [z[:, 0]]
        for t in range(1, z.shape[1]):
            predicted = self.read(h)
            predictions.append(predicted)
            h = self.memory(h, self.fuse(predicted, z[:, t], seen[:, t]))
        return torch.stack(predictions, 1)

    def frame_errors(self, clips: torch.Tensor, context: int) -> torch.Tensor:
        """(B, T, 3, H, W) -> (B, T) surprise of each frame, the memory run from frame 0; NaN for
        the first `context` frames (warm-up)."""
        z = self.encode(clips)
        b, t = z.shape[:2]
        seen = torch.ones(b, t, dtype=torch.bool, device=z.device)
        errors = (self.filter(z, seen) - z).pow(2).sum(2).mean((2, 3))
        errors[:, :min(context, t)] = float("nan")
        return errors

    def rollout_errors(self, clips: torch.Tensor, context: int) -> torch.Tensor:
        """(B, L, 3, H, W) -> (B, L - context): L1 error of the open-loop prediction of each frame
        after `context` observed ones (V-JEPA's protocol: the rest of the window is never seen)."""
        z = self.encode(clips)
        b, length = z.shape[:2]
        seen = (torch.arange(length, device=z.device) < context).expand(b, length)
        return (self.filter(z, seen) - z)[:, context:].abs().mean((2, 3, 4))


class MemoryVideoJEPAObjective(nn.Module):
    """The training loss on windows (B, L, 3, H, W) of uint8 frames with blackout runs."""

    def __init__(self, model: MemoryVideoJEPA, cfg: MemoryVideoLossConfig, seed: int = 0):
        super().__init__()
        self.model, self.cfg = model, cfg
        self.register_buffer("steps", torch.zeros((), dtype=torch.long))  # for the ramp; resumes with the run
        self.seed = seed

    def update_target(self) -> None:  # the training loop's hook: one more step of the blackout ramp
        self.steps += 1

    def blackout_share(self) -> float:
        cfg = self.cfg
        progress = min(int(self.steps) / cfg.blackout_ramp_steps, 1.0) if cfg.blackout_ramp_steps else 1.0
        return cfg.blackout_start + (cfg.blackout_end - cfg.blackout_start) * progress

    def forward(self, windows: torch.Tensor) -> dict[str, torch.Tensor]:
        cfg = self.cfg
        rng = np.random.default_rng([self.seed, int(self.steps)])  # a function of the step: resumes exactly
        if cfg.occluder_share > 0:
            windows = paint_occluders(windows, cfg.occluder_share, cfg.occluder_width, rng)
        z = self.model.encode(windows)  # (B, L, C, h, w)
        hidden = blackout_mask(z.shape[0], z.shape[1], self.blackout_share(), cfg.blackout_max_run, rng).to(z.device)
        predicted = self.model.filter(z, ~hidden)
        terms = {"pred": (predicted[:, 1:] - z[:, 1:]).pow(2).mean(), **map_regularizers(z, cfg)}
        terms["loss"] = terms["pred"] + cfg.var * terms["var"] + cfg.cov * terms["cov"] + cfg.time_var * terms["time_var"]
        terms["hidden_share"] = hidden.float().mean()
        with torch.no_grad():  # the error on hidden frames alone: does the memory carry them?
            gap = (predicted - z).pow(2).mean((2, 3, 4))
            terms["pred_hidden"] = gap[hidden].mean() if hidden.any() else gap.new_zeros(())
        return terms
