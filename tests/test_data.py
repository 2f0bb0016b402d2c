import numpy as np
import pytest

from hjepa.data import DatasetError, TrajectoryDataset, WindowSampler
from hjepa.envs.two_rooms import CollectConfig, collect_random_walks


def test_round_trip(tmp_path):
    ds = collect_random_walks(CollectConfig(num_trajectories=12, length=10, seed=1), progress=False)
    ds.save(tmp_path / "d")
    back = TrajectoryDataset.load(tmp_path / "d")
    for name in ("observations", "actions", "states", "layouts"):
        assert np.array_equal(getattr(ds, name), getattr(back, name))
    assert back.observations.dtype == np.uint8 and back.observations.shape == (12, 11, 2, 65, 65)
    # states follow the actions through the physics: a step never moves farther than its action
    moved = np.linalg.norm(np.diff(back.states, axis=1), axis=-1)
    assert np.all(moved <= np.linalg.norm(back.actions, axis=-1) + 1e-4)


def test_random_walk_statistics():
    ds = collect_random_walks(CollectConfig(num_trajectories=300, length=64, seed=0), progress=False)
    steps = np.linalg.norm(ds.actions, axis=-1)
    assert steps.min() >= 0.2 - 1e-5 and steps.max() <= 1.8 + 1e-5
    assert abs(steps.mean() - 1.0) < 0.1
    assert 0.25 <= ds.meta["door_crossing_fraction"] <= 0.45  # about a third pass the door


def test_speed_share_keeps_single_steps_but_spreads_multi_step_pushes():
    from hjepa.data.collect import random_walk_actions as _random_walk_actions

    heading = np.zeros(2000)
    steps = {}
    for share in (0.0, 0.75):
        actions = _random_walk_actions(np.random.default_rng(0), heading, CollectConfig(length=64, speed_share=share))
        steps[share] = np.linalg.norm(actions, axis=-1)
        assert abs(steps[share].mean() - 1.0) < 0.05 and abs(steps[share].std() - 0.4) < 0.06  # same single steps
    four_step = {share: s.reshape(len(s), -1, 4).sum(-1) for share, s in steps.items()}
    assert (four_step[0.75] > 6).mean() > 5 * (four_step[0.0] > 6).mean()  # long pushes are no longer rare
    with pytest.raises(ValueError, match="speed_share"):
        _random_walk_actions(np.random.default_rng(0), heading, CollectConfig(speed_share=1.5))


def test_hold_steps_repeats_each_draw_and_keeps_single_steps():
    from hjepa.data.collect import random_walk_actions as _random_walk_actions

    heading = np.zeros(2000)
    iid = _random_walk_actions(np.random.default_rng(0), heading, CollectConfig(length=66))
    held = _random_walk_actions(np.random.default_rng(0), heading, CollectConfig(length=66, hold_steps=4))
    assert held.shape == iid.shape == (2000, 66, 2)
    runs = held[:, :64].reshape(2000, 16, 4, 2)
    assert np.array_equal(runs, np.repeat(runs[:, :, :1], 4, axis=2))  # each draw held 4 steps
    assert not np.array_equal(held[:, 0], held[:, 4])  # and a new draw after them
    step = np.linalg.norm(held, axis=-1)
    assert abs(step.mean() - 1.0) < 0.05 and abs(step.std() - 0.4) < 0.06  # same single steps
    push = {name: np.linalg.norm(a[:, :64], axis=-1).reshape(2000, 16, 4).sum(-1) for name, a in (("iid", iid), ("held", held))}
    assert (push["held"] > 6).mean() > 5 * (push["iid"] > 6).mean()
    with pytest.raises(ValueError, match="hold_steps"):
        CollectConfig(hold_steps=0)


def test_corrupt_file_is_a_clear_error(tmp_path):
    collect_random_walks(CollectConfig(num_trajectories=4, length=5), progress=False).save(tmp_path)
    raw = bytearray((tmp_path / "actions.npy").read_bytes())
    raw[-3] ^= 0xFF
    (tmp_path / "actions.npy").write_bytes(bytes(raw))
    with pytest.raises(DatasetError, match="actions.npy is corrupt"):
        TrajectoryDataset.load(tmp_path)


def test_truncated_file_is_a_clear_error(tmp_path):
    collect_random_walks(CollectConfig(num_trajectories=4, length=5), progress=False).save(tmp_path)
    path = tmp_path / "observations.npy"
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(DatasetError, match="observations.npy"):
        TrajectoryDataset.load(tmp_path, verify_checksums=False)


def test_mismatched_and_missing(tmp_path):
    collect_random_walks(CollectConfig(num_trajectories=4, length=5), progress=False).save(tmp_path)
    np.save(tmp_path / "states.npy", np.zeros((4, 3, 2), np.float32))
    with pytest.raises(DatasetError, match="states.npy has shape"):
        TrajectoryDataset.load(tmp_path, verify_checksums=False)
    (tmp_path / "meta.json").write_text("{not json")
    with pytest.raises(DatasetError, match="not valid JSON"):
        TrajectoryDataset.load(tmp_path)
    with pytest.raises(DatasetError, match="does not exist"):
        TrajectoryDataset.load(tmp_path / "nope")


def test_window_sampler_shapes_and_alignment():
    ds = collect_random_walks(CollectConfig(num_trajectories=5, length=12), progress=False)
    batch = WindowSampler(ds, steps=4, seed=0).sample(7)
    assert batch["observations"].shape == (7, 5, 2, 65, 65)
    assert batch["actions"].shape == (7, 4, 2) and batch["states"].shape == (7, 5, 2)
    assert float(batch["observations"].max()) <= 1.0
    with pytest.raises(DatasetError, match="do not fit"):
        WindowSampler(ds, steps=20)


def test_window_sampler_frame_stride_keeps_every_kth_frame():
    ds = collect_random_walks(CollectConfig(num_trajectories=3, length=12), progress=False)
    sampler = WindowSampler(ds, steps=8, seed=1, frame_stride=4)
    batch = sampler.sample(5)
    assert batch["observations"].shape == (5, 3, 2, 65, 65) and batch["actions"].shape == (5, 8, 2)
    # the kept states are 4 environment steps apart: their gap matches the actions between them
    # wherever no wall was hit, and never exceeds the sum of the action norms
    gap = (batch["states"][:, 1:] - batch["states"][:, :-1]).norm(dim=-1)
    budget = batch["actions"].norm(dim=-1).reshape(5, 2, 4).sum(-1)
    assert bool((gap <= budget + 1e-4).all())
    with pytest.raises(ValueError, match="strides"):
        WindowSampler(ds, steps=6, frame_stride=4)


class _MostlyRight:
    """A scripted agent: 1.5 px per step to the right, a step up-left every 7th (it meets walls)."""

    def reset(self, seed=None):
        self.calls = 0

    def act(self, obs, goal_obs):
        self.calls += 1
        return np.float32([1.5, 0.3]) if self.calls % 7 else np.float32([-1.0, 1.0])


def test_explore_chunks_are_the_agents_own_transitions():
    from hjepa.data.explore import ExploreConfig, chunk_indices, collect_with_agent
    from hjepa.envs import TwoRooms
    from hjepa.envs.two_rooms import TwoRoomsPhysics

    assert chunk_indices(35, 16).tolist() == [list(range(17)), list(range(16, 33))]  # the 3-action tail is dropped
    cfg = ExploreConfig(episodes=3, chunk_length=16, seed=5)
    data = collect_with_agent(_MostlyRight(), cfg, env=TwoRooms(max_steps=40), progress=False)
    assert data.meta["episodes"] == 3 and data.meta["steps"] == 120 and data.meta["agent_success_rate"] == 0
    assert data.length == 16 and data.num_trajectories == 3 * 2  # 40 steps: two chunks of 16, the tail of 8 dropped
    assert np.allclose(data.actions[0, :6, 0], [1.5] * 6) and np.allclose(data.actions[0, 6], [-1.0, 1.0])
    # Every stored transition is the environment's physics applied to the stored action, in the stored layout.
    wall, door = data.layouts[:, 0:1].repeat(16, 1).ravel(), data.layouts[:, 1:2].repeat(16, 1).ravel()
    moved = TwoRoomsPhysics.step(data.states[:, :-1].reshape(-1, 2), data.actions.reshape(-1, 2), wall, door)
    assert np.allclose(moved, data.states[:, 1:].reshape(-1, 2), atol=1e-5)
    frames = TwoRoomsPhysics.render(data.states[:, -1], data.layouts[:, 0], data.layouts[:, 1])
    assert np.abs(data.observations[:, -1] / 255.0 - frames).max() <= 0.5 / 255 + 1e-6
    assert np.array_equal(data.observations[0, -1], data.observations[1, 0])  # chunks of one episode share the boundary frame
    pushed = (np.abs(data.states[:, 1:, 0] - data.states[:, :-1, 0]) < 1.4) & (data.actions[..., 0] == 1.5)
    assert pushed.any()  # it did push into a wall, which is what exploring is for
    from hjepa.config import ConfigError

    with pytest.raises(ConfigError, match="no episode lasted"):
        collect_with_agent(_MostlyRight(), ExploreConfig(episodes=1, chunk_length=64), env=TwoRooms(max_steps=40), progress=False)
