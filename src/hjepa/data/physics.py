"""An intuitive-physics benchmark: 2-D balls under gravity, a solid wall, an occluder, 64x64 RGB.

Training clips are all physically possible. Test clips come in matched pairs that share their
start: the possible clip, and an impossible one that is identical up to a violation frame and
breaks one property from there on:

- permanence:   a ball vanishes while it is behind the occluder and never comes out, or
                (half the pairs) one that was never there appears behind it and comes out;
- continuity:   a ball teleports sideways in plain view;
- solidity:     a ball passes through the wall instead of bouncing off it;
- immutability: a ball changes colour or size in plain view.

Physics is an exact-energy integrator: ballistic motion in `substeps` steps per frame, elastic
bounces off the box, the wall and other balls (equal masses), and a bounce that moves a ball
up or down rescales its speed so kinetic + potential energy is conserved. Coordinates are
pixels, x to the right and y up from the floor; images put the floor at the bottom row.
Shapes: clips (N, T, 3, 64, 64) uint8, batch first, then time.

    clips = possible_clips(1000, seed=0)                  # training videos
    pairs = violation_pairs("solidity", 100, seed=1)      # pairs.possible, pairs.impossible, pairs.onset
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..config import Checked

PROPERTIES = ("permanence", "continuity", "solidity", "immutability")
PALETTE = np.array([[1.0, 0.25, 0.25], [0.25, 1.0, 0.25], [1.0, 1.0, 0.3], [1.0, 0.3, 1.0],
                    [0.3, 1.0, 1.0], [1.0, 1.0, 1.0], [1.0, 0.6, 0.1]], np.float32)
WALL_COLOUR = np.array([0.55, 0.55, 0.55], np.float32)
OCCLUDER_COLOUR = np.array([0.25, 0.3, 0.85], np.float32)


@dataclass
class PhysicsConfig(Checked):
    POSITIVE = ("size", "frames", "balls", "substeps", "radius", "wall_width", "wall_height")
    NONNEGATIVE = ("gravity", "speed_x", "occluder_width", "onset")  # occluder width 0: no occluder
    ORDERED = ("radius", "speed_x", "wall_height", "occluder_width", "onset")
    size: int = 64  # image side, pixels; the box is [0, size]^2
    frames: int = 32  # frames per clip
    balls: int = 2
    gravity: float = 0.2  # px / frame^2
    substeps: int = 8  # integration steps per frame
    radius: tuple[float, float] = (3.0, 5.0)
    speed_x: tuple[float, float] = (1.5, 3.0)  # initial horizontal speed, either direction
    wall_width: float = 4.0
    wall_height: tuple[float, float] = (18.0, 34.0)  # a solid wall standing on the floor
    occluder_width: tuple[float, float] = (13.0, 17.0)  # a full-height pillar the balls pass behind
    onset: tuple[int, int] = (8, 24)  # frames where a violation may start


@dataclass
class World:
    """A batch of B scenes with N balls each: the state the integrator advances."""
    pos: np.ndarray  # (B, N, 2)
    vel: np.ndarray  # (B, N, 2)
    radius: np.ndarray  # (B, N)
    colour: np.ndarray  # (B, N) index into PALETTE
    present: np.ndarray  # (B, N) bool: exists (drawn and colliding)
    solid: np.ndarray  # (B, N) bool: bounces off the wall
    wall_x: np.ndarray  # (B,) centre of the wall
    wall_h: np.ndarray  # (B,)
    occ_x: np.ndarray  # (B,) centre of the occluder
    occ_w: np.ndarray  # (B,)

    def copy(self) -> "World":
        return World(**{k: v.copy() for k, v in self.__dict__.items()})

    def take(self, idx) -> "World":
        return World(**{k: v[idx] for k, v in self.__dict__.items()})


def energy(world: World, gravity: float) -> np.ndarray:
    """(B,) kinetic + potential energy of the present balls (unit masses)."""
    per_ball = 0.5 * (world.vel ** 2).sum(-1) + gravity * world.pos[..., 1]
    return (per_ball * world.present).sum(-1)


def _rescale_speed(vel: np.ndarray, dy: np.ndarray, gravity: float) -> np.ndarray:
    """Keep 0.5 |v|^2 + g y constant after a bounce moved the ball up by dy."""
    speed2 = (vel ** 2).sum(-1)
    scale = np.sqrt(np.clip(speed2 - 2 * gravity * dy, 0.0, None) / np.maximum(speed2, 1e-12))
    return vel * scale[..., None]


def _substep(w: World, cfg: PhysicsConfig, dt: float) -> np.ndarray:
    """Advance every scene by dt in place; returns (B, N) bool: ball touched the wall."""
    g, s, r = cfg.gravity, float(cfg.size), w.radius
    w.pos += w.vel * dt  # exact ballistic flight between bounces
    w.pos[..., 1] -= 0.5 * g * dt * dt
    w.vel[..., 1] -= g * dt
    # Box: mirror the overshoot back inside and reflect the velocity.
    x, y = w.pos[..., 0], w.pos[..., 1]
    lo, hi = x < r, x > s - r
    w.pos[..., 0] = np.where(lo, 2 * r - x, np.where(hi, 2 * (s - r) - x, x))
    w.vel[..., 0] = np.where(lo, np.abs(w.vel[..., 0]), np.where(hi, -np.abs(w.vel[..., 0]), w.vel[..., 0]))
    for hit, mirror, sign in ((y < r, 2 * r - y, 1.0), (y > s - r, 2 * (s - r) - y, -1.0)):
        dy = np.where(hit, mirror - y, 0.0)
        w.pos[..., 1] += dy
        w.vel[..., 1] = np.where(hit, sign * np.abs(w.vel[..., 1]), w.vel[..., 1])
        w.vel[:] = np.where(hit[..., None], _rescale_speed(w.vel, dy, g), w.vel)
    # Wall: an axis-aligned box [wall_x +- width/2] x [0, wall_h]; the closest point gives the normal.
    half = cfg.wall_width / 2
    qx = np.clip(w.pos[..., 0], (w.wall_x - half)[:, None], (w.wall_x + half)[:, None])
    qy = np.clip(w.pos[..., 1], 0.0, w.wall_h[:, None])
    d = w.pos - np.stack([qx, qy], -1)
    dist = np.linalg.norm(d, axis=-1)
    contact = (dist < r) & w.solid & w.present
    normal = d / np.maximum(dist, 1e-9)[..., None]
    push = np.where(contact, 2 * (r - dist), 0.0)[..., None] * normal
    w.pos += push
    vn = (w.vel * normal).sum(-1, keepdims=True)
    w.vel[:] = np.where((contact[..., None]) & (vn < 0), w.vel - 2 * vn * normal, w.vel)
    w.vel[:] = np.where(contact[..., None], _rescale_speed(w.vel, push[..., 1], g), w.vel)
    # Ball pairs: separate overlaps symmetrically (equal masses: potential energy cancels), swap normal velocities.
    n = w.pos.shape[1]
    for i in range(n):
        for j in range(i + 1, n):
            d = w.pos[:, i] - w.pos[:, j]
            dist = np.linalg.norm(d, axis=-1)
            overlap = (r[:, i] + r[:, j] - dist) * (w.present[:, i] & w.present[:, j])
            hit = overlap > 0
            normal = d / np.maximum(dist, 1e-9)[:, None]
            shift = np.where(hit, overlap / 2, 0.0)[:, None] * normal
            w.pos[:, i] += shift
            w.pos[:, j] -= shift
            rel = ((w.vel[:, i] - w.vel[:, j]) * normal).sum(-1, keepdims=True)
            dv = np.where(hit[:, None] & (rel < 0), rel * normal, 0.0)
            w.vel[:, i] -= dv
            w.vel[:, j] += dv
    return contact


def simulate(world: World, frames: int, cfg: PhysicsConfig) -> tuple[list[World], np.ndarray]:
    """States at frames 0..frames-1 (frame 0 = `world`), and (B, frames, N) wall contacts
    during the step into each frame."""
    w = world.copy()
    states, contacts = [w.copy()], [np.zeros_like(w.present)]
    dt = 1.0 / cfg.substeps
    for _ in range(frames - 1):
        touched = np.zeros_like(w.present)
        for _ in range(cfg.substeps):
            touched |= _substep(w, cfg, dt)
        states.append(w.copy())
        contacts.append(touched)
    return states, np.stack(contacts, 1)


def random_worlds(rng: np.random.Generator, batch: int, cfg: PhysicsConfig) -> World:
    """Random layouts (wall and occluder apart) and balls that start apart, above the floor."""
    s, n = cfg.size, cfg.balls
    wall_x = rng.uniform(16, s - 16, batch)
    occ_w = rng.uniform(*cfg.occluder_width, batch)
    # The occluder sits on the other side of the screen, never in front of the wall.
    gap = cfg.wall_width / 2 + occ_w / 2 + 2 * cfg.radius[1]
    left_room, right_room = wall_x - gap - occ_w / 2, s - occ_w / 2 - (wall_x + gap)
    left_room, right_room = np.clip(left_room, 0, None), np.clip(right_room, 0, None)
    go_left = rng.random(batch) < left_room / np.maximum(left_room + right_room, 1e-9)
    occ_x = np.where(go_left, rng.uniform(occ_w / 2, np.maximum(wall_x - gap, occ_w / 2 + 1e-3)),
                     rng.uniform(np.minimum(wall_x + gap, s - occ_w / 2 - 1e-3), s - occ_w / 2))
    radius = rng.uniform(*cfg.radius, (batch, n))
    pos = np.stack([rng.uniform(6, s - 6, (batch, n)), rng.uniform(cfg.wall_height[1] + 8, s - 8, (batch, n))], -1)
    # Re-draw balls that overlap an earlier one (a few passes make overlaps vanishingly rare).
    for _ in range(20):
        clash = np.zeros((batch, n), bool)
        for i in range(n):
            for j in range(i):
                clash[:, i] |= np.linalg.norm(pos[:, i] - pos[:, j], axis=-1) < radius[:, i] + radius[:, j] + 1
        if not clash.any():
            break
        pos[clash] = np.stack([rng.uniform(6, s - 6, clash.sum()), rng.uniform(cfg.wall_height[1] + 8, s - 8, clash.sum())], -1)
    vx = rng.uniform(*cfg.speed_x, (batch, n)) * rng.choice([-1.0, 1.0], (batch, n))
    vel = np.stack([vx, rng.uniform(-1.0, 1.0, (batch, n))], -1)
    colour = np.stack([rng.choice(len(PALETTE), n, replace=False) for _ in range(batch)])
    return World(pos, vel, radius, colour, np.ones((batch, n), bool), np.ones((batch, n), bool),
                 wall_x, rng.uniform(*cfg.wall_height, batch), occ_x, occ_w)


def render(states: list[World], cfg: PhysicsConfig) -> np.ndarray:
    """States per frame -> (B, T, 3, S, S) uint8, the present balls drawn."""
    s = cfg.size
    centres = np.arange(s, dtype=np.float32) + 0.5
    px, py = centres[None, :], (s - centres)[:, None]  # pixel (row, col) -> (x, y)
    first = states[0]
    wall = ((np.abs(px - first.wall_x[:, None, None]) <= cfg.wall_width / 2) & (py <= first.wall_h[:, None, None]))
    occluder = np.abs(px - first.occ_x[:, None, None]) <= first.occ_w[:, None, None] / 2  # (B, 1, S)
    frames = []
    for w in states:
        img = np.zeros((len(w.pos), 3, s, s), np.float32)
        img += wall[:, None] * WALL_COLOUR[None, :, None, None]
        for i in range(w.pos.shape[1]):
            dist = np.sqrt((px - w.pos[:, i, 0, None, None]) ** 2 + (py - w.pos[:, i, 1, None, None]) ** 2)
            cover = np.clip(w.radius[:, i, None, None] + 0.5 - dist, 0.0, 1.0) * w.present[:, i, None, None]
            img = img * (1 - cover[:, None]) + PALETTE[w.colour[:, i]][:, :, None, None] * cover[:, None]
        img = np.where(occluder[:, None], OCCLUDER_COLOUR[None, :, None, None], img)
        frames.append(img)
    return np.round(np.stack(frames, 1) * 255).astype(np.uint8)


def hidden(w: World) -> np.ndarray:
    """(B, N) bool: the ball is entirely behind the occluder."""
    half = w.occ_w[:, None] / 2
    return (w.pos[..., 0] - w.radius >= w.occ_x[:, None] - half) & (w.pos[..., 0] + w.radius <= w.occ_x[:, None] + half)


def occluded(states: list[World]) -> np.ndarray:
    """(B, T) bool: in frame t some present ball is entirely behind the occluder."""
    return np.stack([(hidden(w) & w.present).any(1) for w in states], 1)


def possible_clips(n: int, seed: int, cfg: PhysicsConfig = PhysicsConfig(), chunk: int = 256) -> np.ndarray:
    """n physically possible clips (n, T, 3, S, S) uint8."""
    rng = np.random.default_rng([seed, 0])
    out = []
    for start in range(0, n, chunk):
        states, _ = simulate(random_worlds(rng, min(chunk, n - start), cfg), cfg.frames, cfg)
        out.append(render(states, cfg))
    return np.concatenate(out) if out else np.zeros((0, cfg.frames, 3, cfg.size, cfg.size), np.uint8)


def labelled_clips(n: int, seed: int, cfg: PhysicsConfig = PhysicsConfig()) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """n possible one-ball clips (n, T, 3, S, S) uint8 and what is true in each frame, for probes:
    a dict of (n, T) arrays: the ball's x, y, vx, vy, radius, colour (red, green, blue), its x
    relative to the wall, and the wall's x and height. One ball, so "the ball's position" needs no convention on which ball."""
    cfg = replace(cfg, balls=1)
    states, _ = simulate(random_worlds(np.random.default_rng([seed, 2]), n, cfg), cfg.frames, cfg)
    w = _over_time(states)
    facts = {"ball_x": w["pos"][..., 0, 0], "ball_y": w["pos"][..., 0, 1], "ball_vx": w["vel"][..., 0, 0],
             "ball_vy": w["vel"][..., 0, 1], "ball_radius": w["radius"][..., 0],
             "ball_x_from_wall": w["pos"][..., 0, 0] - w["wall_x"], "wall_x": w["wall_x"], "wall_height": w["wall_h"]}
    rgb = PALETTE[w["colour"][..., 0]]  # (n, T, 3)
    facts.update({"ball_red": rgb[..., 0], "ball_green": rgb[..., 1], "ball_blue": rgb[..., 2]})
    return render(states, cfg), facts


@dataclass
class PairSet:
    """Matched clips: identical before `onset`, the impossible one breaks `prop` from `onset` on."""
    prop: str
    possible: np.ndarray  # (n, T, 3, S, S) uint8
    impossible: np.ndarray  # (n, T, 3, S, S) uint8
    onset: np.ndarray  # (n,) frame index of the violation
    variant: np.ndarray  # (n,) what happens: vanish | appear | teleport | pass_through | recolour | resize
    occluded_possible: np.ndarray | None = None  # (n, T) bool: a ball is entirely behind the occluder
    occluded_impossible: np.ndarray | None = None


def _candidates(prop: str, states: list[World], contacts: np.ndarray, cfg: PhysicsConfig, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(B,) onset frame for ball 0 and (B,) whether this scene can host the violation."""
    lo, hi = cfg.onset
    frames = np.arange(len(states))
    window = (frames >= lo) & (frames <= hi)
    hid = np.stack([hidden(s)[:, 0] for s in states], 1)  # (B, T)
    if prop == "permanence":
        ok_t = hid & window
        onset = np.argmax(ok_t, 1)
        # it must come out again later in the possible clip, or nothing would differ
        reemerges = (~hid & (frames[None] >= onset[:, None])).any(1)
        return onset, ok_t.any(1) & reemerges
    if prop == "solidity":
        ok_t = contacts[:, :, 0] & window & ~hid
        return np.argmax(ok_t, 1), ok_t.any(1)
    # continuity, immutability: a frame where ball 0 is in plain view before and at the onset
    ok_t = ~hid & np.roll(~hid, 1, axis=1) & window
    onset = np.array([rng.choice(np.flatnonzero(row)) if row.any() else 0 for row in ok_t])
    return onset, ok_t.any(1)


def _over_time(states: list[World]) -> dict[str, np.ndarray]:
    """Each field of a list of per-frame states, stacked to (B, T, ...)."""
    return {k: np.stack([getattr(w, k) for w in states], 1) for k in states[0].__dict__}


def _at(states: list[World], frame: np.ndarray) -> World:
    """Per scene b, the state at frame[b]."""
    return World(**{k: v[np.arange(len(frame)), frame] for k, v in _over_time(states).items()})


def _splice(before: list[World], after: list[World], start: np.ndarray) -> list[World]:
    """Per scene b: frames < start[b] from `before`, then `after` from its frame 0 on."""
    b_fields, a_fields = _over_time(before), _over_time(after)
    t = np.arange(len(before))[None]
    source = np.clip(t - start[:, None], 0, len(after) - 1)  # (B, T) frame of `after` to use
    spliced = {}
    for k, v in b_fields.items():
        extra = (1,) * (v.ndim - 2)
        a = np.take_along_axis(a_fields[k], source.reshape(source.shape + extra), 1)
        spliced[k] = np.where((t >= start[:, None]).reshape(source.shape + extra), a, v)
    return [World(**{k: v[:, i] for k, v in spliced.items()}) for i in range(len(before))]


def _violate(prop: str, w: World, rng: np.random.Generator, cfg: PhysicsConfig) -> tuple[World, np.ndarray, np.ndarray]:
    """Change ball 0 in the state where the impossible clip branches off (not permanence, which
    needs two worlds: see `violation_pairs`). Returns the changed world, (B,) validity and (B,) variant names."""
    w = w.copy()
    ok = np.ones(len(w.pos), bool)
    if prop == "solidity":
        w.solid[:, 0] = False
        variant = np.full(len(ok), "pass_through")
    elif prop == "continuity":
        shift = rng.uniform(12, 20, len(ok)) * rng.choice([-1.0, 1.0], len(ok))
        r = w.radius[:, 0]
        new_x = w.pos[:, 0, 0] + shift
        shift = np.where((new_x < r) | (new_x > cfg.size - r), -shift, shift)  # stay inside the box
        w.pos[:, 0, 0] += shift
        ok &= ~hidden(w)[:, 0]  # still in plain view
        half = cfg.wall_width / 2
        low = w.pos[:, 0, 1] < w.wall_h + r
        ok &= ~((np.abs(w.pos[:, 0, 0] - w.wall_x) < half + r) & low)  # not inside the wall
        # nor across the wall from where it was (that would be a solidity violation too)
        ok &= ~((np.sign(w.pos[:, 0, 0] - w.wall_x) != np.sign(w.pos[:, 0, 0] - shift - w.wall_x)) & low)
        ok &= ~(np.linalg.norm(w.pos[:, 1:] - w.pos[:, :1], axis=-1) < (w.radius[:, 1:] + r[:, None])).any(1)
        variant = np.full(len(ok), "teleport")
    elif prop == "immutability":
        recolour = rng.random(len(ok)) < 0.5
        for b in np.flatnonzero(recolour):
            choices = [c for c in range(len(PALETTE)) if c not in w.colour[b]]
            w.colour[b, 0] = rng.choice(choices)
        scale = np.where(rng.random(len(ok)) < 0.5, 1.5, 0.6)
        w.radius[:, 0] = np.where(recolour, w.radius[:, 0], w.radius[:, 0] * scale)
        variant = np.where(recolour, "recolour", "resize")
    else:
        raise ValueError(f"unknown property {prop!r}; choose one of {PROPERTIES}")
    return w, ok, variant


def violation_pairs(prop: str, n: int, seed: int, cfg: PhysicsConfig = PhysicsConfig()) -> PairSet:
    """n matched (possible, impossible) pairs for one property, reproducible from `seed`."""
    if prop not in PROPERTIES:
        raise ValueError(f"unknown property {prop!r}; choose one of {PROPERTIES}")
    rng = np.random.default_rng([seed, 1 + PROPERTIES.index(prop)])
    possible, impossible, onsets, variants, occ_p, occ_i = [], [], [], [], [], []
    have = 0
    while have < n:
        batch = max(64, 2 * (n - have))
        states, contacts = simulate(random_worlds(rng, batch, cfg), cfg.frames, cfg)
        full_states = states
        onset, ok = _candidates(prop, states, contacts, cfg, rng)
        # The impossible clip branches off at the onset frame (solidity: one frame earlier, so
        # the step that would have bounced off the wall goes through it) and is re-simulated
        # with ball 0 altered; until then both clips share their states.
        start_at = np.where(onset > 0, onset - (prop == "solidity"), 0)
        if prop == "permanence":
            # Half the pairs: ball 0 vanishes behind the occluder. The other half: the possible
            # clip never had ball 0 and in the impossible one it appears behind the occluder,
            # where it would have been. Balancing the two keeps "fewer balls, less surprise"
            # from deciding the answer.
            appear = rng.random(batch) < 0.5
            worlds = states[0].copy()
            worlds.present[appear, 0] = False
            states, _ = simulate(worlds, cfg.frames, cfg)
            changed, full = _at(states, start_at), _at(full_states, start_at)
            for k in ("pos", "vel", "radius", "colour"):
                getattr(changed, k)[appear, 0] = getattr(full, k)[appear, 0]
            changed.present[:, 0] = appear
            apart = np.linalg.norm(changed.pos[:, 1:] - changed.pos[:, :1], axis=-1) >= changed.radius[:, 1:] + changed.radius[:, :1]
            ok &= apart.all(1) | ~appear
            variant = np.where(appear, "appear", "vanish")
        else:
            changed, valid, variant = _violate(prop, _at(states, start_at), rng, cfg)
            ok &= valid
        tail_states, _ = simulate(changed, cfg.frames, cfg)  # long enough for any onset
        keep = np.flatnonzero(ok)[: n - have]
        if len(keep) == 0:
            continue
        before = [w.take(keep) for w in states]
        spliced = _splice(before, [w.take(keep) for w in tail_states], start_at[keep])
        pos_clips, imp_clips = render(before, cfg), render(spliced, cfg)
        differs = (pos_clips != imp_clips).reshape(len(keep), -1).any(1)  # e.g. a ball that stays hidden
        possible.append(pos_clips[differs])
        impossible.append(imp_clips[differs])
        onsets.append(onset[keep][differs])
        variants.append(variant[keep][differs])
        occ_p.append(occluded(before)[differs])
        occ_i.append(occluded(spliced)[differs])
        have += int(differs.sum())
    return PairSet(prop, np.concatenate(possible), np.concatenate(impossible), np.concatenate(onsets), np.concatenate(variants),
                   np.concatenate(occ_p), np.concatenate(occ_i))
