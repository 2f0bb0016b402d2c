"""The Push-T oracle's "world model" is the simulator: its rollouts are what the env does (benchmarks/pusht_oracle.py)."""
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip("pymunk")
sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
from pusht_oracle import FeatureCost, SimulatorModel, state_features  # noqa: E402

from hjepa.envs.pusht import PushT, random_start  # noqa: E402


def test_the_simulator_model_predicts_what_the_env_does():
    rng = np.random.default_rng(3)
    start = random_start(rng)
    actions = rng.uniform(-1, 1, (2, 8, 2)).astype(np.float32)
    model = SimulatorModel(frameskip=4, pixels=False)
    imagined = model.rollout(model.latent(start).expand(2, -1), torch.from_numpy(actions))
    assert imagined.shape == (2, 2, 6 + 7)
    env = PushT()
    for i in range(2):
        env.reset(options={"state": start})
        for k in range(8):
            _, _, _, _, info = env.step(actions[i, k])
            if k % 4 == 3:
                np.testing.assert_allclose(imagined[i, k // 4, -7:], info["state"], atol=1e-3)
    assert not torch.allclose(imagined[0], imagined[1])  # two action sequences, two futures


def test_the_state_cost_weighs_20_degrees_like_20_px_and_ignores_the_state_it_carries():
    model = SimulatorModel(frameskip=4, pixels=False)
    goal = model.latent(np.float32([100, 100, 250, 250, 0.0, 0, 0]))[0]
    moved = model.latent(np.float32([[100, 100, 270, 250, 0.0, 50, 50], [100, 100, 250, 250, np.deg2rad(20), 0, 0]]))
    cost = FeatureCost(torch.ones(1))(moved[:, None], goal)
    np.testing.assert_allclose(cost, [20.0, 20.0], rtol=0.02)  # velocity (carried, not a feature) costs nothing
    assert state_features(torch.zeros(7)).shape == (6,)
    pixels = SimulatorModel(frameskip=4, pixels=True).latent(np.float32([100, 100, 250, 250, 0.0, 0, 0]))
    assert pixels.shape == (1, 3 * 16 * 16 + 7)
