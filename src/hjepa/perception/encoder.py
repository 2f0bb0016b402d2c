"""Perception: pixels -> latent state vector s = Enc(x).

Three encoders share one config:
- `ConvEncoder` ("conv"): strided convs, flattened, a linear head. Generic.
- `KeypointEncoder` ("keypoints"): stride-1 convs, then a spatial softmax per channel that
  returns where that feature is (its expected x, y), next to a coarse copy of the feature maps
  for everything that is not a position, then a linear head. Positions of things (the agent,
  a door) come out as precise numbers rather than being spread over a flattened feature map,
  which is what a predictor of motion and contact needs.
- `MapEncoder` ("map"): stride-1 convs and no head: the latent is a feature map (C, h, w),
  flattened to D = C * h * w, so every planner still sees a vector. Its first channels are the
  pooled image itself, the learned ones follow. What is where stays where
  it is: the walls next to the agent are next to it in the latent, for a convolutional
  predictor (`world_model/predictor.py`, kind "conv") to read. The vector encoders squeeze a
  whole layout into a few numbers, and on Rooms they barely keep it (which doors are open:
  82% from the latent against 78% by always guessing the commoner state; benchmarks/RESULTS.md).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..config import Checked, ConfigValueError


@dataclass
class EncoderConfig(Checked):
    POSITIVE = ("in_channels", "image_size", "downsample", "channels", "keypoints", "latent_dim", "map_channels")
    CHOICES = {"kind": ("keypoints", "conv", "map")}
    kind: str = "keypoints"  # keypoints | conv | map
    in_channels: int = 2
    image_size: int = 65
    downsample: int = 4  # average-pool the image by this factor first (65 -> 16): 16x less compute
    channels: tuple[int, ...] = (16, 16, 16)
    keypoints: int = 16  # KeypointEncoder: feature maps whose soft-argmax positions are read out
    latent_dim: int = 32
    map_channels: int = 4  # kind=map: learned channels of the latent map, after the in_channels of the pooled image

    def check(self) -> None:
        if self.image_size // self.downsample < 2:
            raise ConfigValueError("downsample", f"={self.downsample} pools a {self.image_size} px image to "
                                   f"{self.image_size // self.downsample} px; the encoder needs at least 2")
        size = (self.in_channels + self.map_channels) * _pooled_side(self) ** 2
        if self.kind == "map" and self.latent_dim != size:
            raise ConfigValueError("latent_dim", f"must be (in_channels + map_channels) * (image_size // downsample)^2 = "
                                   f"{size} with kind=map (the latent is the whole map), got {self.latent_dim}")


def _pooled_side(cfg: EncoderConfig) -> int:
    return cfg.image_size // cfg.downsample


class ConvEncoder(nn.Module):
    """A small conv net: (B, C, H, W) in [0, 1] -> (B, latent_dim).

    The first conv keeps full (pooled) resolution so sub-pixel agent positions survive; the
    rest halve the resolution each time. No batch norm, so encoding one frame at planning time
    behaves exactly as in training.
    """

    def __init__(self, cfg: EncoderConfig):
        super().__init__()
        self.cfg = cfg
        layers, c_in = [], cfg.in_channels
        for i, c_out in enumerate(cfg.channels):
            layers += [nn.Conv2d(c_in, c_out, 3, stride=1 if i == 0 else 2, padding=1), nn.GELU()]
            c_in = c_out
        self.conv = nn.Sequential(*layers)
        side = _pooled_side(cfg)
        with torch.no_grad():
            n_flat = self.conv(torch.zeros(1, cfg.in_channels, side, side)).numel()
        self.head = nn.Linear(n_flat, cfg.latent_dim)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        if self.cfg.downsample > 1:
            obs = F.avg_pool2d(obs, self.cfg.downsample)
        return self.head(self.conv(obs).flatten(1))


def spatial_soft_argmax(maps: torch.Tensor, coords: torch.Tensor, temperature: torch.Tensor) -> torch.Tensor:
    """(B, K, S, S) maps, (2, S, S) coordinates, (K,) inverse temperatures -> (B, K, 2) expected (x, y)."""
    attention = torch.softmax(maps.flatten(2) * temperature[:, None], dim=-1)  # (B, K, S*S)
    return attention @ coords.flatten(1).T


class KeypointEncoder(nn.Module):
    """Stride-1 convs -> K feature maps -> [soft-argmax (x, y) per map, 2x-pooled maps] -> linear head.

    Each map's softmax over the image gives a distribution over positions; its mean is a
    keypoint in [-1, 1]^2, differentiable and sub-pixel precise. A learned temperature per map
    lets it sharpen. Coordinates are also fed to the first conv (CoordConv) so features can
    depend on absolute position.
    """

    def __init__(self, cfg: EncoderConfig):
        super().__init__()
        self.cfg = cfg
        layers, c_in = [], cfg.in_channels + 2
        for c_out in cfg.channels:
            layers += [nn.Conv2d(c_in, c_out, 3, padding=1), nn.GELU()]
            c_in = c_out
        layers.append(nn.Conv2d(c_in, cfg.keypoints, 1))
        self.conv = nn.Sequential(*layers)
        self.log_temperature = nn.Parameter(torch.zeros(cfg.keypoints))
        side = _pooled_side(cfg)
        grid = torch.linspace(-1.0, 1.0, side)
        self.register_buffer("coords", torch.stack(torch.meshgrid(grid, grid, indexing="xy")), persistent=False)  # (2, S, S): x, y
        self.head = nn.Linear(2 * cfg.keypoints + cfg.keypoints * (side // 2) ** 2, cfg.latent_dim)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        if self.cfg.downsample > 1:
            obs = F.avg_pool2d(obs, self.cfg.downsample)
        b = obs.shape[0]
        maps = self.conv(torch.cat([obs, self.coords.expand(b, -1, -1, -1)], dim=1))  # (B, K, S, S)
        keypoints = spatial_soft_argmax(maps, self.coords, self.log_temperature.exp())  # (B, K, 2)
        context = F.avg_pool2d(maps, 2).flatten(1)  # what is where, coarsely: walls, the door
        return self.head(torch.cat([keypoints.flatten(1), context], dim=1))


class MapEncoder(nn.Module):
    """(B, C_in, H, W) in [0, 1] -> (B, C * h * w): the image average-pooled by `downsample`,
    then `map_channels` learned channels (stride-1 convs, a 1x1 conv) stacked after it, C =
    C_in + map_channels, flattened channel-major (reshape to `map_shape` to read it).

    No coordinates and no head: the same pattern means the same thing anywhere in the image,
    which is what lets a convolutional predictor learn one rule for every wall. The pooled image
    is part of the latent because the learned channels alone, trained from scratch with the
    predictor, kept the walls and dropped the agent (the one thing that moves, and the hardest to
    predict: benchmarks/RESULTS.md, issue #27, 2026-12-02); what the image shows cannot collapse, and the learned
    channels add what the objective finds worth predicting."""

    def __init__(self, cfg: EncoderConfig):
        super().__init__()
        self.cfg = cfg
        layers, c_in = [], cfg.in_channels
        for c_out in cfg.channels:
            layers += [nn.Conv2d(c_in, c_out, 3, padding=1), nn.GELU()]
            c_in = c_out
        layers.append(nn.Conv2d(c_in, cfg.map_channels, 1))
        self.conv = nn.Sequential(*layers)
        side = _pooled_side(cfg)
        self.map_shape = (cfg.in_channels + cfg.map_channels, side, side)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        if self.cfg.downsample > 1:
            obs = F.avg_pool2d(obs, self.cfg.downsample)
        return torch.cat([obs, self.conv(obs)], dim=1).flatten(1)


ENCODERS = {"conv": ConvEncoder, "keypoints": KeypointEncoder, "map": MapEncoder}


def make_encoder(cfg: EncoderConfig) -> nn.Module:
    if cfg.kind not in ENCODERS:
        raise ValueError(f"unknown encoder kind {cfg.kind!r}; choose one of {sorted(ENCODERS)}")
    return ENCODERS[cfg.kind](cfg)
