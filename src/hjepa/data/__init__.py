"""Data: reward-free exploration policies, the on-disk trajectory format, window sampling, import/export."""
from .collect import RandomWalkConfig, SmoothNoiseConfig, random_walk_actions, smooth_noise_actions
from .dataset import DatasetError, DiskFrames, TrajectoryDataset, WindowSampler

__all__ = ["RandomWalkConfig", "SmoothNoiseConfig", "random_walk_actions", "smooth_noise_actions", "DatasetError",
           "DiskFrames", "TrajectoryDataset", "WindowSampler"]
