"""Training: the JEPA training loop, checkpoints and run configs."""
from .trainer import CollapseWarning, RunConfig, TrainConfig, train

__all__ = ["CollapseWarning", "RunConfig", "TrainConfig", "train"]
