"""Spatial video JEPA (no actions): the latent of a frame is a feature map, not a vector.

    Z_t = Enc(x_t)                                      (B, T, C, h, w), h = w = image_size / 4
    Z^_t = Z_{t-1} + Pred([Z_{t-c}, ..., Z_{t-1}])      a conv net over the stacked context maps
    surprise_t = mean over locations of sum_C (Z^_t - Z_t)^2

Why a map: the vector JEPA's small conv encoder keeps the ball's position only roughly (probe
R^2 0.69) and barely registers a ball overlapping the wall, so a ball passing through the wall
surprised it less than one bouncing off (solidity 0.43, benchmarks/RESULTS.md). A map keeps what
happens where; a ball inside the wall is a local pattern the predictor never saw.

Anti-collapse: VICReg variance and covariance over per-location vectors (a random subset of the
B * T * h * w positions, C channels each), and every channel must move somewhere in each window:
a hinge on the max over locations of its std over time. (Per location it would force the static
background to flicker; without it the map can describe the static layout alone.)

Unlike the vector JEPA, the predictor is residual (the last map plus a change), so an untrained
one is a "nothing changes" model in its own random feature space: the benchmark scores that
untrained model too, to show what training adds.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn

from ..config import Checked

from .regularizers import still_channel_hinge, vicreg_covariance, vicreg_variance
from .video import context_windows, frames_to_float


@dataclass
class SpatialVideoModelConfig(Checked):
    POSITIVE = ("image_size", "channels", "encoder_width", "predictor_width", "context")
    image_size: int = 64
    channels: int = 16  # C: channels of the latent map
    encoder_width: int = 32
    predictor_width: int = 64
    context: int = 4  # maps stacked as the predictor's input


@dataclass
class SpatialVideoLossConfig(Checked):
    NONNEGATIVE = ("var", "cov", "time_var")
    POSITIVE = ("time_target_std", "target_std", "locations")
    var: float = 1.0  # VICReg variance of each channel over locations, frames and windows
    cov: float = 0.04
    time_var: float = 1.0  # each channel's most moving location must move at least time_target_std
    time_target_std: float = 0.1
    target_std: float = 1.0
    locations: int = 4096  # per-location vectors sampled per batch for the VICReg terms


def map_encoder(width: int, channels: int) -> nn.Sequential:
    """Frames (N, 3, H, W) in [0, 1] -> latent maps (N, channels, H / 4, W / 4)."""
    return nn.Sequential(nn.Conv2d(3, width, 4, 2, 1), nn.GELU(), nn.Conv2d(width, width, 4, 2, 1), nn.GELU(),
                         nn.Conv2d(width, channels, 3, 1, 1))


def encode_maps(encoder: nn.Module, clips: torch.Tensor) -> torch.Tensor:
    """(B, T, 3, H, W) frames -> (B, T, C, h, w) latent maps, one encoder call on all B * T frames."""
    b, t = clips.shape[:2]
    maps = encoder(frames_to_float(clips).flatten(0, 1))
    return maps.reshape(b, t, *maps.shape[1:])


class SpatialVideoJEPA(nn.Module):
    """Conv encoder to a C x h x w map + conv predictor over the last `context` maps."""

    def __init__(self, cfg: SpatialVideoModelConfig):
        super().__init__()
        self.cfg = cfg
        c = cfg.channels
        self.encoder = map_encoder(cfg.encoder_width, c)
        p = cfg.predictor_width
        self.predictor = nn.Sequential(nn.Conv2d(cfg.context * c, p, 3, 1, 1), nn.GELU(),
                                       nn.Conv2d(p, p, 3, 1, 2, dilation=2), nn.GELU(),  # a wider view of the motion
                                       nn.Conv2d(p, p, 3, 1, 1), nn.GELU(), nn.Conv2d(p, c, 3, 1, 1))

    @property
    def image_size(self) -> int:
        return self.cfg.image_size

    def encode(self, clips: torch.Tensor) -> torch.Tensor:
        """(B, T, 3, H, W) frames -> (B, T, C, h, w) latent maps."""
        return encode_maps(self.encoder, clips)

    def predict(self, z: torch.Tensor) -> torch.Tensor:
        """(B, context, C, h, w) maps -> (B, C, h, w): the next map."""
        return z[:, -1] + self.predictor(z.flatten(1, 2))

    def frame_errors(self, clips: torch.Tensor, context: int) -> torch.Tensor:
        """(B, T, 3, H, W) -> (B, T) surprise of each frame given the `context` maps before it;
        NaN for the first `context` frames."""
        if context != self.cfg.context:
            raise ValueError(f"this spatial JEPA was trained on {self.cfg.context} context frames, not {context}")
        z = self.encode(clips)
        b, t = z.shape[:2]
        out = torch.full((b, t), float("nan"), device=z.device)
        if t <= context:
            return out
        windows = context_windows(z, context)
        error = (self.predict(windows[:, :-1]) - windows[:, -1]).pow(2).sum(1).mean((1, 2))
        out[:, context:] = error.reshape(b, t - context)
        return out


    def rollout_errors(self, clips: torch.Tensor, context: int) -> torch.Tensor:
        """(B, L, 3, H, W) -> (B, L - context): L1 error of the open-loop prediction of each frame
        after `context` observed ones, each step from the last `model.context` maps (observed or predicted)."""
        if context < self.cfg.context:
            raise ValueError(f"this spatial JEPA needs at least {self.cfg.context} observed frames, not {context}")
        z = self.encode(clips)
        maps = list(z[:, :context].unbind(1))
        for _ in range(context, z.shape[1]):
            maps.append(self.predict(torch.stack(maps[-self.cfg.context:], 1)))
        return (torch.stack(maps[context:], 1) - z[:, context:]).abs().mean((2, 3, 4))

class SpatialVideoJEPAObjective(nn.Module):
    """The training loss on windows (B, L, 3, H, W) of uint8 frames, L > context: each frame
    after the first `context` is a prediction target, so one encoder pass serves L - context."""

    def __init__(self, model: SpatialVideoJEPA, cfg: SpatialVideoLossConfig):
        super().__init__()
        self.model, self.cfg = model, cfg

    def update_target(self) -> None:  # the training loop's hook; no target network here
        pass

    def forward(self, windows: torch.Tensor) -> dict[str, torch.Tensor]:
        cfg = self.cfg
        z = self.model.encode(windows)  # (B, L, C, h, w)
        windows = context_windows(z, self.model.cfg.context)
        terms = {"pred": (self.model.predict(windows[:, :-1]) - windows[:, -1]).pow(2).mean(), **map_regularizers(z, cfg)}
        terms["loss"] = terms["pred"] + cfg.var * terms["var"] + cfg.cov * terms["cov"] + cfg.time_var * terms["time_var"]
        return terms


def map_regularizers(z: torch.Tensor, cfg) -> dict[str, torch.Tensor]:
    """Anti-collapse terms of latent maps z (B, L, C, h, w): VICReg variance and covariance over
    a random subset of the per-location C-vectors, and a hinge on each channel's most moving
    location (`cfg`: target_std, locations, time_target_std). Also the latent's mean std, to log."""
    vectors = z.permute(0, 1, 3, 4, 2).reshape(-1, z.shape[2])  # one C-vector per location and frame
    pick = torch.randint(0, len(vectors), (min(cfg.locations, len(vectors)),), device=z.device)
    return {"var": vicreg_variance(vectors[pick], cfg.target_std), "cov": vicreg_covariance(vectors[pick]),
            "time_var": still_channel_hinge(z, cfg.time_target_std), "latent_std": vectors[pick].detach().std(0).mean()}
