"""Hierarchical against flat planning on the same model and tasks, band by band (issue #27).

    python benchmarks/hierarchy.py --world rooms --train-steps 12500 --episodes 300 --seed 0 --out bench_hier
    python benchmarks/hierarchy.py --world rooms --run OUT/run --episodes 300 --seed 0 --out bench_hier

Trains one low-level JEPA (collect + `hjepa train`, as benchmarks/world.py does) unless --run
names a trained one, then its high level (`hjepa train-high`, --high-steps), and plays the same
held-out test tasks with every planner of --planners:

- `flat`: the world's tuned flat planner (Rooms: cem+grad), the baseline;
- `hierarchical`: the high level hands that planner subgoals (actor/hierarchical.py);
- `concat_actions`: ablation, a high level whose macro-action is the span's primitive actions
  concatenated instead of a learned code (trained into OUT/concat/, a copy of the run);
- `unbounded_box`: ablation, the hierarchical planner searching codes outside the data's box.

One JSON line per (planner, band): `benchmark`, `planner`, `band`, `success_rate`,
`sec_per_episode`, `episodes`, `planning_seconds_per_step` (wall clock of the episodes over
their steps: acting is nearly all planning), plus `uses_labels`, `split`, `headline` and
provenance. Every planner here is label-free: latents, actions and goal images only. With
--gif-episodes the hierarchical planner's first episodes of the hardest band are drawn with the
subgoals it chose (OUT/hierarchical.gif). An existing OUT is refused unless --reuse.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import torch

from common import BenchmarkOut, fail, headline, provenance
from hjepa.agent import Agent
from hjepa.cli import hierarchy_config, planner_overrides, run
from hjepa.configurator import planner_for, world_of_run
from hjepa.envs import make_world
from hjepa.eval import evaluate
from hjepa.eval.render import save_gif
from hjepa.seeds import SPLITS
from hjepa.train.checkpoint import Checkpoints

PLANNERS = ("flat", "hierarchical", "concat_actions", "unbounded_box")
RUN_FILES = ("config.json", "model.safetensors", "probe.safetensors")  # what a copy of a run needs to plan


def train_low_level(args, out: Path, quiet: list[str]) -> Path:
    data, run_dir = out / "data", out / "run"
    if not (data / "meta.json").exists():
        run(["collect", "--world", args.world, "--out", str(data), "--trajectories", str(args.trajectories),
             "--length", str(args.length), "--seed", str(args.seed)] + quiet)
    train_args = ["train", "--data", str(data), "--out", str(run_dir), "--minutes", "0", "--steps", str(args.train_steps),
                  "--set", f"train.seed={args.seed}", *args.set] + quiet
    run(train_args + (["--resume"] if Checkpoints(run_dir).exists() else []))
    return run_dir


def copy_run(source: Path, target: Path) -> Path:
    """A planning copy of a run (config, weights, probe), so a high level is written next to its
    model without touching the source run; an existing copy is kept."""
    if not target.exists():
        target.mkdir(parents=True)
        for name in RUN_FILES:
            if (source / name).exists():
                shutil.copy(source / name, target / name)
    return target


def train_high(run_dir: Path, args, extra: list[str], quiet: list[str]) -> dict:
    record = run_dir / "high_level_1.json"
    if record.exists() and json.loads(record.read_text())["config"]["steps"] == args.high_steps:
        return json.loads(record.read_text())["summary"]  # this recipe's high level is already there
    return run(["train-high", str(run_dir), "--steps", str(args.high_steps), "--set", f"seed={args.seed}",
                *args.high_train_set, *extra] + quiet)


def lines_by_band(name: str, summary: dict, records, uses_labels: bool, args) -> list[dict]:
    bands = sorted({r.band for r in records}) if records and records[0].band is not None else [None]
    lines = []
    for band in bands:
        mine = [r for r in records if r.band == band]
        seconds, steps = sum(r.seconds for r in mine), sum(r.steps for r in mine)
        lines.append({"benchmark": "hierarchy", "planner": name, "band": band, **headline(summary["split"]),
                      "uses_labels": uses_labels, "success_rate": float(np.mean([r.success for r in mine])),
                      "sec_per_episode": round(seconds / len(mine), 3), "episodes": len(mine),
                      "planning_seconds_per_step": round(seconds / max(steps, 1), 5),
                      "mean_steps": float(np.mean([r.steps for r in mine])), "seed": args.seed,
                      "torch_threads": torch.get_num_threads()})
    return lines


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--world", default="rooms")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--train-steps", type=int, help="fixed work: low-level JEPA optimizer steps")
    source.add_argument("--run", type=Path, help="a trained low-level run to reuse (its high level is trained into it)")
    p.add_argument("--high-steps", type=int, default=4000, help="high-level optimizer steps (hjepa train-high --steps)")
    p.add_argument("--episodes", type=int, default=300)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--trajectories", type=int, default=3000)
    p.add_argument("--length", type=int, default=64)
    p.add_argument("--planners", nargs="+", choices=PLANNERS, default=list(PLANNERS))
    p.add_argument("--set", nargs="*", default=[], help="low-level training overrides")
    p.add_argument("--high-train-set", nargs="*", default=[], help="high-level training overrides (hjepa train-high --set)")
    p.add_argument("--planner-set", nargs="*", default=[], help="low-level planner overrides")
    p.add_argument("--high-set", nargs="*", default=[], help="high-level planner overrides (hjepa eval --high-set)")
    p.add_argument("--band", help="play only tasks of this band (default: the world's bands in turn)")
    p.add_argument("--split", choices=list(SPLITS), default="test", help="test: held-out tasks (headline numbers); dev: tuning")
    p.add_argument("--gif-episodes", type=int, default=3, help="hierarchical episodes to draw (0: none)")
    p.add_argument("--reuse", action="store_true", help="continue an existing OUT made with the same recipe")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args()
    if args.train_steps is not None and args.train_steps <= 0:
        p.error("--train-steps must be positive")
    quiet = ["--quiet"] if args.quiet else []
    recipe = {"benchmark": "hierarchy", "world": args.world, "train_steps": args.train_steps,
              "run": str(args.run) if args.run else None, "high_steps": args.high_steps, "trajectories": args.trajectories,
              "length": args.length, "seed": args.seed, "set": args.set, "high_train_set": args.high_train_set}
    out = BenchmarkOut(args.out, recipe, args.reuse)
    reused = [part for part in ("data", "run", "concat") if out.existed(part)]
    t0 = time.time()
    if args.run:
        if not (args.run / "model.safetensors").exists():
            fail(f"--run {args.run}: no trained model there")
        run_dir = copy_run(args.run, args.out / "run")
    else:
        run_dir = train_low_level(args, args.out, quiet)
    low_minutes = (time.time() - t0) / 60
    needs_high = {"hierarchical", "unbounded_box"} & set(args.planners)
    high = train_high(run_dir, args, [], quiet) if needs_high else None
    world = make_world(args.world or world_of_run(run_dir))
    flat_cfg = planner_for(world.name, **{"seed": args.seed, **planner_overrides(args.planner_set)})
    variants = {"flat": (run_dir, None), "hierarchical": (run_dir, hierarchy_config(args.seed, args.high_set)),
                "unbounded_box": (run_dir, hierarchy_config(args.seed, [*args.high_set, "planner.max_action=null"]))}
    if "concat_actions" in args.planners:
        concat = copy_run(run_dir, args.out / "concat")
        train_high(concat, args, ["model.macro=concat"], quiet)
        variants["concat_actions"] = (concat, hierarchy_config(args.seed, args.high_set))
    print(json.dumps({"benchmark": "hierarchy", "training": {"low_level_minutes": round(low_minutes, 2), "high_level": high},
                      "reused": reused, "run": str(run_dir), **provenance()}), flush=True)
    for name in args.planners:
        where, hierarchy = variants[name]
        agent = Agent.load(where, flat_cfg, hierarchy=hierarchy)
        record = args.gif_episodes * len(world.bands or [None]) if name == "hierarchical" else 0
        summary, records = evaluate(agent, args.episodes, seed=args.seed, record=record, progress=not args.quiet,
                                    env=world.make_env(**({"band": args.band} if args.band else {})), split=args.split)
        for line in lines_by_band(name, summary, records, agent.uses_labels, args):
            print(json.dumps({**line, "run": str(where), **provenance()}), flush=True)
        if record:
            hardest = [r for r in records[:record] if r.band == (world.bands or [None])[-1]] or records[:record]
            save_gif(hardest[: args.gif_episodes], args.out / "hierarchical.gif")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
