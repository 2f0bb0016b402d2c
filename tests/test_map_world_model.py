"""Map latents: the map encoder, the convolutional predictor, their anti-collapse terms, and the
breadth-first search over the whole latent with a path it keeps while on track."""
from dataclasses import replace

import numpy as np
import pytest
import torch

from hjepa.actor import make_planner
from hjepa.config import ConfigValueError
from hjepa.perception.encoder import EncoderConfig
from hjepa.world_model import JEPAObjective, JEPAWorldModel, LossConfig, ModelConfig
from hjepa.world_model.predictor import ConvPredictor, PredictorConfig, make_predictor, splat
from hjepa.world_model.regularizers import still_channel_hinge

from test_hierarchy import BFS, MazeWorld


def map_model(channels: int = 3, width: int = 16, depth: int = 3) -> JEPAWorldModel:
    enc = EncoderConfig(kind="map", in_channels=2, image_size=32, downsample=4, channels=(8,), map_channels=channels,
                        latent_dim=(2 + channels) * 64)  # the pooled image's 2 channels, then the learned ones
    return JEPAWorldModel(ModelConfig(encoder=enc, predictor=PredictorConfig(kind="conv", hidden_dim=width, depth=depth)))


def test_a_map_latent_is_the_flattened_map_and_its_size_is_checked():
    model = map_model()
    assert model.map_shape == (5, 8, 8) and model.latent_dim == 320
    obs = torch.rand(2, 5, 2, 32, 32)
    z = model.encode(obs)
    assert z.shape == (2, 5, 320)
    pooled = torch.nn.functional.avg_pool2d(obs.reshape(10, 2, 32, 32), 4)
    assert torch.allclose(z.reshape(10, 5, 8, 8)[:, :2], pooled)  # the map starts with the pooled image
    with pytest.raises(ConfigValueError, match="in_channels"):
        EncoderConfig(kind="map", image_size=32, downsample=4, map_channels=3, latent_dim=64)
    with pytest.raises(ConfigValueError, match="encoder.kind=map"):
        make_predictor(64, 8, PredictorConfig(kind="conv"))


def test_splatting_moves_content_forward_and_lets_two_places_send_to_one():
    maps = torch.zeros(1, 2, 6, 6)
    maps[0, 0, 2, 1], maps[0, 0, 2, 2], maps[0, 1, 4, 4] = 1.0, 0.5, 3.0
    flow = torch.zeros(1, 2, 2, 6, 6)
    flow[0, 0, 0] = 2.0  # channel 0 moves 2 cells right; channel 1 stays
    out = splat(maps, flow)
    assert out[0, 0, 2, 3] == 1.0 and out[0, 0, 2, 4] == 0.5 and out[0, 1, 4, 4] == 3.0
    assert float(out.sum()) == pytest.approx(4.5)
    flow[0, 0, 0] = 0.0
    flow[0, 0, 0, 2, 1], flow[0, 0, 1, 2, 2] = 1.0, 0.5  # (2, 1) onto (2, 2); (2, 2) half a cell down
    out = splat(maps, flow)
    assert out[0, 0, 2, 2] == pytest.approx(1.25) and out[0, 0, 3, 2] == pytest.approx(0.25)
    flow[0, 1, 0, 4, 4] = 5.0  # off the map: lost
    assert float(splat(maps, flow)[0, 1].sum()) == 0.0
    flow.requires_grad_(True)
    splat(maps, flow)[0, 0, 3, 2].backward()
    assert float(flow.grad[0, 0, 1, 2, 2]) == pytest.approx(0.5)  # d(share below)/d(flow y) = content


def test_the_conv_predictor_applies_one_rule_everywhere():
    """Shifting the map shifts the prediction (away from the border): a rule learned at one wall
    holds at every wall."""
    torch.manual_seed(0)
    c, side, reach = 3, 32, 7  # dilations 1, 2, 4: an output cell sees 7 cells around it
    predictor = ConvPredictor(c * side * side, 8, PredictorConfig(kind="conv", hidden_dim=8, depth=3), (c, side, side))
    z = torch.zeros(1, c, side, side)
    untrained = predictor(z.flatten(1), torch.randn(1, 8))
    assert torch.equal(untrained, z.flatten(1))  # untrained: nothing changes
    torch.nn.init.normal_(predictor.out.weight, std=0.3)  # as if trained: some flow, some residual
    z[0, :, 12:16, 13:15] = torch.randn(c, 4, 2)
    a = torch.randn(1, 8)
    with torch.no_grad():
        out = predictor(z.flatten(1), a).reshape(c, side, side)
        shifted = predictor(torch.roll(z, (3, 2), dims=(2, 3)).flatten(1), a).reshape(c, side, side)
        other = predictor(z.flatten(1), -a).reshape(c, side, side)
    assert float((out - z[0]).abs().max()) > 1e-2  # it predicts a change
    rows, cols = slice(reach, side - reach - 3), slice(reach, side - reach - 2)  # cells that see no border, shifted or not
    assert torch.allclose(out[:, rows, cols], shifted[:, 3:, 2:][:, rows, cols], atol=1e-5)
    assert float((other - out).abs().max()) > 1e-2  # and the action changes what it predicts


def test_map_latents_are_regularized_per_place_and_every_channel_must_move():
    model = map_model(channels=3)
    z = torch.randn(4, 6, 320)
    vectors = model.feature_vectors(z)
    assert vectors.shape == (4 * 6 * 64, 5)
    assert torch.equal(vectors[5], z[0, 0].reshape(5, 64)[:, 5])  # row = one place's channels
    still = torch.zeros(4, 6, 3, 8, 8)
    assert float(still_channel_hinge(still, 0.5)) == pytest.approx(0.5)
    moving = still.clone()
    moving[:, ::2, :, 3, 3] = 2.0  # each channel flickers at one place
    assert float(still_channel_hinge(moving, 0.5)) == 0.0
    terms = JEPAObjective(model, LossConfig(time_var=1.0))(torch.rand(2, 4, 2, 32, 32), torch.randn(2, 12, 2))
    assert "time_var" in terms and torch.isfinite(terms["loss"])
    vector = JEPAWorldModel(ModelConfig(encoder=EncoderConfig(image_size=32, downsample=4, latent_dim=16)))
    with pytest.raises(ValueError, match="map latents"):
        JEPAObjective(vector, LossConfig(time_var=1.0))(torch.rand(2, 4, 2, 32, 32), torch.randn(2, 12, 2))


def test_the_search_over_the_whole_latent_keeps_its_path_while_the_agent_is_on_it():
    """search_components=0: distances in the whole latent (a map's few principal directions near
    the start say nothing of far places). With replan_distance the agent follows the path found,
    searching again only when it lands off it or its goal changes."""
    world, start, goal = MazeWorld(), torch.tensor([5.0, 9.0]), torch.tensor([25.0, 9.0])
    cfg = replace(BFS, cell_size=0.6, max_waves=60, search_components=0, replan_distance=0.5)
    planner = make_planner(world, cfg)
    planner.reset()
    first = planner.plan(start, goal)
    assert planner.basis is None and first.iterations > 0
    assert (first.imagined[-1] - goal).norm() <= 1.0 + 1e-4 and first.imagined[:, 1].min() < 2  # by the lower door
    z = world.step(start, first.actions[0])
    planner.shift(1)
    elsewhere = torch.tensor([5.0, 15.0])  # a new goal (a hierarchical planner's next subgoal): the old path is dropped
    assert planner.on_track(z, goal) and not planner.on_track(z, elsewhere)
    kept = planner.plan(z, goal)  # where the path said: no search
    assert kept.iterations == 0 and torch.equal(kept.actions, first.actions[1:])
    planner.shift(1)
    pushed = torch.tensor([12.0, 1.0])  # somewhere else entirely: search again from there
    again = planner.plan(pushed, goal)
    assert again.iterations > 0 and (again.imagined[-1] - goal).norm() <= 1.0 + 1e-4
    always = make_planner(world, replace(cfg, replan_distance=0.0))
    always.plan(start, goal)
    always.shift(1)
    assert always.plan(z, goal).iterations > 0  # the default searches at every step


def test_a_high_level_over_map_latents_is_convolutional_too():
    from hjepa.world_model.high_level import HighLevelConfig, HighLevelModel

    low = map_model(channels=2)  # latent (2 + 2) x 8 x 8
    cfg = HighLevelConfig(span=2, code_dim=4, hidden_dim=8, depth=3, predictor="conv")
    high = HighLevelModel(cfg, low.latent_dim, 2, low.frameskip, low.map_shape)
    z = low.encode(torch.rand(5, 2, 32, 32))
    codes = high.encode_macro(torch.randn(5, 3, 8, 2).reshape(5, 3, 8, 2))  # 3 high-level steps of 8 actions each
    assert codes.shape == (5, 3, 4) and high.rollout(z, codes).shape == (5, 3, low.latent_dim)
    with pytest.raises(ConfigValueError, match="kind=map"):
        HighLevelModel(cfg, 64, 2, 4)
    with pytest.raises(ConfigValueError, match="one predictor"):
        HighLevelConfig(predictor="conv", members=3)


def grid_world(n: int, generator: torch.Generator, side: int = 8):
    """A map world: channel 0 the agent (one cell), channel 1 walls (random cells, 25%); an action
    (dx, dy) of one cell moves the agent unless a wall or the edge is there. (maps, actions, next maps)."""
    walls = torch.rand(n, side, side, generator=generator) < 0.25
    free = (~walls).flatten(1).float()
    at = torch.multinomial(free, 1, generator=generator)[:, 0]
    y, x = at // side, at % side
    moves = torch.tensor([[1, 0], [-1, 0], [0, 1], [0, -1]])
    a = moves[torch.randint(0, 4, (n,), generator=generator)]
    ny, nx = (y + a[:, 1]).clamp(0, side - 1), (x + a[:, 0]).clamp(0, side - 1)
    blocked = walls[torch.arange(n), ny, nx]
    ny, nx = torch.where(blocked, y, ny), torch.where(blocked, x, nx)
    maps, after = torch.zeros(n, 2, side, side), torch.zeros(n, 2, side, side)
    maps[:, 1], after[:, 1] = walls.float(), walls.float()
    maps[torch.arange(n), 0, y, x] = 1.0
    after[torch.arange(n), 0, ny, nx] = 1.0
    return maps.flatten(1), a.float(), after.flatten(1), blocked


def test_the_conv_predictor_learns_walls_it_can_use_in_layouts_it_never_saw():
    g = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    predictor = ConvPredictor(128, 2, PredictorConfig(kind="conv", hidden_dim=16, depth=2, action_scale=1.0), (2, 8, 8))
    optimizer = torch.optim.Adam(predictor.parameters(), lr=3e-3)
    for _ in range(600):
        z, a, target, _ = grid_world(64, g)
        loss = (predictor(z, a) - target).pow(2).sum(-1).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    z, a, target, blocked = grid_world(2000, torch.Generator().manual_seed(1))  # new layouts
    with torch.no_grad():
        where = predictor(z, a).reshape(-1, 2, 64)[:, 0].argmax(-1)
    right = where == target.reshape(-1, 2, 64)[:, 0].argmax(-1)
    assert blocked.float().mean() > 0.2  # a good share of the moves hit a wall
    assert float(right[blocked].float().mean()) > 0.95 and float(right[~blocked].float().mean()) > 0.95


def test_blurred_map_distances_grow_with_how_far_apart_things_are():
    """Two maps with one thing at different places are equally far apart once the places do not
    overlap; blurred, the distance keeps growing with the separation (what bfs dedups by)."""
    from hjepa.actor.latent_search import LatentBFSPlanner, map_blur_basis

    shape = (1, 16, 16)
    blur = map_blur_basis(shape, 2.0)
    assert blur.shape == (256, 256) and torch.allclose(blur, blur.T, atol=1e-6)

    def at(x):
        z = torch.zeros(shape)
        z[0, 8, x] = 1.0
        return z.flatten()

    raw = [float((at(4) - at(4 + d)).norm()) for d in (1, 2, 4, 6)]
    blurred = [float(((at(4) - at(4 + d)) @ blur).norm()) for d in (1, 2, 4, 6)]
    assert max(raw) - min(raw) < 1e-6  # the raw map saturates at one cell
    assert all(b < c for b, c in zip(blurred, blurred[1:]))
    vector = MazeWorld()
    with pytest.raises(ConfigValueError, match="map latent"):
        LatentBFSPlanner(vector, replace(BFS, search_blur=2.0), torch.eye(2), torch.eye(2), vector).plan(
            torch.zeros(2), torch.ones(2))


class MapMaze(MazeWorld):
    """MazeWorld seen as a map: the latent is a (2, 11, 31) map whose channel 0 holds the agent
    (its position splatted bilinearly onto the cells, so the channel's centroid is the position)
    and channel 1 the two walls; a step reads the agent off the map and moves it as MazeWorld."""

    map_shape = (2, 11, 31)

    def __init__(self):
        super().__init__()
        walls = torch.zeros(11, 31)
        walls[2:, 10] = 1.0
        walls[:9, 20] = 1.0
        self.walls = walls

    def render(self, pos):
        from hjepa.world_model.predictor import splat

        n = pos.reshape(-1, 2).shape[0]
        agent = torch.zeros(n, 1, 11, 31)
        agent[:, 0, 0, 0] = 1.0
        moved = splat(agent, pos.reshape(n, 1, 2, 1, 1).expand(n, 1, 2, 11, 31))
        maps = torch.cat([moved, self.walls.expand(n, 1, 11, 31)], dim=1)
        return maps.reshape(*pos.shape[:-1], 2 * 11 * 31)

    def position(self, z):
        from hjepa.actor.latent_search import map_centroids

        return map_centroids(z, self.map_shape)[..., :2]

    def step(self, z, a):
        return self.render(super().step(self.position(z), a))


def test_centroid_distances_keep_growing_and_bfs_plans_through_both_doors_with_them():
    """search_centroids: distances between the channels' centroids grow with the separation
    without bound (a blurred distance stops after a few blur widths), so a goal rooms away is
    still nearer along the way through the doors."""
    from hjepa.actor.latent_search import LatentBFSPlanner, map_centroids

    world = MapMaze()
    at = [world.render(torch.tensor([4.0, 5.0])), world.render(torch.tensor([4.5, 5.25]))]
    np.testing.assert_allclose(map_centroids(at[1], world.map_shape), [4.5, 5.25, 15.0, 5.0], atol=1e-4)
    negative = at[0].clone()
    negative[3] = -2.0  # an undershoot on an empty cell of the agent's channel weighs nothing
    assert torch.allclose(map_centroids(negative, world.map_shape), map_centroids(at[0], world.map_shape))
    far = [float((map_centroids(at[0], world.map_shape) - map_centroids(world.render(torch.tensor([4.0 + d, 5.0])),
                                                                        world.map_shape)).norm()) for d in (1, 4, 16, 24)]
    np.testing.assert_allclose(far, [1, 4, 16, 24], atol=1e-4)
    start, goal = world.render(torch.tensor([5.0, 9.0])), world.render(torch.tensor([25.0, 1.0]))
    planner = make_planner(world, replace(BFS, cell_size=0.6, max_waves=60, search_centroids=True))
    planner.reset()
    plan = planner.plan(start, goal)
    path = world.position(plan.imagined)
    assert planner.unit == pytest.approx(1.0, abs=1e-4)  # a move of length 1 moves the agent's centroid by 1
    assert (path[-1] - torch.tensor([25.0, 1.0])).norm() <= 1.0 + 1e-4
    assert path[:, 1][path[:, 0] < 10.5].min() < 2 and path[:, 1][(path[:, 0] > 19.5) & (path[:, 0] < 20.5)].max() > 8
    vector = MazeWorld()
    with pytest.raises(ConfigValueError, match="map latent"):
        LatentBFSPlanner(vector, replace(BFS, search_centroids=True), torch.eye(2), torch.eye(2), vector)
