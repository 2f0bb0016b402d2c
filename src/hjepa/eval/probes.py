"""What the representation knows: linear probes and open-loop rollout error against horizon."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from ..data.dataset import TrajectoryDataset
from ..world_model import JEPAWorldModel


@dataclass
class LinearProbe:
    """y = [z, 1] @ weight, fitted by ridge regression on standardized latents.

    The ridge penalty acts on z / std(z) and spares the intercept, so a probe's fit does not
    depend on the latent's scale or offset; the fitted map is folded back into one (D + 1, K)
    weight, the form saved as probe.safetensors.

    Uses labels: it is fitted on the simulator's true states. As a metric (probe R^2) that is
    fine; anything that acts through a probe (wavefront cells, forbidden regions) is labelled."""

    weight: torch.Tensor  # (D + 1, K)
    uses_labels = True  # a class constant, not a dataclass field

    @classmethod
    def fit(cls, z: torch.Tensor, y: torch.Tensor, ridge: float = 1e-3) -> "LinearProbe":
        z, y = z.double(), y.double()
        mean, std = z.mean(0), z.std(0, correction=0)
        # A feature that barely varies is left out (weight 0): scaled up, its rounding noise
        # would get a huge slope, and folding that back into the bias would lose precision.
        scale = torch.where(std > 1e-6 * std.max(), std, torch.inf)
        x = (z - mean) / scale
        gram = x.T @ x + ridge * len(x) * torch.eye(x.shape[1], dtype=x.dtype, device=x.device)
        w = torch.linalg.solve(gram, x.T @ (y - y.mean(0)))  # (D, K) on standardized z
        slope = w / scale[:, None]
        bias = y.mean(0) - mean @ slope
        return cls(torch.cat([slope, bias[None]]).float())

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        return torch.cat([z, torch.ones_like(z[..., :1])], dim=-1) @ self.weight.to(z)

    def r2(self, z: torch.Tensor, y: torch.Tensor) -> float:
        residual = (self(z) - y).pow(2).sum()
        total = (y - y.mean(0)).pow(2).sum()
        return float(1 - residual / total)

    def r2_by_column(self, z: torch.Tensor, y: torch.Tensor) -> list[float]:
        """R^2 of each target column on its own."""
        return r2_by_column(self(z), y)


def r2_by_column(pred: torch.Tensor, y: torch.Tensor) -> list[float]:
    """R^2 of each column of predictions (N, K) against targets (N, K)."""
    residual = (pred - y).pow(2).sum(0)
    total = (y - y.mean(0)).pow(2).sum(0).clamp_min(1e-12)
    return (1 - residual / total).tolist()


@torch.no_grad()
def encode_dataset(model: JEPAWorldModel, dataset: TrajectoryDataset, max_frames: int = 20000, batch: int = 2048,
                   seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Latents (N, D), true states (N, S) and scene parameters (N, K; None when the dataset has
    none) of up to max_frames random frames."""
    device = next(model.parameters()).device
    n, t1 = dataset.observations.shape[:2]
    rng = np.random.default_rng(seed)
    flat = rng.choice(n * t1, size=min(max_frames, n * t1), replace=False)
    traj, time = flat // t1, flat % t1
    zs = []
    for i in range(0, len(flat), batch):
        obs = torch.from_numpy(dataset.observations[traj[i:i + batch], time[i:i + batch]]).to(device).float() / 255
        zs.append(model.encode(obs).cpu())
    layouts = None if dataset.layouts is None else torch.from_numpy(dataset.layouts[traj])
    return torch.cat(zs), torch.from_numpy(dataset.states[traj, time]), layouts


def position_probe(model: JEPAWorldModel, train: TrajectoryDataset, test: TrajectoryDataset,
                   targets: Callable[[np.ndarray], np.ndarray] | None = None) -> tuple[LinearProbe, float, list[float]]:
    """Fit a linear probe of the true state (Two-Rooms: the (x, y) position; `targets` maps
    states to what is probed, e.g. an angle to its cosine and sine) on train frames; return it,
    its R^2 on test frames, and the R^2 of each target column."""
    z_train, pos_train, _ = encode_dataset(model, train)
    z_test, pos_test, _ = encode_dataset(model, test, seed=1)
    if targets is not None:
        pos_train, pos_test = (torch.from_numpy(np.asarray(targets(y.numpy()), np.float32)) for y in (pos_train, pos_test))
    probe = LinearProbe.fit(z_train, pos_train)
    return probe, probe.r2(z_test, pos_test), probe.r2_by_column(z_test, pos_test)


@torch.no_grad()
def encoded_windows(model: JEPAWorldModel, dataset: TrajectoryDataset, horizon: int, num_windows: int,
                    seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Random windows of `horizon` environment steps (cut to whole predictor steps, at most the
    trajectory length): their latents (B, H/k + 1, D), one per predictor step, and actions (B, H, A)."""
    device = next(model.parameters()).device
    k = model.frameskip
    horizon = min(horizon, dataset.length) // k * k
    if horizon < k:
        raise ValueError(f"trajectories of {dataset.length} steps are shorter than one predictor step ({k})")
    rng = np.random.default_rng(seed)
    traj = rng.integers(0, dataset.num_trajectories, size=num_windows)
    start = rng.integers(0, dataset.length - horizon + 1, size=num_windows)
    frames = start[:, None] + np.arange(horizon + 1)[None]
    obs = torch.from_numpy(dataset.observations[traj[:, None], frames[:, ::k]]).to(device).float() / 255
    actions = torch.from_numpy(dataset.actions[traj[:, None], frames[:, :-1]]).to(device)
    return model.encode(obs), actions


@torch.no_grad()
def rollout_error_by_horizon(model: JEPAWorldModel, dataset: TrajectoryDataset, horizon: int, num_windows: int = 512,
                             seed: int = 0) -> dict[int, float]:
    """Open-loop latent error after h environment steps, for h = k, 2k, ... up to `horizon`.

    Reported as the mean squared error ||rollout_h - Enc(x_h)||^2 divided by the total latent
    variance, so 1.0 means an error as large as the spread of the representation itself.
    """
    z, actions = encoded_windows(model, dataset, horizon, num_windows, seed)
    return prediction_errors(model, z, actions)


@torch.no_grad()
def prediction_errors(model: JEPAWorldModel, z: torch.Tensor, actions: torch.Tensor) -> dict[int, float]:
    """`rollout_error_by_horizon` on windows already encoded by `encoded_windows`."""
    return _relative_errors(model.rollout(z[:, 0], actions), z, model.frameskip)


def copy_errors(z: torch.Tensor, frameskip: int) -> dict[int, float]:
    """The same error for predicting no change (the first latent, copied) on encoded windows
    (B, T + 1, D): a predictor that does not beat it has learned less than nothing about what
    the actions do."""
    return _relative_errors(z[:, :1].expand(-1, z.shape[1] - 1, -1), z, frameskip)


def _relative_errors(predicted: torch.Tensor, z: torch.Tensor, k: int) -> dict[int, float]:
    """{env steps: mean ||predicted - z_h||^2 / total latent variance} for predictions (B, T, D) of z[:, 1:]."""
    scale = z.reshape(-1, z.shape[-1]).var(0).sum()
    errors = ((predicted - z[:, 1:]).pow(2).sum(-1).mean(0) / scale).cpu().tolist()
    return {k * (i + 1): e for i, e in enumerate(errors)}


@torch.no_grad()
def clip_probes(model, clips: np.ndarray, facts: dict[str, np.ndarray], batch: int = 32,
                ridges: tuple[float, ...] = (1e-3, 1e-2, 1e-1, 1.0)) -> dict[str, float]:
    """Held-out R^2 of a linear probe from a clip model's latent to each fact, per frame.

    clips (N, T, C, H, W) and facts {name: (N, T)} as `data.physics.labelled_clips` returns
    them (a latent map (C, h, w) per frame is probed as one C * h * w vector); the first half of
    the clips fits the probes, the second half scores them (a probe that memorizes one clip's
    layout cannot pass). Each fact's ridge penalty is the best of `ridges` on the last quarter
    of the fitting clips: a latent map has thousands of numbers per frame, and the smallest
    penalty lets a probe memorize the fitting frames."""
    device = next(model.parameters()).device
    z = torch.cat([model.encode(torch.as_tensor(clips[i:i + batch]).to(device)).flatten(2).cpu()
                   for i in range(0, len(clips), batch)])  # (N, T, D)
    names = list(facts)
    y = torch.as_tensor(np.stack([facts[k] for k in names], -1), dtype=torch.float32)  # (N, T, K)
    half, quarter = len(clips) // 2, len(clips) // 8
    inner, check = slice(0, half - quarter), slice(half - quarter, half)
    best = []
    for ridge in ridges:  # validation R^2 of each fact under each penalty
        probe = LinearProbe.fit(z[inner].flatten(0, 1), y[inner].flatten(0, 1), ridge)
        best.append(probe.r2_by_column(z[check].flatten(0, 1), y[check].flatten(0, 1)))
    chosen = np.asarray(best).argmax(0)  # (K,)
    out = {}
    for r in np.unique(chosen):
        probe = LinearProbe.fit(z[:half].flatten(0, 1), y[:half].flatten(0, 1), ridges[r])
        r2 = probe.r2_by_column(z[half:].flatten(0, 1), y[half:].flatten(0, 1))
        out.update({names[k]: r2[k] for k in np.flatnonzero(chosen == r)})
    return {k: out[k] for k in names}
