"""Video JEPA (no actions): predict the next frame's latent from a context window of latents.

    z_t = Enc(x_t)                                  (B, T, D)
    z^_t = Head(GRU(z_{t-c}, ..., z_{t-1}))         a context of the last c latents
    surprise_t = mean_d (z^_t - z_t)^2              how unexpected frame t is

Training windows hold `context + 1` frames; the GRU starts fresh at the window's first frame,
so one pass gives predictions from contexts of 1..context frames, and a surprise score can be
read at any of those context lengths. Collapse is prevented by one of three regularizers
(`loss.regularizer`): "vicreg" (variance over the batch and over time within each clip, plus
covariance), "sigreg" (SIGReg on the batch, plus the variance over time) or "ema" (targets
from a slowly moving copy of the encoder, BYOL-style, no variance term). The variance over
time is what keeps the moving balls in the latent: a latent that only describes what is
constant within a clip (the layout, the colours) is perfectly predictable and would satisfy
batch statistics alone.

The prediction is not residual (not z_{t-1} + ...) on purpose: an untrained residual predictor
would already be a "nothing changes" model that flags every visible jump, so the untrained
baseline would not measure what training adds.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field

import torch
import torch.nn as nn

from ..config import Checked

from ..perception.encoder import EncoderConfig, make_encoder
from .regularizers import sigreg, vicreg_covariance, vicreg_variance

REGULARIZERS = ("vicreg", "sigreg", "ema")


def _video_encoder() -> EncoderConfig:
    return EncoderConfig(kind="conv", in_channels=3, image_size=64, downsample=2, channels=(16, 32, 32, 32), latent_dim=64)


@dataclass
class VideoModelConfig(Checked):
    POSITIVE = ("hidden_dim", "context")
    encoder: EncoderConfig = field(default_factory=_video_encoder)
    hidden_dim: int = 256  # GRU state
    context: int = 4  # longest context the predictor is trained on (frames); 8 measured no better at half the steps


@dataclass
class VideoLossConfig(Checked):
    NONNEGATIVE = ("var", "time_var", "cov", "time_cov", "time_cov_dims", "sigreg")
    POSITIVE = ("target_std", "time_target_std")
    CHOICES = {"regularizer": ("vicreg", "sigreg", "ema")}
    regularizer: str = "vicreg"  # vicreg | sigreg | ema
    var: float = 1.0  # VICReg variance over the batch of frames
    time_var: float = 1.0  # variance over time within each window (vicreg and sigreg)
    cov: float = 0.04
    # Covariance of what changes within each window (z_t - mean_t z, in units of time_target_std).
    # Off by default: 0.04 took solidity from 0.435 to 0.935 but lost the ball (continuity 0.465).
    time_cov: float = 0.0
    # Apply time_cov to the last time_cov_dims latent dimensions only (0: all of them): one group
    # must move independently (it keeps the wall's outline), the rest is free (it keeps the ball).
    time_cov_dims: int = 0
    sigreg: float = 1.0
    target_std: float = 1.0
    time_target_std: float = 0.1  # 0.5 forced every dimension to move and left 3x the prediction error
    ema_decay: float = 0.99


def frames_to_float(clips: torch.Tensor) -> torch.Tensor:
    """uint8 (..., 3, H, W) in 0..255 -> float in [0, 1]; float input is passed through."""
    return clips.float() / 255.0 if clips.dtype == torch.uint8 else clips.float()


def context_windows(z: torch.Tensor, context: int) -> torch.Tensor:
    """(B, L, C, H, W) frames or maps -> (B * (L - context), context + 1, C, H, W): every run
    of `context` frames with the frame that follows it, clip-major."""
    return z.unfold(1, context + 1, 1).permute(0, 1, 5, 2, 3, 4).flatten(0, 1)


def encode_clips(encoder: nn.Module, clips: torch.Tensor) -> torch.Tensor:
    """(B, T, C, H, W) frames -> (B, T, D), one encoder call on all B * T frames."""
    b, t = clips.shape[:2]
    return encoder(frames_to_float(clips).flatten(0, 1)).reshape(b, t, -1)


class VideoJEPA(nn.Module):
    """Encoder + context predictor. Methods read like the math: encode, predict, frame_errors."""

    def __init__(self, cfg: VideoModelConfig):
        super().__init__()
        self.cfg = cfg
        d = cfg.encoder.latent_dim
        self.encoder = make_encoder(cfg.encoder)
        self.gru = nn.GRU(d, cfg.hidden_dim, batch_first=True)
        self.head = nn.Linear(cfg.hidden_dim, d)

    @property
    def image_size(self) -> int:
        return self.cfg.encoder.image_size

    def encode(self, clips: torch.Tensor) -> torch.Tensor:
        """(B, T, C, H, W) frames -> (B, T, D) latents."""
        return encode_clips(self.encoder, clips)

    def predict(self, z: torch.Tensor) -> torch.Tensor:
        """(B, K, D) latents -> (B, K, D): entry k predicts the latent after z[:, k] from z[:, :k+1]."""
        h, _ = self.gru(z)
        return self.head(h)

    def frame_errors(self, clips: torch.Tensor, context: int) -> torch.Tensor:
        """(B, T, C, H, W) -> (B, T) surprise of each frame given the `context` frames before it;
        NaN for the first `context` frames, which have no full context."""
        z = self.encode(clips)
        b, t, d = z.shape
        out = torch.full((b, t), float("nan"), device=z.device)
        if t <= context:
            return out
        windows = z.unfold(1, context + 1, 1).permute(0, 1, 3, 2)  # (B, T - c, c + 1, D)
        flat = windows.reshape(-1, context + 1, d)
        predicted = self.predict(flat[:, :-1])[:, -1]  # from all c context frames
        out[:, context:] = (predicted - flat[:, -1]).pow(2).mean(-1).reshape(b, t - context)
        return out


    def rollout_errors(self, clips: torch.Tensor, context: int) -> torch.Tensor:
        """(B, L, 3, H, W) -> (B, L - context): L1 error of the open-loop prediction of each frame
        after `context` observed ones, each step from the last `model.context` latents (observed or predicted)."""
        z = self.encode(clips)
        latents = list(z[:, :context].unbind(1))
        for _ in range(context, z.shape[1]):
            latents.append(self.predict(torch.stack(latents[-self.cfg.context:], 1))[:, -1])
        return (torch.stack(latents[context:], 1) - z[:, context:]).abs().mean(-1)

class VideoJEPAObjective(nn.Module):
    """The training loss on windows (B, context + 1, C, H, W) of uint8 frames."""

    def __init__(self, model: VideoJEPA, cfg: VideoLossConfig):
        super().__init__()
        if cfg.regularizer not in REGULARIZERS:
            raise ValueError(f"unknown regularizer {cfg.regularizer!r}; choose one of {REGULARIZERS}")
        if not 0 <= cfg.time_cov_dims <= model.cfg.encoder.latent_dim:
            raise ValueError(f"time_cov_dims must be in [0, latent_dim={model.cfg.encoder.latent_dim}], got {cfg.time_cov_dims}")
        self.model, self.cfg = model, cfg
        self.target = copy.deepcopy(model.encoder).requires_grad_(False) if cfg.regularizer == "ema" else None

    @torch.no_grad()
    def update_target(self) -> None:
        """EMA step of the target encoder (call after each optimizer step)."""
        if self.target is not None:
            for p_t, p in zip(self.target.parameters(), self.model.encoder.parameters()):
                p_t.lerp_(p, 1.0 - self.cfg.ema_decay)

    def moving_covariance(self, z: torch.Tensor) -> torch.Tensor:
        """VICReg covariance of the within-window residuals of latents (B, L, D): penalizes
        dimensions that move together, in units of the variance-over-time target."""
        moving = (z - z.mean(dim=1, keepdim=True)) / self.cfg.time_target_std
        if self.cfg.time_cov_dims:
            moving = moving[..., -self.cfg.time_cov_dims:]
        return vicreg_covariance(moving.flatten(0, 1))

    def forward(self, windows: torch.Tensor) -> dict[str, torch.Tensor]:
        cfg = self.cfg
        z = self.model.encode(windows)  # (B, L, D)
        if self.target is not None:
            with torch.no_grad():
                targets = encode_clips(self.target, windows)
        else:
            targets = z
        predicted = self.model.predict(z[:, :-1])
        terms = {"pred": (predicted - targets[:, 1:]).pow(2).mean()}
        flat = z.flatten(0, 1)
        zero = torch.zeros((), device=z.device)
        # Variance over time: per window, per dimension; the std of a constant latent is 0.
        time_std = torch.sqrt(z.var(dim=1) + 1e-4)  # (B, D)
        terms["time_var"] = torch.relu(cfg.time_target_std - time_std).mean() if cfg.regularizer != "ema" else zero
        terms["var"] = vicreg_variance(flat, cfg.target_std) if cfg.regularizer == "vicreg" else zero
        terms["cov"] = vicreg_covariance(flat) if cfg.regularizer == "vicreg" else zero
        terms["time_cov"] = self.moving_covariance(z) if cfg.time_cov > 0 else zero
        terms["sigreg"] = sigreg(flat) if cfg.regularizer == "sigreg" else zero
        terms["loss"] = (terms["pred"] + cfg.var * terms["var"] + cfg.time_var * terms["time_var"]
                         + cfg.cov * terms["cov"] + cfg.time_cov * terms["time_cov"] + cfg.sigreg * terms["sigreg"])
        terms["latent_std"] = flat.detach().std(0).mean()
        return terms
