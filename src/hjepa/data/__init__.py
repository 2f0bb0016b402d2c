"""Data: reward-free collection, the on-disk trajectory format, and window sampling."""
from .collect import CollectConfig, collect_random_walks
from .dataset import DatasetError, TrajectoryDataset, WindowSampler

__all__ = ["CollectConfig", "collect_random_walks", "DatasetError", "TrajectoryDataset", "WindowSampler"]
