"""Ensembles and mixtures of experts: members, batching, routing, and planning around disagreement."""
from types import SimpleNamespace

import pytest
import torch

from hjepa.actor import PlannerConfig, make_planner
from hjepa.cost.guardrails import DisagreementBound
from hjepa.eval.uncertainty import spearman
from hjepa.world_model import JEPAWorldModel
from hjepa.world_model.jepa import ModelConfig
from hjepa.perception.encoder import EncoderConfig
from hjepa.world_model.predictor import (EnsemblePredictor, MoEPredictor, PredictorConfig, active_parameters,
                                         count_parameters)


def _model(**predictor) -> JEPAWorldModel:
    torch.manual_seed(0)
    return JEPAWorldModel(ModelConfig(encoder=EncoderConfig(latent_dim=8), predictor=PredictorConfig(hidden_dim=32, **predictor)))


def test_members_differ_after_init_and_the_batched_op_equals_each_member_alone():
    predictor = EnsemblePredictor(6, 2, PredictorConfig(kind="ensemble", members=4, hidden_dim=16))
    z, a = torch.randn(4, 5, 3, 6), torch.randn(4, 5, 3, 2)  # member-first, then any batch shape
    together = predictor(z, a)
    alone = torch.stack([predictor.member(k)(z[k], a[k]) for k in range(4)])
    assert torch.allclose(together, alone, atol=1e-5)
    same = predictor(z[:1].expand(4, -1, -1, -1), a[:1].expand(4, -1, -1, -1))
    spread = (same - same.mean(0)).norm(dim=-1).mean()
    assert spread > 0.05  # different initializations: the members disagree on the same input


def test_members_agree_on_a_constant_world_after_training():
    model = _model(kind="ensemble", members=5)
    z0, actions = torch.randn(64, 8), torch.randn(64, 8, 2)  # 2 predictor steps of 4 actions
    _, before = model.rollout_spread(z0, actions)
    optimizer = torch.optim.Adam(model.predictor.parameters(), lr=3e-3)
    for _ in range(300):  # the world never changes: z' = z whatever the action
        z, a = torch.randn(128, 8), torch.randn(128, 8, 2)
        loss = (model.rollout_members(z, a) - z[None, :, None]).pow(2).sum(-1).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        mean, after = model.rollout_spread(z0, actions)
    assert float(after.mean()) < 0.1 * float(before.mean())
    assert torch.allclose(mean, z0[:, None].expand_as(mean), atol=0.2)


def test_a_dense_model_is_one_member_with_no_disagreement():
    model = _model()
    z0, actions = torch.randn(3, 8), torch.randn(3, 12, 2)
    mean, spread = model.rollout_spread(z0, actions)
    assert model.members == 1 and torch.equal(spread, torch.zeros(3, 3))
    assert torch.allclose(mean, model.rollout(z0, actions))
    assert torch.allclose(model.next(z0, actions[:, :4].reshape(3, 8)), mean[:, 0])


def test_router_top_k_and_load_balance_on_hand_built_inputs():
    cfg = PredictorConfig(kind="moe", experts=4, top_k=2, hidden_dim=8, action_scale=1.0)
    moe = MoEPredictor(2, 2, cfg)
    with torch.no_grad():  # router logits = 10 * [x0, x1, x2, x3]: the largest input coordinates win
        moe.router.weight.copy_(10 * torch.eye(4))
        moe.router.bias.zero_()
    z = torch.tensor([[1.0, 0.5], [0.0, 0.0]])
    a = torch.tensor([[0.0, 0.0], [0.3, 1.0]])
    assert moe.choice(z, a).tolist() == [[0, 1], [3, 2]]
    # Even load: 4 inputs each sending (nearly) all probability to a different expert -> 1.
    moe.cfg = PredictorConfig(kind="moe", experts=4, top_k=1, hidden_dim=8, action_scale=1.0)
    eye = torch.eye(4)
    assert float(moe.balance(eye[:, :2], eye[:, 2:])) == pytest.approx(1.0, abs=1e-3)
    # Everything to expert 0 -> E = 4.
    one = torch.tensor([[1.0, 0.0]]).expand(4, 2)
    assert float(moe.balance(one, torch.zeros(4, 2))) == pytest.approx(4.0, abs=1e-3)


def test_only_the_chosen_experts_run():
    cfg = PredictorConfig(kind="moe", experts=3, top_k=1, hidden_dim=8, action_scale=1.0)
    moe = MoEPredictor(2, 2, cfg)
    with torch.no_grad():
        moe.router.weight.zero_()
        moe.router.bias.copy_(torch.tensor([5.0, 0.0, -5.0]))  # expert 0 for every input
        for w in moe.experts.weights:
            w[2] = float("nan")  # expert 2 is broken: any input it saw would come out NaN
    out = moe(torch.randn(16, 2), torch.randn(16, 2))
    assert torch.isfinite(out).all()
    assert active_parameters(moe) < count_parameters(moe)


class SplitWorld(torch.nn.Module):
    """Two hand-built members, z' = z + a, that disagree on steps from inside the box
    x0 < x < x1, |y| < half (member 1 moves an extra +2 in y there): a region the data never showed them."""

    frameskip = 1
    members = 2

    def __init__(self, x0=1.0, x1=3.0, half=1.0):
        super().__init__()
        self.cfg = SimpleNamespace(action_dim=2)
        self.dummy = torch.nn.Parameter(torch.zeros(1))
        self.x0, self.x1, self.half = x0, x1, half

    def step_members(self, z, a):
        inside = ((z[..., :1] > self.x0) & (z[..., :1] < self.x1) & (z[..., 1:].abs() < self.half)).float()
        bump = torch.stack([torch.zeros_like(inside[..., 0]), 2 * inside[..., 0]], dim=-1)
        return z + a + torch.stack([torch.zeros_like(bump[0]), bump[1]])

    next = JEPAWorldModel.next
    next_spread = JEPAWorldModel.next_spread
    rollout_members = JEPAWorldModel.rollout_members
    rollout = JEPAWorldModel.rollout
    rollout_spread = JEPAWorldModel.rollout_spread
    group_actions = JEPAWorldModel.group_actions


def _two_plans():
    """Toward (4, 0) from the origin: straight through the strip, or up and around it (y = 5)."""
    through = torch.tensor([[1.0, 0.0]] * 4)
    around = torch.tensor([[0.0, 2.5], [0.0, 2.5], [2.0, 0.0], [2.0, 0.0], [0.0, -2.5], [0.0, -2.5]])
    return through, around


def test_disagreement_guardrail_rejects_the_plan_through_the_region_and_keeps_the_one_around():
    world = SplitWorld()
    through, around = _two_plans()
    cfg = PlannerConfig(name="cem", horizon=6, action_repeat=1, max_action_norm=3.0)
    planner = make_planner(world, cfg, guardrails=[DisagreementBound([0.5])])
    padded = torch.cat([through, torch.zeros(2, 2)])  # both plans 6 steps long
    _, costs = planner.judge(torch.zeros(2), torch.tensor([4.0, 0.0]), torch.stack([padded, around]))
    assert torch.isinf(costs[0]) and torch.isfinite(costs[1])
    # without the guardrail both are admissible, and the straight plan is the cheaper
    _, costs = make_planner(world, cfg).judge(torch.zeros(2), torch.tensor([4.0, 0.0]), torch.stack([padded, around]))
    assert torch.isfinite(costs).all() and costs[0] < costs[1]


def test_search_keeps_its_edges_out_of_the_disagreement():
    world = SplitWorld(x0=0.5, x1=3.5, half=2.5)
    cfg = PlannerConfig(name="astar", heuristic="zero", action_repeat=1, directions=4, step_sizes=(1.0,), goal_radius=0.5,
                        dedup_radius=0.1, max_expansions=3000)
    goal = torch.tensor([4.0, 0.0])
    inside = lambda p: (p[:, 0] > 0.5) & (p[:, 0] < 3.5) & (p[:, 1].abs() < 2.5)  # noqa: E731
    free = make_planner(world, cfg).plan(torch.zeros(2), goal)
    assert inside(free.imagined).any()  # the straight way, through the region
    guarded = make_planner(world, cfg, guardrails=[DisagreementBound([0.5])]).plan(torch.zeros(2), goal)
    assert (guarded.imagined[-1] - goal).norm() <= 0.5
    starts = torch.cat([torch.zeros(1, 2), guarded.imagined[:-1]])
    assert not inside(starts).any()  # no edge leaves a state the members disagree about
    assert len(guarded.actions) > len(free.actions)
    with pytest.raises(ValueError, match="guardrail"):
        make_planner(world, PlannerConfig(name="astar", heuristic="zero", action_repeat=1, uncertainty_weight=1.0))


def test_breadth_first_search_keeps_its_edges_out_of_the_disagreement():
    world = SplitWorld(x0=0.5, x1=3.5, half=2.5)
    cfg = PlannerConfig(name="bfs", action_repeat=1, directions=4, step_sizes=(1.0,), cell_size=0.5, goal_tolerance=0.5,
                        max_waves=20)
    goal = torch.tensor([4.0, 0.0])
    inside = lambda p: (p[:, 0] > 0.5) & (p[:, 0] < 3.5) & (p[:, 1].abs() < 2.5)  # noqa: E731
    free = make_planner(world, cfg).plan(torch.zeros(2), goal)
    assert inside(free.imagined).any()  # the shortest way in the members' mean goes through the region
    guarded = make_planner(world, cfg, guardrails=[DisagreementBound([0.5])]).plan(torch.zeros(2), goal)
    assert (guarded.imagined[-1] - goal).norm() <= 0.5
    starts = torch.cat([torch.zeros(1, 2), guarded.imagined[:-1]])
    assert not inside(starts).any()  # no edge leaves a state the members disagree about: around the region
    with pytest.raises(ValueError, match="guardrail"):
        make_planner(world, PlannerConfig(name="bfs", action_repeat=1, uncertainty_weight=1.0))


def test_pessimism_adds_the_mean_disagreement_to_the_cost():
    world = SplitWorld()
    through, around = _two_plans()
    plans = torch.stack([torch.cat([through, torch.zeros(2, 2)]), around])
    goal = torch.tensor([4.0, 0.0])
    plain = make_planner(world, PlannerConfig(name="cem", horizon=6, action_repeat=1, max_action_norm=3.0))
    pessimist = make_planner(world, PlannerConfig(name="cem", horizon=6, action_repeat=1, max_action_norm=3.0,
                                                  uncertainty_weight=5.0))
    _, base = plain.judge(torch.zeros(2), goal, plans)
    _, paid = pessimist.judge(torch.zeros(2), goal, plans)
    _, spread = world.rollout_spread(torch.zeros(2, 2), plans)
    assert torch.allclose(paid, base + 5.0 * spread.mean(1))
    assert float(spread[1].max()) == 0.0 and float(spread[0].max()) > 0.5  # around: no disagreement
    assert base[0] < base[1] and paid[1] < paid[0]  # the plain planner goes through, the pessimist around


def test_the_disagreement_options_need_an_ensemble():
    from tests.test_planner import AdditiveWorld

    with pytest.raises(ValueError, match="ensemble"):
        make_planner(AdditiveWorld(), PlannerConfig(name="cem", uncertainty_weight=1.0))


def test_spearman_on_known_samples():
    x = torch.arange(10.0)
    assert spearman(x, x**3) == pytest.approx(1.0)
    assert spearman(x, -x) == pytest.approx(-1.0)
    assert abs(spearman(x, torch.tensor([5.0, 1, 8, 2, 9, 0, 7, 3, 6, 4]))) < 0.3


def test_plot_series_draws_each_series(tmp_path):
    from PIL import Image

    from hjepa.eval.render import plot_series

    path = plot_series({"dense": ([1e3, 1e4, 1e5], [3.0, 2.0, 1.0]), "moe": ([2e4, 4e4], [1.5, 1.2])}, tmp_path / "p.png",
                       xlabel="params", ylabel="error", log_x=True)
    pixels = list(Image.open(path).convert("RGB").getdata())
    assert (40, 90, 200) in pixels and (220, 110, 30) in pixels  # both series' colours are drawn


def test_the_hierarchy_bounds_its_ensemble_low_level_only():
    from hjepa.actor.hierarchical import HierarchyConfig, make_hierarchical
    from tests.test_hierarchy import HIGH, MazeMacros, MazeWorld

    bound = DisagreementBound([0.5])
    low = make_planner(SplitWorld(), PlannerConfig(name="cem", horizon=4, action_repeat=1, uncertainty_weight=1.0), [bound])
    two = make_hierarchical(low, [MazeMacros(MazeWorld(), span=4)], HierarchyConfig(planner=HIGH), guardrails=[bound])
    assert two.low.guardrails == [bound] and two.high[0].guardrails == []  # a high level is one model: nothing to disagree
    assert two.low.pessimism is not None


def test_an_ensemble_high_level_trains_each_member_and_bounds_its_search():
    from hjepa.actor import PlannerConfig
    from hjepa.actor.hierarchical import HierarchyConfig, make_hierarchical
    from hjepa.config import ConfigError
    from hjepa.cost.guardrails import DisagreementBound
    from hjepa.train.high_level import disagreement_limits, member_open_loop_error, open_loop_error
    from hjepa.world_model.high_level import HighLevelConfig, HighLevelModel
    from tests.test_hierarchy import LOW, MazeWorld

    torch.manual_seed(0)
    dense = HighLevelModel(HighLevelConfig(span=2, code_dim=2, hidden_dim=32, depth=2), 2, 2, 1)
    assert all(not k.startswith("predictor.nets") for k in dense.state_dict())  # one member: the old layout
    model = HighLevelModel(HighLevelConfig(span=2, code_dim=2, hidden_dim=32, depth=2, members=3), 2, 2, 1)
    z, u = torch.randn(5, 2), torch.rand(5, 2) * 2 - 1
    members = model.step_members(z.expand(3, 5, 2), u)
    assert members.shape == (3, 5, 2) and not torch.allclose(members[0], members[1])  # different inits
    mean, spread = model.next_spread(z, u)
    assert torch.allclose(model.next(z, u), members.mean(0)) and torch.allclose(mean, members.mean(0))
    assert bool((spread > 0).all())
    latents, actions = torch.randn(4, 4, 2), torch.randn(4, 6, 2)  # 3 high-level steps of 2 actions
    own = (model.rollout_members(latents[:, 0], model.encode_macro(model.group_actions(actions))) - latents[:, 1:])
    assert torch.allclose(member_open_loop_error(model, latents, actions), own.pow(2).sum(-1).mean())
    assert float(member_open_loop_error(model, latents, actions)) >= float(open_loop_error(model, latents, actions))
    limits = disagreement_limits(model, latents, actions)
    assert len(limits) == 3 and all(v > 0 for v in limits)

    low = make_planner(MazeWorld(), PlannerConfig(**LOW))
    with pytest.raises(ConfigError, match="ensemble"):
        make_hierarchical(low, [dense], HierarchyConfig(max_uncertainty=1.0))
    model.disagreement_limits = limits
    two = make_hierarchical(low, [model], HierarchyConfig(max_uncertainty=1.0))
    bound = [g for g in two.high[0].guardrails if isinstance(g, DisagreementBound)]
    assert len(bound) == 1 and bound[0].limits.tolist() == pytest.approx(limits) and two.high[0].wants_spread
