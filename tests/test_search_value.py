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


def _wavefront_cfg(**kw):
    return PlannerConfig(name="wavefront", action_repeat=2, directions=8, step_sizes=(0.5,), cell_size=0.5,
                         goal_tolerance=0.5, max_waves=40, **kw)


def _identity(z):
    return z


def test_wavefront_goes_through_the_door_on_a_near_shortest_path():
    world, start, goal = WallWorld(), torch.tensor([-3.0, 4.0]), torch.tensor([3.0, 4.0])
    plan = make_planner(world, _wavefront_cfg(), readout=_identity).plan(start, goal)
    path = torch.cat([start[None], plan.imagined])
    assert (path[-1] - goal).norm() <= 0.5
    crossing = (torch.sign(path[1:, 0]) != torch.sign(path[:-1, 0])).nonzero()[:, 0]
    assert len(crossing) >= 1 and bool((path[crossing, 1].abs() < 1).all())  # it changed room through the door
    # each edge moves at most 1 unit and the shortest path via the door is 2 * sqrt(3^2 + 3^2) = 8.49 long
    assert 9 <= len(plan.actions) <= 11
    assert plan.iterations == len(plan.actions)  # breadth first: the goal is met at the path's own depth
    # the plan is executable: replaying its actions through the world lands where it says
    replay = start
    for action in plan.actions:
        replay = world.next(replay, action.repeat(2))
    assert torch.allclose(replay, plan.imagined[-1])


def test_wavefront_respects_guardrails():
    world, start, goal = WallWorld(), torch.tensor([-3.0, 0.0]), torch.tensor([3.0, 0.0])
    door_closed = ForbiddenRegion(_identity, low=[-1.0, -1.0], high=[1.0, 1.0])
    plan = make_planner(world, _wavefront_cfg(), guardrails=[door_closed], readout=_identity).plan(start, goal)
    assert not door_closed.inside(plan.imagined).any()
    assert plan.imagined[:, 0].max() < 0  # the only way through is forbidden: it stays in its room
    assert plan.cost > 0.5


def test_wavefront_settles_with_one_fine_move_at_the_goal():
    world, start, goal = WallWorld(), torch.tensor([2.8, 4.0]), torch.tensor([3.0, 4.0])
    plan = make_planner(world, _wavefront_cfg(), readout=_identity).plan(start, goal)
    assert len(plan.actions) == 1 and plan.iterations == 0  # within the tolerance: no search
    assert (plan.imagined[0] - goal).norm() < (start - goal).norm()
    assert plan.actions.norm() <= 0.5 + 1e-6  # at most the smallest step size


def test_wavefront_needs_a_readout_and_one_predictor_step_per_edge():
    with pytest.raises(ConfigError, match="position probe"):
        make_planner(WallWorld(), _wavefront_cfg())
    with pytest.raises(ConfigError, match="action_repeat=2"):
        make_planner(WallWorld(), PlannerConfig(name="wavefront", action_repeat=1), readout=_identity)


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


def _wall_world_walks(n: int = 96, steps: int = 12, seed: int = 0) -> torch.Tensor:
    """Random walks through WallWorld, the latent (= position) after every predictor step: (n, steps + 1, 2)."""
    world, gen = WallWorld(), torch.Generator().manual_seed(seed)
    z = torch.rand(n, 2, generator=gen) * 9.0 - 4.5
    walk = [z]
    for _ in range(steps):
        angle = torch.rand(n, generator=gen) * 2 * torch.pi
        step = torch.stack([angle.cos(), angle.sin()], -1)
        z = world.next(z, step.repeat(1, world.frameskip))
        walk.append(z)
    return torch.stack(walk, 1)


def _geodesic(p: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """Shortest path length in WallWorld: straight, or through the nearest point of the door."""
    t = (p[:, 0] / (p[:, 0] - g[:, 0]).clamp_min(1e-6)).clamp(0, 1)  # where the straight line meets x = 0
    door = torch.stack([torch.zeros(len(p)), (p[:, 1] + t * (g[:, 1] - p[:, 1])).clamp(-1.0, 1.0)], -1)
    through = (p - door).norm(dim=-1) + (door - g).norm(dim=-1)
    return torch.where(torch.sign(p[:, 0]) == torch.sign(g[:, 0]), (p - g).norm(dim=-1), through)


def test_bellman_target_is_one_move_plus_the_second_best_action():
    from hjepa.actor.search import action_set
    from hjepa.train.value import bellman_targets

    world, z, g = WallWorld(), torch.tensor([[-0.5, 4.5]]), torch.tensor([[1.0, 4.5]])  # at the wall, the goal behind it
    grouped = action_set(8, (1.0,)).repeat(1, world.frameskip)
    euclid = lambda z, g: (z - g).norm(dim=-1)  # noqa: E731
    after = world.next(z.expand(8, 2), grouped)
    assert torch.equal(after[0], z[0])  # the move straight at the goal is blocked by the wall
    ranked = (after - g).norm(dim=-1).sort().values
    for rank in (0, 1):  # rank 1: an action that alone looks best (a leak) is not trusted
        assert bellman_targets(world, euclid, z, g, grouped, rank).item() == pytest.approx(2 + ranked[rank].item())


def test_bellman_cost_to_go_orders_states_by_distance():
    # Value iteration through the exact WallWorld on its random walks: in the goal's room, V
    # grows with the distance. (Across the wall a fit this small still ranks by the straight
    # line: at 1,500 steps, rank correlation 0.83 with the path through the door, 0.99 with the line.)
    from hjepa.cost.critic import CostToGoConfig
    from hjepa.train.value import fit_cost_to_go_bellman

    torch.manual_seed(0)
    latents = _wall_world_walks()
    cfg = ValueConfig(critic=CostToGoConfig(hidden_dim=64, depth=2, scale=16.0), steps=800, batch_size=256,
                      target="bellman", bellman_rank=0, bellman_step=1.0, target_ema=0.05)
    critic, _ = fit_cost_to_go_bellman(WallWorld(), latents, torch.zeros(len(latents)).numpy(), cfg, progress=False)
    gen = torch.Generator().manual_seed(1)
    z = torch.stack([torch.rand(200, generator=gen) * 4 + 0.5, torch.rand(200, generator=gen) * 9 - 4.5], -1)  # right room
    g = torch.tensor([[1.0, 4.5]]).expand(200, 2)
    with torch.no_grad():
        v = critic(z, g)
    assert rank_correlation(v, _geodesic(z, g)) > 0.9
    assert v.max() > 2 * v.min()


def test_scene_pairs_stay_in_their_scene():
    from hjepa.train.value import sample_scene_pairs, scene_partners

    partners = scene_partners(torch.tensor([0, 1, 0, 2, 1]).numpy())
    assert partners.tolist() == [2, 4, 0, 3, 1]  # trajectory 3 is alone in its scene
    latents = torch.arange(5.0)[:, None, None].expand(5, 6, 1) + torch.arange(6.0)[None, :, None] / 10
    z, goal, cap = sample_scene_pairs(latents, partners, 500, 4, 0.5, torch.Generator().manual_seed(0))
    traj_z, traj_goal = z[:, 0].floor().long(), goal[:, 0].floor().long()
    same = traj_z == traj_goal
    assert (partners[traj_z[~same]] == traj_goal[~same]).all() and torch.isinf(cap[~same]).all()
    assert 0.3 < (~same).float().mean() < 0.6  # about half, less the lone trajectory's draws
    assert torch.allclose(cap[same], (goal[same, 0] - z[same, 0]) * 10 * 4)  # hindsight steps, t <= t'
    with pytest.raises(ConfigError, match="target"):
        ValueConfig(target="oracle")
