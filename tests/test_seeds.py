"""Seeds of collection, exploration and evaluation come from disjoint ranges (hjepa.seeds)."""
import numpy as np
import pytest

from hjepa.config import ConfigError
from hjepa.seeds import MAX_SEED, PURPOSES, SPAN, STRIDE, purpose_of, task_seed


def test_every_purpose_owns_one_range_and_its_blocks_never_overlap():
    for k, purpose in enumerate(PURPOSES):
        lowest, highest = task_seed(purpose, 0, 0), task_seed(purpose, MAX_SEED, STRIDE - 1)
        assert (lowest, purpose_of(lowest), purpose_of(highest)) == (k * 10**9, purpose, purpose)
        assert highest < (k + 1) * 10**9 <= 2**32  # inside its range, and any Gymnasium env accepts it
    assert task_seed("test", 1, 0) == task_seed("test", 0, STRIDE - 1) + 1  # consecutive seeds: adjacent blocks
    assert task_seed("dev", 3, 7) == 3 * 100_003 + 7  # the mapping every evaluation used before the ranges
    for bad in [("test", MAX_SEED + 1, 0), ("test", -1, 0), ("test", 0, STRIDE), ("tune", 0, 0)]:
        with pytest.raises(ConfigError):
            task_seed(*bad)
    with pytest.raises(ValueError):
        purpose_of(len(PURPOSES) * SPAN)


class _Recorder:
    """A task env and an agent that record the seeds they are given."""

    def __init__(self):
        self.resets, self.agent_seeds = [], []

    def reset(self, seed=None, options=None):
        self.resets.append(seed)
        return np.zeros((1, 4, 4), np.float32), {"goal_obs": np.zeros((1, 4, 4), np.float32), "success": False}

    def step(self, action):
        return np.zeros((1, 4, 4), np.float32), 0.0, False, True, {"success": False, "goal_obs": None}

    def act(self, obs, goal):
        return np.zeros(2, np.float32)


class _Agent:
    def __init__(self, log):
        self.log = log

    def reset(self, seed=None):
        self.log.append(seed)

    def act(self, obs, goal):
        return np.zeros(2, np.float32)


def test_evaluation_draws_test_tasks_by_default_and_dev_tasks_on_request():
    from hjepa.eval import evaluate

    for split, seed in (("test", 0), ("dev", 0), ("test", 5)):
        env, log = _Recorder(), []
        kwargs = {} if split == "test" and seed == 0 else {"split": split, "seed": seed}
        summary, _ = evaluate(_Agent(log), 4, env=env, progress=False, **kwargs)
        assert env.resets == [task_seed(split, seed, i) for i in range(4)] and log == env.resets  # the agent reseeded per task
        assert summary["split"] == split and {purpose_of(s) for s in env.resets} == {split}
    with pytest.raises(ConfigError):
        evaluate(_Agent([]), 1, env=_Recorder(), progress=False, split="train")


def test_exploration_draws_its_episodes_from_the_explore_range():
    from hjepa.data.explore import ExploreConfig, collect_with_agent

    env, log = _Recorder(), []
    with pytest.raises(ConfigError):  # every episode is one step, shorter than a chunk: nothing to store
        collect_with_agent(_Agent(log), ExploreConfig(episodes=3, chunk_length=4), env, progress=False)
    assert env.resets == [task_seed("explore", 0, i) for i in range(3)] == log
    with pytest.raises(ConfigError):
        ExploreConfig(seed=MAX_SEED + 1)


def test_collection_seeds_come_from_the_collect_range(monkeypatch):
    """Each world's collector seeds its generators (and a Gymnasium env's resets) from the collect range."""
    import hjepa.envs.gym_adapter as gym_adapter
    import hjepa.envs.rooms as rooms
    import hjepa.envs.two_rooms as two_rooms
    from hjepa.envs.gym_adapter import PixelEnv  # noqa: F401  (the adapter module is loaded)
    from hjepa.seeds import task_seed as real

    asked = []

    def spy(purpose, seed, index):
        asked.append(purpose)
        return real(purpose, seed, index)

    for module in (two_rooms, rooms, gym_adapter):
        monkeypatch.setattr(module, "task_seed", spy)
    two_rooms.collect_random_walks(two_rooms.CollectConfig(num_trajectories=3, length=4, seed=2), progress=False)
    rooms.collect_rooms(rooms.RoomsCollectConfig(num_trajectories=3, length=4, seed=2), progress=False)
    assert asked and set(asked) == {"collect"}
    from hjepa.envs import make_world

    data = make_world("Pendulum-v1").collect(3, 4, seed=2, progress=False)
    assert [purpose_of(s) for s in data.seeds] == ["collect"] * 3 and len(set(data.seeds.tolist())) == 3


def test_dataset_protocol_takes_dev_and_test_tasks_from_disjoint_trajectories():
    from hjepa.envs import make_world
    from hjepa.envs.dataset_tasks import DatasetTasks
    from hjepa.envs.two_rooms import CollectConfig, collect_random_walks

    data = collect_random_walks(CollectConfig(num_trajectories=10, length=30, seed=1), progress=False)
    tasks = DatasetTasks(make_world("two_rooms"), data, goal_offset=10, budget=20)
    picked = {split: {tasks.pick(task_seed(split, 0, i))[0] for i in range(40)} for split in ("dev", "test")}
    assert picked["dev"] and picked["test"] and not picked["dev"] & picked["test"]
    assert all(t % 2 == 0 for t in picked["dev"]) and all(t % 2 == 1 for t in picked["test"])
