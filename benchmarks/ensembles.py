"""Dense, ensemble and mixture-of-experts predictors on the same Two-Rooms data and budget.

    python benchmarks/ensembles.py --train-steps 12500 --episodes 200 --seed 0 --out OUT

Each variant is the Two-Rooms benchmark (`two_rooms.py`, fixed work: the same data, JEPA steps,
exploration and refit) with its predictor kind set, in OUT/<variant>; the ensemble is then also
planned with pessimism (`uncertainty_weight`) and with the disagreement guardrail
(`--max-uncertainty`). One JSON line per variant:

- `params` / `active_params`: the predictor's parameters, and those used per prediction;
- `success_rate`, `sec_per_episode` (held-out test tasks unless `--split dev`), `rollout_error`;
- `disagreement_error_spearman`: the ensemble's disagreement against its actual open-loop error
  on held-out windows (`hjepa.eval.uncertainty`; null for one-member models);
- `wall_pass_through_rate`: imagined agents pushed into the wall away from the door that come out
  on the other side (`wall_contact.py`; an ensemble's mean prediction, `..._per_member` each
  member), and `wall_disagreement_error_spearman` over those pushes; `planned_past_wall`: the
  share of plans toward the mirror image across the wall that the planner (with pessimism, for
  that line) takes through the wall in imagination;
- for the mixture, `expert_share_contact` / `expert_share_free`: the share of held-out pushes
  into a wall, and of free moves, that each expert takes.

`--variants` picks some; `--reuse` continues an OUT made with the same recipe (training is not
repeated: each variant's two_rooms.py run reuses its own folder).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

from common import BenchmarkOut, fail, headline, provenance
from hjepa.cli import run
from hjepa.configurator import load_run_config, load_world_model
from hjepa.data import TrajectoryDataset
from hjepa.seeds import SPLITS
from hjepa.world_model.predictor import active_parameters, count_parameters

HERE = Path(__file__).resolve().parent
# Predictor settings per variant. The ensemble's members are half as wide as the dense model, so
# that planning with 5 of them costs under 2x the dense model's (measured: benchmarks/RESULTS.md).
VARIANTS = {
    "dense": ["model.predictor.kind=mlp"],
    "ensemble": ["model.predictor.kind=ensemble", "model.predictor.members=5", "model.predictor.hidden_dim=192"],
    "moe": ["model.predictor.kind=moe", "model.predictor.experts=4", "model.predictor.top_k=1"],
}


def last_json(lines: str) -> dict:
    return json.loads([line for line in lines.splitlines() if line.startswith("{")][-1])


def script(name: str, *args: str) -> dict:
    """Run benchmarks/<name> and return its last JSON line."""
    done = subprocess.run([sys.executable, str(HERE / name), *args], capture_output=True, text=True)
    if done.returncode:
        sys.stderr.write(done.stderr)
        fail(f"{name} {' '.join(args)} failed (exit {done.returncode})")
    return last_json(done.stdout)


@torch.no_grad()
def expert_shares(model, run_dir: Path, windows: int = 4096, seed: int = 0) -> dict:
    """Which experts take the held-out transitions that push into a wall and which the free ones:
    per expert, its share of each kind (one predictor step; a push is "contact" when the agent
    moved less than half the commanded displacement, read from the dataset's true states, used
    here to describe the experts only)."""
    cfg = load_run_config(run_dir)
    dataset = TrajectoryDataset.load(cfg.data, verify_checksums=False)
    _, holdout = dataset.split(cfg.train.holdout_fraction, seed=cfg.train.seed)
    k, rng = model.frameskip, np.random.default_rng(seed)
    traj = rng.integers(0, holdout.num_trajectories, windows)
    start = rng.integers(0, holdout.length - k + 1, windows)
    obs = torch.from_numpy(holdout.observations[traj, start]).float() / 255
    actions = torch.from_numpy(holdout.actions[traj[:, None], start[:, None] + np.arange(k)])  # (N, k, A)
    commanded = actions.sum(1).norm(dim=-1).numpy()
    moved = np.linalg.norm(holdout.states[traj, start + k] - holdout.states[traj, start], axis=-1)
    contact = (moved < 0.5 * commanded) & (commanded > 1.0)
    chosen = model.predictor.choice(model.encode(obs), actions.reshape(windows, -1)).numpy()  # (N, top_k)
    share = lambda rows: [round(float((chosen[rows] == e).mean()), 4) for e in range(model.predictor.cfg.experts)]  # noqa: E731
    return {"contact_transitions": int(contact.sum()), "free_transitions": int((~contact).sum()),
            "expert_share_contact": share(contact), "expert_share_free": share(~contact)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--train-steps", type=int, required=True, help="JEPA optimizer steps per variant (fixed work)")
    p.add_argument("--episodes", type=int, default=200)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--variants", nargs="*", choices=list(VARIANTS), default=list(VARIANTS))
    p.add_argument("--trajectories", type=int, default=2000, help="two_rooms.py's: random walks collected")
    p.add_argument("--explore-episodes", type=int, default=65, help="two_rooms.py's: the agent's own tasks")
    p.add_argument("--refit-steps", type=int, default=3300, help="two_rooms.py's: predictor refit steps")
    p.add_argument("--uncertainty-weight", type=float, default=1.0, help="the pessimistic ensemble's weight")
    p.add_argument("--max-uncertainty", type=float, default=2.0, help="the guarded ensemble's bound (x holdout p99)")
    p.add_argument("--wall-cases", type=int, default=200, help="wall_contact.py's pushes into the wall")
    p.add_argument("--split", choices=list(SPLITS), default="test")
    p.add_argument("--reuse", action="store_true")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args()
    recipe = {"benchmark": "ensembles", "train_steps": args.train_steps, "seed": args.seed, "variants": VARIANTS,
              "trajectories": args.trajectories, "explore_episodes": args.explore_episodes, "refit_steps": args.refit_steps}
    out = BenchmarkOut(args.out, recipe, args.reuse)
    quiet = ["--quiet"] if args.quiet else []
    for variant in args.variants:
        folder = args.out / variant
        bench = script("two_rooms.py", "--train-steps", str(args.train_steps), "--episodes", str(args.episodes),
                       "--seed", str(args.seed), "--out", str(folder), "--collect-set", "speed_share=0.75",
                       "--trajectories", str(args.trajectories), "--explore-episodes", str(args.explore_episodes),
                       "--refit-steps", str(args.refit_steps),
                       "--split", args.split, "--set", *VARIANTS[variant], *(["--reuse"] if out.existed(variant) else []),
                       *quiet)
        run_dir = folder / "run"
        model = load_world_model(run_dir)
        wall = script("wall_contact.py", str(run_dir), "--cases", str(args.wall_cases), "--plan")
        uncertainty = run_dir / "uncertainty.json"  # written by the benchmark's eval for an ensemble
        spearman = json.loads(uncertainty.read_text())["spearman"] if uncertainty.is_file() else None
        experts = expert_shares(model, run_dir) if hasattr(model.predictor, "choice") else {}
        plans = [(variant, bench)]
        planned = {variant: wall["planned_past_wall"]}
        if model.members > 1:
            planned[f"{variant}+pessimism"] = script("wall_contact.py", str(run_dir), "--cases", str(args.wall_cases), "--plan",
                                                     "--planner-set", f"uncertainty_weight={args.uncertainty_weight}")["planned_past_wall"]
            common = ["eval", str(run_dir), "--episodes", str(args.episodes), "--seed", str(args.seed), "--split", args.split,
                      "--skip-probes", *quiet]
            with contextlib.redirect_stdout(sys.stderr):  # stdout carries this benchmark's lines only
                plans.append((f"{variant}+pessimism", run(common + ["--set", f"uncertainty_weight={args.uncertainty_weight}"])))
                plans.append((f"{variant}+guardrail", run(common + ["--max-uncertainty", str(args.max_uncertainty)])))
        for name, result in plans:
            line = {"benchmark": "ensembles", "variant": name, **headline(args.split), "uses_labels": result["uses_labels"],
                    "params": count_parameters(model.predictor), "active_params": active_parameters(model.predictor),
                    "success_rate": result["success_rate"], "sec_per_episode": round(result["sec_per_episode"], 3),
                    "episodes": result["episodes"], "rollout_error": bench.get("rollout_error"),
                    "disagreement_error_spearman": None if spearman is None else round(spearman, 4),
                    "wall_pass_through_rate": wall["imagined_past_wall"],
                    "wall_pass_through_rate_per_member": wall["imagined_past_wall_per_member"],
                    "wall_disagreement_error_spearman": wall.get("disagreement_error_spearman"),
                    "planned_past_wall": planned.get(name), **experts,
                    "train_steps": bench["train_steps"], "train_minutes": bench["train_minutes"],
                    "settings": VARIANTS[variant] + ([f"uncertainty_weight={args.uncertainty_weight}"] if "pessimism" in name else [])
                    + ([f"max_uncertainty={args.max_uncertainty}"] if "guardrail" in name else []),
                    "seed": args.seed, "torch_threads": torch.get_num_threads(), "run": str(run_dir), **provenance()}
            print(json.dumps(line))
            sys.stdout.flush()


if __name__ == "__main__":
    main()
