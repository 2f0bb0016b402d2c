"""Two-Rooms benchmark: collect -> train (wall-clock or fixed-work budget) -> plan, one JSON line out.

    python benchmarks/two_rooms.py --train-minutes 20 --episodes 200 --seed 0 --out bench_out

The training budget covers three phases: the JEPA (train-minutes - explore-minutes -
refit-minutes); the agent collecting its own reward-free data by planning toward random goal
images (`hjepa explore`, explore-minutes; 0 skips it); the predictor refit on cached latents of
both datasets (`hjepa refit-predictor --extra-data`, refit-minutes; 0 skips it).

`--train-steps N` replaces the wall clock by a fixed amount of work, so two machines (or two
runs) train the same model: N JEPA steps, `--explore-episodes` tasks of the agent's own
data, `--refit-steps` refit steps (defaults: what the 20-minute budget bought on 2026-11-25, commit 5ae1250).

    python benchmarks/two_rooms.py --train-steps 12500 --episodes 200 --seed 0 --out bench_out

Leaves the dataset in OUT/data and the trained run in OUT/run (loadable by hjepa.Agent.load).
Extra training overrides: --set loss.idm=0 ...; planner overrides: --planner-set horizon=10 ...

The evaluation tasks are the held-out test split (`hjepa.seeds`); `--split dev` is for tuning
and its numbers are not headline numbers. An existing OUT is refused unless `--reuse`, which
continues it under the same recipe and lists in the JSON line what it reused.
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
    budget = p.add_mutually_exclusive_group(required=True)
    budget.add_argument("--train-minutes", type=float, help="wall-clock budget of the three phases")
    budget.add_argument("--train-steps", type=int, help="a fixed amount of work instead: JEPA optimizer steps "
                        "(with --explore-episodes and --refit-steps; the same numbers on any machine)")
    p.add_argument("--episodes", type=int, default=200)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--explore-minutes", type=float, default=3.0, help="with --train-minutes: part of it for the agent's own data")
    p.add_argument("--refit-minutes", type=float, default=3.0, help="with --train-minutes: part of it for the predictor refit")
    p.add_argument("--explore-episodes", type=int, default=65, help="with --train-steps: the agent's own tasks")
    p.add_argument("--refit-steps", type=int, default=3300, help="with --train-steps: predictor refit steps (0 skips it)")
    p.add_argument("--trajectories", type=int, default=2000)
    p.add_argument("--planner", choices=list(PLANNER_NAMES), help="default: the world's tuned planner")
    p.add_argument("--collect-set", nargs="*", default=[], help="collection overrides, e.g. speed_share=0.75")
    p.add_argument("--set", nargs="*", default=[], help="training overrides")
    p.add_argument("--planner-set", nargs="*", default=[], help="planner overrides")
    p.add_argument("--split", choices=list(SPLITS), default="test", help="test: held-out tasks (headline numbers); dev: tuning")
    p.add_argument("--reuse", action="store_true", help="continue an existing OUT made with the same recipe")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args()
    # Each phase's budget as CLI arguments (None: the phase is skipped); fixed work runs without a wall clock (0 minutes).
    if args.train_steps is not None:
        if args.train_steps <= 0 or min(args.explore_episodes, args.refit_steps) < 0:
            p.error("--train-steps must be positive, --explore-episodes and --refit-steps at least 0")
        jepa_budget = ["--minutes", "0", "--steps", str(args.train_steps)]
        explore_budget = ["--minutes", "0", "--episodes", str(args.explore_episodes)] if args.explore_episodes > 0 else None
        refit_budget = ["--minutes", "0", "--set", f"steps={args.refit_steps}"] if args.refit_steps > 0 else None
    else:
        if min(args.refit_minutes, args.explore_minutes) < 0 or args.refit_minutes + args.explore_minutes >= args.train_minutes:
            p.error("--explore-minutes and --refit-minutes must be at least 0 and leave part of --train-minutes to the JEPA")
        jepa_budget = ["--minutes", str(args.train_minutes - args.explore_minutes - args.refit_minutes)]
        explore_budget = ["--minutes", str(args.explore_minutes), "--episodes", "100000"] if args.explore_minutes > 0 else None
        refit_budget = ["--minutes", str(args.refit_minutes)] if args.refit_minutes > 0 else None
    quiet = ["--quiet"] if args.quiet else []
    recipe = {"benchmark": "two_rooms", "train_steps": args.train_steps, "train_minutes": args.train_minutes,
              "explore_minutes": args.explore_minutes, "refit_minutes": args.refit_minutes,
              "explore_episodes": args.explore_episodes, "refit_steps": args.refit_steps, "trajectories": args.trajectories,
              "seed": args.seed, "collect_set": args.collect_set, "set": args.set}
    out = BenchmarkOut(args.out, recipe, args.reuse)
    reused = [part for part in ("data", "run", "explored", "run/refit.json") if out.existed(part)]
    data, run_dir = args.out / "data", args.out / "run"
    t0 = time.time()
    if not (data / "meta.json").exists():
        run(["collect", "--out", str(data), "--trajectories", str(args.trajectories), "--seed", str(args.seed),
             "--set", *args.collect_set] + quiet)
    collect_s = time.time() - t0
    train_args = ["train", "--data", str(data), "--out", str(run_dir), *jepa_budget,
                  "--set", f"train.seed={args.seed}", *args.set] + quiet
    if Checkpoints(run_dir).exists():
        train_args.append("--resume")
    summary = run(train_args)
    refit_record, explored = run_dir / "refit.json", args.out / "explored"
    has_explored = explore_budget is not None and (explored / "meta.json").exists()
    if explore_budget is not None and not has_explored:  # a re-run of the benchmark does not explore or refit twice
        run(["explore", str(run_dir), "--out", str(explored), *explore_budget] + quiet)
        has_explored = True
    explore = json.loads((explored / "meta.json").read_text()) if has_explored else {"seconds": 0.0, "steps": 0}
    if refit_budget is not None and not refit_record.exists():
        extra = ["--extra-data", str(explored)] if has_explored else []
        run(["refit-predictor", str(run_dir), *refit_budget, *extra] + quiet)
    refit = json.loads(refit_record.read_text())["summary"] if refit_record.exists() else {"minutes": 0.0, "steps": 0}
    planner = ["--planner", args.planner] if args.planner else []
    result = run(["eval", str(run_dir), "--episodes", str(args.episodes), *planner, "--seed", str(args.seed),
                  "--split", args.split, "--gif", str(args.out / "episodes.gif"), "--set", *args.planner_set] + quiet)
    line = {
        "benchmark": "two_rooms",
        **headline(result["split"]),
        "uses_labels": result["uses_labels"],  # training, exploration and refit read no labels; the planner may
        "success_rate": result["success_rate"],
        "sec_per_episode": round(result["sec_per_episode"], 3),
        "train_minutes": round(summary["train_minutes"] + explore["seconds"] / 60 + refit["minutes"], 2),
        "train_steps": summary["steps"],
        "explore_steps": explore["steps"],
        "refit_steps": refit["steps"],
        "episodes": result["episodes"],
        "planner": result["planner"],
        "mean_steps": result["mean_steps"],
        "probe_r2": result.get("probe_r2"),
        "rollout_error": result.get("rollout_error"),
        "collect_seconds": round(collect_s, 1),
        "seed": args.seed,
        "torch_threads": torch.get_num_threads(),  # float reductions, hence closed-loop outcomes, depend on it
        "overrides": args.collect_set + args.set + args.planner_set,
        "reused": reused,
        "run": str(run_dir),
        **provenance(),
    }
    print(json.dumps(line))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
