"""On-disk trajectory datasets and the in-memory window sampler used for training.

Format (a directory, version 1):

    meta.json          {"format": "hjepa-trajectories", "version": 1, "num_trajectories": N,
                        "length": T, "obs_shape": [C, H, W], "files": {name: {shape, dtype, sha256}}, ...}
    observations.npy   uint8   (N, T+1, C, H, W)   pixels x 255
    actions.npy        float32 (N, T, 2)           actions[t] moves observations[t] -> observations[t+1]
    states.npy         float32 (N, T+1, 2)         true (x, y), for evaluation and probes only
    layouts.npy        float32 (N, 2)              (wall_x, door_y), for evaluation; in training only
                                                   as scene identity (equal rows: the same scene)

Shapes are batch first, then time, then features. Every file is checked on load against
meta.json (shape, dtype, sha256), so a truncated, corrupt or mismatched file gets a
`DatasetError` naming the file, never a traceback from deep inside numpy.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

FORMAT = "hjepa-trajectories"
VERSION = 1
ARRAYS = {
    "observations": np.uint8,
    "actions": np.float32,
    "states": np.float32,
    "layouts": np.float32,
}


class DatasetError(ValueError):
    """A dataset directory that is missing, truncated, corrupt or inconsistent."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _save_atomic(path: Path, array: np.ndarray) -> None:
    tmp = path.with_suffix(".tmp.npy")
    np.save(tmp, array)
    os.replace(tmp, path)


@dataclass
class TrajectoryDataset:
    """Trajectories held in memory: observations stay uint8 until a batch is drawn."""

    observations: np.ndarray  # uint8 (N, T+1, C, H, W)
    actions: np.ndarray  # float32 (N, T, 2)
    states: np.ndarray  # float32 (N, T+1, 2)
    layouts: np.ndarray  # float32 (N, 2)
    meta: dict

    def __post_init__(self):
        n, t1 = self.observations.shape[:2]
        expected = {"actions": (n, t1 - 1, 2), "states": (n, t1, 2), "layouts": (n, 2)}
        for name, shape in expected.items():
            if getattr(self, name).shape != shape:
                raise DatasetError(f"{name} has shape {getattr(self, name).shape}, expected {shape}")
        if self.observations.dtype != np.uint8:
            raise DatasetError(f"observations must be uint8, got {self.observations.dtype}")

    @property
    def num_trajectories(self) -> int:
        return self.observations.shape[0]

    @property
    def length(self) -> int:
        """Actions per trajectory (observations have one more)."""
        return self.actions.shape[1]

    def save(self, directory: str | Path) -> Path:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        files = {}
        for name in ARRAYS:
            array = np.ascontiguousarray(getattr(self, name))
            path = directory / f"{name}.npy"
            _save_atomic(path, array)
            files[name] = {"shape": list(array.shape), "dtype": str(array.dtype), "sha256": _sha256(path)}
        meta = dict(self.meta, format=FORMAT, version=VERSION, num_trajectories=self.num_trajectories,
                    length=self.length, obs_shape=list(self.observations.shape[2:]), files=files)
        tmp = directory / "meta.json.tmp"
        tmp.write_text(json.dumps(meta, indent=2))
        os.replace(tmp, directory / "meta.json")  # meta last: a dataset is complete once it exists
        return directory

    @classmethod
    def load(cls, directory: str | Path, verify_checksums: bool = True) -> "TrajectoryDataset":
        directory = Path(directory)
        meta_path = directory / "meta.json"
        if not directory.is_dir():
            raise DatasetError(f"dataset directory {directory} does not exist")
        if not meta_path.is_file():
            raise DatasetError(f"{directory} is not a dataset: meta.json is missing (was collection interrupted?)")
        try:
            meta = json.loads(meta_path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise DatasetError(f"{meta_path} is not valid JSON: {err}") from None
        if meta.get("format") != FORMAT or meta.get("version") != VERSION:
            raise DatasetError(f"{meta_path}: expected format {FORMAT} v{VERSION}, got {meta.get('format')} v{meta.get('version')}")
        arrays = {}
        for name, dtype in ARRAYS.items():
            spec = meta.get("files", {}).get(name)
            path = directory / f"{name}.npy"
            if spec is None or not path.is_file():
                raise DatasetError(f"{path} is missing")
            if verify_checksums and _sha256(path) != spec["sha256"]:
                raise DatasetError(f"{path} is corrupt or was modified: its checksum does not match meta.json")
            try:
                array = np.load(path, allow_pickle=False)
            except (ValueError, OSError, EOFError) as err:
                raise DatasetError(f"{path} cannot be read (truncated or not a .npy file): {err}") from None
            if list(array.shape) != spec["shape"] or array.dtype != np.dtype(dtype):
                raise DatasetError(f"{path} has shape {list(array.shape)} and dtype {array.dtype}, "
                                   f"meta.json says {spec['shape']} and {spec['dtype']}")
            arrays[name] = array
        return cls(meta=meta, **arrays)

    def split(self, holdout_fraction: float, seed: int = 0) -> tuple["TrajectoryDataset", "TrajectoryDataset"]:
        """(train, holdout) split by whole trajectories."""
        order = np.random.default_rng(seed).permutation(self.num_trajectories)
        n_hold = max(1, int(round(holdout_fraction * self.num_trajectories)))
        hold, train = order[:n_hold], order[n_hold:]
        take = lambda idx: TrajectoryDataset(self.observations[idx], self.actions[idx], self.states[idx], self.layouts[idx], self.meta)
        return take(train), take(hold)


class WindowSampler:
    """Draws random windows of `steps` actions from an in-memory dataset.

    Batches come out as float tensors: observations (B, steps // frame_stride + 1, C, H, W) in
    [0, 1] (every frame_stride-th frame of the window: only those are decoded from uint8),
    actions (B, steps, 2) and states (B, steps // frame_stride + 1, 2).
    """

    def __init__(self, dataset: TrajectoryDataset, steps: int, seed: int = 0, frame_stride: int = 1):
        if steps > dataset.length:
            raise DatasetError(f"windows of {steps} steps do not fit trajectories of {dataset.length} steps")
        if frame_stride < 1 or steps % frame_stride:
            raise ValueError(f"windows of {steps} steps do not split into strides of {frame_stride}")
        self.dataset = dataset
        self.steps = steps
        self.frame_stride = frame_stride
        self.rng = np.random.default_rng(seed)

    def sample(self, batch_size: int, device: torch.device | str = "cpu") -> dict[str, torch.Tensor]:
        d = self.dataset
        traj = self.rng.integers(0, d.num_trajectories, size=batch_size)
        start = self.rng.integers(0, d.length - self.steps + 1, size=batch_size)
        frames = start[:, None] + np.arange(self.steps + 1)[None, :]
        kept = frames[:, ::self.frame_stride]
        obs = torch.from_numpy(d.observations[traj[:, None], kept]).to(device, non_blocking=True)
        return {
            "observations": obs.float().div_(255.0),
            "actions": torch.from_numpy(d.actions[traj[:, None], frames[:, :-1]]).to(device),
            "states": torch.from_numpy(d.states[traj[:, None], kept]).to(device),
        }
