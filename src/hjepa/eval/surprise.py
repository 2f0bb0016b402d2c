"""Surprise as violation of expectation: how much more a model is surprised by impossible clips.

Any model with `frame_errors(clips (B, T, C, H, W), context) -> (B, T)` (prediction error per
frame, NaN before a full context) can be scored: the video JEPA (latent error), the pixel
predictor (pixel error), an untrained network.

- `clip_scores`: one number per clip, the mean or max of its frame errors over time;
- `pairwise_accuracy`: share of matched pairs where the impossible clip scores higher;
- `auroc`: how well the score separates impossible from possible clips, pairs ignored;
- `violation_metrics`: both, per aggregate, and the pairwise accuracy per kind of violation.

Two more protocols, each labelled in the benchmark beside the strict one above:

- V-JEPA's (Garrido et al. 2025): sliding windows of `window` frames; the first `context` are
  observed and the rest predicted open loop (`model.rollout_errors`); a window's surprise is
  the mean L1 error of its predictions, a clip's the mean (their headline) or max over windows.
  `window_surprise`, `window_metrics`.
- Quadruplets (IntPhys, PLATO; `hjepa.data.quadruplets`): four clips from one start, right when
  the two impossible clips' scores sum above the two possible ones'. `quadruplet_accuracy`,
  `quadruplet_metrics` (on either protocol's surprise of the clips).
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
    return _metrics(possible, impossible, pairs.variant)


@torch.no_grad()
def window_surprise(model, clips: np.ndarray | torch.Tensor, context: int, window: int, stride: int = 1,
                    batch: int = 16) -> np.ndarray:
    """(N, T, C, H, W) clips -> (N, W) surprise of each window: the mean L1 error of the
    open-loop predictions of its last `window - context` frames after observing its first `context`."""
    if not 0 < context < window:
        raise ValueError(f"context must be in [1, window), got context={context}, window={window}")
    clips = torch.as_tensor(clips)
    if clips.shape[1] < window:
        raise ValueError(f"clips of {clips.shape[1]} frames are shorter than the window of {window}")
    device = next(model.parameters()).device
    starts = range(0, clips.shape[1] - window + 1, stride)
    out = []
    for i in range(0, len(clips), batch):
        part = clips[i:i + batch].to(device)
        windows = torch.stack([part[:, s:s + window] for s in starts], 1)  # (b, W, window, C, H, W)
        errors = model.rollout_errors(windows.flatten(0, 1), context).mean(-1)
        out.append(errors.reshape(len(part), len(starts)).cpu())
    return torch.cat(out).numpy() if out else np.zeros((0, len(starts)), np.float32)


def window_metrics(model, pairs, context: int, window: int, stride: int = 1) -> dict:
    """`violation_metrics` under V-JEPA's protocol: window surprise, mean or max over windows."""
    possible = window_surprise(model, pairs.possible, context, window, stride)
    impossible = window_surprise(model, pairs.impossible, context, window, stride)
    return _metrics(possible, impossible, pairs.variant)


def _metrics(possible: np.ndarray, impossible: np.ndarray, variant: np.ndarray) -> dict:
    out = {}
    for how in AGGREGATES:
        p, q = clip_scores(possible, how), clip_scores(impossible, how)
        by_variant = {str(v): pairwise_accuracy(p[variant == v], q[variant == v]) for v in np.unique(variant)}
        out[how] = {"pairwise": pairwise_accuracy(p, q), "auroc": auroc(p, q), "by_variant": by_variant}
    return out


def quadruplet_accuracy(scores: np.ndarray) -> float:
    """(N, 4) clip scores in the order possible, possible, impossible, impossible -> share of
    quadruplets whose impossible pair sums above the possible pair (a tie counts half)."""
    possible, impossible = scores[:, 0] + scores[:, 1], scores[:, 2] + scores[:, 3]
    return pairwise_accuracy(possible, impossible)


def quadruplet_metrics(quads, errors: np.ndarray) -> dict:
    """Per aggregate: the quadruplet accuracy, the pairwise accuracy of each impossible clip
    against its own start's possible clip (0 vs 2, 1 vs 3: for permanence "vanish" and
    "appear"), and the quadruplet accuracy per variant. `errors` (4N, T) are the surprise of
    `quads.flat_clips()` under any protocol: `frame_surprise` (strict) or `window_surprise`."""
    errors = errors.reshape(len(quads.clips), 4, -1)
    out = {}
    for how in AGGREGATES:
        scores = np.stack([clip_scores(errors[:, k], how) for k in range(4)], 1)
        by_variant = {str(v): quadruplet_accuracy(scores[quads.variant == v]) for v in np.unique(quads.variant)}
        out[how] = {"quadruplet": quadruplet_accuracy(scores), "by_variant": by_variant,
                    "pairs": {"first_start": pairwise_accuracy(scores[:, 0], scores[:, 2]),
                              "second_start": pairwise_accuracy(scores[:, 1], scores[:, 3])}}
    return out


def frames_above(errors: np.ndarray, threshold: float) -> list[int]:
    """Indices of the frames of one clip (T,) whose surprise exceeds `threshold`."""
    return [int(t) for t in np.flatnonzero(np.nan_to_num(errors, nan=-np.inf) > threshold)]
