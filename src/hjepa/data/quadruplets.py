"""Quadruplets: four clips from one start, so that the possible and the impossible share their frames.

IntPhys and PLATO score permanence on four clips built from the same frames, so that an event
in the possible sum (a ball coming out from behind the screen) is also in the impossible sum
and cancels; only the violation itself is left to tell them apart. The four clips, in order:

- permanence:
    0 possible:   ball 0 present throughout;
    1 possible:   ball 0 absent throughout;
    2 impossible: present, then gone from the onset on ("vanish");
    3 impossible: absent, then there from the onset on ("appear").
  The onset is a frame in which ball 0 is entirely behind the occluder; ball 0 is entirely in
  view at some frame before it and again after it in clip 0, and it never touches ball 1, so ball 1 moves the same in
  all four clips. Every frame of a quadruplet is then one of two renders of the same physics:
  the four clips share their frames exactly (clip 2 = clip 0 before the onset, clip 1 after it).
- immutability, recolour: ball 0 in colour a throughout, in colour b throughout, a then b from
  the onset, b then a (the change in plain view). Colour does not enter the physics: the frames
  are shared exactly, as for permanence.
- immutability, resize: radius a throughout, radius b throughout (its own physics: size changes
  the bounces), a then b from the onset (continuing clip 0's state), b then a (continuing clip 1's).
  Shared exactly: clip 2 = clip 0 and clip 3 = clip 1 before the onset.

Scoring (`hjepa.eval.surprise.quadruplet_accuracy`): a quadruplet is right when the two
impossible clips' scores sum above the two possible ones'.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .physics import PALETTE, PhysicsConfig, World, _at, _candidates, _splice, hidden, occluded, random_worlds, render, simulate

POSSIBLE = (0, 1)
IMPOSSIBLE = (2, 3)
QUADRUPLET_PROPERTIES = ("permanence", "immutability")


@dataclass
class QuadrupletSet:
    prop: str
    clips: np.ndarray  # (n, 4, T, 3, S, S) uint8: possible, possible, impossible, impossible (module docstring)
    onset: np.ndarray  # (n,) frame where the impossible clips switch
    variant: np.ndarray  # (n,) permanence | recolour | resize
    occluded: np.ndarray  # (n, 4, T) bool: a ball is entirely behind the occluder

    def __len__(self) -> int:
        return len(self.onset)

    def flat_clips(self) -> np.ndarray:
        """(4n, T, 3, S, S): the clips one after another, quadruplet by quadruplet, to score."""
        return self.clips.reshape(-1, *self.clips.shape[2:])


def in_view(w: World) -> np.ndarray:
    """(B, N) bool: no part of the ball is behind the occluder."""
    half = w.occ_w[:, None] / 2
    return np.abs(w.pos[..., 0] - w.occ_x[:, None]) >= half + w.radius


def _switch(first: np.ndarray, second: np.ndarray, onset: np.ndarray) -> np.ndarray:
    """Per scene: frames of `first` before the onset, of `second` from it on (clips (B, T, ...))."""
    t = np.arange(first.shape[1]).reshape(1, -1, *(1,) * (first.ndim - 2))
    return np.where(t < onset.reshape(-1, *(1,) * (first.ndim - 1)), first, second)


def _with(states: list[World], field: str, value: np.ndarray) -> list[World]:
    """Copies of per-frame states with ball 0's `field` set to value (B,) in every frame."""
    out = []
    for w in states:
        w = w.copy()
        getattr(w, field)[:, 0] = value
        out.append(w)
    return out


def _permanence(rng, batch: int, cfg: PhysicsConfig):
    worlds = random_worlds(rng, batch, cfg)
    present, _ = simulate(worlds, cfg.frames, cfg)
    absent_world = worlds.copy()
    absent_world.present[:, 0] = False
    absent, _ = simulate(absent_world, cfg.frames, cfg)
    # ball 1 moves the same with and without ball 0 (they never touch)
    same = np.stack([np.isclose(p.pos[:, 1:], a.pos[:, 1:]).all((1, 2)) for p, a in zip(present, absent)]).all(0)
    hid = np.stack([hidden(w)[:, 0] for w in present], 1)
    clear = np.stack([in_view(w)[:, 0] for w in present], 1)  # entirely clear of the occluder
    frames = np.arange(cfg.frames)[None]
    ok_t = hid & (frames >= cfg.onset[0]) & (frames <= cfg.onset[1])
    onset = np.argmax(ok_t, 1)
    seen_before = (clear & (frames < onset[:, None])).any(1)
    comes_out = (clear & (frames > onset[:, None])).any(1)
    keep = np.flatnonzero(ok_t.any(1) & same & seen_before & comes_out)
    p_states, a_states = [w.take(keep) for w in present], [w.take(keep) for w in absent]
    p, a, onset = render(p_states, cfg), render(a_states, cfg), onset[keep]
    occ_p, occ_a = occluded(p_states), occluded(a_states)
    clips = np.stack([p, a, _switch(p, a, onset), _switch(a, p, onset)], 1)
    occ = np.stack([occ_p, occ_a, _switch(occ_p, occ_a, onset), _switch(occ_a, occ_p, onset)], 1)
    return clips, onset, np.full(len(keep), "permanence"), occ


def _recolour(rng, batch: int, cfg: PhysicsConfig):
    worlds = random_worlds(rng, batch, cfg)
    states, contacts = simulate(worlds, cfg.frames, cfg)
    onset, ok = _candidates("immutability", states, contacts, cfg, rng)
    other = np.array([rng.choice([c for c in range(len(PALETTE)) if c not in worlds.colour[b]]) for b in range(batch)])
    keep = np.flatnonzero(ok)
    a_states = [w.take(keep) for w in states]
    b_states = _with(a_states, "colour", other[keep])
    a, b, onset = render(a_states, cfg), render(b_states, cfg), onset[keep]
    occ = occluded(a_states)
    clips = np.stack([a, b, _switch(a, b, onset), _switch(b, a, onset)], 1)
    return clips, onset, np.full(len(keep), "recolour"), np.stack([occ] * 4, 1)


def _resize(rng, batch: int, cfg: PhysicsConfig):
    worlds = random_worlds(rng, batch, cfg)
    scale = np.where(rng.random(batch) < 0.5, 1.5, 0.6)
    other = worlds.copy()
    other.radius[:, 0] *= scale
    a_states, contacts = simulate(worlds, cfg.frames, cfg)
    b_states, _ = simulate(other, cfg.frames, cfg)
    onset, ok = _candidates("immutability", a_states, contacts, cfg, rng)
    b_hid = np.stack([hidden(w)[:, 0] for w in b_states], 1)
    rows = np.arange(batch)
    ok &= ~b_hid[rows, onset] & ~b_hid[rows, np.maximum(onset - 1, 0)]  # in plain view in the other clip too
    keep = np.flatnonzero(ok)
    a_states, b_states, onset, scale = [w.take(keep) for w in a_states], [w.take(keep) for w in b_states], onset[keep], scale[keep]
    a_to_b, b_to_a = _at(a_states, onset), _at(b_states, onset)
    a_to_b.radius[:, 0] *= scale
    b_to_a.radius[:, 0] /= scale
    ab = _splice(a_states, simulate(a_to_b, cfg.frames, cfg)[0], onset)
    ba = _splice(b_states, simulate(b_to_a, cfg.frames, cfg)[0], onset)
    runs = (a_states, b_states, ab, ba)
    clips = np.stack([render(s, cfg) for s in runs], 1)
    occ = np.stack([occluded(s) for s in runs], 1)
    return clips, onset, np.full(len(keep), "resize"), occ


def violation_quadruplets(prop: str, n: int, seed: int, cfg: PhysicsConfig = PhysicsConfig()) -> QuadrupletSet:
    """n quadruplets for permanence or immutability (half recolour, half resize), reproducible from `seed`."""
    if prop not in QUADRUPLET_PROPERTIES:
        raise ValueError(f"quadruplets exist for {QUADRUPLET_PROPERTIES}, not {prop!r}")
    rng = np.random.default_rng([seed, 11 + QUADRUPLET_PROPERTIES.index(prop)])
    # (maker, how many, scenes drawn per one wanted: about 1 in 6 can host a permanence quadruplet)
    makers = [(_permanence, n, 8)] if prop == "permanence" else [(_recolour, n - n // 2, 1.2), (_resize, n // 2, 1.3)]
    parts = []
    for make, want, oversample in makers:
        have = 0
        while have < want:
            clips, onset, variant, occ = make(rng, max(16, int(oversample * (want - have))), cfg)
            take = slice(0, want - have)
            parts.append((clips[take], onset[take], variant[take], occ[take]))
            have += len(onset[take])
    clips, onset, variant, occ = (np.concatenate(x) for x in zip(*parts))
    return QuadrupletSet(prop, clips, onset, variant, occ)

