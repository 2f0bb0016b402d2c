"""Sampling planners over action sequences in latent space: MPPI and CEM.

Both optimize a mean action sequence of `horizon` decision steps, each held for
`action_repeat` environment steps, so a short search (horizon x 2 numbers) looks
horizon * action_repeat steps ahead. Every iteration rolls all samples out through the world
model as one batched tensor op per step. The action bound is a hard constraint: every
sample is projected onto the norm ball (and the box, with `max_action`) before it is rolled out.
"""
from __future__ import annotations

import torch

from .base import Plan, Planner, PlannerConfig, bound_actions, project_to_ball

__all__ = ["SamplingPlanner", "MPPIPlanner", "CEMPlanner", "Plan", "PlannerConfig", "project_to_ball"]


class SamplingPlanner(Planner):
    """Shared loop of MPPI and CEM; subclasses say how samples and costs update the mean/std."""

    @torch.no_grad()
    def plan(self, z0: torch.Tensor, z_goal: torch.Tensor) -> Plan:
        """Optimize from latent state z0 (D,) toward z_goal (D,)."""
        cfg = self.cfg
        mean, budget = self.warm_start()
        self.calibrate(z0)
        std = torch.full_like(mean, cfg.init_std)
        n_explore = int(cfg.explore_fraction * cfg.num_samples)
        best, best_cost, used = mean, float("inf"), 0
        for used in range(1, budget + 1):
            noise = torch.randn((cfg.num_samples - n_explore, *mean.shape), device=self.device, generator=self.generator)
            noise[0] = 0  # the current mean is always a candidate
            samples = bound_actions(torch.cat([mean + std * noise, self.sample_paths(n_explore)]), cfg)
            _, costs = self.judge(z0, z_goal, samples)
            previous_best = best_cost
            i = int(costs.argmin())
            if costs[i] < best_cost:  # elitism: a rare good sample is kept, not averaged away
                best, best_cost = samples[i], float(costs[i])
            allowed = torch.isfinite(costs)  # guardrail-violating samples never shape the distribution
            if int(allowed.sum()) >= 2:
                mean, std = self.update(samples[allowed], costs[allowed])
                std = std.clamp_min(cfg.min_std)
            if self.converged(previous_best, best_cost):
                break
        return self.finish(z0, z_goal, torch.stack([bound_actions(mean, cfg), best]), used)

    def sample_paths(self, n: int) -> torch.Tensor:
        """(n, horizon, A) path-prior samples: a few straight segments, each a random heading at
        a random speed, with random switch times. Unlike noise around the mean, these reach
        far-off states (a door on the other side of the room) with useful probability."""
        cfg, g = self.cfg, self.generator
        k = cfg.explore_segments
        heading = torch.rand(n, k, device=self.device, generator=g) * 2 * torch.pi
        speed = cfg.max_action_norm * (0.3 + 0.7 * torch.rand(n, k, device=self.device, generator=g))
        a = self.model.cfg.action_dim
        if a == 2:  # a heading angle: (cos, sin)
            direction = torch.stack([heading.cos(), heading.sin()], -1)
        else:  # a uniform direction in A dimensions
            direction = torch.randn(n, k, a, device=self.device, generator=g)
            direction = direction / direction.norm(dim=-1, keepdim=True).clamp_min(1e-8)
        segment_actions = speed[..., None] * direction  # (n, k, A)
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
