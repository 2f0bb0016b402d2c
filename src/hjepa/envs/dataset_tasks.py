"""The dataset protocol (stable-worldmodel's): tasks cut from held-out recorded trajectories.

Task `seed` picks a trajectory and a step t of it (uniformly over the pairs that fit); the agent
starts where the trajectory was at step t, the goal image is the recorded observation at step
t + k (`goal_offset`), the budget is B steps, success is the world's rule on the true state
against the recorded one at t + k. So every goal is reachable (the data reached it in k steps)
and a plain Gymnasium env gets goal images without any code of its own. Pairs whose start
already satisfies the goal are left out: they would count as successes without any planning.
Dev and test tasks (`hjepa.seeds`: the range the task seed lies in) come from disjoint halves of
the trajectories, even and odd indices, so tuning on dev tasks never sees a test task's start.

The env is put at the recorded start by `reset(options={"state": ..., "layout": ...})` where the
world supports it (`World.supports_state_reset`), else by resetting with the trajectory's
recorded seed and replaying its recorded actions up to t (deterministic envs). A replay that
does not land on the recorded state is an error, not a silently wrong task.
"""
from __future__ import annotations

import numpy as np

from ..data.dataset import DatasetError, TrajectoryDataset
from ..seeds import SPLITS, purpose_of
from .world import GoalTasks, World


def task_pairs(lengths: np.ndarray, goal_offset: int) -> np.ndarray:
    """(M, 2) every (trajectory, start step) whose goal step start + goal_offset lies within its episode."""
    if goal_offset < 1:
        raise ValueError(f"goal_offset must be >= 1, got {goal_offset}")
    pairs = [(i, t) for i, n in enumerate(np.asarray(lengths)) for t in range(int(n) - goal_offset + 1)]
    return np.asarray(pairs, np.int64).reshape(-1, 2)


class DatasetTasks(GoalTasks):
    """A task env (see `envs.world`) whose tasks come from a dataset's trajectories."""

    def __init__(self, world: World, dataset: TrajectoryDataset, goal_offset: int = 25, budget: int = 50,
                 replay_tolerance: float = 1e-3):
        if dataset.states is None:
            raise DatasetError("the dataset protocol scores success on the true state: this dataset has no states.npy")
        if not world.supports_state_reset and dataset.seeds is None:
            raise DatasetError(f"world {world.name!r} cannot be reset to a state, and the dataset has no seeds.npy to "
                               "replay its episodes from")
        pairs = task_pairs(dataset.episode_lengths, goal_offset)
        if len(pairs):  # a task whose start already satisfies the goal is no task
            pairs = pairs[~np.asarray(world.success(dataset.states[pairs[:, 0], pairs[:, 1]],
                                                    dataset.states[pairs[:, 0], pairs[:, 1] + goal_offset]), bool)]
        self.pairs = pairs
        if not len(self.pairs):
            raise DatasetError(f"no episode of the dataset is longer than goal_offset={goal_offset} steps")
        # dev tasks from even trajectories, test tasks from odd ones; other seeds (explore) from all
        self.pairs_of = {split: pairs[pairs[:, 0] % 2 == k] for k, split in enumerate(SPLITS)}
        super().__init__(world, world.replay_env(), budget)
        self.dataset, self.goal_offset, self.replay_tolerance = dataset, goal_offset, replay_tolerance
        self.task = (0, 0)

    def pick(self, seed: int) -> tuple[int, int]:
        """The (trajectory, start step) of task `seed`, from its split's half of the trajectories."""
        pairs = self.pairs_of.get(purpose_of(seed), self.pairs)
        if not len(pairs):
            raise DatasetError(f"no {purpose_of(seed)} task: the {purpose_of(seed)} half of the trajectories "
                               f"(every other one) has no episode longer than goal_offset={self.goal_offset} steps")
        i = np.random.default_rng([seed, 77]).integers(len(pairs))
        return int(pairs[i, 0]), int(pairs[i, 1])

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        d = self.dataset
        traj, t = self.task = self.pick(seed or 0)
        recorded = d.states[traj, t]
        if self.world.supports_state_reset:
            opts = {"state": recorded}
            if d.layouts is not None:
                opts["layout"] = d.layouts[traj]
            obs, info = self.env.reset(seed=seed, options=opts)
        else:
            obs, info = self.env.reset(seed=int(d.seeds[traj]))
            for action in d.actions[traj, :t]:
                obs, _, _, _, info = self.env.step(action)
        if "state" in info and np.abs(np.asarray(info["state"]) - recorded).max() > self.replay_tolerance:
            raise DatasetError(f"replaying trajectory {traj} to step {t} reached state {np.round(info['state'], 4).tolist()}, "
                               f"the dataset recorded {np.round(recorded, 4).tolist()}: the env is not deterministic "
                               "(or not the one that recorded the data)")
        self._start_state, self._goal_state = recorded, d.states[traj, t + self.goal_offset]
        self._goal_obs = np.asarray(d.observations[traj, t + self.goal_offset], np.float32) / 255.0
        self._steps = 0
        return obs, self._info(info)
