"""Evaluation: success rate, rollout error against horizon, probes, GIFs."""
from .episodes import EpisodeRecord, RandomAgent, evaluate, run_episode
from .probes import LinearProbe, copy_errors, encoded_windows, position_probe, prediction_errors, rollout_error_by_horizon

__all__ = ["EpisodeRecord", "RandomAgent", "evaluate", "run_episode", "LinearProbe", "position_probe", "rollout_error_by_horizon",
           "encoded_windows", "prediction_errors", "copy_errors"]
