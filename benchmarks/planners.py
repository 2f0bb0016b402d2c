"""Every planner on the same trained world model: success, time, compute, guardrail violations.

    python benchmarks/planners.py --run DIR --episodes 200
    python benchmarks/planners.py --run DIR --episodes 100 --planners cem cem+grad --forbidden 6 24 16 40
    python benchmarks/planners.py --run DIR --episodes 100 --planners cem --anytime 0.01

Each planner runs the world's tuned settings (`hjepa.envs.TwoRoomsWorld.planner()`) with its own
name; `--set key=value` overrides any planner field for all of them. Besides the planner names,
`cem+value` is CEM judged by the learned cost-to-go at the plan's end, and `astar0` is A* with a
zero heuristic (the uninformed baseline for `astar`'s node count); `wavefront` reads its cells
through the run's position probe (fitted here if `hjepa eval` has not written it); the cost-to-go is fitted
first (`hjepa fit-value`) if the run has none, and a "value_geometry" line says how well it
ranks states by their true path length to a goal (`hjepa.eval.value`: for goals in the other
room, the path through the door against the straight line). `--forbidden X0 Y0 X1 Y1`
adds an invisible "lava" rectangle to the environment and, as a guardrail, to the planner: the
guardrail judges predicted states through the run's linear position probe, widened by
`--margin` pixels. With a box, `success_rate_safe_path` is the success rate on the tasks where
a path exists that keeps `--margin` + 1 px from the box (the env's flood fill: a corridor the
cautious agent can use at all); `success_rate` counts every task. `--anytime TOL` lets every
planner stop early once an iteration improves its best cost by less than TOL (a fraction), and
runs easy tasks (start and goal in the same room) next to the hard ones, to show that compute
follows difficulty.

`--search-problems N` instead compares A* with the learned heuristic against A* with a zero
heuristic on N open-loop planning problems (start and goal images of hard tasks, no acting):
nodes expanded until the goal latent is reached, within `--search-budget` expansions. A goal
latent reached is not yet a path: `*_through_wall` counts the found paths whose positions, read
out by the run's probe, change room anywhere but through the door (the model's predictions can
leak through the wall, and search finds such leaks), and `*_valid` the share of problems solved
by a path that does not.

Tasks come from the held-out test split (`hjepa.seeds`; `--split dev` for tuning). Each JSON
line says `uses_labels`: whether that planner acts through anything fitted on simulator labels
(wavefront's probe cells, a forbidden region read through the probe, a Bellman cost-to-go).

Prints a table, then one JSON line per planner (and per task kind with --anytime).
"""
from __future__ import annotations

import argparse
import json
import os

import numpy as np
import torch

from common import headline, provenance
from hjepa.agent import Agent
from hjepa.cli import planner_overrides
from hjepa.configurator import load_probe, load_run_config, load_world_model, planner_for
from hjepa.cost import ForbiddenRegion
from hjepa.data import TrajectoryDataset
from hjepa.envs import TwoRooms
from hjepa.envs.two_rooms import crosses_wall
from hjepa.eval import evaluate, position_probe
from hjepa.seeds import SPLITS, task_seed
from hjepa.train.checkpoint import save_weights
from hjepa.train.value import fit_value

VARIANTS = {"cem+value": {"name": "cem", "terminal_value": True}, "astar0": {"name": "astar", "heuristic": "zero"}}

COLUMNS = ("planner", "tasks", "success_rate", "success_rate_safe_path", "sec_per_episode", "mean_planner_iterations", "planner_iterations_per_episode", "forbidden_steps", "guardrail_stops")


def run_probe(run: str, model):
    """The run's position probe; fitted on its dataset (and saved) if `hjepa eval` has not written one yet."""
    probe = load_probe(run)
    if probe is None:
        cfg = load_run_config(run)
        train_set, holdout = TrajectoryDataset.load(cfg.data, verify_checksums=False).split(cfg.train.holdout_fraction, seed=cfg.train.seed)
        probe, _, _ = position_probe(model, train_set, holdout)
        save_weights(f"{run}/probe.safetensors", {"weight": probe.weight})
    return probe


def check_value(run: str) -> None:
    """Fit the run's cost-to-go if it has none; print how its ranking agrees with the true path lengths."""
    from hjepa.eval.value import value_against_geodesic
    from hjepa.train.value import load_value

    if not os.path.exists(os.path.join(run, "value.json")):
        print(json.dumps({"fit_value": fit_value(run, progress=False)}), flush=True)
    model = load_world_model(run)
    value = load_value(run, model.latent_dim, next(model.parameters()).device)
    print(json.dumps({"benchmark": "value_geometry", **value_against_geodesic(value, model), "run": run}), flush=True)


def compare_search(run: str, problems: int, budget: int, seed: int, split: str) -> None:
    """Nodes A* expands to reach the goal latent, learned heuristic vs zero, on the same problems."""
    from hjepa.actor import make_planner
    from hjepa.train.value import load_value

    model = load_world_model(run)
    value = load_value(run, model.latent_dim)
    probe = run_probe(run, model)
    env = TwoRooms()
    results = {}
    for heuristic in ("value", "zero"):
        # open loop: no episode has been lived, so there is nothing for the episodic correction to read
        cfg = planner_for("two_rooms", name="astar", heuristic=heuristic, max_expansions=budget, correction_radius=0.0)
        planner = make_planner(model, cfg, value=value)
        nodes, found, through_wall = [], [], []
        for i in range(problems):
            start_obs, info = env.reset(seed=task_seed(split, seed, i))
            obs = torch.from_numpy(np.stack([start_obs, info["goal_obs"]])).float()
            with torch.no_grad():
                z, z_goal = model.encode(obs).unbind(0)
                plan = planner.plan(z, z_goal)
                path = probe(torch.cat([z[None], plan.imagined])).cpu().numpy()
            nodes.append(plan.iterations)
            found.append(plan.cost <= planner.cfg.goal_radius)
            through_wall.append(found[-1] and crosses_wall(path, info["wall_x"], info["door_y"]))
        results[heuristic] = {"mean_nodes": float(np.mean(nodes)), "found": float(np.mean(found)),
                              "through_wall": int(np.sum(through_wall)), "valid": float(np.mean(found) - np.mean(through_wall))}
    line = {"benchmark": "search", **headline(split), "uses_labels": value.uses_labels, "problems": problems, "budget": budget, **{f"{h}_{k}": v for h, r in results.items() for k, v in r.items()},
            "node_ratio": results["value"]["mean_nodes"] / max(results["zero"]["mean_nodes"], 1e-9), "run": run}
    print(json.dumps(line))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", required=True)
    p.add_argument("--episodes", type=int, default=200)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--planners", nargs="+", default=["mppi", "cem", "gradient", "cem+grad", "cem+value", "astar", "astar0", "wavefront"])
    p.add_argument("--forbidden", type=float, nargs=4, metavar=("X0", "Y0", "X1", "Y1"))
    # 1 px: a probe R^2 of 0.998 on positions of std ~15 px is a read-out error of ~0.7 px RMS;
    # 0 executed forbidden steps in 200 episodes at 1 px and at 2 px (benchmarks/RESULTS.md), and
    # 2 px closes the corridor between the box and the wall in narrow layouts.
    p.add_argument("--margin", type=float, default=1.0, help="pixels added around the forbidden box by the guardrail")
    p.add_argument("--anytime", type=float, default=0.0, help="convergence tolerance; also runs easy (same-room) tasks")
    p.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="planner overrides for every planner")
    p.add_argument("--search-problems", type=int, default=0, help="compare A* heuristics on this many planning problems")
    p.add_argument("--search-budget", type=int, default=3000)
    p.add_argument("--split", choices=list(SPLITS), default="test", help="test: held-out tasks (headline numbers); dev: tuning")
    args = p.parse_args()
    if args.search_problems:
        check_value(args.run)
        compare_search(args.run, args.search_problems, args.search_budget, args.seed, args.split)
        return

    overrides = planner_overrides(args.set)
    if args.anytime:
        overrides.setdefault("tolerance", args.anytime)
    guardrails = []
    if args.forbidden or "wavefront" in args.planners:
        probe = run_probe(args.run, load_world_model(args.run))
    if args.forbidden:
        x0, y0, x1, y1 = args.forbidden
        guardrails.append(ForbiddenRegion(probe, low=[x0, y0], high=[x1, y1], margin=args.margin))
    task_kinds = ["hard", "easy"] if args.anytime else ["hard"]

    configs = {name: planner_for("two_rooms", **{**overrides, "name": name, **VARIANTS.get(name, {}), "seed": args.seed})
               for name in args.planners}
    if any(c.terminal_value or (c.name == "astar" and c.heuristic == "value") for c in configs.values()):
        check_value(args.run)
    lines = []
    for name, cfg in configs.items():
        agent = Agent.load(args.run, cfg, guardrails=guardrails)
        for kind in task_kinds:
            env = TwoRooms(forbidden=tuple(args.forbidden) if args.forbidden else None, same_room=kind == "easy",
                           safe_clearance=args.margin + 1.0)
            summary, _ = evaluate(agent, args.episodes, seed=args.seed, env=env, split=args.split)
            line = {"benchmark": "planners", "planner": name, "tasks": kind, "uses_labels": agent.uses_labels, **summary, **headline(summary["split"]),
                    "forbidden": args.forbidden, "overrides": args.set, "torch_threads": torch.get_num_threads(),
                    "run": args.run, **provenance()}
            lines.append(line)
            print(json.dumps(line), flush=True)
    print()
    print("  ".join(f"{c:>23}" for c in COLUMNS))
    for line in lines:
        cells = [line.get(c, "-") for c in COLUMNS]  # success_rate_safe_path only with --forbidden
        print("  ".join(f"{round(v, 3) if isinstance(v, float) else str(v):>23}" for v in cells))
    if args.anytime:  # does compute follow difficulty? easy / hard, per replan and per task
        by_kind = {(line["planner"], line["tasks"]): line for line in lines}
        for name in configs:
            easy, hard = by_kind[name, "easy"], by_kind[name, "hard"]
            ratio = lambda key: easy[key] / hard[key] if hard[key] else None
            print(json.dumps({"benchmark": "anytime", "planner": name, "tolerance": args.anytime,
                              "easy_over_hard_per_replan": ratio("mean_planner_iterations"),
                              "easy_over_hard_per_episode": ratio("planner_iterations_per_episode"),
                              "success_hard": hard["success_rate"], "success_easy": easy["success_rate"]}))


if __name__ == "__main__":
    main()
