"""Sampling planners over action sequences in latent space: MPPI and CEM.

Both optimize a mean action sequence of `horizon` decision steps, each held for
`action_repeat` environment steps, so a short search (horizon x 2 numbers) looks
horizon * action_repeat steps ahead. Every iteration rolls all samples out through the world
model as one batched tensor op per step. The action bound is a hard constraint: every
sample is projected onto the norm ball before it is rolled out.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..cost.objectives import GoalDistanceCost
from ..world_model import JEPAWorldModel


@dataclass
class PlannerConfig:
    name: str = "mppi"  # mppi | cem
    horizon: int = 8  # decision steps
    action_repeat: int = 4  # env steps per decision step
    num_samples: int = 256
    iterations: int = 6  # on a fresh plan
    warm_iterations: int = 3  # after a warm start from the previous plan
    init_std: float = 1.5
    min_std: float = 0.05
    temperature: float = 0.5  # MPPI: softmax temperature in units of the cost spread
    elite_fraction: float = 0.1  # CEM
    max_action_norm: float = 2.45
    final_step_cost: bool = False  # judge only the plan's last state
    explore_fraction: float = 0.0  # share of samples drawn from the path prior, not around the mean
    explore_segments: int = 2  # straight segments per path-prior sample
    seed: int = 0


def project_to_ball(actions: torch.Tensor, max_norm: float) -> torch.Tensor:
    norm = actions.norm(dim=-1, keepdim=True).clamp_min(1e-8)
    return actions * (max_norm / norm).clamp(max=1.0)


@dataclass
class Plan:
    actions: torch.Tensor  # (horizon, A): the optimized mean, one row per decision step
    cost: float
    iterations: int
    imagined: torch.Tensor  # (horizon * action_repeat / frameskip, D): the latent after each predictor step


class SamplingPlanner:
    """Shared loop of MPPI and CEM; subclasses say how samples and costs update the mean/std."""

    def __init__(self, model: JEPAWorldModel, cfg: PlannerConfig):
        self.model = model
        self.cfg = cfg
        steps = cfg.horizon * cfg.action_repeat // getattr(model, "frameskip", 1)  # predicted states per plan
        self.cost = GoalDistanceCost.final_step(steps) if cfg.final_step_cost else GoalDistanceCost.every_step(steps)
        self.device = next(model.parameters()).device
        self.generator = torch.Generator(device=self.device)
        self.generator.manual_seed(cfg.seed)
        self.mean: torch.Tensor | None = None

    def reset(self) -> None:
        self.mean = None

    def shift(self, steps: int = 1) -> None:
        """Warm start: drop the executed decision steps, pad with zeros."""
        if self.mean is not None:
            self.mean = torch.cat([self.mean[steps:], torch.zeros_like(self.mean[:steps])])

    def expand(self, actions: torch.Tensor) -> torch.Tensor:
        """(..., horizon, A) decision steps -> (..., horizon * repeat, A) env steps."""
        return actions.repeat_interleave(self.cfg.action_repeat, dim=-2)

    @torch.no_grad()
    def plan(self, z0: torch.Tensor, z_goal: torch.Tensor) -> Plan:
        """Optimize from latent state z0 (D,) toward z_goal (D,)."""
        cfg = self.cfg
        warm = self.mean is not None
        mean = self.mean if warm else torch.zeros(cfg.horizon, self.model.cfg.action_dim, device=self.device)
        std = torch.full_like(mean, cfg.init_std)
        iterations = cfg.warm_iterations if warm else cfg.iterations
        z_start = z0.expand(cfg.num_samples, -1)
        n_explore = int(cfg.explore_fraction * cfg.num_samples)
        best, best_cost = mean, float("inf")
        for _ in range(iterations):
            noise = torch.randn((cfg.num_samples - n_explore, *mean.shape), device=self.device, generator=self.generator)
            noise[0] = 0  # the current mean is always a candidate
            samples = torch.cat([mean + std * noise, self.sample_paths(n_explore)])
            samples = project_to_ball(samples, cfg.max_action_norm)
            costs = self.cost(self.model.rollout(z_start, self.expand(samples)), z_goal)
            i = int(costs.argmin())
            if costs[i] < best_cost:  # elitism: a rare good sample is kept, not averaged away
                best, best_cost = samples[i], float(costs[i])
            mean, std = self.update(samples, costs)
            std = std.clamp_min(cfg.min_std)
        mean = project_to_ball(mean, cfg.max_action_norm)
        mean_cost = float(self.cost(self.model.rollout(z0[None], self.expand(mean)[None]), z_goal))
        if best_cost < mean_cost:
            mean = best
        self.mean = mean
        imagined = self.model.rollout(z0[None], self.expand(mean)[None])[0]
        return Plan(mean, float(self.cost(imagined[None], z_goal)), iterations, imagined)

    def sample_paths(self, n: int) -> torch.Tensor:
        """(n, horizon, A) path-prior samples: a few straight segments, each a random heading at
        a random speed, with random switch times. Unlike noise around the mean, these reach
        far-off states (a door on the other side of the room) with useful probability."""
        cfg, g = self.cfg, self.generator
        k = cfg.explore_segments
        heading = torch.rand(n, k, device=self.device, generator=g) * 2 * torch.pi
        speed = cfg.max_action_norm * (0.3 + 0.7 * torch.rand(n, k, device=self.device, generator=g))
        segment_actions = torch.stack([speed * heading.cos(), speed * heading.sin()], -1)  # (n, k, 2)
        switches = torch.rand(n, k - 1, device=self.device, generator=g).sort(-1).values * cfg.horizon
        step = torch.arange(cfg.horizon, device=self.device)
        segment = (step[None, :, None] >= switches[:, None, :]).sum(-1)  # (n, horizon) index of the active segment
        return segment_actions.gather(1, segment[..., None].expand(-1, -1, segment_actions.shape[-1]))

    def update(self, samples: torch.Tensor, costs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError


class MPPIPlanner(SamplingPlanner):
    """Model predictive path integral: a softmax-weighted average of all samples."""

    def update(self, samples, costs):
        spread = costs.std().clamp_min(1e-6)
        weights = torch.softmax(-(costs - costs.min()) / (self.cfg.temperature * spread), dim=0)
        mean = torch.einsum("n,nha->ha", weights, samples)
        var = torch.einsum("n,nha->ha", weights, (samples - mean).pow(2))
        return mean, var.sqrt()


class CEMPlanner(SamplingPlanner):
    """Cross-entropy method: refit mean and std to the lowest-cost elite samples."""

    def update(self, samples, costs):
        k = max(2, int(self.cfg.elite_fraction * len(costs)))
        elites = samples[torch.topk(costs, k, largest=False).indices]
        return elites.mean(0), elites.std(0)


PLANNERS = {"mppi": MPPIPlanner, "cem": CEMPlanner}


def make_planner(model: JEPAWorldModel, cfg: PlannerConfig) -> SamplingPlanner:
    if cfg.name not in PLANNERS:
        raise ValueError(f"unknown planner {cfg.name!r}; choose one of {sorted(PLANNERS)}")
    frameskip = getattr(model, "frameskip", 1)
    if (cfg.horizon * cfg.action_repeat) % frameskip:
        raise ValueError(f"a plan of horizon {cfg.horizon} x action_repeat {cfg.action_repeat} environment steps "
                         f"does not split into the model's predictor steps of {frameskip}")
    return PLANNERS[cfg.name](model, cfg)
