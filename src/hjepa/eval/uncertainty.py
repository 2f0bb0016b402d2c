"""Does an ensemble know where it does not know? Its disagreement against its actual error.

On held-out windows the members roll out open-loop from the encoded first frame; at every
predictor step t we have the disagreement s_t (`JEPAWorldModel.rollout_spread`) and the error of
the members' mean, e_t = ||mean_t - Enc(x_t)||. A disagreement worth planning with ranks the
transitions the way their errors do: the Spearman rank correlation of s against e, per step and
pooled over steps. The same windows calibrate the disagreement guardrail
(`cost.guardrails.DisagreementBound`): the median and 99th percentile of s_t per step, written as
RUN/uncertainty.json.
"""
from __future__ import annotations

import torch

from ..data.dataset import TrajectoryDataset
from .probes import encoded_windows


def ranks(x: torch.Tensor) -> torch.Tensor:
    """(N,) -> (N,) float ranks 0..N-1 (ties broken by order: fine for continuous values)."""
    out = torch.empty_like(x)
    out[x.argsort()] = torch.arange(len(x), dtype=x.dtype, device=x.device)
    return out


def spearman(x: torch.Tensor, y: torch.Tensor) -> float:
    """Spearman rank correlation of two (N,) samples."""
    rx, ry = ranks(x.flatten().double()), ranks(y.flatten().double())
    rx, ry = rx - rx.mean(), ry - ry.mean()
    return float((rx * ry).sum() / (rx.norm() * ry.norm()).clamp_min(1e-12))


@torch.no_grad()
def disagreement_report(model, dataset: TrajectoryDataset, horizon: int = 16, num_windows: int = 512, seed: int = 0) -> dict:
    """Per predictor step (1..horizon/k): the disagreement's median and 99th percentile (latent
    units), the mean error of the members' mean, and the Spearman correlation of disagreement
    with error; `spearman` pools every (window, step)."""
    z, actions = encoded_windows(model, dataset, horizon, num_windows, seed)
    mean, spread = model.rollout_spread(z[:, 0], actions)  # (B, T, D), (B, T)
    error = (mean - z[:, 1:]).norm(dim=-1)  # (B, T)
    q = torch.tensor([0.5, 0.99], device=spread.device)
    median, p99 = torch.quantile(spread, q, dim=0)
    return {"env_steps_per_step": model.frameskip, "median": median.cpu().tolist(), "p99": p99.cpu().tolist(),
            "mean_error": error.mean(0).cpu().tolist(),
            "spearman_by_step": [spearman(spread[:, t], error[:, t]) for t in range(spread.shape[1])],
            "spearman": spearman(spread, error), "windows": num_windows}


__all__ = ["disagreement_report", "ranks", "spearman"]
