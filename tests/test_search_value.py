"""A* on known graphs, A* through an analytic world with a wall, and the learned cost-to-go."""
from types import SimpleNamespace

import pytest
import torch

from hjepa.actor import PlannerConfig, astar, make_planner
from hjepa.config import ConfigError
from hjepa.cost import ForbiddenRegion
from hjepa.train.value import ValueConfig, expectile_loss, fit_cost_to_go, rank_correlation


def _grid(blocked: set, size: int = 8):
    """4-connected grid with unit edges; diagonal moves cost 1.5 (so the optimum is not just Manhattan)."""
    def neighbours(node):
        x, y = node
        for dx, dy, c in ((1, 0, 1.0), (-1, 0, 1.0), (0, 1, 1.0), (0, -1, 1.0), (1, 1, 1.5), (-1, 1, 1.5), (1, -1, 1.5), (-1, -1, 1.5)):
            child = (x + dx, y + dy)
            if 0 <= child[0] < size and 0 <= child[1] < size and child not in blocked:
                yield child, c, (dx, dy)
    return neighbours


def test_astar_is_optimal_with_an_admissible_heuristic_and_expands_less():
    wall = {(4, y) for y in range(0, 7)}  # a wall with a gap at the top row
    start, goal = (0, 0), (7, 0)
    neighbours = _grid(wall)
    chebyshev = lambda n: float(max(abs(n[0] - goal[0]), abs(n[1] - goal[1])))  # noqa: E731  admissible: each step moves <= 1 cell at cost >= 1
    informed = astar(start, neighbours, chebyshev, lambda n: n == goal)
    uninformed = astar(start, neighbours, lambda n: 0.0, lambda n: n == goal)  # Dijkstra: optimal by construction
    assert informed.found and uninformed.found
    assert informed.cost == pytest.approx(uninformed.cost)
    assert informed.expanded < uninformed.expanded
    assert informed.nodes[0] == start and informed.nodes[-1] == goal and all(n not in wall for n in informed.nodes)
    # the path's steps add up to its cost
    assert sum(1.5 if dx and dy else 1.0 for dx, dy in informed.path) == pytest.approx(informed.cost)


def test_astar_gives_its_best_effort_when_the_goal_is_unreachable():
    wall = {(4, y) for y in range(8)}
    result = astar((0, 0), _grid(wall), lambda n: float(abs(n[0] - 7)), lambda n: n == (7, 0), max_expansions=500)
    assert not result.found and result.nodes[-1][0] == 3  # as close as the wall allows


class WallWorld(torch.nn.Module):
    """Analytic world: latent = position in the box [-5, 5]^2; a wall on x = 0 with a door at |y| < 1; frameskip 2."""

    frameskip = 2

    def __init__(self):
        super().__init__()
        self.cfg = SimpleNamespace(action_dim=2)
        self.dummy = torch.nn.Parameter(torch.zeros(1))

    def next(self, z, grouped):
        for a in grouped.reshape(*grouped.shape[:-1], self.frameskip, 2).unbind(-2):
            moved = (z + a).clamp(-5.0, 5.0)
            crosses = (torch.sign(moved[..., 0]) != torch.sign(z[..., 0])) & (moved[..., 1].abs() >= 1)
            z = torch.where(crosses[..., None], z, moved)
        return z


def _astar_cfg(**kw):
    return PlannerConfig(name="astar", action_repeat=2, horizon=2, directions=8, step_sizes=(1.0,),
                         goal_radius=1.0, dedup_radius=0.3, max_expansions=3000, **kw)


def test_astar_planner_goes_through_the_door():
    world, start, goal = WallWorld(), torch.tensor([-3.0, 4.0]), torch.tensor([3.0, 4.0])
    euclid = lambda z, g: (z - g).norm(dim=-1)  # noqa: E731  admissible: an edge moves <= 2 units at cost 2
    plan = make_planner(world, _astar_cfg(heuristic="value"), value=euclid).plan(start, goal)
    zero = make_planner(world, _astar_cfg(heuristic="zero")).plan(start, goal)
    assert (plan.imagined[-1] - goal).norm() <= 1.0 and (zero.imagined[-1] - goal).norm() <= 1.0
    assert plan.imagined[:, 1].min() < 1.0  # it went down to the door
    assert plan.iterations < zero.iterations  # nodes expanded: the heuristic saves work


def test_astar_respects_guardrails():
    world, start, goal = WallWorld(), torch.tensor([-3.0, 0.0]), torch.tensor([3.0, 0.0])
    euclid = lambda z, g: (z - g).norm(dim=-1)  # noqa: E731
    door_closed = ForbiddenRegion(lambda z: z, low=[-1.0, -1.0], high=[1.0, 1.0])
    plan = make_planner(world, _astar_cfg(heuristic="value"), guardrails=[door_closed], value=euclid).plan(start, goal)
    assert not door_closed.inside(plan.imagined).any()
    assert (plan.imagined[-1] - goal).norm() > 1.0  # the only way through is forbidden


def test_planners_that_need_a_value_say_so():
    with pytest.raises(ConfigError, match="fit-value"):
        make_planner(WallWorld(), _astar_cfg(heuristic="value"))
    with pytest.raises(ConfigError, match="fit-value"):
        make_planner(WallWorld(), PlannerConfig(name="cem", horizon=2, action_repeat=2, terminal_value=True))


def test_expectile_loss_by_hand():
    prediction, target = torch.tensor([1.0, 1.0]), torch.tensor([3.0, 0.0])  # under by 2, over by 1
    assert expectile_loss(prediction, target, 0.2).item() == pytest.approx((0.2 * 4 + 0.8 * 1) / 2)


def test_cost_to_go_orders_states_by_distance():
    # straight-line trajectories with latent = position: the hindsight distance is |t' - t| steps
    gen = torch.Generator().manual_seed(0)
    heading = torch.randn(64, 1, 2, generator=gen)
    heading = heading / heading.norm(dim=-1, keepdim=True)
    latents = torch.randn(64, 1, 2, generator=gen) * 0.5 + heading * torch.arange(9.0)[None, :, None] * 0.25
    critic, _ = fit_cost_to_go(latents, 4, ValueConfig(steps=400, batch_size=256, expectile=0.5), progress=False)
    z = torch.zeros(6, 2)
    g = torch.tensor([[0.25, 0.0], [0.5, 0.0], [0.75, 0.0], [1.0, 0.0], [1.5, 0.0], [2.0, 0.0]])
    with torch.no_grad():
        v = critic(z, g)
    assert rank_correlation(v, torch.arange(6.0)) > 0.9
    assert v[-1] > 3 * v[0]
