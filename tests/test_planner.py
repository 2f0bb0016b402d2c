from types import SimpleNamespace

import pytest
import torch

from hjepa.actor import PlannerConfig, make_planner
from hjepa.actor.sampling import project_to_ball
from hjepa.cost import GoalDistanceCost


class AdditiveWorld(torch.nn.Module):
    """An analytic world model: z' = z + a (latent = position)."""

    def __init__(self):
        super().__init__()
        self.cfg = SimpleNamespace(action_dim=2)
        self.dummy = torch.nn.Parameter(torch.zeros(1))

    def rollout(self, z0, actions):
        return z0[:, None, :] + actions.cumsum(dim=1)


@pytest.mark.parametrize("name", ["mppi", "cem"])
def test_planner_finds_the_analytic_optimum(name):
    goal = torch.tensor([6.0, -3.0])
    cfg = PlannerConfig(name=name, horizon=4, action_repeat=1, num_samples=512, iterations=30,
                        init_std=1.5, max_action_norm=2.45, seed=0)
    plan = make_planner(AdditiveWorld(), cfg).plan(torch.zeros(2), goal)
    first = plan.actions[0]
    # optimal first move: full speed straight at the goal
    assert torch.linalg.norm(first) == pytest.approx(2.45, abs=0.1)
    cos = torch.dot(first, goal) / (first.norm() * goal.norm())
    assert cos > 0.98
    assert (plan.imagined[-1] - goal).norm() < 0.5  # reachable in 3 steps, and it gets there
    assert plan.actions.norm(dim=-1).max() <= 2.45 + 1e-5  # the bound is hard


def test_warm_start_shifts_the_plan():
    planner = make_planner(AdditiveWorld(), PlannerConfig(horizon=3, action_repeat=1, iterations=2, warm_iterations=1))
    plan = planner.plan(torch.zeros(2), torch.tensor([5.0, 0.0]))
    before = planner.mean.clone()
    planner.shift(1)
    assert torch.equal(planner.mean[:2], before[1:]) and torch.equal(planner.mean[2], torch.zeros(2))
    assert planner.plan(torch.zeros(2), torch.tensor([5.0, 0.0])).iterations == 1 and plan.iterations == 2


def test_projection_and_cost():
    a = project_to_ball(torch.tensor([[3.0, 4.0], [0.3, 0.4]]), 2.45)
    assert torch.allclose(a.norm(dim=-1), torch.tensor([2.45, 0.5]))
    z = torch.tensor([[[0.0, 0.0], [3.0, 4.0]]])  # distances 5 and 0 to a goal at (3, 4)
    goal = torch.tensor([3.0, 4.0])
    assert GoalDistanceCost.every_step(2)(z, goal).item() == pytest.approx(2.5)
    assert GoalDistanceCost.final_step(2)(z, goal).item() == pytest.approx(0.0)


def test_unknown_planner():
    with pytest.raises(ValueError, match="unknown planner"):
        make_planner(AdditiveWorld(), PlannerConfig(name="rrt"))


def test_plan_must_split_into_predictor_steps():
    world = AdditiveWorld()
    world.frameskip = 4
    with pytest.raises(ValueError, match="predictor steps of 4"):
        make_planner(world, PlannerConfig(horizon=3, action_repeat=1))
    make_planner(world, PlannerConfig(horizon=3, action_repeat=4))  # 12 steps = 3 predictor steps
