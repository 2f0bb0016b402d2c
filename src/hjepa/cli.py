"""Command line: hjepa collect | train | explore | refit-predictor | train-high | eval | fit-value | value-map | export | import | demo | train-video | physics-pair | surprise."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from .actor import PLANNER_NAMES
from .config import ConfigError, apply_overrides, load_file
from .data.dataset import DatasetError
from .data.video_io import VideoError
from .seeds import MAX_SEED, SPLITS, STRIDE, check_seed
from .train.checkpoint import CheckpointError, write_json

USER_ERRORS = (DatasetError, CheckpointError, ConfigError, FileNotFoundError, NotADirectoryError, IsADirectoryError,
               FileExistsError, PermissionError, VideoError)


class Parser(argparse.ArgumentParser):
    """argparse whose mistakes are a ConfigError: one line `hjepa: error: ...`, exit status 2."""

    def error(self, message: str):
        command = self.prog.removeprefix("hjepa").strip()
        raise ConfigError(f"{command}: {message}" if command else message)


def _number(kind, low: float, strict: bool):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {'an integer' if kind is int else 'a number'}, got {text!r}") from None
        if value != value or value in (float("inf"), float("-inf")):
            raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
        if value < low or (strict and value == low):
            raise argparse.ArgumentTypeError(f"must be {'>' if strict else '>='} {low:g}, got {text}")
        return value
    return parse


positive_int, count = _number(int, 0, strict=True), _number(int, 0, strict=False)
positive_float = _number(float, 0, strict=True)
nonneg_float = _number(float, 0.0, strict=False)


def _new_dataset_dir(out) -> None:
    """--out for a dataset: a directory that does not hold one yet (never overwrite data)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file: name a directory for the dataset")
    if (out / "meta.json").exists():
        raise ConfigError(f"{out} already holds a dataset: choose another --out")


def _dir_arg(out) -> Path:
    """--out for a directory of results: it may exist, but not as a file."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file: name a directory")
    return out


def _output_file(path, flag: str) -> None:
    """A file to write: refuse early (before any work) when a directory on its way is a file."""
    for parent in Path(path).parents:
        if parent.exists() and not parent.is_dir():
            raise ConfigError(f"{flag} {path}: {parent} is a file, not a directory")


def cmd_collect(args) -> dict:
    from .envs import make_world

    _new_dataset_dir(args.out)
    check_seed(args.seed, "collect")
    if args.trajectories >= STRIDE:  # one seed's block of collect seeds holds STRIDE - 1 trajectories
        raise ConfigError(f"--trajectories: at most {STRIDE - 1:,} per --seed, got {args.trajectories:,}: "
                          "collect several datasets with different seeds")
    world = make_world(args.world)
    overrides = list(args.set or [])
    if args.fixed_layout:
        layout = args.fixed_layout[0] if len(args.fixed_layout) == 1 else list(args.fixed_layout)
        overrides.append(f"fixed_layout={layout}")
    dataset = world.collect(args.trajectories, args.length, seed=args.seed, overrides=overrides, progress=not args.quiet)
    dataset.save(args.out)
    result = {"out": str(args.out), "world": world.name, "trajectories": dataset.num_trajectories, "length": dataset.length,
              "obs_shape": list(dataset.obs_shape), "action_dim": dataset.action_dim}
    for key in ("door_crossing_fraction", "room_change_fraction"):
        if key in dataset.meta:
            result[key] = round(dataset.meta[key], 3)
    print(json.dumps(result))
    return result


def cmd_train(args) -> dict:
    from .configurator import load_run_config, train_config_for
    from .train import RunConfig, train
    from .train.checkpoint import Checkpoints

    overrides = list(args.set or [])
    if args.minutes is not None:
        overrides.append(f"train.minutes={args.minutes}")
    if args.steps is not None:
        overrides.append(f"train.steps={args.steps}")
    run_dir = _dir_arg(args.out)
    if args.resume:  # the run's own config; train() refuses any change but budget, logging and device
        if args.config:
            raise ConfigError("--resume continues the run under its saved config.json: drop --config")
        if not Checkpoints(run_dir).exists():
            raise CheckpointError(f"{run_dir} has no checkpoint to resume: start it without --resume")
        cfg = load_run_config(run_dir)
        if args.data and Path(args.data).resolve() != Path(cfg.data).resolve():
            raise ConfigError(f"--resume cannot change data (saved {cfg.data!r}, asked {args.data!r})")
        cfg = apply_overrides(cfg, overrides)
    else:
        if Checkpoints(run_dir).exists() or (run_dir / "model.safetensors").exists():
            raise ConfigError(f"{run_dir} already holds a run: pass --resume to continue it, or choose another --out")
        cfg = load_file(RunConfig, args.config) if args.config else RunConfig()
        data = args.data or cfg.data
        if not data:
            raise ConfigError("no dataset given: pass --data DIR (made by `hjepa collect` or `hjepa import`)")
        cfg = train_config_for(data, overrides, cfg)
    summary = train(cfg, run_dir, resume=args.resume, progress=not args.quiet)
    print(json.dumps(summary))
    return summary


def _table(rows: list[tuple[str, object]]) -> str:
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


HIERARCHICAL = "hierarchical"


def hierarchy_config(seed: int, items: list[str] | None):
    """The high levels' settings: defaults, the task seed for their samplers, then --high-set
    overrides (e.g. subgoal_step=2 planner.horizon=10)."""
    from .actor.hierarchical import HierarchyConfig

    return apply_overrides(HierarchyConfig(), [f"planner.seed={seed}", *(items or [])])


def planner_overrides(items: list[str] | None) -> dict:
    """KEY=VALUE planner overrides (numbers, lists and booleans parsed as YAML) as a dict."""
    import yaml

    overrides = {}
    for item in items or []:
        key, eq, value = item.partition("=")
        if not eq or not key:
            raise ConfigError(f"planner override {item!r} must look like key=value, e.g. horizon=10")
        try:
            overrides[key.removeprefix("planner.")] = yaml.safe_load(value)
        except yaml.YAMLError:
            raise ConfigError(f"planner override {item!r}: cannot read the value {value!r}") from None
    return overrides


def task_env(world, args, run_cfg):
    """The evaluation tasks: the world's own sampler, or cut from the run's held-out trajectories."""
    if args.protocol == "world":
        if args.band is None:
            return world.make_env(budget=args.budget)
        if args.band not in world.bands:
            raise ConfigError(f"--band {args.band}: the {world.name} world's bands are {list(world.bands) or 'none'}")
        return world.make_env(budget=args.budget, band=args.band)
    if args.band is not None:
        raise ConfigError("--band picks the world's own tasks: drop it with --protocol dataset")
    from .data import TrajectoryDataset
    from .envs.dataset_tasks import DatasetTasks

    data = args.data or run_cfg.data
    dataset = TrajectoryDataset.load(data, verify_checksums=False, in_memory=False)
    if not args.data:  # the run's own dataset: only its held-out trajectories
        dataset = dataset.split(run_cfg.train.holdout_fraction, seed=run_cfg.train.seed)[1]
    return DatasetTasks(world, dataset, goal_offset=args.goal_offset, budget=args.budget or 50)


UNCERTAINTY_FILE = "uncertainty.json"


def disagreement_guardrail(run_dir: Path, max_uncertainty: float):
    """The DisagreementBound of `--max-uncertainty`, from the run's calibration (RUN/uncertainty.json)."""
    from .cost.guardrails import DisagreementBound

    path = run_dir / UNCERTAINTY_FILE
    if not path.is_file():
        raise ConfigError(f"--max-uncertainty needs {path}: an ensemble run's calibration, written by `hjepa eval {run_dir}` "
                          "without --skip-probes")
    return DisagreementBound(json.loads(path.read_text())["p99"], max_uncertainty)


def cmd_eval(args) -> dict:
    from .agent import Agent
    from .configurator import load_run_config, load_world_model, planner_for, world_of_run
    from .data import TrajectoryDataset
    from .envs import make_world
    from .eval import copy_errors, encoded_windows, evaluate, position_probe, prediction_errors
    from .eval.render import save_gif
    from .eval.uncertainty import disagreement_report
    from .train.checkpoint import save_weights, write_json

    run_dir = Path(args.run)
    if args.gif:
        _output_file(args.gif, "--gif")
    run_cfg = load_run_config(run_dir)
    world_name = args.world or world_of_run(run_dir)
    world = make_world(world_name)
    overrides = {"seed": args.seed, **planner_overrides(args.set)}
    if args.planner and args.planner != HIERARCHICAL:
        overrides["name"] = args.planner
    planner_cfg = planner_for(world_name, **overrides)
    hierarchy = hierarchy_config(args.seed, args.high_set) if args.planner == HIERARCHICAL else None
    if args.high_set and hierarchy is None:
        raise ConfigError("--high-set configures the high levels: add --planner hierarchical")
    check_seed(args.seed, args.split)
    result: dict = {"run": str(run_dir), "world": world.name, "protocol": args.protocol,
                    "planner": HIERARCHICAL if hierarchy else planner_cfg.name}
    if args.protocol == "dataset":
        result.update(goal_offset=args.goal_offset, budget=args.budget or 50)
    model = load_world_model(run_dir, args.device)
    if not args.skip_probes:
        try:
            dataset = TrajectoryDataset.load(run_cfg.data, verify_checksums=False, in_memory=False)
        except DatasetError as err:
            print(f"note: probes skipped, the run's dataset is unavailable ({err})", file=sys.stderr)
        else:
            train_set, holdout = dataset.split(run_cfg.train.holdout_fraction, seed=run_cfg.train.seed)
            if dataset.states is not None:
                probe, r2, by_column = position_probe(model, train_set, holdout, world.probe_targets)
                save_weights(run_dir / "probe.safetensors", {"weight": probe.weight})
                result["probe_r2"] = round(r2, 4)
                names = world.probe_names or [f"state_{i}" for i in range(len(by_column))]
                result["probe_r2_by_dim"] = {name: round(v, 4) for name, v in zip(names, by_column)}
            z, actions = encoded_windows(model, holdout, min(32, holdout.length), num_windows=512, seed=0)
            errors, copied = prediction_errors(model, z, actions), copy_errors(z, model.frameskip)  # and the no-change baseline
            result["rollout_error"] = {h: round(errors[h], 4) for h in (1, 2, 4, 8, 16, 32) if h in errors}
            result["rollout_copy_error"] = {h: round(copied[h], 4) for h in result["rollout_error"]}
            if model.members > 1:  # an ensemble: calibrate its disagreement on the holdout (RUN/uncertainty.json)
                report = disagreement_report(model, holdout, horizon=min(16, holdout.length))
                write_json(run_dir / UNCERTAINTY_FILE, report)
                result["disagreement_error_spearman"] = round(report["spearman"], 4)
    env = task_env(world, args, run_cfg)
    guardrails = [disagreement_guardrail(run_dir, args.max_uncertainty)] if args.max_uncertainty is not None else []
    agent = Agent.load(run_dir, planner_cfg, device=args.device, hierarchy=hierarchy, guardrails=guardrails)
    summary, records = evaluate(agent, args.episodes, seed=args.seed, record=args.gif_episodes if args.gif else 0,
                                progress=not args.quiet, env=env, split=args.split)
    result.update(summary)
    result["uses_labels"] = agent.uses_labels
    if args.random_baseline:
        from .eval.episodes import RandomAgent

        baseline, _ = evaluate(RandomAgent(world.action_low, world.action_high, world.max_action_norm, seed=args.seed),
                               args.episodes, seed=args.seed, progress=False, env=env, split=args.split)
        result["random_success_rate"] = baseline["success_rate"]
        if "success_by_band" in baseline:
            result["random_success_by_band"] = baseline["success_by_band"]
    if args.gif:
        result["gif"] = str(save_gif(records[: args.gif_episodes], args.gif))
    rows = [(k, v) for k, v in result.items() if k not in ("rollout_error", "rollout_copy_error")]
    if "rollout_error" in result:
        rows.append(("rollout error vs horizon", "  ".join(f"h={h}: {e}" for h, e in result["rollout_error"].items())))
        rows.append(("  predicting no change", "  ".join(f"h={h}: {e}" for h, e in result["rollout_copy_error"].items())))
    print(_table(rows))
    print(json.dumps(result))
    return result


def cmd_fit_value(args) -> dict:
    from .train.loop import side_config_path
    from .train.value import ValueConfig, fit_value

    given = [f"steps={args.steps}"] if args.steps is not None else []
    if args.resume:  # the fit's saved config; only its budget and logging may change
        cfg = apply_overrides(load_file(ValueConfig, side_config_path(args.run, "value")), given + list(args.set or []))
    else:
        cfg = apply_overrides(ValueConfig(), given + list(args.set or []))
    summary = fit_value(args.run, cfg, progress=not args.quiet, resume=args.resume)
    print(json.dumps({"run": args.run, **summary}))
    return summary


def cmd_value_map(args) -> dict:
    from .configurator import load_world_model
    from .eval.render import save_heatmaps
    from .eval.value import spearman, value_map
    from .train.checkpoint import CheckpointError
    from .train.value import load_value

    model = load_world_model(args.run, args.device)
    value = load_value(args.run, model.latent_dim, next(model.parameters()).device)
    if value is None:
        raise CheckpointError(f"{args.run} has no cost-to-go yet: run `hjepa fit-value {args.run}` first")
    try:
        maps = value_map(value, model, args.wall_x, args.door_y, tuple(args.goal))
    except ValueError as err:  # a goal inside a wall
        raise ConfigError(f"--goal: {err}") from None
    free = np.isfinite(maps["v"])
    spacing = float(maps["xs"][1] - maps["xs"][0])
    cell = ((args.goal[0] - maps["xs"][0]) / spacing, (args.goal[1] - maps["ys"][0]) / spacing)  # the goal's grid cell
    save_heatmaps([("V(state, goal), steps", maps["v"]), ("true path length, px", maps["geodesic"])], args.out, marker=cell)
    result = {"out": str(args.out), "wall_x": args.wall_x, "door_y": args.door_y, "goal": args.goal,
              "rank_corr_geodesic": round(spearman(maps["v"][free], maps["geodesic"][free]), 4)}
    print(json.dumps(result))
    return result


def cmd_explore(args) -> dict:
    from .agent import Agent
    from .configurator import planner_for, world_of_run
    from .data.explore import ExploreConfig, collect_with_agent
    from .envs import make_world

    cfg = apply_overrides(ExploreConfig(episodes=args.episodes, minutes=args.minutes), args.set or [])
    _new_dataset_dir(args.out)  # never overwrite a dataset (the run's own, say)
    world = world_of_run(args.run)
    agent = Agent.load(args.run, planner_for(world, **{"seed": cfg.seed, **planner_overrides(args.planner_set)}),
                       device=args.device)
    dataset = collect_with_agent(agent, cfg, make_world(world).make_env(), progress=not args.quiet, world=world)
    dataset.save(args.out)
    keys = ("episodes", "steps", "agent_success_rate", "seconds")
    result = {"out": str(args.out), "trajectories": dataset.num_trajectories, "length": dataset.length,
              **{k: dataset.meta[k] for k in keys}}
    print(json.dumps(result))
    return result


def cmd_refit_predictor(args) -> dict:
    from .train.loop import side_config_path
    from .train.refit import RefitConfig, refit_predictor

    given = [f"minutes={args.minutes}"] if args.minutes is not None else []
    if args.resume:  # the refit's saved config; only its budget and logging may change
        if args.extra_data:
            raise ConfigError("--resume continues the refit under its saved refit_config.json: drop --extra-data")
        cfg = apply_overrides(load_file(RefitConfig, side_config_path(args.run, "refit")), given + list(args.set or []))
    else:
        cfg = apply_overrides(RefitConfig(extra_data=args.extra_data or ""), given + list(args.set or []))
    summary = refit_predictor(args.run, cfg, progress=not args.quiet, resume=args.resume)
    print(json.dumps({"run": args.run, **summary}))
    return summary


def cmd_train_high(args) -> dict:
    from .train.high_level import HighTrainConfig, train_high_level
    from .train.loop import side_config_path

    given = [f"steps={args.steps}"] if args.steps is not None else []
    given += [f"level={args.level}"] if args.level is not None else []
    if args.resume:  # the fit's saved config; only its budget and logging may change
        level = args.level or 1
        cfg = apply_overrides(load_file(HighTrainConfig, side_config_path(args.run, f"high_{level}")), given + list(args.set or []))
    else:
        cfg = apply_overrides(HighTrainConfig(), given + list(args.set or []))
    summary = train_high_level(args.run, cfg, progress=not args.quiet, resume=args.resume)
    print(json.dumps({"run": args.run, **summary}))
    return summary


def cmd_export(args) -> dict:
    from .data import TrajectoryDataset
    from .data.interchange import export_hdf5, export_minari

    dataset = TrajectoryDataset.load(args.data, in_memory=False)
    if args.format == "hdf5":
        out = export_hdf5(dataset, args.out)
    else:
        out = export_minari(dataset, args.out, args.dataset_id)
    result = {"data": str(args.data), "format": args.format, "out": str(out), "episodes": dataset.num_trajectories}
    print(json.dumps(result))
    return result


def cmd_import(args) -> dict:
    from .data.interchange import import_any

    _new_dataset_dir(args.out)
    dataset = import_any(args.path, args.image_size)
    if args.world:
        dataset.meta["world"] = args.world
    dataset.save(args.out)
    result = {"path": str(args.path), "out": str(args.out), "world": dataset.world, "trajectories": dataset.num_trajectories,
              "length": dataset.length, "obs_shape": list(dataset.obs_shape), "action_dim": dataset.action_dim,
              "states": dataset.states is not None, "variable_lengths": dataset.lengths is not None}
    print(json.dumps(result))
    return result


# A few minutes of training: per-trajectory speeds in the data (as the benchmark collects) and a
# learning rate 4x the default, which is tuned for 20-minute runs. Chosen 2026-12-01 on dev tasks
# (2 cores, 4 minutes): 0.45 with neither, 0.70-0.75 with the rate alone (1,000 trajectories),
# 0.85 on dev seed 0's 20 tasks and 0.925 on dev seed 7's 40 with both and 2,000 trajectories.
# The demo itself reports held-out test tasks (README for the figure).
DEMO_COLLECT = ["speed_share=0.75"]
DEMO_TRAIN = ["train.lr=0.004"]


def cmd_demo(args) -> dict:
    from .train.checkpoint import Checkpoints

    out = Path(args.out)
    common = ["--quiet"] if args.quiet else []
    data, run_dir, gif = out / "data", out / "run", out / "episode.gif"
    if (data / "meta.json").exists():
        print(f"[1/3] reusing the trajectories in {data}")
    else:
        print(f"[1/3] collecting {args.trajectories} random-walk trajectories -> {data}")
        run(["collect", "--out", str(data), "--trajectories", str(args.trajectories), "--seed", str(args.seed),
             "--set", *DEMO_COLLECT] + common)
    print(f"[2/3] training the JEPA world model for {args.minutes:g} min -> {run_dir}")
    run_args = ["train", "--data", str(data), "--out", str(run_dir), "--minutes", str(args.minutes), "--set", *DEMO_TRAIN]
    if Checkpoints(run_dir).exists():
        run_args.append("--resume")
    run(run_args + common)
    print(f"[3/3] planning {args.episodes} episodes toward goal images with {args.planner}; GIF -> {gif}")
    result = run(["eval", str(run_dir), "--episodes", str(args.episodes), "--gif", str(gif), "--seed", str(args.seed),
                  "--planner", args.planner] + common)
    tasks = f"{result['episodes']} held-out test task" + ("s" if result["episodes"] != 1 else "")
    print(f"\nsuccess {result['success_rate']:.2f} over {tasks}, "
          f"{result['sec_per_episode']:.1f} s per episode; "
          + ("NOT label-free: the planner reads a probe fitted on the simulator's true positions" if result["uses_labels"]
             else "label-free: the planner sees pixels and the goal image only")
          + f"\nthe episodes: {gif}\nnext: hjepa eval {run_dir} --episodes 200 (a tighter estimate); "
          f"hjepa demo --planner wavefront (uses the probe's labels); docs/worlds.md (your own environment)")
    return result


def cmd_train_video(args) -> dict:
    from .train.video import (MemoryVideoRunConfig, SpatialVideoRunConfig, VideoRunConfig, train_memory_video,
                              train_spatial_video, train_video)

    kinds = {"vector": (VideoRunConfig, train_video), "spatial": (SpatialVideoRunConfig, train_spatial_video),
             "memory": (MemoryVideoRunConfig, train_memory_video)}
    cfg_cls, trainer = kinds[args.latent]
    _dir_arg(args.out)
    overrides = list(args.set or [])
    if args.minutes is not None:
        overrides.append(f"train.minutes={args.minutes}")
    if args.clips is not None:
        overrides.append(f"data.clips={args.clips}")
    if args.data is not None:
        overrides.append(f"data.folder={args.data}")
    if args.resume:  # the run's own config; the trainer refuses any change but budget, logging and device
        if args.config:
            raise ConfigError("--resume continues the run under its saved config.json: drop --config")
        cfg = load_file(cfg_cls, Path(args.out) / "config.json")
    else:
        cfg = load_file(cfg_cls, args.config) if args.config else cfg_cls()
    cfg = apply_overrides(cfg, overrides)
    summary = trainer(cfg, args.out, resume=args.resume, progress=not args.quiet)
    print(json.dumps({"out": str(args.out), **summary}))
    return summary


def cmd_physics_pair(args) -> dict:
    import numpy as np

    from .data.physics import violation_pairs
    from .data.video_io import write_gif

    out = _dir_arg(args.out)
    pairs = violation_pairs(args.property, args.pairs, seed=args.seed)
    out.mkdir(parents=True, exist_ok=True)
    files = []
    occluded = {"possible": pairs.occluded_possible, "impossible": pairs.occluded_impossible}
    for i in range(len(pairs.onset)):
        for name, clips in (("possible", pairs.possible), ("impossible", pairs.impossible)):
            stem = out / f"{args.property}_{i}_{name}"
            np.save(stem.with_suffix(".npy"), clips[i])
            hidden = occluded[name][i]  # frames with a ball behind the occluder, for `hjepa surprise`'s plot
            write_json(Path(f"{stem}.occluded.json"), {"occluded_frames": np.flatnonzero(hidden).tolist()})
            files += [str(stem.with_suffix(".npy")), str(write_gif(clips[i], stem.with_suffix(".gif"))), f"{stem}.occluded.json"]
    result = {"property": args.property, "onset": pairs.onset.tolist(), "variant": pairs.variant.tolist(), "files": files}
    print(json.dumps(result))
    return result


def _occluded_frames(video: Path, frames: int) -> list[int]:
    """The frames with a ball behind the occluder, from the sidecar `hjepa physics-pair` writes
    next to a generated clip (VIDEO.occluded.json); none for any other video."""
    sidecar = video.with_suffix(".occluded.json")
    if not sidecar.is_file():
        return []
    try:
        listed = json.loads(sidecar.read_text())["occluded_frames"]
    except (json.JSONDecodeError, KeyError, TypeError) as err:
        raise VideoError(f"{sidecar} is not an occlusion record of `hjepa physics-pair`: {err}") from None
    if not all(isinstance(t, int) and 0 <= t < frames for t in listed):
        raise VideoError(f"{sidecar} lists frames outside the video's {frames}")
    return listed


def cmd_surprise(args) -> dict:
    import numpy as np

    from .data.video_io import read_video, resize_frames
    from .eval.render import plot_curve
    from .eval.surprise import frame_surprise, frames_above
    from .train.video import load_video_model

    model = load_video_model(args.run, args.device)
    saved = Path(args.run) / "surprise.json"
    calibration = json.loads(saved.read_text()) if saved.is_file() else {}
    context = args.context or calibration.get("context", model.cfg.context)
    video = resize_frames(read_video(args.video), model.image_size)  # as training resized the run's clips
    if len(video) <= context:
        raise VideoError(f"{args.video}: {len(video)} frames; surprise needs more than the context of {context}")
    try:
        errors = frame_surprise(model, video[None], context)[0]
    except ValueError as err:  # e.g. a context the pixel baseline was not trained on
        raise ConfigError(str(err)) from None
    if args.threshold is not None:
        threshold, source = args.threshold, "--threshold"
    elif "threshold" in calibration and calibration.get("context") == context:
        threshold, source = calibration["threshold"], "run calibration (99th percentile on possible clips)"
    else:
        threshold, source = float(np.nanmean(errors) + 3 * np.nanstd(errors)), "this clip: mean + 3 std"
    stem = Path(args.out) if args.out else Path(args.video).with_suffix("")
    stem.parent.mkdir(parents=True, exist_ok=True)
    csv_path, png_path = Path(f"{stem}.surprise.csv"), Path(f"{stem}.surprise.png")
    with open(csv_path, "w") as f:
        f.write("frame,surprise\n")
        f.writelines(f"{t},{'' if np.isnan(v) else f'{v:.6g}'}\n" for t, v in enumerate(errors))
    occluded = _occluded_frames(Path(args.video), len(video))
    plot_curve(errors, png_path, threshold, f"surprise of {Path(args.video).name}, context {context}",
               shaded=occluded, shaded_label="ball behind occluder")
    above = frames_above(errors, threshold)
    result = {"video": str(args.video), "frames": len(video), "context": context, "threshold": threshold,
              "threshold_from": source, "frames_above": above, "max_frame": int(np.nanargmax(errors)),
              "occluded_frames": occluded, "csv": str(csv_path), "png": str(png_path)}
    if not args.quiet:
        print(f"frames above threshold {threshold:.4g} ({source}): {above or 'none'}")
    print(json.dumps(result))
    return result


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="hjepa", description="JEPA world models and planning toward goal images.")
    sub = p.add_subparsers(dest="command", required=True)

    c = sub.add_parser("collect", help="write reward-free trajectories of a world to a dataset directory")
    c.add_argument("--out", required=True, type=Path)
    c.add_argument("--world", "--env", default="two_rooms",
                   help="a world (two_rooms, rooms, pendulum) or any Gymnasium id with image observations or rgb_array rendering")
    c.add_argument("--trajectories", type=positive_int, default=2000)
    c.add_argument("--length", type=positive_int, default=64, help="actions per trajectory")
    c.add_argument("--seed", type=count, default=0)
    c.add_argument("--fixed-layout", type=int, nargs="+", metavar="N",
                   help="one layout for every trajectory: Two-Rooms WALL_X DOOR_Y, Rooms a layout seed")
    c.add_argument("--set", nargs="*", metavar="KEY=VALUE",
                   help="the world's collection overrides, e.g. speed_share=0.75 (random walks), action_repeat=2 (Gymnasium envs)")
    c.add_argument("--quiet", action="store_true")
    c.set_defaults(func=cmd_collect)

    t = sub.add_parser("train", help="train a JEPA world model on a dataset")
    t.add_argument("--data", help="dataset directory (overrides the config's data)")
    t.add_argument("--out", required=True, help="run directory for checkpoints, logs and config")
    t.add_argument("--config", help="YAML run config")
    t.add_argument("--minutes", type=nonneg_float, help="wall-clock training budget (0: none, stop at --steps)")
    t.add_argument("--steps", type=positive_int, help="maximum training steps")
    t.add_argument("--resume", action="store_true", help="continue the run in --out")
    t.add_argument("--set", nargs="*", metavar="KEY=VALUE", help="config overrides, e.g. loss.idm=0 train.batch_size=128")
    t.add_argument("--quiet", action="store_true")
    t.set_defaults(func=cmd_train)

    e = sub.add_parser("eval", help="plan toward goal images with a trained run and report success")
    e.add_argument("run")
    e.add_argument("--episodes", type=positive_int, default=50)
    e.add_argument("--world", help="default: the world the run was trained on")
    e.add_argument("--protocol", choices=["world", "dataset"], default="world",
                   help="world: the world's own task sampler; dataset: start at step t of a held-out trajectory, "
                        "goal its frame at t + --goal-offset")
    e.add_argument("--goal-offset", type=positive_int, default=25, help="dataset protocol: steps from start to goal")
    e.add_argument("--budget", type=positive_int, help="steps per task (default: the world's; dataset protocol 50)")
    e.add_argument("--data", help="dataset protocol: take tasks from this dataset (default: the run's held-out split)")
    e.add_argument("--band", help="world protocol: only tasks of this band (Rooms: 1, 2 or 3-4; default: every band in turn)")
    e.add_argument("--random-baseline", action="store_true", help="also run a random policy on the same tasks")
    e.add_argument("--planner", choices=[*PLANNER_NAMES, HIERARCHICAL],
                   help="default: the world's tuned planner (cem+grad); hierarchical: the run's high levels "
                        "(hjepa train-high) hand that planner subgoals")
    e.add_argument("--high-set", nargs="*", metavar="KEY=VALUE",
                   help="with --planner hierarchical: high-level overrides, e.g. subgoal_step=2 planner.horizon=10")
    e.add_argument("--seed", type=count, default=0, help=f"a block of task seeds, 0 .. {MAX_SEED} (hjepa.seeds)")
    e.add_argument("--split", choices=list(SPLITS), default="test",
                   help="test: held-out tasks, for numbers you report (default); dev: tasks for tuning")
    e.add_argument("--gif", help="write the first --gif-episodes episodes to this GIF")
    e.add_argument("--gif-episodes", type=positive_int, default=3)
    e.add_argument("--device", default="auto")
    e.add_argument("--skip-probes", action="store_true", help="skip the position probe and rollout-error report")
    e.add_argument("--set", nargs="*", metavar="KEY=VALUE", help="planner overrides, e.g. horizon=10 num_samples=512")
    e.add_argument("--max-uncertainty", type=positive_float, metavar="X",
                   help="ensemble runs: reject plans whose members disagree more than X times the 99th percentile "
                        "of their disagreement on held-out data (RUN/uncertainty.json)")
    e.add_argument("--quiet", action="store_true")
    e.set_defaults(func=cmd_eval)

    v = sub.add_parser("fit-value", help="fit the goal-conditioned cost-to-go V(z, g) of a trained run (for A* and terminal costs)")
    v.add_argument("run")
    v.add_argument("--steps", type=positive_int, help="optimizer steps (default 3000)")
    v.add_argument("--resume", action="store_true", help="continue a fit that was stopped (RUN/value_checkpoints)")
    v.add_argument("--set", nargs="*", metavar="KEY=VALUE", help="overrides, e.g. expectile=0.1 critic.hidden_dim=128")
    v.add_argument("--quiet", action="store_true")
    v.set_defaults(func=cmd_fit_value)

    m = sub.add_parser("value-map", help="draw a run's cost-to-go to one goal over a Two-Rooms layout, next to the true path length")
    m.add_argument("run")
    m.add_argument("--wall-x", type=float, default=32.0)
    m.add_argument("--door-y", type=float, default=14.0)
    m.add_argument("--goal", type=float, nargs=2, default=[14.0, 46.0], metavar=("X", "Y"))
    m.add_argument("--out", type=Path, default=Path("value_map.png"))
    m.add_argument("--device", default="auto")
    m.set_defaults(func=cmd_value_map)

    x = sub.add_parser("explore", help="reward-free data from the agent itself: plan toward random goal images, record it")
    x.add_argument("run")
    x.add_argument("--out", required=True, help="dataset directory to write")
    x.add_argument("--episodes", type=positive_int, default=40, help="at most this many tasks")
    x.add_argument("--minutes", type=nonneg_float, default=0.0, help="wall-clock budget (0: no limit)")
    x.add_argument("--device", default="auto")
    x.add_argument("--set", nargs="*", metavar="KEY=VALUE", help="overrides, e.g. chunk_length=64 seed=7")
    x.add_argument("--planner-set", nargs="*", metavar="KEY=VALUE", help="planner overrides, as for eval")
    x.add_argument("--quiet", action="store_true")
    x.set_defaults(func=cmd_explore)

    r = sub.add_parser("refit-predictor", help="refit a trained run's predictor on cached latents (encoder frozen, big batches)")
    r.add_argument("run")
    r.add_argument("--minutes", type=nonneg_float, help="wall-clock budget, encoding the dataset included (default 3; 0: none)")
    r.add_argument("--extra-data", help="a second dataset to learn from too, e.g. the agent's own (hjepa explore)")
    r.add_argument("--resume", action="store_true", help="continue a refit that was stopped (RUN/refit_checkpoints)")
    r.add_argument("--set", nargs="*", metavar="KEY=VALUE", help="overrides, e.g. batch_size=256 lr=1e-4")
    r.add_argument("--quiet", action="store_true")
    r.set_defaults(func=cmd_refit_predictor)

    h = sub.add_parser("train-high", help="train a high-level world model over macro-actions on a run's latents (hierarchical planning)")
    h.add_argument("run")
    h.add_argument("--steps", type=positive_int, help="optimizer steps (default 4000)")
    h.add_argument("--level", type=positive_int, help="1 (default): over the JEPA; L: over level L - 1")
    h.add_argument("--resume", action="store_true", help="continue a fit that was stopped (RUN/high_<L>_checkpoints)")
    h.add_argument("--set", nargs="*", metavar="KEY=VALUE", help="overrides, e.g. model.span=4 model.code_dim=8 seq_len=3")
    h.add_argument("--quiet", action="store_true")
    h.set_defaults(func=cmd_train_high)

    ex = sub.add_parser("export", help="write a dataset as HDF5 (Minari's episode layout) or as a Minari dataset")
    ex.add_argument("data")
    ex.add_argument("--format", choices=["hdf5", "minari"], default="hdf5")
    ex.add_argument("--out", required=True, help="hdf5: the file to write; minari: the datasets root (MINARI_DATASETS_PATH)")
    ex.add_argument("--dataset-id", default="hjepa/dataset-v0", help="minari: the dataset id, namespace/name-vN")
    ex.set_defaults(func=cmd_export)

    im = sub.add_parser("import", help="read an HDF5 episode file or a Minari dataset directory into a dataset")
    im.add_argument("path")
    im.add_argument("--out", required=True, help="dataset directory to write")
    im.add_argument("--image-size", type=positive_int, help="resize frames to this square size (the encoders read square images)")
    im.add_argument("--world", help="the world the data come from (default: as recorded in the file, else 'imported')")
    im.set_defaults(func=cmd_import)

    d = sub.add_parser("demo", help="collect, train, plan and report in a few minutes")
    d.add_argument("--out", default="demo_run")
    d.add_argument("--trajectories", type=positive_int, default=2000)
    d.add_argument("--minutes", type=nonneg_float, default=4.0)
    d.add_argument("--episodes", type=positive_int, default=20)
    d.add_argument("--seed", type=count, default=0)
    d.add_argument("--planner", choices=list(PLANNER_NAMES), default="cem+grad",
                   help="cem+grad (label-free, the default) or wavefront (uses a position probe fitted on true positions)")
    d.add_argument("--quiet", action="store_true")
    d.set_defaults(func=cmd_demo)

    tv = sub.add_parser("train-video", help="train an action-free video JEPA on generated physics clips or a folder of yours")
    tv.add_argument("--out", required=True, help="run directory")
    tv.add_argument("--config", help="YAML run config")
    tv.add_argument("--minutes", type=nonneg_float, help="wall-clock training budget (0: none, stop at train.steps)")
    tv.add_argument("--clips", type=positive_int, help="training clips to generate")
    tv.add_argument("--data", help="a folder of your own clips (.npy, .gif, .mp4; any length, resized to the model's "
                                   "input) instead of generated physics clips")
    tv.add_argument("--latent", choices=["vector", "spatial", "memory"], default="vector",
                    help="vector: one latent per frame, GRU predictor; spatial: a latent map per frame, conv predictor; "
                         "memory: a latent map per frame and a recurrent memory trained with blackout (keeps hidden objects)")
    tv.add_argument("--resume", action="store_true")
    tv.add_argument("--set", nargs="*", metavar="KEY=VALUE", help="overrides, e.g. loss.regularizer=sigreg model.context=6")
    tv.add_argument("--quiet", action="store_true")
    tv.set_defaults(func=cmd_train_video)

    pp = sub.add_parser("physics-pair", help="write matched possible/impossible physics clips (.npy and .gif)")
    pp.add_argument("property", choices=["permanence", "continuity", "solidity", "immutability"])
    pp.add_argument("--out", default="physics_clips")
    pp.add_argument("--pairs", type=positive_int, default=1)
    pp.add_argument("--seed", type=count, default=0)
    pp.set_defaults(func=cmd_physics_pair)

    s = sub.add_parser("surprise", help="per-frame surprise of a video under a trained video JEPA (CSV, PNG plot)")
    s.add_argument("video", help=".npy, .gif, or .mp4 (needs imageio) clip of RGB frames, resized to the model's input")
    s.add_argument("--run", required=True, help="a video run directory (hjepa train-video or the benchmark)")
    s.add_argument("--context", type=positive_int, help="context frames (default: the run's calibrated context, else the longest it was trained on)")
    s.add_argument("--threshold", type=nonneg_float, help="default: the run's calibration, else mean + 3 std of this clip")
    s.add_argument("--out", help="output path prefix (default: next to the video)")
    s.add_argument("--device", default="auto")
    s.add_argument("--quiet", action="store_true")
    s.set_defaults(func=cmd_surprise)
    return p


def run(argv: list[str] | None = None) -> dict:
    """Run one command and return its result dict (user mistakes raise the project's errors)."""
    args = build_parser().parse_args(argv)
    return args.func(args)


def main(argv: list[str] | None = None) -> None:
    """Console entry point: user mistakes become a one-line error and exit status 2."""
    try:
        run(argv)
    except USER_ERRORS as err:
        print("hjepa: error: " + " ".join(str(err).split()), file=sys.stderr)  # one line, whatever the message
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        raise SystemExit(130) from None


if __name__ == "__main__":
    main()
