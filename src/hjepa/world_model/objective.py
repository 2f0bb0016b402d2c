"""The JEPA training objective, one coefficient per term (any may be 0):

    L = pred * sum_t ||rollout_t - Enc(x_t)||^2          (open-loop latent prediction)
      + var * VICReg-variance + cov * VICReg-covariance  (or sigreg * SIGReg)
      + temporal * ||Enc(x_{t+1}) - Enc(x_t)||^2          (smoothness)
      + idm * ||IDM(s_t, s_{t+1}) - a_t||^2               (inverse dynamics)
      + time_var * hinge on each map channel's most moving place   (map latents only)
      + balance * load balance of a mixture's router     (predictor.kind=moe only)

With frameskip k, t counts predictor steps: the observations are one frame per predictor step
(every k-th environment frame), the actions one per environment step, and the inverse-dynamics target is the step's mean action (its displacement / k, same scale as k = 1).

It is an nn.Module whose forward returns the loss terms, so DDP can wrap it whole.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn

from ..config import Checked

from .jepa import JEPAWorldModel
from .predictor import mlp
from .regularizers import sigreg, still_channel_hinge, vicreg_covariance, vicreg_variance


@dataclass
class LossConfig(Checked):
    NONNEGATIVE = ("pred", "var", "cov", "sigreg", "temporal", "idm", "balance", "time_var")
    POSITIVE = ("target_std", "sigreg_projections", "idm_hidden", "time_target_std")
    pred: float = 1.0
    var: float = 1.0
    cov: float = 0.1
    sigreg: float = 0.0  # alternative to var/cov: set var=cov=0 and sigreg>0
    temporal: float = 0.02
    idm: float = 4.0
    target_std: float = 1.0
    sigreg_projections: int = 64
    idm_hidden: int = 128
    balance: float = 0.01  # mixture of experts: weight of the router's load-balancing term
    # Map latents (model.encoder.kind=map): every channel must move, somewhere, at least this
    # much over a window (regularizers.still_channel_hinge); a map otherwise keeps only the walls.
    time_var: float = 0.0
    time_target_std: float = 0.5


def latent_prediction_error(model: JEPAWorldModel, latents: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    """Roll out from latents[:, 0] through (B, T * k, A) actions and compare with latents[:, 1:]
    (B, T, D): squared distance summed over latent dims, mean over windows and steps (and over
    an ensemble's members, each judged on its own rollout, so each learns the whole dynamics)."""
    predicted = model.rollout_members(latents[:, 0], actions)
    return (predicted - latents[:, 1:]).pow(2).sum(-1).mean()


class MapInverseDynamics(nn.Module):
    """The inverse-dynamics head of a map latent: convs over the two maps stacked, averaged over
    places, a linear read-out of the action. Where something moved is local, so a conv finds it
    anywhere; an MLP over the flattened maps has to learn every place on its own."""

    def __init__(self, map_shape: tuple[int, int, int], hidden: int, action_dim: int):
        super().__init__()
        self.map_shape = tuple(map_shape)
        c = map_shape[0]
        self.convs = nn.Sequential(nn.Conv2d(2 * c, hidden, 3, padding=1), nn.GELU(),
                                   nn.Conv2d(hidden, hidden, 3, padding=2, dilation=2), nn.GELU())
        self.out = nn.Linear(hidden, action_dim)

    def forward(self, pairs: torch.Tensor) -> torch.Tensor:
        """(..., 2 * D): two flattened maps -> (..., A)."""
        c, h, w = self.map_shape
        before, after = pairs.reshape(-1, 2, c, h, w).unbind(1)
        x = torch.cat([before, after - before], dim=1)  # the change is zero wherever nothing moved
        return self.out(self.convs(x).sum(dim=(2, 3))).reshape(*pairs.shape[:-1], -1)


class JEPAObjective(nn.Module):
    """Holds the world model and the inverse-dynamics head; forward(batch) -> loss terms."""

    def __init__(self, model: JEPAWorldModel, cfg: LossConfig):
        super().__init__()
        self.model = model
        self.cfg = cfg
        d, a = model.latent_dim, model.cfg.action_dim
        self.idm_head = (mlp(2 * d, cfg.idm_hidden, a, depth=1) if model.map_shape is None
                         else MapInverseDynamics(model.map_shape, cfg.idm_hidden, a))

    def forward(self, observations: torch.Tensor, actions: torch.Tensor) -> dict[str, torch.Tensor]:
        """observations (B, T + 1, C, H, W) every k-th frame, actions (B, T * k, A) -> loss terms."""
        cfg, k = self.cfg, self.model.frameskip
        z = self.model.encode(observations)  # (B, T+1, D)
        mean_action = actions.reshape(actions.shape[0], -1, k, actions.shape[-1]).mean(2)  # (B, T, A)
        flat = self.model.feature_vectors(z)
        terms = {
            "pred": latent_prediction_error(self.model, z, actions),
            "var": vicreg_variance(flat, cfg.target_std),
            "cov": vicreg_covariance(flat),
            "temporal": (z[:, 1:] - z[:, :-1]).pow(2).sum(-1).mean(),
            "idm": (self.idm_head(torch.cat([z[:, :-1], z[:, 1:]], -1)) - mean_action).pow(2).sum(-1).mean(),
        }
        if cfg.time_var > 0:
            if self.model.map_shape is None:
                raise ValueError("loss.time_var is for map latents (model.encoder.kind=map); this latent is a vector")
            terms["time_var"] = still_channel_hinge(z.reshape(*z.shape[:2], *self.model.map_shape), cfg.time_target_std)
        if cfg.sigreg > 0:
            terms["sigreg"] = sigreg(flat, cfg.sigreg_projections)
        if hasattr(self.model.predictor, "balance"):  # a mixture: its router's load, on the data's own steps
            terms["balance"] = self.model.predictor.balance(z[:, :-1].detach(), self.model.group_actions(actions))
        terms["loss"] = sum(getattr(cfg, name) * value for name, value in terms.items())
        terms["latent_std"] = flat.detach().std(dim=0).mean()
        return terms
