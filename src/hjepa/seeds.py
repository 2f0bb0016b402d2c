"""Where every seed comes from: one range per purpose, disjoint by construction.

An evaluation task is `env.reset(seed=k)`, a collected trajectory or exploration episode is
drawn from a generator seeded with an integer, and each purpose takes its integers from its
own range. So no evaluation task is a task the agent collected, explored or was refit on, and
no number reported on the test range was tuned on it:

    purpose   integers                     drawn by
    dev       [0, 1e9)                     tuning: sweeps, scratch runs, `hjepa eval --split dev`
    test      [1e9, 2e9)                   reported numbers: `hjepa eval` and every benchmark by default
    explore   [2e9, 3e9)                   `hjepa explore`: the agent's own reward-free episodes
    collect   [3e9, 4e9)                   `hjepa collect`: reward-free random walks and noise

A user-facing seed s (`--seed s`, 0 <= s <= MAX_SEED) names the block of STRIDE integers
base + s * STRIDE + i; task (or trajectory) i of it is that integer. Dev seed s is s * 100003 + i,
the mapping every evaluation used before the ranges existed, so numbers measured then are dev
numbers. All integers stay below 2**32, which every Gymnasium env accepts.
"""
from __future__ import annotations

SPAN = 1_000_000_000
STRIDE = 100_003  # tasks (or trajectories) per user-facing seed
MAX_SEED = SPAN // STRIDE - 1  # the largest seed whose whole block stays inside its range
PURPOSES = ("dev", "test", "explore", "collect")
SPLITS = ("dev", "test")  # the evaluation purposes


def check_seed(seed: int, purpose: str = "test") -> None:
    """Raise ConfigError unless `seed` names a block of `purpose`'s range."""
    from .config import ConfigError

    if purpose not in PURPOSES:
        raise ConfigError(f"unknown seed purpose {purpose!r}: choose one of {list(PURPOSES)}")
    if not 0 <= int(seed) <= MAX_SEED:
        raise ConfigError(f"seed must be in [0, {MAX_SEED}] (a block of {STRIDE:,} {purpose} seeds), got {seed}")


def task_seed(purpose: str, seed: int, index: int) -> int:
    """The integer of item `index` (a task, a trajectory, a chunk) of block `seed` of `purpose`."""
    from .config import ConfigError

    check_seed(seed, purpose)
    if not 0 <= index < STRIDE:
        raise ConfigError(f"at most {STRIDE:,} items per seed, got item {index} (use another seed for more)")
    return PURPOSES.index(purpose) * SPAN + int(seed) * STRIDE + int(index)


def purpose_of(integer: int) -> str:
    """Which purpose's range an integer seed lies in (the inverse of `task_seed`)."""
    block = int(integer) // SPAN
    if not 0 <= block < len(PURPOSES):
        raise ValueError(f"seed {integer} lies outside every range [0, {len(PURPOSES) * SPAN})")
    return PURPOSES[block]
