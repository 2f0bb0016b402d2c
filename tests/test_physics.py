"""The intuitive-physics generator: real physics in possible clips, violations only from the onset."""
import numpy as np
import pytest

from hjepa.data.physics import (PROPERTIES, PhysicsConfig, energy, hidden, possible_clips, random_worlds, simulate,
                                violation_pairs)

CFG = PhysicsConfig()


def test_possible_clips_conserve_energy_and_never_interpenetrate():
    rng = np.random.default_rng(0)
    states, _ = simulate(random_worlds(rng, 64, CFG), 48, CFG)
    e0 = energy(states[0], CFG.gravity)
    half = CFG.wall_width / 2
    for w in states:
        # elastic bounces, exact-energy reflections: total energy within 0.5% over 48 frames
        np.testing.assert_allclose(energy(w, CFG.gravity), e0, rtol=5e-3)
        r = w.radius
        assert (w.pos >= r[..., None] - 0.5).all() and (w.pos <= CFG.size - r[..., None] + 0.5).all()  # inside the box
        gap = np.linalg.norm(w.pos[:, 0] - w.pos[:, 1], axis=-1) - r[:, 0] - r[:, 1]
        assert gap.min() > -0.5  # balls do not pass through each other
        qx = np.clip(w.pos[..., 0], (w.wall_x - half)[:, None], (w.wall_x + half)[:, None])
        qy = np.clip(w.pos[..., 1], 0.0, w.wall_h[:, None])
        to_wall = np.hypot(w.pos[..., 0] - qx, w.pos[..., 1] - qy) - r
        assert to_wall.min() > -0.5  # nor through the wall
    # and things do move and bounce: the test above is not about balls at rest
    assert np.abs(states[-1].pos - states[0].pos).max() > 20


def test_gravity_accelerates_a_falling_ball():
    rng = np.random.default_rng(1)
    w = random_worlds(rng, 1, PhysicsConfig(balls=1))
    w.pos[:] = [[[32.0, 50.0]]]
    w.vel[:] = 0.0
    w.wall_x[:] = 10.0  # out of the way
    states, _ = simulate(w, 6, PhysicsConfig(balls=1))
    drop = 50.0 - np.array([s.pos[0, 0, 1] for s in states])
    np.testing.assert_allclose(drop, 0.5 * CFG.gravity * np.arange(6) ** 2, atol=0.05)


@pytest.mark.parametrize("prop", PROPERTIES)
def test_pairs_differ_only_from_the_onset(prop):
    pairs = violation_pairs(prop, 12, seed=3)
    assert pairs.possible.shape == pairs.impossible.shape == (12, CFG.frames, 3, CFG.size, CFG.size)
    assert pairs.possible.dtype == np.uint8
    for possible, impossible, onset in zip(pairs.possible, pairs.impossible, pairs.onset):
        assert CFG.onset[0] - 1 <= onset <= CFG.onset[1]
        assert np.array_equal(possible[:onset], impossible[:onset])  # a shared beginning
        assert not np.array_equal(possible[onset:], impossible[onset:])  # and a real violation


def test_generator_is_seeded():
    assert np.array_equal(possible_clips(3, seed=5), possible_clips(3, seed=5))
    assert not np.array_equal(possible_clips(3, seed=5), possible_clips(3, seed=6))
    a, b = violation_pairs("continuity", 4, seed=2), violation_pairs("continuity", 4, seed=2)
    assert np.array_equal(a.impossible, b.impossible) and np.array_equal(a.onset, b.onset)


def test_permanence_balances_vanishing_and_appearing():
    pairs = violation_pairs("permanence", 20, seed=0)
    assert set(pairs.variant) == {"vanish", "appear"}


def test_occluder_hides_and_unknown_property():
    rng = np.random.default_rng(2)
    w = random_worlds(rng, 1, CFG)
    w.pos[0, 0] = [w.occ_x[0], 30.0]
    w.radius[0, 0] = 3.0
    assert hidden(w)[0, 0]
    with pytest.raises(ValueError, match="unknown property"):
        violation_pairs("gravity", 2, seed=0)
