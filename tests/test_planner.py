from types import SimpleNamespace

import pytest
import torch

from hjepa.actor import PlannerConfig, make_planner
from hjepa.actor.sampling import project_to_ball
from hjepa.cost import ActionBound, ForbiddenRegion, GoalDistanceCost
from hjepa.world_model import JEPAWorldModel


class AdditiveWorld(torch.nn.Module):
    """An analytic world model: z' = z + a (latent = position)."""

    def __init__(self):
        super().__init__()
        self.cfg = SimpleNamespace(action_dim=2)
        self.dummy = torch.nn.Parameter(torch.zeros(1))

    def rollout(self, z0, actions):
        return z0[:, None, :] + actions.cumsum(dim=1)


@pytest.mark.parametrize("name", ["mppi", "cem", "gradient", "cem+grad"])
def test_planner_finds_the_analytic_optimum(name):
    goal = torch.tensor([6.0, -3.0])
    cfg = PlannerConfig(name=name, horizon=4, action_repeat=1, num_samples=512 if "grad" != name[-4:] else 16,
                        iterations=30, init_std=1.5, max_action_norm=2.45, lr=0.2, refine_steps=10, seed=0)
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
    # blend: the last state gets 0.8 + 0.2 / 2, the first 0.2 / 2 -> 0.1 * 5 + 0.9 * 0
    assert GoalDistanceCost.blend(2, 0.8)(z, goal).item() == pytest.approx(0.5)
    assert GoalDistanceCost.blend(2, 0.0)(z, goal).item() == pytest.approx(2.5)
    with pytest.raises(ValueError, match="final_share"):
        GoalDistanceCost.blend(2, 1.5)


def test_unknown_planner():
    with pytest.raises(ValueError, match="name must be one of .*got 'rrt\\+grad'"):
        PlannerConfig(name="rrt+grad")
    cfg = PlannerConfig()
    cfg.name = "rrt"  # changed after the check: make_planner still refuses it
    with pytest.raises(ValueError, match="unknown planner"):
        make_planner(AdditiveWorld(), cfg)


def test_plan_must_split_into_predictor_steps():
    world = AdditiveWorld()
    world.frameskip = 4
    with pytest.raises(ValueError, match="predictor steps of 4"):
        make_planner(world, PlannerConfig(horizon=3, action_repeat=1))
    make_planner(world, PlannerConfig(horizon=3, action_repeat=4))  # 12 steps = 3 predictor steps


def _dense_path(plan, start):
    """Positions every 1/20 of a step along the imagined straight segments (AdditiveWorld: latent = position)."""
    points = torch.cat([start[None], plan.imagined])
    t = torch.linspace(0, 1, 21)[:, None, None]
    return (points[:-1] + t * (points[1:] - points[:-1])).reshape(-1, 2)


@pytest.mark.parametrize("name", ["cem", "mppi", "gradient"])
def test_guardrail_rejects_the_cheapest_plan_through_a_forbidden_region(name):
    start, goal = torch.zeros(2), torch.tensor([6.0, 0.0])
    cfg = PlannerConfig(name=name, horizon=5, action_repeat=1, num_samples=256, iterations=25, init_std=2.0,
                        max_action_norm=2.45, final_share=1.0, seed=0)
    free = make_planner(AdditiveWorld(), cfg).plan(start, goal)
    box = ForbiddenRegion(lambda z: z, low=[2.0, -1.0], high=[4.0, 1.0])
    assert box.inside(_dense_path(free, start)).any()  # unconstrained, the straight line crosses the box
    guarded = make_planner(AdditiveWorld(), cfg, guardrails=[box]).plan(start, goal)
    assert guarded.safe and not box.inside(_dense_path(guarded, start)).any()
    if name != "gradient":  # the samplers also find the detour; plain gradient descent may stop short
        assert (guarded.imagined[-1] - goal).norm() < 1.0


def test_forbidden_region_checks_between_predicted_states():
    box = ForbiddenRegion(lambda z: z, low=[2.0, -1.0], high=[3.0, 1.0], substeps=4)
    latents = torch.tensor([[[5.0, 0.0]], [[5.0, 3.0]]])  # one jump over the box, one clear of it
    assert box.violated(None, torch.zeros(2), latents).tolist() == [True, False]
    with pytest.raises(ValueError, match="low <= high"):
        ForbiddenRegion(lambda z: z, low=[1.0, 0.0], high=[0.0, 1.0])


def test_forbidden_margin_shrinks_to_the_current_clearance():
    box = ForbiddenRegion(lambda z: z, low=[2.0, -1.0], high=[3.0, 1.0], margin=2.0, slack=0.5)
    z_far = torch.tensor([6.0, 0.0])  # clearance 3: the full margin applies
    assert box.violated(None, z_far, torch.tensor([[[4.5, 0.0]], [[5.5, 0.0]]])).tolist() == [True, False]
    z_near = torch.tensor([4.0, 0.0])  # clearance 1, inside the margin: every plan would violate the full margin
    latents = torch.tensor([[[5.0, 0.0]], [[4.0, 2.0]], [[3.7, 0.0]], [[3.2, 0.0]]])  # away, along, 0.3 closer, 0.8 closer
    assert box.violated(None, z_near, latents).tolist() == [False, False, False, True]
    assert box.clearance(torch.tensor([[2.5, 0.0], [4.0, 0.0], [4.0, 3.0]])).tolist() == [0.0, 1.0, 2.0]
    with pytest.raises(ValueError, match="margin"):
        ForbiddenRegion(lambda z: z, low=[0.0], high=[1.0], margin=-1.0)


def test_forbidden_margin_of_search_edges_is_set_by_the_agent_state():
    # Search edges start at different nodes, but the agent's state sets the margin for all of
    # them: a path cannot creep `slack` closer to the box with every edge.
    box = ForbiddenRegion(lambda z: z, low=[2.0, -1.0], high=[3.0, 1.0], margin=2.0, slack=0.5)
    starts = torch.tensor([[6.0, 0.0], [4.5, 0.0], [5.0, 3.2]])  # nodes at clearance 3, 1.5 and 2.2
    ends = torch.tensor([[[5.5, 0.0]], [[4.2, 0.0]], [[3.5, 3.2]]])  # clearance 2.5, 1.2 and 2.2
    agent_far, agent_near = torch.tensor([8.0, 0.0]), torch.tensor([4.0, 0.0])  # clearance 5 (margin 2) and 1 (margin 0.5)
    assert box.violated(None, agent_far, ends, starts=starts).tolist() == [False, True, False]
    assert box.violated(None, agent_near, ends, starts=starts).tolist() == [False, False, False]
    # an edge that jumps over the box is caught between its own start and end
    assert box.violated(None, agent_far, torch.tensor([[[1.0, 0.0]]]), starts=torch.tensor([[4.5, 0.0]])).tolist() == [True]


def test_action_bound_guardrail():
    actions = torch.tensor([[[1.0, 0.0], [2.0, 2.0]], [[1.0, 1.0], [0.0, 2.4]]])  # norms (1, 2.83), (1.41, 2.4)
    assert ActionBound(2.45).violated(actions, None, torch.zeros(2, 2, 2)).tolist() == [True, False]


def test_no_safe_plan_is_reported_unsafe():
    everywhere = ForbiddenRegion(lambda z: z, low=[-100.0, -100.0], high=[100.0, 100.0])
    plan = make_planner(AdditiveWorld(), PlannerConfig(name="cem", horizon=3, action_repeat=1, iterations=2),
                        guardrails=[everywhere]).plan(torch.zeros(2), torch.tensor([5.0, 0.0]))
    assert not plan.safe and plan.cost == float("inf")


@pytest.mark.parametrize("name", ["cem", "gradient"])
def test_anytime_planner_spends_less_on_easy_goals(name):
    cfg = PlannerConfig(name=name, horizon=4, action_repeat=1, num_samples=256 if name == "cem" else 8, iterations=40,
                        max_action_norm=2.45, final_share=1.0, cost_threshold=0.3, lr=0.3, seed=0)
    easy = make_planner(AdditiveWorld(), cfg).plan(torch.zeros(2), torch.tensor([1.0, 0.5]))
    hard = make_planner(AdditiveWorld(), cfg).plan(torch.zeros(2), torch.tensor([-4.5, 4.5]))
    assert easy.cost <= 0.3 and hard.cost <= 0.3  # both solved
    assert easy.iterations * 2 <= hard.iterations < 40


def test_cost_threshold_is_in_unit_moves():
    # z' = z + 3a: a threshold of 0.3 moves is 0.9 latent units, measured at the episode's first plan.
    cfg = PlannerConfig(name="cem", horizon=4, action_repeat=1, num_samples=256, iterations=40, max_action_norm=2.45,
                        final_share=1.0, cost_threshold=0.3, seed=0)
    planner = make_planner(ScaledWorld(), cfg)
    plan = planner.plan(torch.zeros(2), torch.tensor([3.0, 1.5]))
    assert planner.unit == pytest.approx(3.0)
    assert plan.cost <= 0.9 and plan.iterations < 40
    planner.reset()
    assert planner.unit is None  # a new episode measures again


def test_convergence_tolerance_stops_early():
    cfg = PlannerConfig(name="cem", horizon=4, action_repeat=1, iterations=50, tolerance=1e-3, seed=0)
    plan = make_planner(AdditiveWorld(), cfg).plan(torch.zeros(2), torch.tensor([3.0, 3.0]))
    assert plan.iterations < 50


class ScaledWorld(AdditiveWorld):
    """z' = z + 3 a: a move of length 1 is 3 latent units."""

    def rollout(self, z0, actions):
        return z0[:, None, :] + 3 * actions.cumsum(dim=1)


def test_revisit_cost_is_in_unit_moves_and_counts_remembered_states():
    from hjepa.cost import RevisitCost, latent_per_unit_move
    from hjepa.memory import ShortTermMemory

    assert latent_per_unit_move(ScaledWorld(), torch.zeros(2)) == pytest.approx(3.0)
    memory = ShortTermMemory()
    cost = RevisitCost(GoalDistanceCost.final_step(1), memory, ScaledWorld(), weight=2.0, radius=1.0)
    z = torch.tensor([[[0.0, 0.0]], [[3.0, 0.0]], [[30.0, 0.0]]])  # final states 0, 1 and 10 unit moves from the origin
    goal = torch.zeros(2)
    assert torch.equal(cost(z, goal), torch.tensor([0.0, 3.0, 30.0]))  # nothing remembered yet: the task cost alone
    for _ in range(4):
        memory.remember_state(torch.zeros(2))
    expected = 2.0 * 3.0 * 4 * torch.exp(torch.tensor([0.0, -0.5, -50.0]))  # weight x scale x count x gaussian
    assert torch.allclose(cost.penalty(z[:, -1]), expected)
    assert torch.allclose(cost(z, goal), torch.tensor([0.0, 3.0, 30.0]) + expected)
    memory.remember_state(torch.tensor([30.0, 0.0]))  # a new state is seen at the next call
    assert cost.penalty(z[:, -1])[2] == pytest.approx(2.0 * 3.0 * (1 + 4 * float(torch.exp(torch.tensor(-50.0)))))


def test_memory_measures_the_unit_move_once_per_episode():
    from hjepa.memory import ShortTermMemory

    memory = ShortTermMemory(capacity=2)
    memory.remember_state(torch.zeros(2))
    assert memory.unit_move(ScaledWorld()) == pytest.approx(3.0)
    for _ in range(3):  # the first state scrolls out of the full memory: the episode's unit stays
        memory.remember_state(torch.ones(2))
    assert memory.unit_move(SteppedWorld()) == pytest.approx(3.0)
    memory.clear()  # a new episode measures again (with this model: 1 latent unit per move)
    memory.remember_state(torch.zeros(2))
    assert memory.unit_move(SteppedWorld()) == pytest.approx(1.0)


def test_revisit_cost_moves_a_planner_off_where_it_has_been():
    from hjepa.memory import ShortTermMemory

    cfg = PlannerConfig(name="cem", horizon=3, action_repeat=1, num_samples=256, iterations=8, final_share=1.0, seed=0)
    start = goal = torch.zeros(2)  # already at the goal: staying put is optimal for the task cost
    still = make_planner(AdditiveWorld(), cfg).plan(start, goal)
    assert still.imagined[-1].norm() < 0.5
    memory = ShortTermMemory()
    for _ in range(20):  # it has stood here for 20 steps
        memory.remember_state(start)
    revisit = PlannerConfig(**{**cfg.__dict__, "revisit_weight": 2.0, "revisit_radius": 1.0})
    moved = make_planner(AdditiveWorld(), revisit, memory=memory).plan(start, goal)
    assert moved.imagined[-1].norm() > 2.0  # staying would cost 40; a few unit moves away costs about that many
    with pytest.raises(ValueError, match="memory"):
        make_planner(AdditiveWorld(), revisit)


class SteppedWorld(torch.nn.Module):
    """z' = z + (sum of the step's k actions): a model with predictor steps of k = 2 env steps."""

    frameskip = 2
    members = 1

    def __init__(self):
        super().__init__()
        self.cfg = SimpleNamespace(action_dim=2)
        self.dummy = torch.nn.Parameter(torch.zeros(1))

    def step_members(self, z, a):
        return z + a.reshape(*a.shape[:-1], self.frameskip, 2).sum(-2)

    # the real model's loops over predictor steps and members
    next = JEPAWorldModel.next
    rollout_members = JEPAWorldModel.rollout_members
    rollout = JEPAWorldModel.rollout
    group_actions = JEPAWorldModel.group_actions


def _stuck_memory(steps: int, action=(1.0, 0.0)):
    """An agent that pushed `action` from the origin for `steps` steps and never moved (a wall the model does not know)."""
    from hjepa.memory import ShortTermMemory

    memory = ShortTermMemory()
    for _ in range(steps):
        memory.remember_state(torch.zeros(2))
        memory.remember_action(torch.tensor(action))
    memory.remember_state(torch.zeros(2))
    return memory


def test_episodic_correction_reproduces_what_happened_and_leaves_the_rest():
    from hjepa.world_model.correction import EpisodicCorrection

    world = SteppedWorld()
    corrected = EpisodicCorrection(world, _stuck_memory(2), state_radius=1.0, action_radius=1.0)
    push = torch.tensor([[1.0, 0.0, 1.0, 0.0]])  # the pushes that were remembered (one predictor step)
    assert torch.allclose(world.next(torch.zeros(1, 2), push), torch.tensor([[2.0, 0.0]]))
    assert torch.allclose(corrected.next(torch.zeros(1, 2), push), torch.zeros(1, 2), atol=1e-6)  # what happened
    far = torch.tensor([[30.0, 0.0]])
    assert torch.allclose(corrected.next(far, push), world.next(far, push))  # nothing remembered near there
    # Pulling back instead (|da|^2 = 8 over k = 2 steps): weight exp(-8 / (2 * 1 * 2)) on the residual (-2, 0).
    back = torch.tensor([[-1.0, 0.0, -1.0, 0.0]])
    w = float(torch.exp(torch.tensor(-2.0)))
    assert torch.allclose(corrected.next(torch.zeros(1, 2), back), torch.tensor([[-2.0 - 2.0 * w, 0.0]]))
    # A state 1 unit move away (state radius 1, unit move = 1 latent unit here): weight exp(-1/2).
    near = torch.tensor([[0.0, 1.0]])
    w = float(torch.exp(torch.tensor(-0.5)))
    assert torch.allclose(corrected.next(near, push), torch.tensor([[2.0 - 2.0 * w, 1.0]]))
    # Rollouts go through the corrected step: pushing on for 4 env steps predicts staying put.
    stay = corrected.rollout(torch.zeros(1, 2), torch.tensor([[[1.0, 0.0]] * 4]))
    assert torch.allclose(stay, torch.zeros(1, 2, 2), atol=1e-6)


def test_episodic_correction_follows_the_memory_and_its_units():
    from hjepa.world_model.correction import EpisodicCorrection

    memory = _stuck_memory(1)  # one step remembered: no full predictor step yet, so no correction
    corrected = EpisodicCorrection(ScaledStepWorld(), memory, state_radius=1.0, action_radius=1.0)
    push = torch.tensor([[1.0, 0.0, 1.0, 0.0]])
    assert torch.allclose(corrected.next(torch.zeros(1, 2), push), torch.tensor([[6.0, 0.0]]))
    memory.remember_action(torch.tensor([1.0, 0.0]))
    memory.remember_state(torch.zeros(2))  # a second stuck step: seen at the next call
    assert torch.allclose(corrected.next(torch.zeros(1, 2), push), torch.zeros(1, 2), atol=1e-5)
    # The state radius is in unit moves: 3 latent units is one move here, so the weight is exp(-1/2).
    near = torch.tensor([[0.0, 3.0]])
    w = float(torch.exp(torch.tensor(-0.5)))
    assert torch.allclose(corrected.next(near, push), torch.tensor([[6.0 - 6.0 * w, 3.0]]), atol=1e-5)
    memory.clear()  # a new episode forgets
    memory.remember_state(torch.zeros(2))
    assert torch.allclose(corrected.next(torch.zeros(1, 2), push), torch.tensor([[6.0, 0.0]]))


def test_repeating_one_memory_makes_the_nearest_confidence_no_surer():
    """Pinned against a wall for 40 steps, the agent remembers one push 39 times. A move up
    (|da|^2 = 4 over k = 2 steps: weight exp(-1) per memory) is not that push: under "sum" the
    39 weak weights add up to full confidence and cancel the move up; under "nearest" the push's
    residual applies with the one weight exp(-1)."""
    from hjepa.world_model.correction import EpisodicCorrection

    world, up = SteppedWorld(), torch.tensor([[0.0, 1.0, 0.0, 1.0]])
    summed, nearest = (EpisodicCorrection(world, _stuck_memory(40), 1.0, 1.0, confidence=c) for c in ("sum", "nearest"))
    assert torch.allclose(world.next(torch.zeros(1, 2), up), torch.tensor([[0.0, 2.0]]))
    w = float(torch.exp(torch.tensor(-1.0)))
    assert torch.allclose(summed.next(torch.zeros(1, 2), up), torch.tensor([[-2.0, 2.0]]), atol=1e-5)
    assert torch.allclose(nearest.next(torch.zeros(1, 2), up), torch.tensor([[-2.0 * w, 2.0]]), atol=1e-5)
    push = torch.tensor([[1.0, 0.0, 1.0, 0.0]])  # the push itself: both reproduce what happened
    for corrected in (summed, nearest):
        assert torch.allclose(corrected.next(torch.zeros(1, 2), push), torch.zeros(1, 2), atol=1e-5)
    with pytest.raises(ValueError, match="confidence"):
        EpisodicCorrection(world, _stuck_memory(1), 1.0, 1.0, confidence="mean")


class ScaledStepWorld(SteppedWorld):
    """z' = z + 3 (sum of the step's actions): a move of length 1 is 3 latent units."""

    def step_members(self, z, a):
        return z + 3 * a.reshape(*a.shape[:-1], self.frameskip, 2).sum(-2)


def test_make_planner_plans_through_the_corrected_model():
    from hjepa.world_model.correction import EpisodicCorrection

    cfg = PlannerConfig(name="cem", horizon=2, action_repeat=2, num_samples=128, iterations=6, final_share=1.0,
                        max_action_norm=1.0, seed=0)
    goal = torch.tensor([4.0, 0.0])
    free = make_planner(SteppedWorld(), cfg).plan(torch.zeros(2), goal)
    assert free.cost < 0.5  # the model alone: straight to the goal
    corrected_cfg = PlannerConfig(**{**cfg.__dict__, "correction_radius": 1.0, "correction_action_radius": 0.5})
    planner = make_planner(SteppedWorld(), corrected_cfg, memory=_stuck_memory(4))
    assert isinstance(planner.model, EpisodicCorrection)
    # Having pushed right from here without moving, the straight plan now predicts no progress.
    imagined, costs = planner.judge(torch.zeros(2), goal, free.actions[None])
    assert float(costs[0]) > 2.0
    with pytest.raises(ValueError, match="memory"):
        make_planner(SteppedWorld(), corrected_cfg)
    with pytest.raises(ValueError, match="correction_radius"):
        make_planner(SteppedWorld(), PlannerConfig(**{**cfg.__dict__, "correction_radius": -1.0}), memory=_stuck_memory(1))


def test_path_around_box_matches_hand_computed_lengths():
    from hjepa.cost.guardrails import path_around_box

    low, high = torch.zeros(2), torch.ones(2)
    cases = [
        ((-1.0, 0.5), (2.0, 0.5), 2 * 1.25**0.5 + 1),  # straight through: two corners and the top edge
        ((-1.0, 0.5), (0.5, 1.2), 1.25**0.5 + 0.29**0.5),  # one corner, (0, 1)
        ((-1.0, 2.0), (2.0, 2.0), 3.0),  # clear of the box: straight
        ((-1.0, 0.0), (2.0, 0.0), 3.0),  # along an edge: touching is allowed
        ((-1.0, -1.0), (2.0, 2.0), 2 * 5**0.5),  # the diagonal through the box: around a corner
        ((0.5, 0.4), (0.5, -1.0), 1.0),  # from inside: first moved to the nearest edge, (0.5, 0)
    ]
    for p, g, expected in cases:
        assert float(path_around_box(torch.tensor(p), torch.tensor(g), low, high)) == pytest.approx(expected, abs=1e-5)
    batch = path_around_box(torch.randn(5, 7, 2) * 3, torch.tensor([2.0, 0.5]), low, high)
    assert batch.shape == (5, 7) and bool((batch >= 0).all())


def test_detour_cost_steers_a_short_plan_around_the_forbidden_region_not_into_its_face():
    from hjepa.memory import ShortTermMemory

    start, goal = torch.zeros(2), torch.tensor([8.0, 0.0])
    box = ForbiddenRegion(lambda z: z, low=[2.0, -1.0], high=[4.0, 1.0])
    cfg = PlannerConfig(name="cem", horizon=2, action_repeat=1, num_samples=512, iterations=20, init_std=1.0,
                        max_action_norm=1.0, final_share=1.0, seed=0)
    memory = ShortTermMemory()
    memory.remember_state(start)
    straight = make_planner(AdditiveWorld(), cfg, guardrails=[box], memory=memory).plan(start, goal)
    # Two unit moves cannot pass the box; by straight-line distance the best end is at its face.
    assert abs(float(straight.imagined[-1, 1])) < 0.3 and float(straight.imagined[-1, 0]) > 1.8
    around_cfg = PlannerConfig(**{**cfg.__dict__, "detour_weight": 1.0})
    around = make_planner(AdditiveWorld(), around_cfg, guardrails=[box], memory=memory).plan(start, goal)
    assert around.safe and abs(float(around.imagined[-1, 1])) > 0.7  # heads for a corner instead
    with pytest.raises(ValueError, match="memory"):
        make_planner(AdditiveWorld(), around_cfg, guardrails=[box])
    with pytest.raises(ValueError, match="detour_weight"):
        make_planner(AdditiveWorld(), PlannerConfig(**{**cfg.__dict__, "detour_weight": -1.0}), guardrails=[box], memory=memory)
    cube = ForbiddenRegion(lambda z: z, low=[0.0, 0.0, 0.0], high=[1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="2-D"):
        make_planner(AdditiveWorld(), around_cfg, guardrails=[cube], memory=memory)


@pytest.mark.parametrize("name", ["mppi", "cem", "gradient", "cem+grad"])
def test_reseed_makes_an_episode_independent_of_the_episodes_before_it(name):
    cfg = PlannerConfig(name=name, horizon=4, action_repeat=1, num_samples=64, iterations=3, warm_iterations=3, seed=0)
    planner = make_planner(AdditiveWorld(), cfg)
    start, goal = torch.zeros(2), torch.tensor([3.0, 1.0])

    def episode(seed):
        planner.reset()
        planner.reseed(seed)
        return planner.plan(start, goal).actions

    first = episode(7)
    planner.plan(start, goal)  # more samples drawn in between, as another episode would
    torch.testing.assert_close(episode(7), first, rtol=0, atol=0)
    assert not torch.equal(episode(8), first)


def test_planners_declare_whether_they_act_on_labels():
    """uses_labels follows what the planner reads: latents and goal images are label-free; a probe
    fitted on true positions (wavefront cells, a forbidden region) and a Bellman cost-to-go are not."""
    from hjepa.cost.critic import CostToGo, CostToGoConfig
    from hjepa.eval.probes import LinearProbe
    from hjepa.memory import ShortTermMemory

    model, probe = AdditiveWorld(), LinearProbe(torch.cat([torch.eye(2), torch.zeros(1, 2)]))
    hindsight, bellman = (CostToGo(2, CostToGoConfig(hidden_dim=8), uses_labels=flag) for flag in (False, True))
    box = ForbiddenRegion(probe, low=[1.0, 1.0], high=[2.0, 2.0])
    plain = dict(horizon=4, action_repeat=1, num_samples=8, iterations=1)
    cases = [
        (PlannerConfig(name="cem+grad", **plain), {}, False),
        (PlannerConfig(name="cem", **plain), {"guardrails": [ActionBound(1.0)]}, False),
        (PlannerConfig(name="cem", revisit_weight=1.0, **plain), {"memory": ShortTermMemory()}, False),
        (PlannerConfig(name="cem", terminal_value=True, **plain), {"value": hindsight}, False),
        (PlannerConfig(name="cem", terminal_value=True, **plain), {"value": bellman}, True),
        (PlannerConfig(name="astar", action_repeat=1), {"value": bellman}, True),
        (PlannerConfig(name="astar", action_repeat=1, heuristic="zero"), {"value": bellman}, False),  # V not read
        (PlannerConfig(name="cem+grad", **plain), {"guardrails": [box]}, True),
        (PlannerConfig(name="cem", detour_weight=1.0, **plain), {"guardrails": [box], "memory": ShortTermMemory()}, True),
        (PlannerConfig(name="wavefront", action_repeat=1), {"readout": probe}, True),
    ]
    for cfg, parts, labelled in cases:
        assert make_planner(model, cfg, **parts).uses_labels is labelled, (cfg.name, list(parts))
