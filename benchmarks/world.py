"""One benchmark for every world: collect -> train (fixed work or wall clock) -> plan, one JSON line out.

    python benchmarks/world.py --world rooms --train-steps 12500 --episodes 300 --seed 0 --out bench_rooms
    python benchmarks/world.py --world pendulum --train-steps 6000 --episodes 60 --protocol dataset --out bench_pendulum

`--world` is a registered world (two_rooms, rooms, pendulum) or any Gymnasium id with image
observations or rgb_array rendering and a Box action space. `--protocol world` draws the
world's own tasks (Rooms: banded by the doors the shortest path crosses, cycling 1, 2, 3-4);
`--protocol dataset` cuts them from held-out trajectories (start at step t, goal the frame at
t + --goal-offset, --budget steps). The same tasks are also played by a random policy
(`random_success_rate`) unless --no-random-baseline. Leaves OUT/data and OUT/run (loadable by
hjepa.Agent.load). The tasks are the held-out test split (`hjepa.seeds`; `--split dev` for
tuning). An existing OUT is refused unless `--reuse` (same recipe; the JSON line lists what
was reused).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from common import BenchmarkOut, headline, provenance
from hjepa.actor import PLANNER_NAMES
from hjepa.cli import run
from hjepa.seeds import SPLITS
from hjepa.train.checkpoint import Checkpoints


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--world", required=True)
    budget = p.add_mutually_exclusive_group(required=True)
    budget.add_argument("--train-steps", type=int, help="fixed work: JEPA optimizer steps (the same on any machine)")
    budget.add_argument("--train-minutes", type=float, help="wall-clock budget instead")
    p.add_argument("--episodes", type=int, default=300)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--trajectories", type=int, default=2000)
    p.add_argument("--length", type=int, default=64, help="actions per training trajectory")
    p.add_argument("--protocol", choices=["world", "dataset"], default="world")
    p.add_argument("--goal-offset", type=int, default=25, help="dataset protocol: steps from start to goal")
    p.add_argument("--budget", type=int, help="steps per task (default: the world's; dataset protocol 50)")
    p.add_argument("--planner", choices=list(PLANNER_NAMES), help="default: the world's tuned planner")
    p.add_argument("--no-random-baseline", action="store_true")
    p.add_argument("--collect-set", nargs="*", default=[], help="collection overrides")
    p.add_argument("--set", nargs="*", default=[], help="training overrides")
    p.add_argument("--planner-set", nargs="*", default=[], help="planner overrides")
    p.add_argument("--split", choices=list(SPLITS), default="test", help="test: held-out tasks (headline numbers); dev: tuning")
    p.add_argument("--reuse", action="store_true", help="continue an existing OUT made with the same recipe")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args()
    if (args.train_steps is not None and args.train_steps <= 0) or (args.train_minutes is not None and args.train_minutes <= 0):
        p.error("the training budget must be positive")
    quiet = ["--quiet"] if args.quiet else []
    recipe = {"benchmark": "world", "world": args.world, "train_steps": args.train_steps, "train_minutes": args.train_minutes,
              "trajectories": args.trajectories, "length": args.length, "seed": args.seed, "collect_set": args.collect_set,
              "set": args.set}
    out = BenchmarkOut(args.out, recipe, args.reuse)
    reused = [part for part in ("data", "run") if out.existed(part)]
    data, run_dir = args.out / "data", args.out / "run"
    t0 = time.time()
    if not (data / "meta.json").exists():
        run(["collect", "--world", args.world, "--out", str(data), "--trajectories", str(args.trajectories),
             "--length", str(args.length), "--seed", str(args.seed), "--set", *args.collect_set] + quiet)
    collect_s = time.time() - t0
    budget = ["--minutes", "0", "--steps", str(args.train_steps)] if args.train_steps else ["--minutes", str(args.train_minutes)]
    train_args = ["train", "--data", str(data), "--out", str(run_dir), *budget, "--set", f"train.seed={args.seed}", *args.set] + quiet
    if Checkpoints(run_dir).exists():
        train_args.append("--resume")
    summary = run(train_args)
    eval_args = ["eval", str(run_dir), "--world", args.world, "--episodes", str(args.episodes), "--seed", str(args.seed),
                 "--split", args.split, "--protocol", args.protocol, "--goal-offset", str(args.goal_offset),
                 "--gif", str(args.out / "episodes.gif"),
                 "--set", *args.planner_set] + quiet
    eval_args += ["--budget", str(args.budget)] if args.budget else []
    eval_args += ["--planner", args.planner] if args.planner else []
    eval_args += [] if args.no_random_baseline else ["--random-baseline"]
    result = run(eval_args)
    line = {
        "benchmark": "world",
        "world": result["world"],
        "protocol": args.protocol,
        **headline(result["split"]),
        "uses_labels": result["uses_labels"],
        "success_rate": result["success_rate"],
        "sec_per_episode": round(result["sec_per_episode"], 3),
        "episodes": result["episodes"],
        "train_steps": summary["steps"],
        "train_minutes": round(summary["train_minutes"], 2),
        "planner": result["planner"],
        "mean_steps": result["mean_steps"],
    }
    for key in ("success_by_band", "episodes_by_band", "final_metrics", "random_success_rate", "random_success_by_band", "goal_offset",
                "budget", "probe_r2", "probe_r2_by_dim", "rollout_error", "rollout_copy_error"):
        if key in result:
            line[key] = result[key]
    meta = json.loads((data / "meta.json").read_text())  # what the collection did, e.g. how often the block moved
    stats = {k: round(v, 4) for k, v in meta.items() if isinstance(v, float) and k not in ("seed", "version")}
    if stats:
        line["data_stats"] = stats
    line.update({"collect_seconds": round(collect_s, 1), "seed": args.seed, "torch_threads": torch.get_num_threads(),
                 "overrides": args.collect_set + args.set + args.planner_set, "reused": reused, "run": str(run_dir),
                 **provenance()})
    print(json.dumps(line))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
