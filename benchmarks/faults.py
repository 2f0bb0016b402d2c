"""Fault benchmark: kill a training run with SIGKILL again and again, resume it each time, and
check that it ends with the weights of a run never interrupted.

    python benchmarks/faults.py --kills 20 --seed 0 --out bench_faults

Trains a small JEPA (`--train-steps` steps, a checkpoint every `--checkpoint-every`) once without
interruption, then again under fire: each attempt is `hjepa train` (with `--resume` after the
first), killed with SIGKILL at a random moment after it has started stepping; every fourth kill
instead waits for a checkpoint unit to be half written (its temporary directory on disk) and
kills then. After the last kill the run is resumed to the end. Steps lost per kill = the last
step the killed process logged minus the step its successor resumed from. One JSON line:
kills, resumed_ok (kills after which the next attempt resumed from a complete checkpoint and
went on stepping, or the last one finished),
max_steps_lost, kills_during_checkpoint_write (kills that left a half-written unit behind),
final_weights_match_uninterrupted, seconds.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

from common import BenchmarkOut, provenance
from hjepa.train.checkpoint import Checkpoints, load_weights

MODEL = ["train.batch_size=16", "train.seq_len=3", "train.log_every=1", "train.warmup_steps=10",
         "model.encoder.channels=[8,8,8]", "model.encoder.latent_dim=16", "model.predictor.hidden_dim=64"]


def train_cmd(data: Path, run: Path, args, resume: bool) -> list[str]:
    cmd = [sys.executable, "-m", "hjepa.cli", "train", "--data", str(data), "--out", str(run), "--steps",
           str(args.train_steps), "--minutes", "0", "--quiet"]
    if resume:
        return cmd + ["--resume", "--set", f"train.checkpoint_every={args.checkpoint_every}"]
    return cmd + ["--set", f"train.seed={args.seed}", f"train.checkpoint_every={args.checkpoint_every}", *MODEL]


def last_logged_step(run: Path) -> int:
    path = run / "metrics.csv"
    if not path.is_file():
        return 0
    with open(path, newline="") as f:
        rows = [r for r in csv.reader(f)][1:]
    return max((int(r[0]) for r in rows if r and r[0].isdigit()), default=0)


def half_written(run: Path) -> set[str]:
    """The temporary directories of checkpoint units being written (or left by a killed write)."""
    return {p.name for p in (run / "checkpoints").glob(".step_*.tmp")}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--kills", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=Path("bench_faults"))
    p.add_argument("--train-steps", type=int, default=800)
    p.add_argument("--checkpoint-every", type=int, default=10)
    p.add_argument("--max-wait", type=float, default=1.5, help="seconds of stepping before a random kill, at most")
    p.add_argument("--reuse", action="store_true", help="reuse the dataset of an existing OUT made with the same --seed")
    args = p.parse_args()
    if args.kills < 1 or args.train_steps < 1 or args.checkpoint_every < 1:
        p.error("--kills, --train-steps and --checkpoint-every must be positive")
    out = BenchmarkOut(args.out, {"benchmark": "faults", "seed": args.seed}, args.reuse)  # the runs start over anyway
    reused = ["data"] if out.existed("data/meta.json") else []
    t0 = time.time()
    rng = np.random.default_rng(args.seed)
    env = dict(os.environ, OMP_NUM_THREADS="1")  # one thread: the same arithmetic in every process
    data, whole, cut = args.out / "data", args.out / "whole", args.out / "cut"
    if not (data / "meta.json").exists():
        subprocess.run([sys.executable, "-m", "hjepa.cli", "collect", "--out", str(data), "--trajectories", "200",
                        "--length", "32", "--seed", str(args.seed), "--quiet"], check=True, env=env, stdout=subprocess.DEVNULL)
    for run in (whole, cut):  # a benchmark run starts from nothing
        if run.exists():
            subprocess.run(["rm", "-rf", str(run)], check=True)
    subprocess.run(train_cmd(data, whole, args, False), check=True, env=env, stdout=subprocess.DEVNULL)

    kills, resumed_ok, torn, lost = 0, 0, 0, []
    while kills < args.kills:
        resume = Checkpoints(cut).exists()
        start_step = Checkpoints(cut).load().state["step"] if resume else 0
        left_before = half_written(cut)  # a torn unit of an earlier kill, not yet cleaned up
        proc = subprocess.Popen(train_cmd(data, cut, args, resume), env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        # until it steps past where it resumed (the first attempt: until it has a unit to resume from)
        while proc.poll() is None and (last_logged_step(cut) <= start_step or not Checkpoints(cut).units()):
            time.sleep(0.005)
        resumed_ok += resume and proc.poll() is None
        during_write = kills % 4 == 3
        deadline = time.time() + (10.0 if during_write else rng.uniform(0, args.max_wait))
        while proc.poll() is None and time.time() < deadline and not (during_write and half_written(cut) - left_before):
            time.sleep(0.0005 if during_write else 0.005)
        if proc.poll() is not None:  # it finished (or failed) before the kill: the budget is too small
            err = proc.stderr.read()
            raise SystemExit(f"the run ended (exit {proc.returncode}) before kill {kills + 1}: raise --train-steps\n{err}")
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        kills += 1
        torn += bool(half_written(cut) - left_before)
        lost.append(last_logged_step(cut) - Checkpoints(cut).load().state["step"])
    final = subprocess.run(train_cmd(data, cut, args, True), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    resumed_ok += final.returncode == 0
    a, b = load_weights(whole / "model.safetensors"), load_weights(cut / "model.safetensors")
    match = a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    print(json.dumps({"benchmark": "faults", "kills": kills, "resumed_ok": resumed_ok, "max_steps_lost": max(lost),
                      "mean_steps_lost": round(float(np.mean(lost)), 2), "checkpoint_every": args.checkpoint_every,
                      "kills_during_checkpoint_write": int(torn), "final_steps": Checkpoints(cut).load().state["step"],
                      "train_steps": args.train_steps, "final_weights_match_uninterrupted": bool(match),
                      "seed": args.seed, "seconds": round(time.time() - t0, 1), "reused": reused, **provenance()}))


if __name__ == "__main__":
    main()
