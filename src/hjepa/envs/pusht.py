"""Push-T: a round pusher moves a T-shaped block on a table, 2-D rigid bodies (pymunk).

The standard benchmark's geometry and physics (Chi et al., Diffusion Policy, 2023; the Push-T
of DINO-WM, PLDM and stable-worldmodel): a 512 x 512 px workspace walled at 5 and 506 px; the
T is a 120 x 30 bar with a 30 x 90 stem below it (120 px tall, mass 1), its body origin at the
middle of the bar's top edge and its centre of gravity midway between the two bars' centres;
the pusher is a kinematic disk of radius 15. Control runs at 10 Hz, physics at 100 Hz: each
action sets a target that a PD controller (kp = 100, kv = 20) drives the pusher to for 10
sub-steps. The space has damping 0, so the block keeps no velocity between sub-steps and
moves only while pushed (quasi-static), and contacts are frictionless (pymunk's default shape
friction; the original sets friction on the bodies, which pymunk ignores).

What is ours:
- the action is the target *relative to the pusher*, a in [-1, 1]^2, target = pusher +
  100 px * a (clipped to the workspace), not the absolute target: the model's action input
  then means the same wherever the pusher is (DINO-WM trains on such relative actions too);
- the image is 64 x 64 RGB drawn here (no pygame): a white table, the T (its bar slate grey,
  its stem brick red) and the blue pusher, plus a faint blue "ghost" disk where the pusher's
  velocity says it was one control step ago. A one-colour T left the angle out of the learned
  latent (probes measured it: docs/worlds.md); with two colours the angle is where one colour
  sits against the other. The pusher's velocity shapes the next step (the PD controller carries
  it), and the ghost puts it in a single frame, so the image is a function of the full state
  and a state reset reproduces a recorded frame exactly (published models get the velocity as
  proprioception instead).

State (7,): pusher x, y, block x, y, block angle (radians, in (-pi, pi]), pusher vx, vy (px/s);
image y grows downward, as in the workspace. Success is the rule DINO-WM and stable-worldmodel
use: the distance between (pusher x, y, block x, y) and the goal's is under 20 px and the
block angle is within pi / 9 (20 degrees) of the goal's. `coverage` is the original
benchmark's rule instead: the share of the goal T's area the block covers (success > 0.95).
"""
from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym
import numpy as np
from tqdm import tqdm

from ..config import Checked, ConfigError, apply_overrides
from ..data.dataset import TrajectoryDataset
from ..seeds import task_seed
from .world import GoalTasks, World

WORKSPACE = 512.0
WALL_LO, WALL_HI = 5.0, 506.0
PUSHER_RADIUS = 15.0
# The T in its body frame (x right, y down): the bar, then the stem below it; (x0, y0, x1, y1).
BAR = (-60.0, 0.0, 60.0, 30.0)
STEM = (-15.0, 30.0, 15.0, 120.0)
T_AREA = 120.0 * 30.0 + 30.0 * 90.0
CENTRE_OF_GRAVITY = (0.0, 45.0)  # midway between the bar's centre (0, 15) and the stem's (0, 75)
KP, KV = 100.0, 20.0
SIM_HZ, CONTROL_HZ = 100, 10
ACTION_PX = 100.0  # a = 1 puts the target 100 px from the pusher
TARGET_MARGIN = PUSHER_RADIUS + 7.0  # the target (and so the pusher) stays this far inside the walls
SUCCESS_POSITION_PX = 20.0
SUCCESS_ANGLE = np.pi / 9
COVERAGE_SUCCESS = 0.95
IMAGE = 64
EPISODE_STEPS = 50
GOAL_STEPS = 25
STATE_NAMES = ("pusher_x", "pusher_y", "block_x", "block_y", "block_angle", "pusher_vx", "pusher_vy")

PUSHER_RGB = np.float32([65, 105, 225]) / 255
BLOCK_RGB = np.float32([119, 136, 153]) / 255  # the bar: slate grey, as in the standard rendering
STEM_RGB = np.float32([190, 100, 60]) / 255  # the stem: brick red, so the angle shows in one colour's offset
GHOST_ALPHA = 0.35


def _pymunk():
    try:
        import pymunk
    except ImportError:
        raise ConfigError("the Push-T world needs the pymunk physics engine: pip install 'hjepa[pusht]' "
                          "(or pip install pymunk)") from None
    return pymunk


def wrap_angle(angle):
    """Angles to (-pi, pi]."""
    return np.pi - np.mod(np.pi - np.asarray(angle), 2 * np.pi)


def angle_error(a, b):
    """|a - b| on the circle, in [0, pi]."""
    return np.abs(wrap_angle(np.asarray(a) - np.asarray(b)))


def pusht_success(state, goal_state) -> np.ndarray:
    """(...) bool: the DINO-WM / stable-worldmodel rule on (..., 7) states (see the module docstring)."""
    state, goal_state = np.asarray(state), np.asarray(goal_state)
    position = np.linalg.norm(state[..., :4] - goal_state[..., :4], axis=-1)
    return (position < SUCCESS_POSITION_PX) & (angle_error(state[..., 4], goal_state[..., 4]) < SUCCESS_ANGLE)


def to_body(points: np.ndarray, pose: np.ndarray) -> np.ndarray:
    """(B, N, 2) workspace points into the body frames of (B, 3) block poses (x, y, angle)."""
    d = points - pose[:, None, :2]
    c, s = np.cos(pose[:, 2])[:, None], np.sin(pose[:, 2])[:, None]
    return np.stack([c * d[..., 0] + s * d[..., 1], -s * d[..., 0] + c * d[..., 1]], axis=-1)


def to_world(points: np.ndarray, pose: np.ndarray) -> np.ndarray:
    """(N, 2) body-frame points into the workspace at a (3,) pose, or at each of (B, 3) poses: (B, N, 2)."""
    pose = np.asarray(pose)
    x, y, a = (pose[..., i, None] for i in range(3))
    c, s = np.cos(a), np.sin(a)
    return np.stack([x + c * points[:, 0] - s * points[:, 1], y + s * points[:, 0] + c * points[:, 1]], -1)


def inside_t(local: np.ndarray) -> np.ndarray:
    """(...) bool: body-frame points (..., 2) inside the T."""
    x, y = local[..., 0], local[..., 1]
    return (((x >= BAR[0]) & (x <= BAR[2]) & (y >= BAR[1]) & (y <= BAR[3]))
            | ((x >= STEM[0]) & (x <= STEM[2]) & (y > STEM[1]) & (y <= STEM[3])))


def t_outline(pose: np.ndarray) -> np.ndarray:
    """(8, 2) the T's outline at a (3,) pose, in workspace px."""
    (x0, y0, x1, y1), (s0, _, s1, s3) = BAR, STEM
    corners = np.float32([[x0, y0], [x1, y0], [x1, y1], [s1, y1], [s1, s3], [s0, s3], [s0, y1], [x0, y1]])
    return to_world(corners, np.asarray(pose, np.float64))


_COVER_GRID = None


def coverage(state, goal_state) -> np.ndarray:
    """(...) share of the goal T's area the block covers (the original benchmark's rule), on a
    1 px grid of the goal T; (..., 7) states broadcast against each other."""
    global _COVER_GRID
    if _COVER_GRID is None:
        xs, ys = np.meshgrid(np.arange(-59.5, 60.0), np.arange(0.5, 120.0))
        grid = np.stack([xs.ravel(), ys.ravel()], -1)
        _COVER_GRID = grid[inside_t(grid)]
    state, goal_state = np.asarray(state, np.float64), np.asarray(goal_state, np.float64)
    lead = np.broadcast_shapes(state.shape[:-1], goal_state.shape[:-1])
    s = np.broadcast_to(state, lead + state.shape[-1:]).reshape(-1, state.shape[-1])
    g = np.broadcast_to(goal_state, lead + goal_state.shape[-1:]).reshape(-1, goal_state.shape[-1])
    points = to_world(_COVER_GRID, g[:, 2:5])  # (B, N, 2): the goal T's grid in the workspace
    return inside_t(to_body(points, s[:, 2:5])).mean(1).reshape(lead)


def render(states: np.ndarray, size: int = IMAGE, supersample: int = 4) -> np.ndarray:
    """(B, 3, size, size) float32 RGB in [0, 1] of (B, 7) states, drawn at supersample x the
    size and area-averaged down (anti-aliased): the pusher's ghost, the T over it, the pusher on top."""
    from PIL import Image, ImageDraw

    states = np.asarray(states, np.float64).reshape(-1, len(STATE_NAMES))
    big = size * supersample
    k = big / WORKSPACE
    r = PUSHER_RADIUS * k
    ghost_rgb = tuple(int(round(255 * (1 + GHOST_ALPHA * (c - 1)))) for c in PUSHER_RGB)
    pusher_rgb, colours = tuple(int(round(255 * c)) for c in PUSHER_RGB), [tuple(int(round(255 * c)) for c in rgb)
                                                                          for rgb in (BLOCK_RGB, STEM_RGB)]
    out = np.empty((len(states), 3, size, size), np.float32)
    for i, s in enumerate(states):
        img = Image.new("RGB", (big, big), (255, 255, 255))
        draw = ImageDraw.Draw(img)
        gx, gy = (s[0:2] - s[5:7] / CONTROL_HZ) * k - 0.5
        draw.ellipse([gx - r, gy - r, gx + r, gy + r], fill=ghost_rgb)
        for (x0, y0, x1, y1), colour in zip((BAR, STEM), colours):  # pixel centres sit at +0.5: shift so edges land where they are
            corners = to_world(np.float64([[x0, y0], [x1, y0], [x1, y1], [x0, y1]]), s[2:5]) * k - 0.5
            draw.polygon([tuple(p) for p in corners], fill=colour)
        px, py = s[0:2] * k - 0.5
        draw.ellipse([px - r, py - r, px + r, py + r], fill=pusher_rgb)
        out[i] = np.moveaxis(np.asarray(img.resize((size, size), Image.BOX), np.float32), -1, 0) / 255
    return out


class PushTSim:
    """One pymunk space: the walls, the T and the pusher. `state()` and `set_state()` read and
    write the (7,) state; `step(target)` runs one control step toward an absolute target."""

    def __init__(self):
        pymunk = _pymunk()
        self.space = space = pymunk.Space()
        space.gravity, space.damping = (0.0, 0.0), 0.0
        for a, b in (((WALL_LO, WALL_HI), (WALL_LO, WALL_LO)), ((WALL_LO, WALL_LO), (WALL_HI, WALL_LO)),
                     ((WALL_HI, WALL_LO), (WALL_HI, WALL_HI)), ((WALL_LO, WALL_HI), (WALL_HI, WALL_HI))):
            space.add(pymunk.Segment(space.static_body, a, b, 2.0))
        self.pusher = pymunk.Body(body_type=pymunk.Body.KINEMATIC)
        space.add(self.pusher, pymunk.Circle(self.pusher, PUSHER_RADIUS))
        bar = [(BAR[0], BAR[3]), (BAR[2], BAR[3]), (BAR[2], BAR[1]), (BAR[0], BAR[1])]
        stem = [(STEM[0], STEM[3]), (STEM[2], STEM[3]), (STEM[2], STEM[1]), (STEM[0], STEM[1])]
        self.block = pymunk.Body(1.0, pymunk.moment_for_poly(1.0, bar) + pymunk.moment_for_poly(1.0, stem))
        space.add(self.block, pymunk.Poly(self.block, bar), pymunk.Poly(self.block, stem))
        self.block.center_of_gravity = CENTRE_OF_GRAVITY
        self._vec = pymunk.Vec2d

    def set_state(self, state) -> None:
        s = [float(v) for v in np.asarray(state, np.float64)]
        self.pusher.position, self.pusher.velocity = (s[0], s[1]), (s[5], s[6])
        self.block.angle, self.block.position = s[4], (s[2], s[3])
        self.block.velocity, self.block.angular_velocity = (0.0, 0.0), 0.0
        self.space.reindex_shapes_for_body(self.block)
        self.space.reindex_shapes_for_body(self.pusher)

    def state(self) -> np.ndarray:
        p, v, b = self.pusher.position, self.pusher.velocity, self.block.position
        return np.float32([p.x, p.y, b.x, b.y, wrap_angle(self.block.angle), v.x, v.y])

    def step(self, target) -> None:
        lo, hi = TARGET_MARGIN, WORKSPACE - TARGET_MARGIN
        target = self._vec(float(np.clip(target[0], lo, hi)), float(np.clip(target[1], lo, hi)))
        dt = 1.0 / SIM_HZ
        for _ in range(SIM_HZ // CONTROL_HZ):
            self.pusher.velocity += (KP * (target - self.pusher.position) - KV * self.pusher.velocity) * dt
            self.space.step(dt)


def random_start(rng: np.random.Generator) -> np.ndarray:
    """The standard benchmark's start distribution (pusher in [50, 450]^2, block in [100, 400]^2,
    any angle), at rest, redrawn while the pusher overlaps the block."""
    while True:
        state = np.float32([*rng.uniform(50, 450, 2), *rng.uniform(100, 400, 2), rng.uniform(-np.pi, np.pi), 0, 0])
        local = to_body(state[None, None, :2].astype(np.float64), state[None, 2:5].astype(np.float64))[0, 0]
        if not _overlaps(local):
            return state


def _overlaps(local: np.ndarray) -> bool:
    """Whether a pusher centred at body-frame point `local` touches the T (2 px of slack)."""
    r = PUSHER_RADIUS + 2.0
    for x0, y0, x1, y1 in (BAR, STEM):
        dx, dy = max(x0 - local[0], 0.0, local[0] - x1), max(y0 - local[1], 0.0, local[1] - y1)
        if dx * dx + dy * dy < r * r:
            return True
    return False


class PushT(gym.Env):
    """Gymnasium Push-T (id `hjepa/PushT-v0`) with no goal of its own: the task envs add one.

    Observation float32 (3, 64, 64) in [0, 1]; action float32 (2,) in [-1, 1], the PD target
    relative to the pusher (100 px per unit). `reset(seed=s)` draws the standard start
    distribution; `options={"state": (7,)}` puts the world at a state. info: `state`, `pos`
    (the pusher in image px), `block_moved` (px the block's origin moved this step)."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": CONTROL_HZ}

    def __init__(self, render_mode: str | None = None):
        self.render_mode = render_mode
        self.observation_space = gym.spaces.Box(0.0, 1.0, shape=(3, IMAGE, IMAGE), dtype=np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32)
        self.sim = PushTSim()
        self._state = np.zeros(len(STATE_NAMES), np.float32)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        options = options or {}
        state = options.get("state")
        state = random_start(self.np_random) if state is None else np.asarray(state, np.float32)
        if state.shape != (len(STATE_NAMES),) or not np.isfinite(state).all():
            raise ValueError(f"a Push-T state is {len(STATE_NAMES)} finite numbers {STATE_NAMES}, got {np.asarray(state).tolist()}")
        self.sim.set_state(state)
        self._state = self.sim.state()
        return self._observe(), self._info(0.0)

    def step(self, action):
        action = np.clip(np.asarray(action, np.float32).reshape(2), -1.0, 1.0)
        before = self._state
        self.sim.step(before[:2] + ACTION_PX * action)
        self._state = self.sim.state()
        moved = float(np.linalg.norm(self._state[2:4] - before[2:4]))
        return self._observe(), 0.0, False, False, self._info(moved)

    def _observe(self) -> np.ndarray:
        return render(self._state[None])[0]

    def _info(self, moved: float) -> dict:
        return {"state": self._state.copy(), "pos": self._state[:2] * (IMAGE / WORKSPACE), "block_moved": moved}

    def render(self):
        return (np.moveaxis(self._observe(), 0, -1) * 255).astype(np.uint8)


# --- Reward-free data ---------------------------------------------------------------------------


@dataclass
class PushTCollectConfig(Checked):
    """The collection policy: the pusher heads for a waypoint, a new one every 4-12 steps; a
    `block_share` of the waypoints are points on the block (a random point of the T's area, so
    the pusher meets the block from whatever side it comes and pushes it on), the rest uniform in
    the workspace. Each step's action is `gain` x the way left (in action units), plus smoothed
    noise of scale `noise`, clipped to the box. No reward, no success signal."""
    POSITIVE = ("num_trajectories", "length", "gain", "segment")
    NONNEGATIVE = ("seed", "noise")
    FRACTION = ("block_share", "noise_smoothing")
    ORDERED = ("segment",)
    num_trajectories: int = 1000
    length: int = 64
    seed: int = 0
    block_share: float = 0.6
    segment: tuple[int, int] = (4, 12)  # steps per waypoint, uniform in this range
    gain: float = 0.5
    noise: float = 0.2
    noise_smoothing: float = 0.7


class WaypointPolicy:
    """`PushTCollectConfig`'s policy for one trajectory (it reads the state: a closed loop)."""

    def __init__(self, cfg: PushTCollectConfig, rng: np.random.Generator):
        self.cfg, self.rng = cfg, rng
        self.waypoint, self.left, self.noise = None, 0, np.zeros(2)

    def _new_waypoint(self, state):
        cfg, rng = self.cfg, self.rng
        self.left = int(rng.integers(cfg.segment[0], cfg.segment[1] + 1))
        if rng.random() < cfg.block_share:
            while True:  # a uniform point of the T's area, by rejection from its bounding box
                local = np.float64([[rng.uniform(BAR[0], BAR[2]), rng.uniform(BAR[1], STEM[3])]])
                if inside_t(local)[0]:
                    return to_world(local, state[2:5].astype(np.float64))[0]
        return rng.uniform(TARGET_MARGIN, WORKSPACE - TARGET_MARGIN, 2)

    def act(self, state: np.ndarray) -> np.ndarray:
        cfg = self.cfg
        if self.left <= 0:
            self.waypoint = self._new_waypoint(state)
        self.left -= 1
        b = cfg.noise_smoothing
        self.noise = b * self.noise + np.sqrt(1 - b * b) * self.rng.normal(size=2)
        action = cfg.gain * (self.waypoint - state[:2]) / ACTION_PX + cfg.noise * self.noise
        return np.clip(action, -1.0, 1.0).astype(np.float32)


def collect_pusht(cfg: PushTCollectConfig, progress: bool = True) -> TrajectoryDataset:
    """Trajectories of the waypoint policy from the standard start distribution."""
    n, t = cfg.num_trajectories, cfg.length
    obs = np.empty((n, t + 1, 3, IMAGE, IMAGE), np.uint8)
    actions = np.empty((n, t, 2), np.float32)
    states = np.empty((n, t + 1, len(STATE_NAMES)), np.float32)
    env = PushT()
    for i in tqdm(range(n), desc="collect", unit="traj", disable=not progress):
        rng = np.random.default_rng(task_seed("collect", cfg.seed, 1 + i))  # the collect range: never a task
        _, info = env.reset(options={"state": random_start(rng)})
        policy = WaypointPolicy(cfg, rng)
        states[i, 0] = info["state"]
        for step in range(t):
            actions[i, step] = policy.act(states[i, step])
            _, _, _, _, info = env.step(actions[i, step])
            states[i, step + 1] = info["state"]
        obs[i] = np.round(render(states[i]) * 255)
    moved = np.linalg.norm(np.diff(states[:, :, 2:4], axis=1), axis=-1) > 0.5
    turned = angle_error(states[:, 1:, 4], states[:, :-1, 4]) > np.deg2rad(0.5)
    meta = {"world": "pusht", "env": "PushT", "collector": "waypoints", "seed": cfg.seed,
            "block_moving_step_fraction": float((moved | turned).mean()),
            "block_moved_trajectory_fraction": float((moved | turned).any(axis=1).mean()),
            "block_displacement_px_mean": float(np.linalg.norm(states[:, -1, 2:4] - states[:, 0, 2:4], axis=-1).mean()),
            "block_rotation_deg_mean": float(np.rad2deg(angle_error(states[:, -1, 4], states[:, 0, 4])).mean()),
            "collect_config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(cfg).items()}}
    return TrajectoryDataset(obs, actions, states, None, meta)


# --- Tasks and the world ------------------------------------------------------------------------


class PushTTasks(GoalTasks):
    """The world's own tasks: a start from the standard distribution, and as the goal the state
    the collection policy reaches `goal_steps` steps later (so every goal is reachable)."""

    def __init__(self, world: "PushTWorld", budget: int = EPISODE_STEPS, goal_steps: int = GOAL_STEPS):
        super().__init__(world, PushT(), budget)
        self.goal_steps = goal_steps

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        rng = np.random.default_rng([seed or 0, 11])
        for _ in range(100):  # a goal the start does not already satisfy
            start = random_start(rng)
            _, info = self.env.reset(options={"state": start})
            policy = WaypointPolicy(PushTCollectConfig(), rng)
            for _ in range(self.goal_steps):
                _, _, _, _, info = self.env.step(policy.act(info["state"]))
            if not pusht_success(start, info["state"]):
                break
        self._start_state, self._goal_state, self._goal_obs = start, info["state"], render(info["state"][None])[0]
        obs, info = self.env.reset(options={"state": start})
        self._steps = 0
        return obs, self._info(info)


class PushTWorld(World):
    """Push-T for the world interface (see the module docstring)."""

    name = "pusht"
    gym_id = "hjepa/PushT-v0"
    obs_shape = (3, IMAGE, IMAGE)
    action_dim = 2
    max_action_norm = float(np.sqrt(2))
    episode_steps = EPISODE_STEPS
    supports_state_reset = True
    # A 64-number latent (pusher, block pose and the pusher's velocity); the encoder pools the
    # image 2x, not 4x: at 16 x 16 the T's bars are one pixel wide. Actions are already in [-1, 1].
    train_overrides = ("model.encoder.latent_dim=64", "model.encoder.downsample=2", "model.predictor.action_scale=1.0")
    probe_names = ("pusher_x", "pusher_y", "block_x", "block_y", "block_cos", "block_sin")

    @property
    def action_low(self):
        return -np.ones(2, np.float32)

    @property
    def action_high(self):
        return np.ones(2, np.float32)

    def make_env(self, budget: int | None = None) -> PushTTasks:
        return PushTTasks(self, budget or EPISODE_STEPS)

    def replay_env(self, **kwargs) -> PushT:
        return PushT(**kwargs)

    def success(self, state, goal_state):
        return pusht_success(state, goal_state)

    def collect(self, num_trajectories, length, seed=0, overrides=None, progress=True):
        cfg = PushTCollectConfig(num_trajectories=num_trajectories, length=length, seed=seed)
        return collect_pusht(apply_overrides(cfg, overrides or []), progress)

    def probe_targets(self, states: np.ndarray) -> np.ndarray:
        """What a probe reads from a latent: the pusher and block positions in image px, and the
        block angle as (cos, sin) (a linear read-out cannot wrap an angle)."""
        s = np.asarray(states, np.float32)
        px = s[..., :4] * (IMAGE / WORKSPACE)
        return np.concatenate([px, np.cos(s[..., 4:5]), np.sin(s[..., 4:5])], -1)

    def distance(self, state, goal_state) -> float:
        """The success rule's position term: px between (pusher, block position) and the goal's."""
        return float(np.linalg.norm(np.asarray(state)[:4] - np.asarray(goal_state)[:4]))

    def task_band(self, start_state, goal_state) -> str:
        """"push" when the goal's block pose is outside the success tolerance of the start's (the
        block must be moved), else "reach" (the pusher alone must get there)."""
        start_state, goal_state = np.asarray(start_state), np.asarray(goal_state)
        still = (np.linalg.norm(start_state[2:4] - goal_state[2:4]) < SUCCESS_POSITION_PX
                 and angle_error(start_state[4], goal_state[4]) < SUCCESS_ANGLE)
        return "reach" if still else "push"

    def episode_metrics(self, state, goal_state) -> dict[str, float]:
        """The original benchmark's coverage rule beside the success rule's two errors."""
        cover = float(coverage(state, goal_state))
        return {"coverage": cover, "coverage_success": float(cover > COVERAGE_SUCCESS),
                "block_position_error_px": float(np.linalg.norm(np.asarray(state)[2:4] - np.asarray(goal_state)[2:4])),
                "block_angle_error_deg": float(np.rad2deg(angle_error(state[4], goal_state[4])))}

    def goal_pos(self, goal_state) -> np.ndarray:
        return np.asarray(goal_state, np.float32)[:2] * (IMAGE / WORKSPACE)

    def goal_outline(self, goal_state) -> np.ndarray:
        return t_outline(np.asarray(goal_state, np.float64)[2:5]) * (IMAGE / WORKSPACE)

    def planner(self):
        from ..actor import PlannerConfig

        return PlannerConfig(name="cem+grad", horizon=8, final_share=0.9, explore_fraction=0.25, init_std=0.6,
                             max_action=1.0, max_action_norm=self.max_action_norm, lr=0.1)


__all__ = ["PushT", "PushTCollectConfig", "PushTSim", "PushTTasks", "PushTWorld", "WaypointPolicy", "collect_pusht",
           "coverage", "pusht_success", "random_start", "render", "t_outline"]
