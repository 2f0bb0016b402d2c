"""Anti-collapse regularizers on a batch of embeddings z of shape (N, D).

- VICReg variance: mean over dimensions of relu(target_std - std(z_d)).
- VICReg covariance: sum of squared off-diagonal covariances, divided by D.
- SIGReg (LeJEPA): Epps-Pulley test of random 1-D projections against N(0, 1).
- Temporal smoothness and inverse dynamics work on sequences and live in the objective.
- `still_channel_hinge`: on latent maps over time (B, T, C, ...), every channel moves somewhere.
"""
from __future__ import annotations

import torch


def vicreg_variance(z: torch.Tensor, target_std: float = 1.0, eps: float = 1e-4) -> torch.Tensor:
    std = torch.sqrt(z.var(dim=0) + eps)
    return torch.relu(target_std - std).mean()


def vicreg_covariance(z: torch.Tensor) -> torch.Tensor:
    n, d = z.shape
    zc = z - z.mean(dim=0)
    cov = zc.T @ zc / (n - 1)
    off_diagonal = cov - torch.diag(torch.diagonal(cov))
    return off_diagonal.pow(2).sum() / d


def epps_pulley(x: torch.Tensor, num_points: int = 17, t_max: float = 3.0) -> torch.Tensor:
    """Epps-Pulley statistic of each column of x (N, M) against N(0, 1); returns (M,).

    N * integral of |phi_emp(t) - exp(-t^2/2)|^2 exp(-t^2/2) dt, by the trapezoid rule on
    [-t_max, t_max]; phi_emp is the empirical characteristic function of the column.
    """
    n = x.shape[0]
    t = torch.linspace(-t_max, t_max, num_points, device=x.device, dtype=x.dtype)
    xt = x.unsqueeze(-1) * t  # (N, M, P)
    real, imag = torch.cos(xt).mean(0), torch.sin(xt).mean(0)  # (M, P)
    gauss = torch.exp(-0.5 * t**2)
    integrand = ((real - gauss) ** 2 + imag**2) * gauss
    return n * torch.trapezoid(integrand, t, dim=-1)


def sigreg(z: torch.Tensor, num_projections: int = 64, generator: torch.Generator | None = None) -> torch.Tensor:
    """Mean Epps-Pulley statistic over random unit directions (fresh each call)."""
    d = z.shape[1]
    directions = torch.randn(d, num_projections, device=z.device, dtype=z.dtype, generator=generator)
    directions = directions / directions.norm(dim=0, keepdim=True)
    return epps_pulley(z @ directions).mean()


def still_channel_hinge(maps: torch.Tensor, target_std: float) -> torch.Tensor:
    """Latent maps (B, T, C, ...) -> mean over windows and channels of relu(target - m), m the
    std over time of the channel's most moving location: every channel must move somewhere in
    each window. Without it a map can hold the static scene alone (which varies enough between
    windows for VICReg) and drop the one thing that moves."""
    most_moving = maps.std(dim=1).flatten(2).amax(dim=-1)  # (B, C)
    return torch.relu(target_std - most_moving).mean()
