"""Checkpoints: safetensors weights + JSON config/state, each written atomically (temp + rename).

A run directory holds:
    config.json           the resolved run config
    model.safetensors     world-model (and IDM head) weights; metadata {"step": ...}
    optimizer.safetensors optimizer tensors; metadata holds the step and the param groups
    state.json            trainer state (step, elapsed seconds), written last
"""
from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file


class CheckpointError(ValueError):
    """A run directory with a missing or unreadable checkpoint."""


def _atomic(path: Path, write) -> None:
    tmp = path.with_name(path.name + ".tmp")
    write(tmp)
    os.replace(tmp, path)


def write_json(path: Path, data: dict) -> None:
    _atomic(Path(path), lambda tmp: tmp.write_text(json.dumps(data, indent=2)))


def save_weights(path: Path, state_dict: dict[str, torch.Tensor], metadata: dict[str, str] | None = None) -> None:
    tensors = {k: v.detach().contiguous().cpu() for k, v in state_dict.items()}
    _atomic(Path(path), lambda tmp: save_file(tensors, str(tmp), metadata=metadata))


def load_weights(path: Path) -> dict[str, torch.Tensor]:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path} is missing: is this a trained run directory?")
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointError(f"{path} cannot be read (corrupt or truncated): {err}") from None


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


def optimizer_from_tensors(optimizer: torch.optim.Optimizer, path: Path) -> None:
    path = Path(path)
    tensors = load_weights(path)
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        groups = json.loads(f.metadata()["param_groups"])
    state: dict[int, dict] = {}
    for name, value in tensors.items():
        _, idx, key = name.split(".", 2)
        state.setdefault(int(idx), {})[key] = value
    optimizer.load_state_dict({"state": state, "param_groups": groups})


def save_checkpoint(run_dir: Path, weights: dict[str, torch.Tensor], optimizer: torch.optim.Optimizer, state: dict) -> None:
    run_dir = Path(run_dir)
    save_weights(run_dir / "model.safetensors", weights, {"step": str(state["step"])})
    opt_tensors, opt_meta = optimizer_to_tensors(optimizer)
    save_weights(run_dir / "optimizer.safetensors", opt_tensors, dict(opt_meta, step=str(state["step"])))
    write_json(run_dir / "state.json", state)


def read_state(run_dir: Path) -> dict | None:
    path = Path(run_dir) / "state.json"
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise CheckpointError(f"{path} is corrupt: {err}") from None


class MetricsLog:
    """One row of scalars per log step, to TensorBoard (RUN/tb) and to RUN/metrics.csv (appended
    on resume; the header is written once)."""

    def __init__(self, run_dir: Path):
        from torch.utils.tensorboard import SummaryWriter

        self.tb = SummaryWriter(str(Path(run_dir) / "tb"))
        self.csv_path = Path(run_dir) / "metrics.csv"
        self.csv_file = open(self.csv_path, "a", newline="")
        self.csv_writer = None

    def write(self, row: dict) -> None:
        """`row` holds "step" and any scalars."""
        for k, v in row.items():
            if k != "step":
                self.tb.add_scalar(f"train/{k}", v, row["step"])
        if self.csv_writer is None:
            self.csv_writer = csv.DictWriter(self.csv_file, fieldnames=list(row))
            if self.csv_path.stat().st_size == 0:
                self.csv_writer.writeheader()
        self.csv_writer.writerow(row)
        self.csv_file.flush()

    def close(self) -> None:
        self.tb.close()
        self.csv_file.close()
