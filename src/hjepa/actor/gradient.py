"""Planning by gradient descent through the differentiable world model.

`GradientPlanner`: Adam on `num_samples` action sequences at once (the warm-start mean plus
noisy copies of it), each projected back onto the action bound after every step; the cheapest
one that satisfies the guardrails wins. Gradients follow the cost downhill, so it converges
fast near a good plan but stalls in local minima (a wall between agent and goal), which is
why the hybrids exist.

`HybridPlanner`: a sampling planner (CEM or MPPI) finds the basin, then a few gradient steps
polish its plan; the polished plan is kept only if it is cheaper and still safe.
"""
from __future__ import annotations

import torch

from .base import Plan, Planner, bound_actions
from .sampling import SamplingPlanner


def descend(planner: Planner, z0: torch.Tensor, z_goal: torch.Tensor, actions: torch.Tensor, steps: int) -> tuple[torch.Tensor, int]:
    """`steps` projected Adam steps on (N, horizon, A) sequences; returns them and the steps used
    (fewer when the planner's anytime rule says the best cost has converged)."""
    cfg = planner.cfg
    planner.calibrate(z0)
    actions = actions.detach().clone().requires_grad_(True)
    optimizer = torch.optim.Adam([actions], lr=cfg.lr)
    best, used = float("inf"), 0
    with torch.enable_grad():
        for used in range(1, steps + 1):
            _, _, costs = planner.imagine(z0, z_goal, planner.expand(actions))
            # grad w.r.t. the actions only: the model's own parameters are left untouched
            (actions.grad,) = torch.autograd.grad(costs.sum(), [actions])
            optimizer.step()
            with torch.no_grad():
                actions.copy_(bound_actions(actions, cfg))
            previous, best = best, min(best, float(costs.detach().min()))
            if planner.converged(previous, best):
                break
    return actions.detach(), used


class GradientPlanner(Planner):
    @torch.no_grad()
    def plan(self, z0: torch.Tensor, z_goal: torch.Tensor) -> Plan:
        cfg = self.cfg
        mean, budget = self.warm_start()
        noise = torch.randn((cfg.num_samples, *mean.shape), device=self.device, generator=self.generator)
        noise[0] = 0  # the warm-start mean itself is one of the starts
        starts = bound_actions(mean + cfg.init_std * noise, cfg)
        actions, used = descend(self, z0, z_goal, starts, budget)
        return self.finish(z0, z_goal, actions, used)


class HybridPlanner(Planner):
    """Sampling first, then `refine_steps` gradient steps on its plan."""

    def __init__(self, sampler: SamplingPlanner):
        super().__init__(sampler.model, sampler.cfg, sampler.guardrails, sampler.cost)
        self.sampler = sampler  # owns the warm-start mean

    @property
    def uses_labels(self) -> bool:
        return self.sampler.uses_labels

    def reset(self) -> None:
        super().reset()
        self.sampler.reset()

    def reseed(self, episode: int) -> None:
        super().reseed(episode)
        self.sampler.reseed(episode)

    def shift(self, steps: int = 1) -> None:
        self.sampler.shift(steps)

    @torch.no_grad()
    def plan(self, z0: torch.Tensor, z_goal: torch.Tensor) -> Plan:
        coarse = self.sampler.plan(z0, z_goal)
        refined, used = descend(self, z0, z_goal, coarse.actions[None], self.cfg.refine_steps)
        plan = self.finish(z0, z_goal, torch.stack([coarse.actions, refined[0]]), coarse.iterations + used)
        self.sampler.mean = plan.actions  # the next warm start begins from the refined plan
        return plan
