"""Any Gymnasium env with image observations (or rgb_array rendering) and a Box action space.

    world = GymWorld("Pendulum-v1")                  # or make_world("Pendulum-v1")
    data = world.collect(500, 64)                    # reward-free: smoothed random actions
    env = world.make_env()                           # task env: reset draws a start and a goal image

What the adapter does, so that the rest of hjepa sees what it sees of every world:
- **Frames**: the observation itself when it is an image (channel-first or channel-last, uint8
  or float in [0, 1]), else `env.render()` with `render_mode="rgb_array"`; resized to
  `image_size` x `image_size` and returned channel-first, float32 in [0, 1]. With
  `frame_stack=k` the observation is the last k frames along the channels (oldest first; the
  first frame repeated after a reset): one image cannot show a velocity, two can.
- **Actions**: the agent acts in [-1, 1]^A; the adapter maps that onto the env's Box bounds,
  so one planner setting fits every env (the planner's `max_action=1`).
- **True state** (metrics only, never shown to the agent): `info[state_key]` when you name a
  key the env reports, else `state_fn(env)` when you give one, else `env.unwrapped.state` when
  the env has it (the classic-control envs do), else none.
- **Success**: `success_fn(state, goal_state)` when you give one, else the true state within
  `success_radius` of the goal's (Euclidean). Without a true state there is no success rule,
  and evaluation says so.
- **Tasks** (the world protocol): reset with the task's seed, play the exploration policy for
  `goal_steps` steps and keep that frame as the goal image, then reset with the same seed
  again: the start. That needs a deterministic env, and the adapter checks it (the replayed
  start must match). The dataset protocol (`envs.dataset_tasks`) needs no more than the
  recorded seeds, which collection stores.
"""
from __future__ import annotations

import os
from typing import Callable

import gymnasium as gym
import numpy as np
from PIL import Image
from tqdm import tqdm

from ..config import ConfigError, apply_overrides
from ..data.collect import SmoothNoiseConfig, smooth_noise_actions
from ..data.dataset import TrajectoryDataset
from ..seeds import task_seed
from .world import GoalTasks, World

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")  # headless rendering: no display, no sound
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")


def _is_image_space(space) -> bool:
    """A Box of shape (H, W, C) or (C, H, W) with C in 1, 3, 4 and a side of at least 8 px."""
    if not isinstance(space, gym.spaces.Box) or len(space.shape) != 3:
        return False
    shape = space.shape
    sides = shape[:2] if shape[-1] in (1, 3, 4) else shape[1:] if shape[0] in (1, 3, 4) else (0,)
    return min(sides) >= 8


def to_frame(image: np.ndarray, size: int) -> np.ndarray:
    """An image (H, W, C) or (C, H, W), uint8 or float in [0, 1] -> uint8 (C, size, size)."""
    image = np.asarray(image)
    if image.ndim == 2:
        image = image[..., None]
    if image.ndim != 3:
        raise ConfigError(f"expected an image (H, W, C) or (C, H, W), got shape {image.shape}")
    if image.shape[0] in (1, 3, 4) and image.shape[-1] not in (1, 3, 4):
        image = np.moveaxis(image, 0, -1)  # channel-first -> channel-last
    if image.dtype != np.uint8:
        image = np.clip(np.rint(np.asarray(image, np.float32) * 255), 0, 255).astype(np.uint8)
    image = image[..., :3]  # drop alpha
    if image.shape[:2] != (size, size):
        channels = [np.asarray(Image.fromarray(image[..., c]).resize((size, size), Image.BILINEAR)) for c in range(image.shape[-1])]
        image = np.stack(channels, -1)
    return np.ascontiguousarray(np.moveaxis(image, -1, 0))


class PixelEnv(gym.Wrapper):
    """A Gymnasium env seen as hjepa sees it: float (C, S, S) frames, actions in [-1, 1]^A,
    the true state in info["state"] (when there is one)."""

    def __init__(self, env: gym.Env, image_size: int, state_key: str | None = None,
                 state_fn: Callable[[gym.Env], np.ndarray] | None = None, frame_stack: int = 1):
        super().__init__(env)
        if frame_stack < 1:
            raise ConfigError(f"frame_stack must be >= 1, got {frame_stack}")
        self.frame_stack, self._frames = frame_stack, []
        space = env.action_space
        if not isinstance(space, gym.spaces.Box) or len(space.shape) != 1:
            raise ConfigError(f"hjepa needs a 1-D Box action space, got {space}")
        if not (np.all(np.isfinite(space.low)) and np.all(np.isfinite(space.high))):
            raise ConfigError(f"the action space must be bounded to be normalized to [-1, 1], got {space}")
        self.low, self.high = space.low.astype(np.float32), space.high.astype(np.float32)
        self.image_size, self.state_key, self.state_fn = image_size, state_key, state_fn
        self.from_obs = _is_image_space(env.observation_space)
        if not self.from_obs and env.render_mode != "rgb_array":
            raise ConfigError(f"{env.spec.id if env.spec else env}: observations are not images and render_mode is "
                              f"{env.render_mode!r}; make it with render_mode='rgb_array'")
        self.action_space = gym.spaces.Box(-1.0, 1.0, shape=space.shape, dtype=np.float32)
        shape = (self._channels() * frame_stack, image_size, image_size)
        self.observation_space = gym.spaces.Box(0.0, 1.0, shape=shape, dtype=np.float32)

    def _channels(self) -> int:
        shape = self.env.observation_space.shape if self.from_obs else (3,)
        c = shape[0] if shape[0] in (1, 3, 4) and len(shape) == 3 else shape[-1]
        return min(int(c), 3)

    def frame(self, obs) -> np.ndarray:
        """uint8 (C, S, S) of what the env shows now."""
        return to_frame(obs if self.from_obs else self.env.render(), self.image_size)

    def state(self, info: dict) -> np.ndarray | None:
        if self.state_key is not None:
            if self.state_key not in info:
                raise ConfigError(f"the env's info has no key {self.state_key!r} (it has {sorted(info)})")
            return np.asarray(info[self.state_key], np.float32).ravel()
        if self.state_fn is not None:
            return np.asarray(self.state_fn(self.env), np.float32).ravel()
        raw = getattr(self.env.unwrapped, "state", None)
        return None if raw is None else np.asarray(raw, np.float32).ravel()

    def to_env_action(self, action) -> np.ndarray:
        a = np.clip(np.asarray(action, np.float32).reshape(self.low.shape), -1.0, 1.0)
        return self.low + (a + 1.0) * 0.5 * (self.high - self.low)

    def _wrap(self, obs, info, first: bool = False):
        frame = self.frame(obs)
        self._frames = ([frame] * self.frame_stack if first else self._frames[1:] + [frame])
        frame = np.concatenate(self._frames, axis=0)  # oldest first: (C * frame_stack, S, S)
        info = dict(info)
        state = self.state(info)
        if state is not None:
            info["state"] = state
        info["frame"] = frame
        return frame.astype(np.float32) / 255.0, info

    def reset(self, *, seed=None, options=None):
        obs, info = self.env.reset(seed=seed, options=options)
        return self._wrap(obs, info, first=True)

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(self.to_env_action(action))
        obs, info = self._wrap(obs, info)
        return obs, reward, terminated, truncated, info


class GymTasks(GoalTasks):
    """The world protocol for a plain env: task `seed` = reset(seed), the exploration policy for
    `goal_steps` steps gives the goal; reset(seed) again gives the start."""

    def __init__(self, world: "GymWorld", goal_steps: int, budget: int):
        super().__init__(world, world.replay_env(), budget)
        self.goal_steps = goal_steps

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        seed = int(seed or 0)
        cfg = SmoothNoiseConfig(num_trajectories=1, length=self.goal_steps, seed=seed)
        box = -np.ones(self.world.action_dim), np.ones(self.world.action_dim)
        for attempt in range(20):  # a goal the start does not already satisfy
            actions = smooth_noise_actions(np.random.default_rng([seed, 5, attempt]), *box, cfg)[0]
            obs, info = self.env.reset(seed=seed)
            start_state = info.get("state")
            if start_state is None:
                raise ConfigError(f"{self.world.name}: the env reports no true state, so no success rule applies; "
                                  "name one with state_key= (a key of info) or state_fn=")
            for action in actions:
                obs, _, terminated, truncated, info = self.env.step(action)
                if terminated or truncated:
                    break
            if not self.world.success(start_state, info["state"]):
                break
        self._goal_state, self._goal_obs = info["state"], obs
        obs, info = self.env.reset(seed=seed)
        if start_state is not None and not np.allclose(info["state"], start_state, atol=1e-5):
            raise ConfigError(f"{self.world.name}: two resets with seed {seed} gave different states; the world "
                              "protocol needs a deterministic env (use the dataset protocol instead)")
        self._steps = 0
        return obs, self._info(info)


class GymWorld(World):
    """The generic adapter as a world. `env_id` any registered Gymnasium id; the rest as above."""

    def __init__(self, env_id: str, image_size: int = 64, state_key: str | None = None,
                 state_fn: Callable | None = None, success_fn: Callable | None = None, success_radius: float = 0.1,
                 goal_steps: int = 25, episode_steps: int = 50, env_kwargs: dict | None = None, name: str | None = None,
                 train_overrides: tuple[str, ...] = (), frame_stack: int = 1, planner_overrides: dict | None = None):
        if env_id not in gym.registry:
            raise ConfigError(f"{env_id!r} is not a registered Gymnasium id")
        self.env_id, self.image_size = env_id, image_size
        self.state_key, self.state_fn, self.success_fn, self.success_radius = state_key, state_fn, success_fn, success_radius
        self.goal_steps, self.episode_steps = goal_steps, episode_steps
        self.env_kwargs = dict(env_kwargs or {})
        self.name, self.gym_id = name or env_id, env_id
        self.train_overrides = tuple(train_overrides)
        self.frame_stack, self.planner_overrides = frame_stack, dict(planner_overrides or {})
        probe = self.replay_env()
        self.obs_shape = probe.observation_space.shape
        self.action_dim = int(probe.action_space.shape[0])
        self.max_action_norm = float(np.sqrt(self.action_dim))
        probe.close()

    @property
    def action_low(self):
        return -np.ones(self.action_dim, np.float32)

    @property
    def action_high(self):
        return np.ones(self.action_dim, np.float32)

    def replay_env(self, **kwargs) -> PixelEnv:
        kw = {**self.env_kwargs, **kwargs}
        try:
            env = gym.make(self.env_id, **kw)
            if not _is_image_space(env.observation_space):  # frames come from rendering instead
                env.close()
                env = gym.make(self.env_id, render_mode="rgb_array", **kw)
        except gym.error.Error as err:  # e.g. a missing physics engine or renderer: say so in one line
            raise ConfigError(f"{self.env_id}: {err}") from None
        return PixelEnv(env, self.image_size, self.state_key, self.state_fn, self.frame_stack)

    def make_env(self, budget: int | None = None, goal_steps: int | None = None) -> GymTasks:
        return GymTasks(self, goal_steps or self.goal_steps, budget or self.episode_steps)

    def success(self, state, goal_state):
        if self.success_fn is not None:
            return self.success_fn(np.asarray(state), np.asarray(goal_state))
        return np.linalg.norm(np.asarray(state) - np.asarray(goal_state), axis=-1) <= self.success_radius

    def planner(self):
        from ..actor import PlannerConfig

        # Actions live in [-1, 1]^A: the box bound, a start spread to match, no pixel-unit costs.
        settings = dict(name="cem+grad", horizon=8, action_repeat=2, final_share=0.9, explore_fraction=0.25,
                        init_std=0.6, max_action=1.0, max_action_norm=self.max_action_norm, lr=0.1)
        return PlannerConfig(**{**settings, **self.planner_overrides})

    def collect(self, num_trajectories, length, seed=0, overrides=None, progress=True) -> TrajectoryDataset:
        """Smoothed random actions, one env reset per trajectory with a recorded seed; an episode
        that ends early is stored with its own length."""
        cfg = apply_overrides(SmoothNoiseConfig(num_trajectories=num_trajectories, length=length, seed=seed), overrides or [])
        rng = np.random.default_rng(task_seed("collect", cfg.seed, 0))  # the collect range: never an evaluation task
        actions = smooth_noise_actions(rng, self.action_low, self.action_high, cfg)
        seeds = np.array([task_seed("collect", cfg.seed, 1 + i) for i in range(cfg.num_trajectories)], np.int64)
        env = self.replay_env()
        n, t = cfg.num_trajectories, cfg.length
        obs = np.zeros((n, t + 1) + tuple(self.obs_shape), np.uint8)
        states, lengths = None, np.full(n, t, np.int64)
        for i in tqdm(range(n), desc="collect", unit="traj", disable=not progress):
            _, info = env.reset(seed=int(seeds[i]))
            obs[i, 0] = info["frame"]
            if "state" in info and states is None:
                states = np.zeros((n, t + 1, len(info["state"])), np.float32)
            if states is not None:
                states[i, 0] = info["state"]
            for step in range(t):
                _, _, terminated, truncated, info = env.step(actions[i, step])
                obs[i, step + 1] = info["frame"]
                if states is not None:
                    states[i, step + 1] = info["state"]
                if terminated or truncated:
                    lengths[i] = step + 1
                    obs[i, step + 2:] = obs[i, step + 1]  # padding: the last frame held, no actions
                    actions[i, step + 1:] = 0
                    if states is not None:
                        states[i, step + 2:] = states[i, step + 1]
                    break
        env.close()
        meta = {"world": self.name, "env": self.env_id, "collector": "smooth_noise", "seed": cfg.seed,
                "image_size": self.image_size, "collect_config": {k: v for k, v in vars(cfg).items()}}
        return TrajectoryDataset(obs, actions, states, None, meta, lengths if (lengths < t).any() else None, seeds)


def _pendulum_state(env) -> np.ndarray:
    theta, velocity = env.unwrapped.state
    return np.float32([np.cos(theta), np.sin(theta), velocity])


def _pendulum_success(state, goal_state) -> np.ndarray:
    """Within 0.25 rad (14 degrees) of the goal's angle and 1 rad/s of its angular velocity: what
    a goal image of two stacked frames shows. (The angle alone is too easy: a swinging pendulum
    passes through most angles within a task's 50 steps whatever it does.)"""
    angle = np.arctan2(state[..., 1], state[..., 0]) - np.arctan2(goal_state[..., 1], goal_state[..., 0])
    return (np.abs(np.angle(np.exp(1j * angle))) <= 0.25) & (np.abs(state[..., 2] - goal_state[..., 2]) <= 1.0)


def pendulum_world(**kwargs) -> GymWorld:
    """Gymnasium's Pendulum-v1 from pixels (pygame rendering): two stacked frames (the angle and
    its velocity), state (cos, sin, angular velocity), success within 0.25 rad of the goal's angle
    and 1 rad/s of its angular velocity.
    The predictor steps every 2 env steps; plans look 26 steps ahead (goals are 25 ahead)."""
    kwargs = {"state_fn": _pendulum_state, "success_fn": _pendulum_success, "name": "pendulum", "frame_stack": 2,
              "train_overrides": ("model.frameskip=2",), "planner_overrides": {"horizon": 13, "action_repeat": 2},
              **kwargs}
    return GymWorld("Pendulum-v1", **kwargs)
