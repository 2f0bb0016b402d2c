"""Surprise as violation of expectation: how much more a model is surprised by impossible clips.

Any model with `frame_errors(clips (B, T, C, H, W), context) -> (B, T)` (prediction error per
frame, NaN before a full context) can be scored: the video JEPA (latent error), the pixel
predictor (pixel error), an untrained network.

- `clip_scores`: one number per clip, the mean or max of its frame errors over time;
- `pairwise_accuracy`: share of matched pairs where the impossible clip scores higher;
- `auroc`: how well the score separates impossible from possible clips, pairs ignored;
- `violation_metrics`: both, per aggregate, and the pairwise accuracy per kind of violation.
"""
from __future__ import annotations

import numpy as np
import torch

AGGREGATES = ("max", "mean")


@torch.no_grad()
def frame_surprise(model, clips: np.ndarray | torch.Tensor, context: int, batch: int = 16) -> np.ndarray:
    """(N, T, C, H, W) clips -> (N, T) per-frame surprise (NaN before a full context)."""
    device = next(model.parameters()).device
    clips = torch.as_tensor(clips)
    out = [model.frame_errors(clips[i:i + batch].to(device), context).cpu() for i in range(0, len(clips), batch)]
    return torch.cat(out).numpy() if out else np.zeros((0, clips.shape[1]), np.float32)


def clip_scores(errors: np.ndarray, how: str) -> np.ndarray:
    """(N, T) frame errors -> (N,) the max or mean over the frames that have a score."""
    if how not in AGGREGATES:
        raise ValueError(f"unknown aggregate {how!r}; choose one of {AGGREGATES}")
    return np.nanmax(errors, axis=1) if how == "max" else np.nanmean(errors, axis=1)


def pairwise_accuracy(possible: np.ndarray, impossible: np.ndarray) -> float:
    """Share of pairs where the impossible clip is more surprising (a tie counts half)."""
    return float(np.mean((impossible > possible) + 0.5 * (impossible == possible)))


def auroc(negatives: np.ndarray, positives: np.ndarray) -> float:
    """Probability that a random positive scores above a random negative (Mann-Whitney U)."""
    scores = np.concatenate([negatives, positives])
    order = scores.argsort(kind="mergesort")
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    for value in np.unique(scores):  # average ranks over ties
        tied = scores == value
        ranks[tied] = ranks[tied].mean()
    n_neg, n_pos = len(negatives), len(positives)
    return float((ranks[n_neg:].sum() - n_pos * (n_pos + 1) / 2) / (n_neg * n_pos))


def violation_metrics(model, pairs, context: int) -> dict:
    """Pairwise accuracy and AUROC of one model on one PairSet, for each aggregate, and the
    pairwise accuracy of each kind of violation on its own (e.g. permanence: vanish, appear)."""
    possible = frame_surprise(model, pairs.possible, context)
    impossible = frame_surprise(model, pairs.impossible, context)
    out = {}
    for how in AGGREGATES:
        p, q = clip_scores(possible, how), clip_scores(impossible, how)
        by_variant = {str(v): pairwise_accuracy(p[pairs.variant == v], q[pairs.variant == v])
                      for v in np.unique(pairs.variant)}
        out[how] = {"pairwise": pairwise_accuracy(p, q), "auroc": auroc(p, q), "by_variant": by_variant}
    return out


def frames_above(errors: np.ndarray, threshold: float) -> list[int]:
    """Indices of the frames of one clip (T,) whose surprise exceeds `threshold`."""
    return [int(t) for t in np.flatnonzero(np.nan_to_num(errors, nan=-np.inf) > threshold)]
