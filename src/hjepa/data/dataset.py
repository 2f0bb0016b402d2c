"""On-disk trajectory datasets and the window sampler used for training.

Format (a directory, version 2; any world, any image size, any action dimension):

    meta.json          {"format": "hjepa-trajectories", "version": 2, "world": NAME, "num_trajectories": N,
                        "length": T, "obs_shape": [C, H, W], "action_dim": A,
                        "files": {name: {shape, dtype, sha256}}, ...}
    observations.npy   uint8   (N, T+1, C, H, W)   pixels x 255
    actions.npy        float32 (N, T, A)           actions[t] moves observations[t] -> observations[t+1]
    states.npy         float32 (N, T+1, S)         optional: the true state, for evaluation and probes only
    layouts.npy        float32 (N, K)              optional: per-trajectory scene parameters (Two-Rooms:
                                                   wall x, door y); equal rows = the same scene. Labels:
                                                   read by probes (metrics) and by the opt-in Bellman
                                                   cost-to-go, which then reports uses_labels
    lengths.npy        int64   (N,)                optional: actions in each episode (<= T; the rest is
                                                   padding: the last frame and state held, zero actions);
                                                   absent = every episode has T
    seeds.npy          int64   (N,)                optional: the seed each episode's env was reset with,
                                                   so a deterministic env can replay it

Version 1 (Two-Rooms only: states (N, T+1, 2) and layouts (N, 2) required) still loads.
Shapes are batch first, then time, then features. Every file is checked on load against
meta.json (shape, dtype, sha256), so a truncated, corrupt or mismatched file gets a
`DatasetError` naming the file, never a traceback from deep inside numpy.

Observations larger than memory stay on disk: `TrajectoryDataset.load(dir, in_memory=False)`
(the trainer does this by itself past `train.max_memory_gb`) returns a dataset whose
observations are a `DiskFrames`, read frame by frame with `os.pread` when a batch is drawn:
the pages go to the OS file cache, not to the process, so the process stays small whatever
the dataset's size.
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
VERSION = 2
REQUIRED = {"observations": np.uint8, "actions": np.float32}
OPTIONAL = {"states": np.float32, "layouts": np.float32, "lengths": np.int64, "seeds": np.int64}
V1_REQUIRED = ("observations", "actions", "states", "layouts")


class DatasetError(ValueError):
    """A dataset directory that is missing, truncated, corrupt or inconsistent."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _npy_header(path: Path) -> tuple[tuple[int, ...], np.dtype, int]:
    """(shape, dtype, byte offset of the data) of a .npy file, read from its header alone."""
    try:
        with open(path, "rb") as f:
            version = np.lib.format.read_magic(f)
            read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, fortran, dtype = read(f)
            offset = f.tell()
    except (ValueError, OSError, EOFError) as err:
        raise DatasetError(f"{path} cannot be read (truncated or not a .npy file): {err}") from None
    if fortran or dtype.hasobject:
        raise DatasetError(f"{path}: expected a C-ordered array of plain numbers")
    expected = offset + int(np.prod(shape)) * dtype.itemsize
    if path.stat().st_size < expected:
        raise DatasetError(f"{path} is truncated: {path.stat().st_size} bytes, its header says {expected}")
    return tuple(shape), dtype, offset


class DiskFrames:
    """uint8 frames (N, T+1, C, H, W) of a .npy file, read on demand.

    Indexing takes (trajectories, frames) the way numpy does (ints, slices, integer arrays that
    broadcast) and returns a numpy array; each requested frame is one `os.pread`, merged into
    one read where frames are consecutive on disk."""

    def __init__(self, path: str | Path, trajectories: np.ndarray | None = None):
        self.path = Path(path)
        shape, dtype, self.offset = _npy_header(self.path)
        if dtype != np.uint8 or len(shape) != 5:
            raise DatasetError(f"{self.path}: observations must be uint8 (N, T+1, C, H, W), got {dtype} {shape}")
        self.file_shape = shape
        self.trajectories = np.arange(shape[0]) if trajectories is None else np.asarray(trajectories)
        self.frame_bytes = int(np.prod(shape[2:]))
        self.dtype = np.dtype(np.uint8)
        self._fd = None

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self.trajectories),) + tuple(self.file_shape[1:])

    @property
    def ndim(self) -> int:
        return 5

    def __len__(self) -> int:
        return len(self.trajectories)

    def take(self, idx: np.ndarray) -> "DiskFrames":
        """A view of some trajectories (no data is read)."""
        return DiskFrames(self.path, self.trajectories[np.asarray(idx)])

    def __getstate__(self):  # a file descriptor does not cross process boundaries
        return {k: v for k, v in self.__dict__.items() if k != "_fd"} | {"_fd": None}

    def _index(self, key, axis: int) -> tuple[np.ndarray, bool]:
        """An index over one axis as an integer array, and whether it is a slice (outer) index."""
        size = self.shape[axis]
        if isinstance(key, slice):
            return np.arange(size)[key], True
        arr = np.asarray(key)
        if arr.dtype == bool or not np.issubdtype(arr.dtype, np.integer):
            raise IndexError("DiskFrames takes integer indices and slices")
        return np.where(arr < 0, arr + size, arr), False

    def __getitem__(self, key) -> np.ndarray:
        key = key if isinstance(key, tuple) else (key,)
        if len(key) > 2:
            raise IndexError("DiskFrames indexes trajectories and frames only")
        key = key + (slice(None),) * (2 - len(key))
        (traj, traj_slice), (frame, frame_slice) = self._index(key[0], 0), self._index(key[1], 1)
        if traj_slice and frame_slice:
            traj, frame = traj[:, None], frame[None, :]
        elif traj_slice:  # numpy puts the slice's axis first, then the array's
            traj = traj.reshape((-1,) + (1,) * frame.ndim)
        elif frame_slice:
            traj = traj[..., None]
        traj, frame = np.broadcast_arrays(traj, frame)
        return self._read(self.trajectories[traj.ravel()], frame.ravel()).reshape(traj.shape + tuple(self.file_shape[2:]))

    def _read(self, traj: np.ndarray, frame: np.ndarray) -> np.ndarray:
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDONLY)
        slot = traj.astype(np.int64) * self.file_shape[1] + frame  # frame number in the file
        out = np.empty((len(slot), self.frame_bytes), np.uint8)
        if not len(slot):
            return out
        order = np.argsort(slot, kind="stable")
        s = slot[order]
        breaks = np.flatnonzero(np.diff(s) != 1) + 1  # runs of consecutive frames: one read each
        for lo, hi in zip(np.r_[0, breaks], np.r_[breaks, len(s)]):
            n = int(s[hi - 1] - s[lo] + 1)
            data = os.pread(self._fd, n * self.frame_bytes, self.offset + int(s[lo]) * self.frame_bytes)
            if len(data) != n * self.frame_bytes:
                raise DatasetError(f"{self.path} is truncated: a read past its end")
            out[order[lo:hi]] = np.frombuffer(data, np.uint8).reshape(n, self.frame_bytes)
        return out

    def __array__(self, dtype=None, copy=None):
        full = self[:, :]
        return full if dtype is None else full.astype(dtype)


def _stream_save(path: Path, array) -> None:
    """Write a .npy file chunk by chunk (a DiskFrames is never read whole), atomically."""
    tmp = path.with_suffix(".tmp.npy")
    if isinstance(array, DiskFrames):
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=array.dtype, shape=array.shape)
        for i in range(0, len(array), 256):
            out[i:i + 256] = array[i:i + 256]
        out.flush()
        del out
    else:
        np.save(tmp, np.ascontiguousarray(array))
    os.replace(tmp, path)


@dataclass
class TrajectoryDataset:
    """Trajectories: observations stay uint8 (in memory, or on disk as `DiskFrames`) until a batch is drawn."""

    observations: np.ndarray  # uint8 (N, T+1, C, H, W), or DiskFrames
    actions: np.ndarray  # float32 (N, T, A)
    states: np.ndarray | None = None  # float32 (N, T+1, S): true state, for metrics and probes only
    layouts: np.ndarray | None = None  # float32 (N, K): per-trajectory scene parameters
    meta: dict | None = None
    lengths: np.ndarray | None = None  # int64 (N,): actions per episode (None: all T)
    seeds: np.ndarray | None = None  # int64 (N,): the env's reset seed per episode

    def __post_init__(self):
        self.meta = dict(self.meta or {})
        if self.observations.dtype != np.uint8 or self.observations.ndim != 5:
            raise DatasetError(f"observations must be uint8 (N, T+1, C, H, W), got {self.observations.dtype} "
                               f"{tuple(self.observations.shape)}")
        n, t1 = self.observations.shape[:2]
        if self.actions.ndim != 3 or self.actions.shape[:2] != (n, t1 - 1):
            raise DatasetError(f"actions has shape {self.actions.shape}, expected ({n}, {t1 - 1}, A)")
        if not np.isfinite(self.actions).all():
            bad = np.argwhere(~np.isfinite(self.actions))[0]
            raise DatasetError(f"actions hold NaN or inf (first at trajectory {bad[0]}, step {bad[1]}): "
                               "every action must be a finite number")
        optional = {"states": (n, t1), "layouts": (n,), "lengths": (n,), "seeds": (n,)}
        for name, lead in optional.items():
            value = getattr(self, name)
            ndim = {"states": 3, "layouts": 2}.get(name, 1)
            if value is not None and (value.ndim != ndim or value.shape[:len(lead)] != lead):
                raise DatasetError(f"{name} has shape {value.shape}, expected {lead + ('...',) * (ndim - len(lead))}")
        if self.lengths is not None and (self.lengths.min(initial=1) < 1 or self.lengths.max(initial=0) > t1 - 1):
            raise DatasetError(f"lengths must lie in [1, {t1 - 1}], got [{self.lengths.min()}, {self.lengths.max()}]")

    @property
    def num_trajectories(self) -> int:
        return self.observations.shape[0]

    @property
    def length(self) -> int:
        """Actions per trajectory, padding included (observations have one more)."""
        return self.actions.shape[1]

    @property
    def episode_lengths(self) -> np.ndarray:
        """(N,) actions in each episode."""
        return self.lengths if self.lengths is not None else np.full(self.num_trajectories, self.length, np.int64)

    @property
    def obs_shape(self) -> tuple[int, int, int]:
        return tuple(int(s) for s in self.observations.shape[2:])

    @property
    def action_dim(self) -> int:
        return int(self.actions.shape[2])

    @property
    def world(self) -> str:
        """The world the data came from (v1 datasets: Two-Rooms)."""
        return self.meta.get("world", "two_rooms")

    def arrays(self) -> dict:
        """The non-empty arrays by file name."""
        names = list(REQUIRED) + list(OPTIONAL)
        return {name: getattr(self, name) for name in names if getattr(self, name) is not None}

    def save(self, directory: str | Path) -> Path:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "meta.json").unlink(missing_ok=True)  # incomplete until meta.json is back
        files = {}
        for name, array in self.arrays().items():
            array = array if isinstance(array, DiskFrames) else np.asarray(array, dtype=(REQUIRED | OPTIONAL)[name])
            path = directory / f"{name}.npy"
            _stream_save(path, array)
            files[name] = {"shape": list(array.shape), "dtype": str(array.dtype), "sha256": _sha256(path)}
        meta = dict(self.meta, format=FORMAT, version=VERSION, world=self.world, num_trajectories=self.num_trajectories,
                    length=self.length, obs_shape=list(self.obs_shape), action_dim=self.action_dim, files=files)
        tmp = directory / "meta.json.tmp"
        tmp.write_text(json.dumps(meta, indent=2))
        os.replace(tmp, directory / "meta.json")  # meta last: a dataset is complete once it exists
        return directory

    @classmethod
    def load(cls, directory: str | Path, verify_checksums: bool = True, in_memory: bool = True) -> "TrajectoryDataset":
        """Load and check a dataset; `in_memory=False` leaves the observations on disk (DiskFrames)."""
        directory = Path(directory)
        meta_path = directory / "meta.json"
        if directory.is_file():
            raise DatasetError(f"{directory} is a file: a dataset is a directory (made by `hjepa collect` or `hjepa import`)")
        if not directory.is_dir():
            raise DatasetError(f"dataset directory {directory} does not exist")
        if not meta_path.is_file():
            raise DatasetError(f"{directory} is not a dataset: meta.json is missing (was collection interrupted?)")
        try:
            meta = json.loads(meta_path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise DatasetError(f"{meta_path} is not valid JSON: {err}") from None
        if meta.get("format") != FORMAT or meta.get("version") not in (1, VERSION):
            raise DatasetError(f"{meta_path}: expected format {FORMAT} v1 or v{VERSION}, got {meta.get('format')} v{meta.get('version')}")
        files = meta.get("files", {})
        names = V1_REQUIRED if meta["version"] == 1 else list(REQUIRED) + [n for n in OPTIONAL if n in files]
        arrays = {}
        for name in names:
            spec, path, dtype = files.get(name), directory / f"{name}.npy", np.dtype((REQUIRED | OPTIONAL)[name])
            if spec is None or not path.is_file():
                raise DatasetError(f"{path} is missing")
            if verify_checksums and _sha256(path) != spec["sha256"]:
                raise DatasetError(f"{path} is corrupt or was modified: its checksum does not match meta.json")
            shape, file_dtype, _ = _npy_header(path)
            if list(shape) != spec["shape"] or file_dtype != dtype:
                raise DatasetError(f"{path} has shape {list(shape)} and dtype {file_dtype}, "
                                   f"meta.json says {spec['shape']} and {spec['dtype']}")
            if name == "observations" and not in_memory:
                arrays[name] = DiskFrames(path)
                continue
            try:
                arrays[name] = np.load(path, allow_pickle=False)
            except (ValueError, OSError, EOFError) as err:
                raise DatasetError(f"{path} cannot be read (truncated or not a .npy file): {err}") from None
        if meta["version"] == 1:
            meta = dict(meta, world="two_rooms")
        return cls(meta=meta, **arrays)

    def subset(self, idx: np.ndarray) -> "TrajectoryDataset":
        """The trajectories at `idx` (observations on disk stay on disk)."""
        idx = np.asarray(idx)
        obs = self.observations.take(idx) if isinstance(self.observations, DiskFrames) else self.observations[idx]
        pick = lambda a: None if a is None else a[idx]
        return TrajectoryDataset(obs, self.actions[idx], pick(self.states), pick(self.layouts), self.meta,
                                 pick(self.lengths), pick(self.seeds))

    def split(self, holdout_fraction: float, seed: int = 0) -> tuple["TrajectoryDataset", "TrajectoryDataset"]:
        """(train, holdout) split by whole trajectories."""
        order = np.random.default_rng(seed).permutation(self.num_trajectories)
        n_hold = max(1, int(round(holdout_fraction * self.num_trajectories)))
        return self.subset(order[n_hold:]), self.subset(order[:n_hold])  # (unsorted: the same split as format v1's)


class DatasetWriter:
    """Writes a dataset chunk by chunk, observations straight into the file on disk, so that a
    dataset larger than memory can be made: `append` TrajectoryDatasets of the same shapes, then
    `close()` checksums every file and writes meta.json last (until then the dataset is incomplete)."""

    def __init__(self, directory: str | Path, num_trajectories: int, length: int, obs_shape: tuple[int, ...], meta: dict):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / "meta.json").unlink(missing_ok=True)
        self.n, self.length, self.meta, self.filled = num_trajectories, length, dict(meta), 0
        self._tmp = self.directory / "observations.tmp.npy"
        self._file = open(self._tmp, "wb")  # written in order, never mapped: the writer stays small too
        header = {"descr": np.lib.format.dtype_to_descr(np.dtype(np.uint8)), "fortran_order": False,
                  "shape": (num_trajectories, length + 1) + tuple(obs_shape)}
        np.lib.format.write_array_header_2_0(self._file, header)
        self.obs_shape = tuple(obs_shape)
        self.rest: dict[str, list] = {}

    def append(self, chunk: TrajectoryDataset) -> None:
        k = chunk.num_trajectories
        if self.filled + k > self.n or chunk.length != self.length or chunk.obs_shape != self.obs_shape:
            raise DatasetError(f"chunk of {k} x {chunk.length} x {chunk.obs_shape} does not fit the remaining "
                               f"{self.n - self.filled} x {self.length} x {self.obs_shape}")
        self._file.write(np.ascontiguousarray(chunk.observations, np.uint8).tobytes())
        for name, array in chunk.arrays().items():
            if name != "observations":
                self.rest.setdefault(name, []).append(array)
        self.filled += k

    def close(self) -> Path:
        if self.filled != self.n:
            raise DatasetError(f"only {self.filled} of {self.n} trajectories were written")
        self._file.close()
        os.replace(self._tmp, self.directory / "observations.npy")
        arrays = {name: np.concatenate(parts) for name, parts in self.rest.items()}
        files = {"observations": None}
        for name, array in arrays.items():
            _stream_save(self.directory / f"{name}.npy", np.asarray(array, (REQUIRED | OPTIONAL)[name]))
        shape, _, _ = _npy_header(self.directory / "observations.npy")
        for name in ["observations", *arrays]:
            path = self.directory / f"{name}.npy"
            spec_shape, dtype, _ = _npy_header(path)
            files[name] = {"shape": list(spec_shape), "dtype": str(dtype), "sha256": _sha256(path)}
        meta = dict(self.meta, format=FORMAT, version=VERSION, world=self.meta.get("world", "two_rooms"),
                    num_trajectories=self.n, length=self.length, obs_shape=list(shape[2:]),
                    action_dim=int(arrays["actions"].shape[-1]), files=files)
        (self.directory / "meta.json.tmp").write_text(json.dumps(meta, indent=2))
        os.replace(self.directory / "meta.json.tmp", self.directory / "meta.json")
        return self.directory


class WindowSampler:
    """Draws random windows of `steps` actions from a dataset, uniformly over all windows that
    fit inside an episode (episodes shorter than a window are never drawn).

    Batches come out as float tensors: observations (B, steps // frame_stride + 1, C, H, W) in
    [0, 1] (every frame_stride-th frame of the window: only those are decoded from uint8),
    actions (B, steps, A) and, when the dataset has them, states (B, steps // frame_stride + 1, S).
    `shard=(rank, world_size)`: this sampler draws only trajectories i with i % world_size == rank,
    so data-parallel ranks read disjoint parts of the dataset.
    """

    def __init__(self, dataset: TrajectoryDataset, steps: int, seed: int = 0, frame_stride: int = 1,
                 shard: tuple[int, int] = (0, 1)):
        if frame_stride < 1 or steps % frame_stride:
            raise ValueError(f"windows of {steps} steps do not split into strides of {frame_stride}")
        rank, world = shard
        lengths = dataset.episode_lengths
        eligible = np.flatnonzero((lengths >= steps) & (np.arange(dataset.num_trajectories) % world == rank))
        if steps > dataset.length or not len(eligible):
            raise DatasetError(f"windows of {steps} steps do not fit trajectories of {int(lengths.max())} steps"
                               + (f" (shard {rank} of {world})" if world > 1 else ""))
        self.dataset = dataset
        self.steps = steps
        self.frame_stride = frame_stride
        self.trajectories = eligible
        windows = (lengths[eligible] - steps + 1).astype(np.float64)
        self.weights = windows / windows.sum()  # every window equally likely
        self.rng = np.random.default_rng(seed)

    def sample(self, batch_size: int, device: torch.device | str = "cpu") -> dict[str, torch.Tensor]:
        d = self.dataset
        traj = self.trajectories[self.rng.choice(len(self.trajectories), size=batch_size, p=self.weights)] \
            if len(self.trajectories) < d.num_trajectories else self.rng.integers(0, d.num_trajectories, size=batch_size)
        if d.lengths is None:  # every episode full length
            start = self.rng.integers(0, d.length - self.steps + 1, size=batch_size)
        else:
            start = self.rng.integers(0, d.lengths[traj] - self.steps + 1)
        frames = start[:, None] + np.arange(self.steps + 1)[None, :]
        kept = frames[:, ::self.frame_stride]
        obs = torch.from_numpy(np.ascontiguousarray(d.observations[traj[:, None], kept])).to(device, non_blocking=True)
        batch = {
            "observations": obs.float().div_(255.0),
            "actions": torch.from_numpy(d.actions[traj[:, None], frames[:, :-1]]).to(device),
        }
        if d.states is not None:
            batch["states"] = torch.from_numpy(d.states[traj[:, None], kept]).to(device)
        return batch
