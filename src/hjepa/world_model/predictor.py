"""Action-conditioned predictors: s_{t+1} = s_t + f(s_t, a_t), in four kinds.

- `mlp` (dense): one residual MLP.
- `ensemble`: K residual MLPs with their own initializations, stored as stacked weights and
  evaluated as one batched matmul per layer (no Python loop over members). Each member carries
  its own state: inputs and outputs are (K, ..., D), member k's state in row k.
- `moe` (mixture of experts): a learned router picks the top_k of E residual MLPs per input;
  only the chosen experts run, so the compute per step is that of top_k experts however large E.
- `conv`: for a latent that is a feature map (the "map" encoder): a conv net, the action
  broadcast over the map and modulating every layer, that moves the map's content by a flow it
  predicts per place and adds a residual, so one local rule (move, stop at a wall) applies at
  every place in the image, walls of layouts never seen included.

Every kind takes states (K, ..., D), K = `members` (1 for mlp and moe), and actions (K, ..., A),
so a world model steps all of them with the same code (`JEPAWorldModel.rollout_members`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..config import Checked, ConfigValueError


@dataclass
class PredictorConfig(Checked):
    POSITIVE = ("hidden_dim", "action_scale", "members", "experts", "top_k")
    NONNEGATIVE = ("depth",)
    CHOICES = {"kind": ("mlp", "ensemble", "moe", "conv")}
    kind: str = "mlp"  # mlp | ensemble | moe | conv
    hidden_dim: int = 384  # per member (ensemble) or per expert (moe); kind=conv: channels per layer
    depth: int = 3  # hidden layers (kind=conv: 3x3 conv layers)
    action_scale: float = 2.45  # actions are divided by this so they enter near unit scale
    members: int = 5  # kind=ensemble: independently initialized predictors
    experts: int = 4  # kind=moe: expert predictors
    top_k: int = 1  # kind=moe: experts that run per input

    def check(self) -> None:
        if self.kind == "moe" and self.top_k > self.experts:
            raise ConfigValueError("top_k", f"must be <= experts ({self.experts}), got {self.top_k}")


def mlp(in_dim: int, hidden: int, out_dim: int, depth: int) -> nn.Sequential:
    layers, d = [], in_dim
    for _ in range(depth):
        layers += [nn.Linear(d, hidden), nn.GELU()]
        d = hidden
    layers.append(nn.Linear(d, out_dim))
    return nn.Sequential(*layers)


class ResidualMLPPredictor(nn.Module):
    """Residual MLP over (latent, action); works on any leading batch shape."""

    members = 1

    def __init__(self, latent_dim: int, action_dim: int, cfg: PredictorConfig):
        super().__init__()
        self.cfg = cfg
        self.net = mlp(latent_dim + action_dim, cfg.hidden_dim, latent_dim, cfg.depth)

    def forward(self, z: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        return z + self.net(torch.cat([z, a / self.cfg.action_scale], dim=-1))


class StackedMLP(nn.Module):
    """G MLPs of the same shape as stacked weights (G, in, out): x (G, N, in) -> (G, N, out),
    one batched matmul per layer. Each is initialized as `nn.Linear` would be on its own."""

    def __init__(self, groups: int, in_dim: int, hidden: int, out_dim: int, depth: int):
        super().__init__()
        dims = [in_dim] + [hidden] * depth + [out_dim]
        self.weights, self.biases = nn.ParameterList(), nn.ParameterList()
        for d_in, d_out in zip(dims[:-1], dims[1:]):
            bound = 1 / math.sqrt(d_in)  # nn.Linear's default: U(-1/sqrt(in), 1/sqrt(in)) for both
            self.weights.append(nn.Parameter(torch.empty(groups, d_in, d_out).uniform_(-bound, bound)))
            self.biases.append(nn.Parameter(torch.empty(groups, 1, d_out).uniform_(-bound, bound)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            x = torch.baddbmm(b, x, w)
            if i < last:
                x = F.gelu(x)
        return x

    def group(self, g: int, x: torch.Tensor) -> torch.Tensor:
        """MLP g alone on x (N, in) -> (N, out): for the experts a router chose."""
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            x = torch.addmm(b[g, 0], x, w[g])
            if i < last:
                x = F.gelu(x)
        return x

    def as_sequential(self, g: int) -> nn.Sequential:
        """A copy of MLP g as the `mlp` an `nn.Sequential` of Linear + GELU layers would be."""
        layers = []
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            linear = nn.Linear(w.shape[1], w.shape[2])
            linear.weight.data.copy_(w[g].T)
            linear.bias.data.copy_(b[g, 0])
            layers += [linear, nn.GELU()] if i < len(self.weights) - 1 else [linear]
        return nn.Sequential(*layers)


class EnsemblePredictor(nn.Module):
    """K residual MLPs, one batched op: z (K, ..., D), a (K, ..., A) -> (K, ..., D)."""

    def __init__(self, latent_dim: int, action_dim: int, cfg: PredictorConfig):
        super().__init__()
        self.cfg = cfg
        self.members = cfg.members
        self.latent_dim, self.action_dim = latent_dim, action_dim
        self.nets = StackedMLP(cfg.members, latent_dim + action_dim, cfg.hidden_dim, latent_dim, cfg.depth)

    def forward(self, z: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        x = torch.cat([z, a / self.cfg.action_scale], dim=-1)
        k, lead = x.shape[0], x.shape[1:-1]
        return z + self.nets(x.reshape(k, -1, x.shape[-1])).reshape(k, *lead, z.shape[-1])

    def member(self, k: int) -> ResidualMLPPredictor:
        """Member k as a dense predictor of its own (a copy)."""
        dense = ResidualMLPPredictor(self.latent_dim, self.action_dim, self.cfg)
        dense.net = self.nets.as_sequential(k)
        return dense


class MoEPredictor(nn.Module):
    """s' = s + sum_{e in top_k} g_e(s, a) f_e(s, a), with router probabilities p = softmax(W [s, a])
    and g the top_k of p renormalized. Only the chosen experts run on each input.

    Load balance (Switch Transformer's term), `balance(z, a)`: E * sum_e share_e * mean_p_e, 1 when
    the inputs and probabilities spread evenly over the experts, E when one expert takes all."""

    members = 1

    def __init__(self, latent_dim: int, action_dim: int, cfg: PredictorConfig):
        super().__init__()
        self.cfg = cfg
        self.router = nn.Linear(latent_dim + action_dim, cfg.experts)
        self.experts = StackedMLP(cfg.experts, latent_dim + action_dim, cfg.hidden_dim, latent_dim, cfg.depth)

    def inputs(self, z: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        return torch.cat([z, a / self.cfg.action_scale], dim=-1)

    def route(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """x (..., in) -> router probabilities (..., E), chosen experts (..., top_k), their gates (..., top_k)."""
        probs = self.router(x).softmax(dim=-1)
        top, chosen = probs.topk(self.cfg.top_k, dim=-1)
        return probs, chosen, top / top.sum(dim=-1, keepdim=True)

    def choice(self, z: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """The experts chosen for each input: (..., top_k)."""
        return self.route(self.inputs(z, a))[1]

    def balance(self, z: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """E * sum_e (share of the choices that go to e) * (mean router probability of e), over the
        inputs (..., D), (..., A): the load-balancing term the training objective adds."""
        probs, chosen, _ = self.route(self.inputs(z, a).reshape(-1, self.router.in_features))
        experts = self.cfg.experts
        share = F.one_hot(chosen, experts).float().sum(dim=(0, 1)) / chosen.numel()
        return experts * (share * probs.mean(dim=0)).sum()

    def forward(self, z: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        x = self.inputs(z, a)
        flat = x.reshape(-1, x.shape[-1])
        _, chosen, gates = self.route(flat)
        out = torch.zeros(len(flat), z.shape[-1], dtype=z.dtype, device=z.device)
        for e in range(self.cfg.experts):  # over experts, each on the inputs routed to it
            rows, slot = (chosen == e).nonzero(as_tuple=True)
            if len(rows):
                out = out.index_add(0, rows, gates[rows, slot, None] * self.experts.group(e, flat[rows]))
        return z + out.reshape(z.shape)


def splat(maps: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Forward bilinear splatting: each place of `maps` (B, C, h, w) sends its content to itself
    plus its `flow` (B, C, 2, h, w), (x, y) in cells, shared among the four cells around where it
    lands; content sent off the map is lost. Many places may send to one (a thing stopped at a
    wall from anywhere before it), which backward sampling cannot express."""
    b, c, h, w = maps.shape
    ys, xs = torch.meshgrid(torch.arange(h, device=maps.device, dtype=maps.dtype),
                            torch.arange(w, device=maps.device, dtype=maps.dtype), indexing="ij")
    tx, ty = xs + flow[:, :, 0], ys + flow[:, :, 1]
    x0, y0 = tx.floor(), ty.floor()
    fx, fy = tx - x0, ty - y0
    base = torch.arange(b * c, device=maps.device).reshape(b, c, 1, 1) * (h * w)
    index, value = [], []
    for dx, wx in ((0, 1 - fx), (1, fx)):
        for dy, wy in ((0, 1 - fy), (1, fy)):
            xi, yi = x0 + dx, y0 + dy
            inside = (xi >= 0) & (xi < w) & (yi >= 0) & (yi < h)
            index.append((base + yi.clamp(0, h - 1).long() * w + xi.clamp(0, w - 1).long()).flatten())
            value.append((maps * wx * wy * inside).flatten())
    out = maps.new_zeros(b * c * h * w).index_add(0, torch.cat(index), torch.cat(value))
    return out.reshape(b, c, h, w)


class ConvPredictor(nn.Module):
    """Z' = splat(Z, flow) + r on a latent map Z (C, h, w), flattened to D = C * h * w outside.

    A trunk of `depth` 3x3 convs of `hidden_dim` channels reads the map with the action broadcast
    as extra channels (dilations 1, 2, 4, 1, ...: three layers see 7 cells away, farther than the
    agent moves in one predictor step at frameskip 4 on a 16-cell map); every layer is scaled and
    shifted per channel by a linear function of the action (FiLM: where things go depends on the
    action multiplicatively), then GELU. A 1x1 conv gives, per place and channel, a flow (where
    that channel's content at that place goes, in cells) and a residual r. Things that move are
    carried by the flow, sub-cell by bilinear splatting (`splat`); things that stay get zero
    flow, each channel its own, so the agent can move while the walls under it stay. Flow and
    residual start at zero, so an untrained predictor says "nothing changes". (Why forward and
    per channel: a backward-sampled flow shared by all channels, trained alike on pooled Rooms
    frames in a side-by-side trial for issue #27, placed the agent much farther off: it drags
    the walls along with the agent, and cannot send many places to one.)"""

    members = 1

    def __init__(self, latent_dim: int, action_dim: int, cfg: PredictorConfig, map_shape: tuple[int, int, int]):
        super().__init__()
        c, h, w = map_shape
        if c * h * w != latent_dim:
            raise ValueError(f"a conv predictor's map {map_shape} has {c * h * w} numbers, the latent {latent_dim}")
        if cfg.depth < 1:
            raise ConfigValueError("depth", "a conv predictor needs at least one conv layer")
        self.cfg, self.map_shape, self.action_dim = cfg, tuple(map_shape), action_dim
        width, dilations = cfg.hidden_dim, [(1, 2, 4)[i % 3] for i in range(cfg.depth)]
        ins = [c + action_dim] + [width] * (cfg.depth - 1)
        self.convs = nn.ModuleList(nn.Conv2d(i, width, 3, padding=d, dilation=d) for i, d in zip(ins, dilations))
        self.films = nn.ModuleList(nn.Linear(action_dim, 2 * width) for _ in range(cfg.depth))
        self.out = nn.Conv2d(width, 3 * c, 1)  # residual (C), then flow (C x (x, y))
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, z: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        c, h, w = self.map_shape
        act = (a / self.cfg.action_scale).reshape(-1, self.action_dim)
        maps = z.reshape(-1, c, h, w)
        x = torch.cat([maps, act[:, :, None, None].expand(-1, -1, h, w)], dim=1)
        for conv, film in zip(self.convs, self.films):
            scale, shift = film(act)[:, :, None, None].chunk(2, dim=1)
            x = F.gelu(conv(x) * (1 + scale) + shift)
        out = self.out(x)
        flow = out[:, c:].reshape(-1, c, 2, h, w)
        return (splat(maps, flow) + out[:, :c]).reshape(z.shape)


PREDICTORS = {"mlp": ResidualMLPPredictor, "ensemble": EnsemblePredictor, "moe": MoEPredictor, "conv": ConvPredictor}


def make_predictor(latent_dim: int, action_dim: int, cfg: PredictorConfig,
                   map_shape: tuple[int, int, int] | None = None) -> nn.Module:
    """The predictor of `cfg.kind`; kind "conv" needs the latent's `map_shape` (C, h, w)."""
    if cfg.kind == "conv":
        if map_shape is None:
            raise ConfigValueError("kind", "conv predicts a latent map: use it with model.encoder.kind=map")
        return ConvPredictor(latent_dim, action_dim, cfg, map_shape)
    return PREDICTORS[cfg.kind](latent_dim, action_dim, cfg)


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def active_parameters(predictor: nn.Module) -> int:
    """Parameters used for one input's prediction: all of a dense model's, every member's of an
    ensemble (all run), the router's and top_k experts' of a mixture."""
    if isinstance(predictor, MoEPredictor):
        per_expert = count_parameters(predictor.experts) // predictor.cfg.experts
        return count_parameters(predictor.router) + predictor.cfg.top_k * per_expert
    return count_parameters(predictor)
