"""Small shared helpers: device choice and seeding."""
from __future__ import annotations

import random

import numpy as np
import torch


def pick_device(name: str = "auto", local_rank: int = 0) -> torch.device:
    """'auto' -> this rank's CUDA device when there is one, else the CPU."""
    if name == "auto":
        return torch.device(f"cuda:{local_rank}") if torch.cuda.is_available() else torch.device("cpu")
    return torch.device(name)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
