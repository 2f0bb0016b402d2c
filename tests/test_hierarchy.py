"""Hierarchical planning: the high-level model over macro-actions and the two-level planner."""
from dataclasses import replace
from types import SimpleNamespace

import pytest
import torch

from hjepa.actor import PlannerConfig, make_planner
from hjepa.actor.hierarchical import EarliestApproachCost, HierarchicalPlanner, HierarchyConfig, make_hierarchical
from hjepa.cost import ActionBound, ForbiddenRegion
from hjepa.train.high_level import open_loop_error
from hjepa.train.refit import sample_latent_windows
from hjepa.world_model.high_level import HighLevelConfig, HighLevelModel


def test_the_macro_code_learns_the_sum_of_the_actions_and_the_predictor_its_effect():
    """Analytic world z' = z + a: a high-level step of 4 actions moves z by their sum, so a good
    code holds that sum (2 numbers) and the predictor adds it."""
    g = torch.Generator().manual_seed(0)
    actions = torch.rand(256, 24, 2, generator=g) * 2 - 1
    latents = torch.cat([torch.zeros(256, 1, 2), actions.cumsum(1)], dim=1)  # (N, T + 1, D), D = 2
    model = HighLevelModel(HighLevelConfig(span=4, code_dim=2, hidden_dim=64, depth=2, encoder_hidden=64), 2, 2, 1)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(600):
        loss = open_loop_error(model, *sample_latent_windows(latents[:200], actions[:200], 128, 3, 4, g))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    held_z, held_a = sample_latent_windows(latents[200:], actions[200:], 512, 3, 4, g)
    with torch.no_grad():
        error = float(open_loop_error(model, held_z, held_a))
        copy = float((held_z[:, 1:] - held_z[:, :1]).pow(2).sum(-1).mean())  # "nothing moves"
        assert error < 0.02 * copy  # 3 macro-steps open loop, on held-out trajectories

        chunks = held_a.reshape(-1, 4, 2)
        codes, sums = model.encode_macro(chunks), chunks.sum(1)
        fit = torch.linalg.lstsq(torch.cat([codes, torch.ones(len(codes), 1)], 1), sums).solution
        residual = sums - torch.cat([codes, torch.ones(len(codes), 1)], 1) @ fit
        assert float(1 - residual.pow(2).sum() / (sums - sums.mean(0)).pow(2).sum()) > 0.95  # the code is the sum, linearly

        # The box: the data's codes fill [-1, 1] and the predictions do not change with it.
        before = model.rollout(held_z[:8, 0], model.encode_macro(model.group_actions(held_a[:8])))
        model.fit_box(chunks, percentile=1.0)
        inside = model.encode_macro(chunks).abs().le(1.0).all(-1).float().mean()
        after = model.rollout(held_z[:8, 0], model.encode_macro(model.group_actions(held_a[:8])))
        assert 0.95 <= float(inside) < 1.0 and torch.allclose(before, after, atol=1e-4)


class MazeWorld(torch.nn.Module):
    """Analytic world, latent = position in [0, 30] x [0, 10]: walls at x = 10 (a door at y < 2)
    and x = 20 (a door at y > 8); a move that would cross a wall outside its door is not made."""

    frameskip = 1

    def __init__(self):
        super().__init__()
        self.cfg = SimpleNamespace(action_dim=2)
        self.dummy = torch.nn.Parameter(torch.zeros(1))

    def step(self, z, a):
        moved = (z + a).clamp(torch.tensor([0.0, 0.0]), torch.tensor([30.0, 10.0]))
        blocked = torch.zeros(moved.shape[:-1], dtype=torch.bool)
        for wall, door in ((10.0, lambda y: y < 2), (20.0, lambda y: y > 8)):
            crosses = (z[..., 0] < wall) != (moved[..., 0] < wall)
            blocked |= crosses & ~(door(z[..., 1]) & door(moved[..., 1]))
        return torch.where(blocked[..., None], z, moved)

    def next(self, z, a):
        return self.step(z, a)

    def rollout(self, z0, actions):
        states, z = [], z0
        for t in range(actions.shape[1]):
            z = self.step(z, actions[:, t])
            states.append(z)
        return torch.stack(states, 1)


class MazeMacros(torch.nn.Module):
    """The exact high level of MazeWorld: a code u in [-1, 1]^2 is `span` moves of u."""

    frameskip = 1

    def __init__(self, world: MazeWorld, span: int = 6):
        super().__init__()
        self.world, self.high_cfg = world, SimpleNamespace(span=span)
        self.cfg = SimpleNamespace(action_dim=2)
        self.dummy = torch.nn.Parameter(torch.zeros(1))

    def rollout(self, z0, codes):
        span = self.high_cfg.span
        return self.world.rollout(z0, codes.repeat_interleave(span, dim=1))[:, span - 1::span]


LOW = dict(name="cem", horizon=6, action_repeat=1, num_samples=256, iterations=8, warm_iterations=4, init_std=0.8,
           max_action_norm=1.0, final_share=0.5, seed=0)
HIGH = PlannerConfig(name="cem", horizon=8, action_repeat=1, num_samples=512, iterations=12, warm_iterations=6,
                     init_std=0.8, max_action=1.0, max_action_norm=1e3, seed=0)


def _drive(world, planner, start, goal, steps=90):
    """Closed loop: plan, take the first action, shift the warm start; returns the visited states."""
    z, visited = start, [start]
    planner.reset()
    for t in range(steps):
        if t:
            planner.shift(1)
        plan = planner.plan(z, goal)
        z = world.step(z, plan.actions[0])
        visited.append(z)
        if (z - goal).norm() < 1.0:
            break
    return torch.stack(visited)


def test_two_levels_reach_a_goal_behind_two_walls_that_the_flat_planner_cannot():
    world, start, goal = MazeWorld(), torch.tensor([5.0, 9.0]), torch.tensor([25.0, 9.0])
    flat = _drive(world, make_planner(world, PlannerConfig(**LOW)), start, goal)
    assert (flat[-1] - goal).norm() > 10 and flat[:, 0].max() < 10  # stuck at the first wall, facing the goal
    two = make_hierarchical(make_planner(world, PlannerConfig(**LOW)), [MazeMacros(world)], HierarchyConfig(planner=HIGH, subgoal_step=1, depth_weight=0.05))
    path = _drive(world, two, start, goal)
    assert (path[-1] - goal).norm() < 1.0  # through the lower door, then the upper one
    assert path[(path[:, 0] > 10).nonzero()[0, 0], 1] < 2  # it crossed the first wall at its door


def test_subgoals_are_handed_down_and_the_goal_itself_once_within_reach():
    world = MazeWorld()
    two = make_hierarchical(make_planner(world, PlannerConfig(**LOW)), [MazeMacros(world)], HierarchyConfig(planner=HIGH, subgoal_step=1, depth_weight=0.05))
    far, goal = torch.tensor([5.0, 9.0]), torch.tensor([25.0, 9.0])
    two.plan(far, goal)
    subgoal = two.info["subgoal"]
    assert subgoal is not None and (subgoal - far).norm() <= 6.0 + 1e-4  # one macro-step (6 moves of <= 1) ahead
    assert (subgoal - goal).norm() < (far - goal).norm() or subgoal[1] < far[1]  # toward the goal, or down to the door
    near = torch.tensor([23.0, 9.0])  # the goal is one macro-step away: the low level plans toward it directly
    two.reset()
    assert two.plan(near, goal) is not None and two.info["subgoal"] is None
    cost, depth = EarliestApproachCost(0.05).depths(torch.tensor([[[3.0, 0.0], [0.0, 0.0], [0.0, 0.0]]]), torch.zeros(2))
    assert int(depth[0]) == 1 and float(cost[0]) == 0.0  # the earliest close approach, not the last state


def test_a_level_keeps_its_subgoal_for_one_of_its_steps_unless_it_is_reached():
    world, goal = MazeWorld(), torch.tensor([25.0, 9.0])
    two = make_hierarchical(make_planner(world, PlannerConfig(**LOW)), [MazeMacros(world)],
                            HierarchyConfig(planner=HIGH, subgoal_step=1, depth_weight=0.05, commit=1.0, reached=0.25))
    here = torch.tensor([5.0, 9.0])
    two.plan(here, goal)
    first = two.info["subgoal"].clone()
    for _ in range(5):  # 5 of the 6 environment steps of one high-level step: the subgoal stays
        two.shift(1)
        two.plan(here, goal)
        assert torch.equal(two.info["subgoal"], first)
    two.shift(1)  # a whole high-level step: the level plans again (from where the agent is now)
    two.plan(here, goal)
    assert two.kept[0]["age"] == 0
    two.plan(first + 0.01, goal)  # at the subgoal: reached, so a new one is handed down at once
    assert two.kept[0]["distance"] > 0 and not torch.equal(two.info["subgoal"], first)


def test_guardrails_apply_at_both_levels_and_action_bounds_at_the_low_level_only():
    world, start, goal = MazeWorld(), torch.tensor([2.0, 5.0]), torch.tensor([8.0, 5.0])
    region = ForbiddenRegion(lambda z: z, low=(4.0, 3.0), high=(6.0, 10.0))  # a box in the way, passable below y = 3
    bound = ActionBound(0.8)
    two = make_hierarchical(make_planner(world, PlannerConfig(**LOW), [region, bound]), [MazeMacros(world, span=4)],
                            HierarchyConfig(planner=HIGH, subgoal_step=1, depth_weight=0.05), guardrails=[region, bound])
    assert two.high[0].guardrails == [region] and two.low.guardrails == [region, bound]
    first = two.high[0].plan(start, goal)
    assert not region.inside(first.imagined).any()  # the high level's own plan keeps out of the box
    path = _drive(world, two, start, goal, steps=60)
    assert (path[-1] - goal).norm() < 1.0 and not region.inside(path).any()  # reached, never inside the box
    steps = path[1:] - path[:-1]
    assert steps.norm(dim=-1).max() <= 0.8 + 1e-4  # the action bound held on every executed move


def test_hierarchy_config_refuses_what_cannot_work():
    from hjepa.config import ConfigError, apply_overrides

    with pytest.raises(ConfigError, match="action_repeat"):
        apply_overrides(HierarchyConfig(), ["planner.action_repeat=4"])
    with pytest.raises(ConfigError, match="subgoal_step"):
        apply_overrides(HierarchyConfig(), ["subgoal_step=0"])
    with pytest.raises(ValueError, match="high level"):
        HierarchicalPlanner(make_planner(MazeWorld(), PlannerConfig(**LOW)), [], [], HierarchyConfig())


class ExactMacros(MazeMacros):
    """MazeMacros with the interface breadth-first search reads: a code is the mean of the
    span's moves (`encode_macro`), inside the box [-1, 1]^2, and `next` plays one code."""

    def __init__(self, world: MazeWorld, span: int = 6):
        super().__init__(world, span)
        self.env_steps = span
        self.register_buffer("center", torch.zeros(2))

    def encode_macro(self, actions):
        return actions.mean(-2)

    def next(self, z, u):
        return self.world.rollout(z, u[:, None].expand(-1, self.high_cfg.span, -1))[:, -1]


BFS = PlannerConfig(name="bfs", action_repeat=1, directions=8, step_sizes=(1.0,), cell_size=1.5, goal_tolerance=1.0,
                    max_waves=12, seed=0)


def test_novel_keeps_children_away_from_the_nodes_and_from_each_other():
    from hjepa.actor.latent_search import novel

    nodes = torch.tensor([[0.0, 0.0]])
    children = torch.tensor([[0.5, 0.0], [3.0, 0.0], [3.2, 0.0], [0.0, 3.0], [3.0, 0.1]])
    assert novel(children, nodes, 1.0).tolist() == [1, 3]  # 0 is a node's twin, 2 and 4 are child 1's


def test_breadth_first_search_over_macro_codes_goes_through_both_doors_label_free():
    """The high level searches held moves by breadth first, nodes told apart by latent radius in
    unit moves: it finds the detour through both doors, and the two levels reach the goal that
    the flat planner cannot (test above)."""
    world, start, goal = MazeWorld(), torch.tensor([5.0, 9.0]), torch.tensor([25.0, 9.0])
    two = make_hierarchical(make_planner(world, PlannerConfig(**LOW)), [ExactMacros(world)],
                            HierarchyConfig(planner=BFS, subgoal_step=1))
    plan = two.high[0].plan(start, goal)
    assert (plan.imagined[-1] - goal).norm() <= 1.0 + 1e-4  # the search found the goal
    assert len(plan.imagined) >= 5 and plan.imagined[:, 1].min() < 2  # by the lower door: 36 moves, not the straight 20
    path = _drive(world, two, start, goal)
    assert (path[-1] - goal).norm() < 1.0
    assert path[(path[:, 0] > 10).nonzero()[0, 0], 1] < 2  # through the lower door first


def test_breadth_first_moves_stay_in_the_codes_box_unless_it_is_lifted():
    """A held move that encodes outside the data's box [-1, 1]^m is clipped onto it at
    `max_action=1`, and left where it is with `max_action=None` (the unbounded-box ablation):
    the high level's search reads its planner's bound, as the samplers do."""
    from hjepa.actor.hierarchical import macro_moves

    class Doubling(ExactMacros):
        def encode_macro(self, actions):
            return 2 * actions.mean(-2)

    model, moves = Doubling(MazeWorld()), torch.tensor([[1.0, 0.0], [0.25, -0.25]])
    assert torch.allclose(macro_moves(model, moves, 1.0), torch.tensor([[1.0, 0.0], [0.5, -0.5]]))
    assert torch.allclose(macro_moves(model, moves, None), torch.tensor([[2.0, 0.0], [0.5, -0.5]]))
    bounded = make_hierarchical(make_planner(MazeWorld(), PlannerConfig(**LOW)), [model],
                                HierarchyConfig(planner=replace(BFS, max_action=1.0)))
    unbounded = make_hierarchical(make_planner(MazeWorld(), PlannerConfig(**LOW)), [model],
                                  HierarchyConfig(planner=replace(BFS, max_action=None)))
    assert bounded.high[0].moves.abs().max() <= 1.0 and unbounded.high[0].moves.abs().max() == 2.0


def test_breadth_first_search_keeps_out_of_a_forbidden_region_and_plans_the_low_level_too():
    world, start, goal = MazeWorld(), torch.tensor([2.0, 5.0]), torch.tensor([8.0, 5.0])
    region = ForbiddenRegion(lambda z: z, low=(4.0, 3.0), high=(6.0, 10.0))
    high = make_hierarchical(make_planner(world, PlannerConfig(**LOW)), [ExactMacros(world, span=2)],
                             HierarchyConfig(planner=BFS, subgoal_step=1), guardrails=[region]).high[0]
    plan = high.plan(start, goal)
    assert (plan.imagined[-1] - goal).norm() <= 1.0 + 1e-4 and not region.inside(plan.imagined).any()
    flat = make_planner(world, replace(BFS, cell_size=0.6), [region])  # the same search over moves of 1, at the low level
    path = _drive(world, flat, start, goal, steps=40)
    assert (path[-1] - goal).norm() < 1.0 and not region.inside(path).any()
    assert flat.plan(goal, goal).actions.shape == (1, 2)  # at the goal: one settling move


class LeakyMacros(ExactMacros):
    """A high level that does not know the walls: a code u moves z by span * u, anywhere."""

    def next(self, z, u):
        return z + self.high_cfg.span * u


def test_the_high_levels_episodic_correction_learns_the_wall_it_pushed_into():
    from hjepa.memory import ShortTermMemory
    from hjepa.world_model.correction import MacroCorrection

    world, span = MazeWorld(), 6
    memory = ShortTermMemory()
    stuck = torch.tensor([9.5, 5.0])  # against the wall at x = 10, far from its door (y < 2)
    for _ in range(span + 1):
        memory.remember_state(stuck)
    for _ in range(span):
        memory.remember_action(torch.tensor([1.0, 0.0]))  # pushed right for one high-level step, did not move
    leaky = LeakyMacros(world, span)
    corrected = MacroCorrection(leaky, memory, state_radius=1.0, action_radius=0.3, unit_model=world)
    right = corrected.encode_macro(torch.tensor([[1.0, 0.0]]).expand(span, 2)[None])  # (1, 2): the code of that push
    assert torch.allclose(leaky.next(stuck[None], right)[0], torch.tensor([15.5, 5.0]))  # through the wall
    assert torch.allclose(corrected.next(stuck[None], right)[0], stuck, atol=1e-3)  # what the agent saw
    away = torch.tensor([[3.0, 5.0]])  # far from the remembered state: the model as it is
    assert torch.allclose(corrected.next(away, right), leaky.next(away, right), atol=1e-3)
    up = corrected.encode_macro(torch.tensor([[0.0, 1.0]]).expand(span, 2)[None])  # another code, same state
    assert float((corrected.next(stuck[None], up) - leaky.next(stuck[None], up)).norm()) < 0.1
    assert corrected.frameskip == 1 and corrected.window == span  # planners step codes; memory windows span actions


class DriftWorld(MazeWorld):
    """MazeWorld plus a latent coordinate no action controls much: it drifts with the path taken."""

    def step(self, z, a):
        moved = super().step(z[..., :2], a)
        return torch.cat([moved, z[..., 2:] + 0.05 * (a[..., :1] * a[..., 1:])], dim=-1)


def test_the_search_measures_distances_along_what_the_actions_move():
    from hjepa.actor.latent_search import controllable_basis

    z0 = torch.tensor([5.0, 5.0, 0.0])
    basis = controllable_basis(DriftWorld(), z0, 2, torch.Generator().manual_seed(0))
    assert basis.shape == (3, 2) and torch.allclose(basis.T @ basis, torch.eye(2), atol=1e-5)
    assert float(basis[2].abs().max()) < 0.05  # the position plane, not the drift
    with pytest.raises(ValueError, match="memory"):
        make_hierarchical(make_planner(MazeWorld(), PlannerConfig(**LOW)), [ExactMacros(MazeWorld())],
                          HierarchyConfig(planner=BFS, correction_radius=2.0))
