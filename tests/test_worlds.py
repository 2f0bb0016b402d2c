"""Any world: the world interface, the Gymnasium adapter, Rooms, the dataset protocol."""
import json

import gymnasium as gym
import numpy as np
import pytest

from hjepa.config import ConfigError
from hjepa.data import DatasetError, TrajectoryDataset
from hjepa.envs import make_world, register_world
from hjepa.envs.dataset_tasks import DatasetTasks, task_pairs
from hjepa.envs.gym_adapter import GymWorld, to_frame


class DotEnv(gym.Env):
    """A dot in the unit square, seen as a small image; deterministic given the reset seed.
    `layout` picks how the image comes out: channel-last uint8, or channel-first float."""

    def __init__(self, channel_first: bool = False, noisy: bool = False, render_mode=None):
        self.channel_first, self.noisy = channel_first, noisy
        shape = (3, 24, 24) if channel_first else (24, 24, 3)
        self.observation_space = gym.spaces.Box(0, 1 if channel_first else 255, shape, np.float32 if channel_first else np.uint8)
        self.action_space = gym.spaces.Box(-0.1, 0.1, (2,), np.float32)
        self.pos = np.zeros(2, np.float32)

    def _obs(self):
        ys, xs = np.mgrid[:24, :24] / 23.0
        blob = np.exp(-((xs - self.pos[0]) ** 2 + (ys - self.pos[1]) ** 2) / 0.01)
        img = np.stack([blob, 1 - blob, np.full_like(blob, 0.5)], -1)
        return img.transpose(2, 0, 1).astype(np.float32) if self.channel_first else (img * 255).astype(np.uint8)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.pos = self.np_random.uniform(0.2, 0.8, 2).astype(np.float32)
        return self._obs(), {"pos": self.pos.copy()}

    def step(self, action):
        noise = np.random.normal(0, 0.05, 2) if self.noisy else 0.0
        self.pos = np.clip(self.pos + np.asarray(action) + noise, 0, 1).astype(np.float32)
        return self._obs(), 0.0, False, False, {"pos": self.pos.copy()}


for _id, _kw in (("hjepa-test/Dot-v0", {}), ("hjepa-test/DotCF-v0", {"channel_first": True}),
                 ("hjepa-test/NoisyDot-v0", {"noisy": True})):
    if _id not in gym.registry:
        gym.register(_id, entry_point=DotEnv, kwargs=_kw)


def dot_world(env_id="hjepa-test/Dot-v0"):
    return GymWorld(env_id, image_size=16, state_key="pos", success_radius=0.08, goal_steps=10, episode_steps=30)


def test_adapter_sees_any_image_layout_as_float_channel_first_frames():
    for env_id in ("hjepa-test/Dot-v0", "hjepa-test/DotCF-v0"):
        env = dot_world(env_id).replay_env()
        obs, info = env.reset(seed=3)
        assert obs.shape == (3, 16, 16) and obs.dtype == np.float32 and 0 <= obs.min() and obs.max() <= 1
        assert np.allclose(info["state"], info["pos"])
        # the agent's [-1, 1] maps onto the env's box: +1 moves the full 0.1
        _, _, _, _, after = env.step(np.ones(2))
        assert np.allclose(after["pos"], np.clip(info["pos"] + 0.1, 0, 1), atol=1e-6)
    assert to_frame(np.zeros((24, 24, 3), np.uint8), 8).shape == (3, 8, 8)
    with pytest.raises(ConfigError, match="not a registered"):
        GymWorld("hjepa-test/Nope-v0")


def test_make_world_by_name_or_gym_id_and_unknown_names():
    assert make_world("two_rooms").name == make_world("hjepa/TwoRooms-v0").name == "two_rooms"
    assert make_world("hjepa/Rooms-v0").name == "rooms"
    generic = make_world("hjepa-test/Dot-v0", image_size=16, state_key="pos")
    assert isinstance(generic, GymWorld) and generic.obs_shape == (3, 16, 16) and generic.action_dim == 2
    with pytest.raises(ConfigError, match="unknown world"):
        make_world("no_such_world")


def test_adapter_collects_reward_free_data_with_seeds_that_replay():
    world = dot_world()
    data = world.collect(6, 10, seed=1, progress=False)
    assert data.observations.shape == (6, 11, 3, 16, 16) and data.actions.shape == (6, 10, 2)
    assert data.seeds is not None and data.states.shape == (6, 11, 2) and data.world == "hjepa-test/Dot-v0"
    assert np.abs(data.actions).max() <= 1 and np.abs(np.diff(data.actions, axis=1)).mean() > 0  # smoothed noise, not constant
    # replaying trajectory 2's seed and actions reproduces its states and frames: the data say what the env did
    env = world.replay_env()
    obs, info = env.reset(seed=int(data.seeds[2]))
    for t in range(10):
        obs, _, _, _, info = env.step(data.actions[2, t])
    assert np.allclose(info["state"], data.states[2, 10]) and np.array_equal(info["frame"], data.observations[2, 10])


def test_dataset_protocol_builds_reachable_tasks_by_replay_and_by_state_reset(tmp_path):
    assert task_pairs(np.array([3, 1, 4]), 2).tolist() == [[0, 0], [0, 1], [2, 0], [2, 1], [2, 2]]
    world = dot_world()
    data = world.collect(8, 12, seed=2, progress=False)
    env = DatasetTasks(world, data, goal_offset=5, budget=7)
    obs, info = env.reset(seed=4)
    traj, t = env.task
    assert np.allclose(info["state"], data.states[traj, t])  # replayed to the recorded start
    assert np.array_equal(info["goal_obs"], data.observations[traj, t + 5] / np.float32(255))  # the recorded frame t + k
    assert not info["success"]
    for action in data.actions[traj, t:t + 5]:  # the recorded actions reach the goal
        obs, _, terminated, truncated, info = env.step(action)
    assert info["success"] and terminated
    env.reset(seed=4)
    for _ in range(7):
        *_, terminated, truncated, info = env.step(np.zeros(2))
    assert truncated != terminated and info["steps"] == 7  # the budget ends a task
    # Two-Rooms resets to the recorded state and layout instead of replaying
    from hjepa.envs.two_rooms import CollectConfig, collect_random_walks

    rooms_data = collect_random_walks(CollectConfig(num_trajectories=5, length=30, seed=1), progress=False)
    tasks = DatasetTasks(make_world("two_rooms"), rooms_data, goal_offset=20, budget=50)
    _, info = tasks.reset(seed=0)
    traj, t = tasks.task
    assert np.allclose(info["state"], rooms_data.states[traj, t])
    assert np.abs(info["goal_obs"] - rooms_data.observations[traj, t + 20] / 255.0).max() < 1e-6


def test_dataset_protocol_refuses_what_it_cannot_do():
    noisy = dot_world("hjepa-test/NoisyDot-v0")
    np.random.seed(0)
    data = noisy.collect(4, 12, seed=0, progress=False)
    np.random.seed(1)
    with pytest.raises(DatasetError, match="not deterministic"):
        for seed in range(4):
            DatasetTasks(noisy, data, goal_offset=3).reset(seed=seed)
    no_states = TrajectoryDataset(data.observations, data.actions, seeds=data.seeds)
    with pytest.raises(DatasetError, match="no states"):
        DatasetTasks(noisy, no_states)
    with pytest.raises(DatasetError, match="longer than"):
        DatasetTasks(dot_world(), data, goal_offset=40)


def test_world_protocol_for_a_plain_env_draws_a_goal_and_comes_back_to_the_start():
    env = dot_world().make_env()
    obs, info = env.reset(seed=5)
    again, info2 = env.reset(seed=5)
    assert np.array_equal(obs, again) and np.allclose(info["goal_state"], info2["goal_state"])
    assert not info["success"] and info["goal_obs"].shape == (3, 16, 16)


def test_pendulum_renders_headless_through_pygame():
    pytest.importorskip("pygame")
    world = make_world("Pendulum-v1")
    assert world.name == "pendulum" and world.obs_shape == (6, 64, 64) and world.action_dim == 1  # two stacked RGB frames
    data = world.collect(2, 5, progress=False)
    assert data.states.shape == (2, 6, 3) and data.observations.std() > 0  # the rod is drawn
    assert world.success(data.states[0, 0], data.states[0, 0]) and not world.success(np.float32([1, 0, 0]), np.float32([-1, 0, 0]))
    assert not world.success(np.float32([1, 0, 0]), np.float32([1, 0, 3]))  # the right angle at the wrong speed


class _ToyWorld(GymWorld):
    """A world of one's own: the dot env, registered under a name, with tuned training defaults."""

    def __init__(self):
        super().__init__("hjepa-test/Dot-v0", image_size=16, state_key="pos", success_radius=0.08, goal_steps=8,
                         episode_steps=12, name="toy_dot", train_overrides=("model.frameskip=2", "train.seq_len=2"))


def test_a_registered_world_collects_trains_and_plans_end_to_end(tmp_path):
    from hjepa.agent import Agent
    from hjepa.configurator import planner_for, train_config_for, world_of_run
    from hjepa.eval import evaluate
    from hjepa.train import train

    register_world("toy_dot", _ToyWorld)
    world = make_world("toy_dot")
    world.collect(12, 8, progress=False).save(tmp_path / "d")
    cfg = train_config_for(str(tmp_path / "d"), ["train.steps=3", "model.encoder.downsample=2", "train.log_every=1"])
    assert (cfg.world, cfg.model.frameskip, cfg.model.action_dim, cfg.model.encoder.image_size) == ("toy_dot", 2, 2, 16)
    train(cfg, tmp_path / "r", progress=False)
    assert world_of_run(tmp_path / "r") == "toy_dot"
    agent = Agent.load(tmp_path / "r", planner_for("toy_dot", num_samples=16, iterations=2, warm_iterations=1, refine_steps=1))
    summary, records = evaluate(agent, 2, env=world.make_env(), progress=False)
    assert summary["episodes"] == 2 and all(1 <= r.steps <= 12 for r in records)
    assert all(np.abs(a).max() <= 1 for a in [agent.act(*[world.make_env().reset(seed=0)[0]] * 2)])


def test_rooms_layouts_bands_and_walls():
    from hjepa.envs.rooms import N_DOORS, Rooms, RoomsPhysics, room_distances, room_index, sample_layout, wall_mask

    rng = np.random.default_rng(0)
    closed = 0
    for _ in range(30):
        layout = sample_layout(rng)
        assert (room_distances(layout) >= 0).all()  # every room reachable
        closed += int((layout[N_DOORS:] < 0.5).sum())
    assert closed > 30  # some doors closed in most layouts: the short way is not always open
    env = Rooms()
    for seed in range(9):
        _, info = env.reset(seed=seed)
        dist = room_distances(info["layout"])[room_index(info["pos"]), room_index(info["goal_pos"])]
        assert info["band"] == ("1", "2", "3-4")[seed % 3] and info["doors"] == dist
    hard = Rooms(band="3-4")  # one band for every task (hjepa eval --band)
    assert all(hard.reset(seed=seed)[1]["doors"] in (3, 4) for seed in range(6))
    with pytest.raises(ValueError, match="band"):
        Rooms(band="5")
    # random pushes never end inside a wall, and a closed door holds
    layout = sample_layout(np.random.default_rng(1))
    masks = np.repeat(wall_mask(layout)[None], 256, 0)
    pos = np.full((256, 2), 11.0, np.float32)
    for _ in range(60):
        pos = RoomsPhysics.step(pos, rng.normal(0, 2, (256, 2)).astype(np.float32), masks)
        assert not masks[np.arange(256), np.rint(pos[:, 1]).astype(int), np.rint(pos[:, 0]).astype(int)].any()
    shut = layout.copy()
    shut[N_DOORS:] = 0  # every door closed
    p = RoomsPhysics.step(np.float32([[18.0, 11.0]]), np.float32([[2.4, 0.0]]), wall_mask(shut)[None])
    assert p[0, 0] < 21 - 0.5 + 1e-3  # stopped at the wall's face


def test_rooms_data_and_world_protocol_with_a_budget():
    world = make_world("rooms")
    data = world.collect(6, 16, seed=0, progress=False)
    assert data.obs_shape == (2, 64, 64) and data.layouts.shape == (6, 24) and data.world == "rooms"
    env = world.make_env(budget=5)
    env.reset(seed=0)
    for _ in range(5):
        *_, terminated, truncated, info = env.step(np.zeros(2, np.float32))
    assert truncated and not terminated


def test_rooms_walks_that_redraw_their_heading_when_blocked_stop_pushing_into_walls():
    from hjepa.envs.rooms import RoomsCollectConfig, collect_rooms

    plain, redraw = (collect_rooms(RoomsCollectConfig(num_trajectories=40, length=32, seed=3, redraw_on_block=r),
                                   progress=False) for r in (0.0, 1.0))
    assert np.array_equal(plain.states[:, 0], redraw.states[:, 0])  # same starts and layouts
    assert np.array_equal(plain.layouts, redraw.layouts)
    # a plain walk keeps its heading into the wall; a redrawing one turns away
    assert redraw.meta["blocked_step_fraction"] < 0.5 * plain.meta["blocked_step_fraction"]
    moved = np.linalg.norm(np.diff(redraw.states, axis=1), axis=-1)
    asked = np.minimum(np.linalg.norm(redraw.actions, axis=-1), 2.45)
    blocked = moved < 0.5 * asked
    heading = np.arctan2(redraw.actions[..., 1], redraw.actions[..., 0])
    turn = np.abs(np.angle(np.exp(1j * (heading[:, 1:] - heading[:, :-1]))))
    # after a blocked step the next heading is uniform (mean turn ~pi/2), otherwise von Mises noise around the same one
    assert turn[blocked[:, :-1]].mean() > 1.2 > 0.8 > turn[~blocked[:, :-1]].mean()


def test_frame_stack_shows_the_last_frames_oldest_first():
    world = GymWorld("hjepa-test/Dot-v0", image_size=16, state_key="pos", frame_stack=2)
    assert world.obs_shape == (6, 16, 16)
    env = world.replay_env()
    first, _ = env.reset(seed=0)
    assert np.array_equal(first[:3], first[3:])  # after a reset: the first frame twice
    second, _, _, _, _ = env.step(np.ones(2))
    assert np.array_equal(second[:3], first[3:]) and not np.array_equal(second[3:], first[3:])


def test_the_docs_example_of_wrapping_an_env_runs(tmp_path, monkeypatch, capsys):
    import re
    from pathlib import Path

    text = (Path(__file__).parents[1] / "docs" / "worlds.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text[text.index("**Wrapping your own environment.**"):], re.S)[:2]
    small = {'"500"': '"24"', '"3000"': '"4"', '"50"': '"1"', '"--random-baseline"]': '"--random-baseline", "--quiet"]'}
    code = blocks[0] + "\n" + blocks[1]
    for old, new in small.items():
        assert old in code
        code = code.replace(old, new)
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "docs/worlds.md", "exec"), {"__name__": "docs_example"})
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["world"] == "dot" and result["episodes"] == 1 and result["split"] == "test"
    assert result["random_success_rate"] in (0.0, 1.0) and result["uses_labels"] is False  # one task: solved or not


def test_a_map_latent_is_sized_by_the_datasets_own_channels(tmp_path):
    """`model.encoder.latent_dim` of a map latent is (image channels + map_channels) x side^2,
    and the image channels come from the dataset: an RGB world's map of 3 + 2 channels is
    accepted, and the size the config's default in_channels (2) would give is refused with
    the right one named."""
    from hjepa.configurator import train_config_for

    register_world("toy_dot", _ToyWorld)
    make_world("toy_dot").collect(4, 4, progress=False).save(tmp_path / "d")
    channels = json.loads((tmp_path / "d" / "meta.json").read_text())["obs_shape"][0]
    assert channels != 2  # the point: not the default
    size = (channels + 2) * (16 // 2) ** 2
    map_set = ["model.encoder.kind=map", "model.encoder.downsample=2", "model.encoder.map_channels=2",
               "model.predictor.kind=conv"]
    cfg = train_config_for(str(tmp_path / "d"), map_set + [f"model.encoder.latent_dim={size}"])
    assert (cfg.model.encoder.in_channels, cfg.model.encoder.latent_dim) == (channels, size)
    with pytest.raises(ConfigError, match=f"= {size} with kind=map"):
        train_config_for(str(tmp_path / "d"), map_set + [f"model.encoder.latent_dim={(2 + 2) * (16 // 2) ** 2}"])
