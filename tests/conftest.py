import numpy as np
import pytest
import torch

from hjepa.envs.two_rooms import CollectConfig, collect_random_walks


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
    np.random.seed(0)
    torch.set_num_threads(2)


@pytest.fixture(scope="session")
def tiny_dataset_dir(tmp_path_factory):
    """A small random-walk dataset on disk (shared by the tests that train)."""
    out = tmp_path_factory.mktemp("data")
    collect_random_walks(CollectConfig(num_trajectories=40, length=16, seed=0), progress=False).save(out)
    return out
