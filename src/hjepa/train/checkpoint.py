"""Checkpoints: safetensors weights + JSON state, written as one crash-safe unit.

A run directory holds:
    config.json                 the resolved run config
    model.safetensors           the run's current weights (what eval, explore and Agent.load read)
    checkpoints/step_00000500/  one complete checkpoint: model.safetensors, optimizer.safetensors,
                                state.json (step, elapsed time, every RNG and sampler state) and
                                MANIFEST.json (each file's size and sha256)
    checkpoints/LATEST          the newest unit's name (for people and scripts)

A unit is written into a hidden temporary directory, every file fsynced, then renamed into place
in one step, so a kill at any moment leaves either the new unit or none of it; the previous unit
is deleted only after the new one is complete. Loading takes the newest unit whose manifest
checks out and says on stderr which damaged ones it passed over. Files are created with the
user's umask (so a colleague can read a run on a shared machine).
"""
from __future__ import annotations

import base64
import csv
import hashlib
import json
import os
import random
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_bytes
from safetensors.torch import save as save_bytes


class CheckpointError(ValueError):
    """A run directory with a missing or unreadable checkpoint."""


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:  # open() honours the umask (safetensors' own writer makes 0600 files)
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def atomic_write(path: Path, data: bytes) -> None:
    """Write `data` to a temporary file beside `path`, fsync it, rename it over `path`."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    _write(tmp, data)
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def write_json(path: Path, data: dict) -> None:
    atomic_write(Path(path), json.dumps(data, indent=2).encode())


def _tensor_bytes(state_dict: dict[str, torch.Tensor], metadata: dict[str, str] | None = None) -> bytes:
    return save_bytes({k: v.detach().contiguous().cpu() for k, v in state_dict.items()}, metadata=metadata)


def save_weights(path: Path, state_dict: dict[str, torch.Tensor], metadata: dict[str, str] | None = None) -> None:
    atomic_write(Path(path), _tensor_bytes(state_dict, metadata))


def _read_tensors(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path} is missing: is this a trained run directory?")
    try:
        data = path.read_bytes()
        tensors = load_bytes(data)
        header = json.loads(data[8:8 + int.from_bytes(data[:8], "little")])
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointError(f"{path} cannot be read (corrupt or truncated): {err}") from None
    return tensors, header.get("__metadata__", {})


def load_weights(path: Path) -> dict[str, torch.Tensor]:
    return _read_tensors(path)[0]


def load_trained_model(model: torch.nn.Module, run_dir: Path) -> torch.nn.Module:
    """Fill `model` with the `model.*` weights of RUN/model.safetensors (a training objective's
    state dict, which also holds loss heads and targets); a mismatch is a CheckpointError."""
    weights = load_weights(Path(run_dir) / "model.safetensors")
    own = {k[len("model."):]: v for k, v in weights.items() if k.startswith("model.")}
    try:
        model.load_state_dict(own)
    except RuntimeError as err:
        raise CheckpointError(f"weights in {run_dir} do not match its config: {err}") from None
    return model


def optimizer_to_tensors(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    state = optimizer.state_dict()
    tensors = {}
    for idx, param_state in state["state"].items():
        for key, value in param_state.items():
            tensors[f"state.{idx}.{key}"] = value if torch.is_tensor(value) else torch.tensor(value)
    return tensors, {"param_groups": json.dumps(state["param_groups"])}


def optimizer_from_tensors(optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], metadata: dict[str, str]) -> None:
    state: dict[int, dict] = {}
    for name, value in tensors.items():
        _, idx, key = name.split(".", 2)
        state.setdefault(int(idx), {})[key] = value
    optimizer.load_state_dict({"state": state, "param_groups": json.loads(metadata["param_groups"])})


# --- random states: what makes a resumed run draw the batches the uninterrupted one would -------


def _b64(t: torch.Tensor) -> str:
    return base64.b64encode(t.numpy().tobytes()).decode()


def _unb64(s: str) -> torch.Tensor:
    return torch.frombuffer(bytearray(base64.b64decode(s)), dtype=torch.uint8)


def rng_state(generators: dict[str, np.random.Generator | torch.Generator]) -> dict:
    """torch (CPU and CUDA), numpy's and Python's global states plus the named generators, as JSON."""
    np_global, py_global = np.random.get_state(), random.getstate()
    state = {"torch": _b64(torch.get_rng_state()), "numpy": [np_global[0], np_global[1].tolist(), *np_global[2:]],
             "python": [py_global[0], list(py_global[1]), py_global[2]], "generators": {}}
    if torch.cuda.is_available():
        state["cuda"] = [_b64(s) for s in torch.cuda.get_rng_state_all()]
    for name, g in generators.items():
        state["generators"][name] = _b64(g.get_state()) if isinstance(g, torch.Generator) else g.bit_generator.state
    return state


def restore_rng(state: dict, generators: dict[str, np.random.Generator | torch.Generator]) -> None:
    """Put back what `rng_state` saved, into the same generator objects."""
    torch.set_rng_state(_unb64(state["torch"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([_unb64(s) for s in state["cuda"]])
    name, keys, *rest = state["numpy"]
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), *rest))
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    for name, g in generators.items():
        if isinstance(g, torch.Generator):
            g.set_state(_unb64(state["generators"][name]))
        else:
            g.bit_generator.state = state["generators"][name]


# --- checkpoint units -----------------------------------------------------------------------------


@dataclass
class Unit:
    """One complete checkpoint: its trainer state and where each tensor file lies."""
    path: Path
    state: dict
    files: dict[str, Path]

    def tensors(self, name: str) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
        """The tensors and metadata of file `name` (e.g. "model", "optimizer")."""
        return _read_tensors(self.files[name])


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _check_unit(path: Path) -> str | None:
    """What is wrong with a unit directory, or None when every file matches its manifest."""
    try:
        manifest = json.loads((path / "MANIFEST.json").read_text())
        for name, entry in manifest["files"].items():
            data = (path / name).read_bytes()
            if len(data) != entry["bytes"] or _digest(data) != entry["sha256"]:
                return f"{name} does not match its manifest"
    except (OSError, ValueError, KeyError) as err:
        return f"unreadable: {err}"
    return None


class Checkpoints:
    """The checkpoint units of one trainer in RUN/<folder>/ (see the module docstring)."""

    def __init__(self, run_dir: str | Path, folder: str = "checkpoints", keep: int = 2):
        self.run_dir, self.root, self.keep = Path(run_dir), Path(run_dir) / folder, keep

    def units(self) -> list[Path]:
        """Unit directories, oldest first."""
        if not self.root.is_dir():
            return []
        return sorted((p for p in self.root.glob("step_*") if p.is_dir()), key=lambda p: int(p.name[5:]))

    def exists(self) -> bool:
        return bool(self.units()) or (self.run_dir / "state.json").is_file()

    def save(self, step: int, tensors: dict[str, tuple[dict[str, torch.Tensor], dict[str, str] | None]], state: dict) -> Path:
        """Write one unit: each `tensors[name]` = (state dict, metadata) as name.safetensors, and
        `state` as state.json. Returns the unit's directory."""
        self.root.mkdir(parents=True, exist_ok=True)
        for stale in self.root.glob(".step_*.tmp"):  # a save that was killed midway
            shutil.rmtree(stale, ignore_errors=True)
        tmp = self.root / f".step_{step:08d}.tmp"
        tmp.mkdir()
        files = {f"{name}.safetensors": _tensor_bytes(sd, meta) for name, (sd, meta) in tensors.items()}
        files["state.json"] = json.dumps(dict(state, step=step)).encode()
        for name, data in files.items():
            _write(tmp / name, data)
        manifest = {"step": step, "files": {name: {"bytes": len(d), "sha256": _digest(d)} for name, d in files.items()}}
        _write(tmp / "MANIFEST.json", json.dumps(manifest, indent=1).encode())
        _fsync_dir(tmp)
        final = self.root / f"step_{step:08d}"
        if final.exists():  # the same step again (a run resumed from just before it)
            shutil.rmtree(final)
        os.rename(tmp, final)
        _fsync_dir(self.root)
        atomic_write(self.root / "LATEST", final.name.encode())
        for old in self.units()[:-self.keep]:
            shutil.rmtree(old, ignore_errors=True)
        return final

    def load(self) -> Unit | None:
        """The newest complete unit (None when the run has none); damaged newer units are passed
        over and named on stderr. A run written by hjepa before units existed loads from its
        top-level files, without random states."""
        skipped = []
        for path in reversed(self.units()):
            problem = _check_unit(path)
            if problem is None:
                if skipped:
                    print(f"note: checkpoint {'; '.join(skipped)}; resuming from {path.name}", file=sys.stderr)
                files = {p.stem: p for p in path.glob("*.safetensors")}
                return Unit(path, json.loads((path / "state.json").read_text()), files)
            skipped.append(f"{path.name} is damaged ({problem})")
        if skipped:
            raise CheckpointError(f"no complete checkpoint in {self.root}: {'; '.join(skipped)}")
        legacy = self.run_dir / "state.json"
        if legacy.is_file():
            try:
                state = json.loads(legacy.read_text())
            except json.JSONDecodeError as err:
                raise CheckpointError(f"{legacy} is corrupt: {err}") from None
            print(f"note: {self.run_dir} was written by an older hjepa: resuming without its random states",
                  file=sys.stderr)
            return Unit(self.run_dir, state, {"model": self.run_dir / "model.safetensors",
                                              "optimizer": self.run_dir / "optimizer.safetensors"})
        return None


class MetricsLog:
    """One row of scalars per log step, to TensorBoard (RUN/tb, tags `tag/name`) and to RUN/`name` (appended
    on resume; the header is written once). `resume_step`: rows logged after that step (by a run
    killed before its next checkpoint) are dropped, since the resumed run logs them again."""

    def __init__(self, run_dir: Path, resume_step: int | None = None, name: str = "metrics.csv", tag: str = "train"):
        from torch.utils.tensorboard import SummaryWriter

        self.csv_path = Path(run_dir) / name
        if resume_step is not None and self.csv_path.is_file():
            with open(self.csv_path, newline="") as f:
                rows = list(csv.reader(f))
            kept = rows[:1] + [r for r in rows[1:] if r and r[0].isdigit() and int(r[0]) <= resume_step]
            with open(self.csv_path, "w", newline="") as f:
                csv.writer(f).writerows(kept)
        self.tb, self.tag = SummaryWriter(str(Path(run_dir) / "tb"), filename_suffix=f".{tag}"), tag
        self.csv_file = open(self.csv_path, "a", newline="")
        self.csv_writer = None

    def write(self, row: dict) -> None:
        """`row` holds "step" and any scalars."""
        for k, v in row.items():
            if k != "step":
                self.tb.add_scalar(f"{self.tag}/{k}", v, row["step"])
        if self.csv_writer is None:
            self.csv_writer = csv.DictWriter(self.csv_file, fieldnames=list(row))
            if self.csv_path.stat().st_size == 0:
                self.csv_writer.writeheader()
        self.csv_writer.writerow(row)
        self.csv_file.flush()

    def close(self) -> None:
        self.tb.close()
        self.csv_file.close()
