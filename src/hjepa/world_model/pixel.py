"""A generative baseline: predict the next frame's pixels from the last `context` frames.

    x^_t = x_{t-1} + Dec(Enc([x_{t-c}, ..., x_{t-1}]))   a small conv encoder-decoder
    surprise_t = mean over pixels of (x^_t - x_t)^2

It sees the same clips for the same time budget as the video JEPA, so the two surprise scores
compare prediction in pixel space against prediction in latent space.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn

from ..config import Checked

from .video import context_windows, frames_to_float


@dataclass
class PixelModelConfig(Checked):
    POSITIVE = ("context", "channels", "image_size")
    context: int = 4  # frames stacked as input
    channels: int = 32
    image_size: int = 64


class PixelPredictor(nn.Module):
    def __init__(self, cfg: PixelModelConfig):
        super().__init__()
        self.cfg = cfg
        c = cfg.channels
        self.net = nn.Sequential(
            nn.Conv2d(3 * cfg.context, c, 4, stride=2, padding=1), nn.GELU(),  # 64 -> 32
            nn.Conv2d(c, 2 * c, 4, stride=2, padding=1), nn.GELU(),  # 32 -> 16
            nn.Conv2d(2 * c, 2 * c, 3, padding=1), nn.GELU(),
            nn.ConvTranspose2d(2 * c, c, 4, stride=2, padding=1), nn.GELU(),  # 16 -> 32
            nn.ConvTranspose2d(c, 3, 4, stride=2, padding=1),  # 32 -> 64
        )

    @property
    def image_size(self) -> int:
        return self.cfg.image_size

    def predict(self, frames: torch.Tensor) -> torch.Tensor:
        """(B, context, 3, H, W) -> (B, 3, H, W): the next frame."""
        x = frames_to_float(frames)
        return x[:, -1] + self.net(x.flatten(1, 2))

    def frame_errors(self, clips: torch.Tensor, context: int) -> torch.Tensor:
        """(B, T, 3, H, W) -> (B, T) pixel MSE of each frame's prediction; NaN before `context`."""
        if context != self.cfg.context:
            raise ValueError(f"this pixel predictor was trained on {self.cfg.context} context frames, not {context}")
        x = frames_to_float(clips)
        b, t = x.shape[:2]
        out = torch.full((b, t), float("nan"), device=x.device)
        if t <= context:
            return out
        windows = context_windows(x, context)  # (B * (T - c), c + 1, 3, H, W)
        predicted = self.predict(windows[:, :-1])
        out[:, context:] = (predicted - windows[:, -1]).pow(2).mean((1, 2, 3)).reshape(b, t - context)
        return out


    def rollout_errors(self, clips: torch.Tensor, context: int) -> torch.Tensor:
        """(B, L, 3, H, W) -> (B, L - context): L1 pixel error of the open-loop prediction of each
        frame after `context` observed ones, each step from the last `model.context` frames."""
        if context < self.cfg.context:
            raise ValueError(f"this pixel predictor needs at least {self.cfg.context} observed frames, not {context}")
        x = frames_to_float(clips)
        frames = list(x[:, :context].unbind(1))
        for _ in range(context, x.shape[1]):
            frames.append(self.predict(torch.stack(frames[-self.cfg.context:], 1)))
        return (torch.stack(frames[context:], 1) - x[:, context:]).abs().mean((2, 3, 4))

class PixelObjective(nn.Module):
    """MSE of the next frame, on windows (B, context + 1, 3, H, W)."""

    def __init__(self, model: PixelPredictor):
        super().__init__()
        self.model = model

    def update_target(self) -> None:  # the training loop's hook; nothing to do here
        pass

    def forward(self, windows: torch.Tensor) -> dict[str, torch.Tensor]:
        c = self.model.cfg.context
        x = frames_to_float(windows)
        pred = (self.model.predict(x[:, :c]) - x[:, c]).pow(2).mean()
        return {"pred": pred, "loss": pred}
