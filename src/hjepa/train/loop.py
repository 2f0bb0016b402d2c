"""What every trainer shares around its own step: budgets, learning-rate schedule, progress,
logs, checkpoints and exact resume.

    loop = TrainingLoop(run_dir, cfg.train, optimizer, {"model": objective}, {"sampler": sampler.rng}, resume=resume)
    with loop:                          # Ctrl-C saves a checkpoint before it stops
        while loop.next_step():         # False once the step or minute budget is spent; sets the LR
            terms = objective(batch()); terms["loss"].backward(); optimizer.step()
            loop.end_step(terms)        # counts, logs, checkpoints every cfg.checkpoint_every steps
    summary = loop.summary()

Resume is exact: a unit holds the modules, the optimizer, the step, the elapsed time and every
random state (torch, numpy, Python and the trainer's own generators), so on one CPU process a run
killed and resumed ends with the weights of one never interrupted. Under a wall-clock budget
the schedule follows the elapsed time, which no resume can replay exactly. Under DDP every rank
saves its own random states in the unit.
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.distributed as dist

from ..config import ConfigError, from_dict, resume_changes
from ..progress import BudgetBar
from . import checkpoint as ckpt


def cosine_with_warmup(warmup: int) -> Callable[[int, float], float]:
    """LR factor: linear warm-up over `warmup` steps, then a cosine from 1 to 0.05 over the budget."""
    def factor(step: int, progress: float) -> float:
        warm = min(1.0, (step + 1) / max(1, warmup))
        return warm * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))
    return factor


class TrainingLoop:
    """See the module docstring. `cfg` has steps, minutes, lr, log_every, checkpoint_every (and
    warmup_steps for the default schedule); `modules` and `generators` are what a checkpoint holds
    besides the optimizer. `side` names a trainer that refines a trained run (refit, value): it
    keeps its own RUN/<side>_checkpoints/ and RUN/<side>_metrics.csv and leaves RUN/model.safetensors
    for its caller to write (see `start_side_run`). `spent` is wall clock already used from the
    minutes budget (e.g. encoding the data). `run_dir=None`: an in-memory fit, no checkpoints or logs."""

    def __init__(self, run_dir: str | Path | None, cfg, optimizer: torch.optim.Optimizer,
                 modules: dict[str, torch.nn.Module], generators: dict[str, np.random.Generator | torch.Generator],
                 resume: bool = False, desc: str = "train", progress: bool = True,
                 schedule: Callable[[int, float], float] | None = None, side: str | None = None, spent: float = 0.0,
                 rank: int = 0, world: int = 1):
        self.run_dir, self.cfg, self.optimizer = (Path(run_dir) if run_dir is not None else None), cfg, optimizer
        self.modules, self.generators, self.rank, self.world, self.side = modules, generators, rank, world, side
        self.schedule = schedule or cosine_with_warmup(cfg.warmup_steps)
        folder, metrics = (f"{side}_checkpoints", f"{side}_metrics.csv") if side else ("checkpoints", "metrics.csv")
        self.checkpoints = ckpt.Checkpoints(run_dir, folder) if run_dir is not None else None
        self.step, self.elapsed_before, self.saved_step, self.terms = 0, spent, -1, {}
        if resume:
            self._load()
        self.is_main = rank == 0
        logging = self.is_main and self.run_dir is not None
        self.log = ckpt.MetricsLog(self.run_dir, self.step if resume else None, metrics, desc) if logging else None
        self.budget_s = cfg.minutes * 60.0
        self.start = time.time()
        self.bar = BudgetBar(cfg.steps, cfg.minutes, initial=self.step, elapsed=self.elapsed_before, desc=desc,
                             disable=not (progress and self.is_main))

    # --- the loop -----------------------------------------------------------------------------

    @property
    def elapsed(self) -> float:
        return self.elapsed_before + time.time() - self.start

    def next_step(self) -> bool:
        """True while both budgets last (every DDP rank gets rank 0's answer); sets the step's LR."""
        elapsed = self.elapsed
        stop = torch.tensor([float(self.step >= self.cfg.steps or (self.budget_s > 0 and elapsed >= self.budget_s))])
        if self.world > 1:
            dist.broadcast(stop, src=0)
        if stop.item():
            return False
        progress = max(self.step / self.cfg.steps, elapsed / self.budget_s if self.budget_s > 0 else 0.0)
        for group in self.optimizer.param_groups:
            group["lr"] = self.cfg.lr * self.schedule(self.step, progress)
        return True

    def end_step(self, terms: dict[str, torch.Tensor]) -> dict | None:
        """Count the step; log it (returns the logged row, else None) and checkpoint on schedule."""
        self.step += 1
        self.terms = terms
        row = None
        if self.is_main and (self.step % self.cfg.log_every == 0 or self.step == 1):
            row = {"step": self.step, "elapsed_s": round(self.elapsed, 2), "lr": self.optimizer.param_groups[0]["lr"]}
            row.update({k: float(v.detach()) for k, v in terms.items()})
            if self.log is not None:
                self.log.write(row)
            self.bar.set_postfix(**{k: f"{row[k]:.4f}" for k in ("loss", "pred", "idm", "latent_std") if k in row})
        self.bar.update(1)
        if self.step % self.cfg.checkpoint_every == 0:
            self.save()
        return row

    def __enter__(self) -> "TrainingLoop":
        return self

    def __exit__(self, kind, error, tb) -> bool:
        if kind is KeyboardInterrupt:
            self.bar.write(f"interrupted at step {self.step}: checkpoint saved, continue with --resume")
        if kind is None or kind is KeyboardInterrupt:
            self.save()
        self.bar.close()
        if self.log is not None:
            self.log.close()
        return False

    def summary(self) -> dict:
        out = {"steps": self.step, "train_minutes": self.elapsed / 60.0, "world_size": self.world}
        out.update({k: float(v.detach()) for k, v in self.terms.items()})
        return out

    # --- checkpoints ----------------------------------------------------------------------------

    def save(self) -> None:
        """Write a checkpoint unit (every rank's random states in it) unless this step has one,
        then publish the weights as RUN/model.safetensors."""
        if self.step == self.saved_step or self.checkpoints is None:
            return
        rngs = [ckpt.rng_state(self.generators)]
        if self.world > 1:
            rngs = [None] * self.world
            dist.all_gather_object(rngs, ckpt.rng_state(self.generators))
        self.saved_step = self.step
        if not self.is_main:
            return
        tensors = {name: (module.state_dict(), None) for name, module in self.modules.items()}
        tensors["optimizer"] = ckpt.optimizer_to_tensors(self.optimizer)
        unit = self.checkpoints.save(self.step, tensors, {"elapsed_seconds": self.elapsed, "world_size": self.world,
                                                          "rng": rngs})
        if self.side is None:  # the run's own trainer publishes its weights
            first = next(iter(self.modules))
            ckpt.atomic_write(self.run_dir / "model.safetensors", (unit / f"{first}.safetensors").read_bytes())

    def _load(self) -> None:
        unit = self.checkpoints.load()
        if unit is None:
            raise ckpt.CheckpointError(f"{self.run_dir} has no checkpoint to resume from")
        for name, module in self.modules.items():
            try:
                module.load_state_dict(unit.tensors(name)[0])
            except RuntimeError as err:
                raise ckpt.CheckpointError(f"the checkpoint in {unit.path} does not fit this model: {err}") from None
        ckpt.optimizer_from_tensors(self.optimizer, *unit.tensors("optimizer"))
        self.step, self.elapsed_before = int(unit.state["step"]), float(unit.state["elapsed_seconds"])
        self.saved_step = self.step
        rngs = unit.state.get("rng")
        if rngs is not None and len(rngs) == self.world:
            ckpt.restore_rng(rngs[self.rank], self.generators)
        else:  # an older run, or another number of ranks: fresh streams, from the step
            for name, g in self.generators.items():
                seed = [getattr(self.cfg, "seed", 0), self.rank, self.step]
                if isinstance(g, torch.Generator):
                    g.manual_seed(int(np.random.SeedSequence(seed).generate_state(1)[0]))
                else:
                    g.bit_generator.state = np.random.default_rng(seed).bit_generator.state
            if rngs is not None and self.rank == 0:
                print(f"note: the checkpoint was written by {len(rngs)} ranks, this run has {self.world}: "
                      "new random streams", file=sys.stderr)


def side_config_path(run_dir: str | Path, side: str) -> Path:
    """Where a side trainer of a run (refit, value) keeps the config it was started with."""
    return Path(run_dir) / f"{side}_config.json"


def start_side_run(run_dir: str | Path, side: str, cfg) -> None:
    """A new (not resumed) side trainer starts over: its old checkpoints and metrics go, its config is written."""
    run_dir = Path(run_dir)
    shutil.rmtree(run_dir / f"{side}_checkpoints", ignore_errors=True)
    (run_dir / f"{side}_metrics.csv").unlink(missing_ok=True)
    ckpt.write_json(side_config_path(run_dir, side), dataclasses.asdict(cfg))


def check_resumable(path: str | Path, cfg) -> None:
    """Refuse to resume under `cfg` (the trainer's whole config) if anything but what its classes
    declare RESUME_SAFE (budgets, logging, device) differs from the config saved at `path`."""
    path = Path(path)
    if not path.is_file():
        raise ckpt.CheckpointError(f"{path.parent} has no {path.name}: there is nothing to resume there")
    try:
        saved = from_dict(type(cfg), json.loads(path.read_text()))
    except (json.JSONDecodeError, ConfigError) as err:
        raise ckpt.CheckpointError(f"{path} cannot be read as this run's config: {err}") from None
    changed = resume_changes(saved, cfg)
    if changed:
        key = changed[0]
        raise ConfigError(f"--resume cannot change {key} (saved {_get(saved, key)!r}, asked {_get(cfg, key)!r}): "
                          "a resumed run may change only its budget, logging and device")


def _get(cfg, dotted: str):
    for part in dotted.split("."):
        cfg = getattr(cfg, part)
    return cfg


def distributed() -> tuple[int, int]:
    """(rank, world size): joins the process group under torchrun, else (0, 1)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return (dist.get_rank(), world) if world > 1 else (0, 1)
