"""Intuitive-physics benchmark: is a video JEPA surprised by impossible events?

    python benchmarks/intuitive_physics.py --train-minutes 20 --seed 0
    python benchmarks/intuitive_physics.py --train-steps 8000 --seed 0   # same work on any machine

Generates physically possible training clips and, per property (permanence, continuity,
solidity, immutability), matched possible/impossible test pairs, and quadruplets for
permanence and immutability (`hjepa.data.quadruplets`). Trains, for the same budget each on
the same clips: the video JEPA (one latent vector per frame), the spatial video JEPA (one
latent map per frame), the video JEPA with memory (a recurrent latent map trained with
blackout) and a pixel-space next-frame predictor. Scores them and the JEPAs untrained under
three protocols, each labelled in the JSON line:

- `pairwise` / `auroc` / `by_variant` (the strict line, as before): per-frame surprise with
  the last frames as context, max over time, at the headline context;
- `windows`: V-JEPA's protocol, sliding windows of `--window` frames, the first C observed
  and the rest predicted open loop, L1 in the model's space; mean over windows (their
  headline) and max, at the fixed `--context` and at the best of `--window-contexts` per property;
- `quadruplets`: IntPhys' relative score on four clips from one start (strict per-frame
  surprise, max and mean over time, and windows, mean over windows).

Also probes what the latents know (linear-probe R^2 of the ball's position, velocity, radius
and colour and of the wall, on one-ball clips). Prints a table and one JSON line.
Leaves OUT/jepa, OUT/spatial_jepa, OUT/memory_jepa and OUT/pixel as runs
(`hjepa surprise VIDEO --run OUT/memory_jepa`); each JEPA's surprise.json holds the
threshold (99th percentile of frame surprise on held-out possible clips) that the CLI uses.
`--reuse` continues a run on the same --out: trained models are loaded, not trained again.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from common import BenchmarkOut, headline, provenance
from hjepa.config import apply_overrides, to_dict
from hjepa.data.physics import PROPERTIES, labelled_clips, possible_clips, violation_pairs
from hjepa.data.quadruplets import QUADRUPLET_PROPERTIES, violation_quadruplets
from hjepa.eval.probes import clip_probes
from hjepa.eval.surprise import (AGGREGATES, frame_surprise, quadruplet_metrics, violation_metrics, window_metrics,
                                 window_surprise)
from hjepa.train.checkpoint import write_json
from hjepa.train.video import (MemoryVideoRunConfig, PixelRunConfig, SpatialVideoRunConfig, VideoRunConfig, load_video_model,
                               train_memory_video, train_pixel, train_spatial_video, train_video)
from hjepa.seeds import task_seed
from hjepa.utils import seed_everything
from hjepa.world_model.memory_video import MemoryVideoJEPA
from hjepa.world_model.spatial_video import SpatialVideoJEPA
from hjepa.world_model.video import VideoJEPA

R = lambda x: round(float(x), 3)


def train_or_reuse(out: BenchmarkOut, name: str, trainer, cfg, clips, quiet: bool) -> dict:
    """Train OUT/name, or with --reuse load the summary of the model trained there before."""
    if out.existed(f"{name}/train_summary.json"):
        return {**json.loads((out.path / name / "train_summary.json").read_text()), "reused": True}
    return trainer(cfg, out.path / name, clips=clips, progress=not quiet)


def score(model, pairs: dict, quads: dict, strict_contexts: list[int], headline_context: int, window_contexts: list[int],
          window: int, stride: int) -> dict:
    """Every protocol for one model: {"strict": {ctx: {prop: metrics}}, "windows": {ctx: {prop: metrics}},
    "quadruplets": {"strict": {prop: metrics}, "windows": {prop: metrics}}}."""
    out = {"strict": {c: {p: violation_metrics(model, pairs[p], c) for p in PROPERTIES} for c in strict_contexts},
           "windows": {c: {p: window_metrics(model, pairs[p], c, window, stride) for p in PROPERTIES} for c in window_contexts}}
    fixed = headline_context if headline_context in window_contexts else window_contexts[0]
    out["quadruplets"] = {
        "strict": {p: quadruplet_metrics(quads[p], frame_surprise(model, quads[p].flat_clips(), headline_context))
                   for p in QUADRUPLET_PROPERTIES},
        "windows": {p: quadruplet_metrics(quads[p], window_surprise(model, quads[p].flat_clips(), fixed, window, stride))
                    for p in QUADRUPLET_PROPERTIES}}
    out["window_context"] = fixed
    return out


def summary_of(result: dict, headline_context: int) -> dict:
    """The JSON line's entry for one model: the strict line at the headline context (as before),
    then `windows` and `quadruplets`."""
    strict = result["strict"][headline_context]
    line = {"pairwise": {p: R(strict[p]["max"]["pairwise"]) for p in PROPERTIES},
            "auroc": {p: R(strict[p]["max"]["auroc"]) for p in PROPERTIES},
            "by_variant": {p: {v: R(a) for v, a in strict[p]["max"]["by_variant"].items()} for p in PROPERTIES},
            "strict_mean_over_time": {p: R(strict[p]["mean"]["pairwise"]) for p in PROPERTIES}}
    fixed = result["window_context"]
    windows = result["windows"]
    line["windows"] = {"context": fixed,
                       **{f"{how}_over_windows": {p: R(windows[fixed][p][how]["pairwise"]) for p in PROPERTIES}
                          for how in ("mean", "max")},
                       "by_variant_mean": {p: {v: R(a) for v, a in windows[fixed][p]["mean"]["by_variant"].items()}
                                           for p in PROPERTIES},
                       "best_context": {p: max(({"context": c, "pairwise": R(windows[c][p]["mean"]["pairwise"])}
                                                for c in windows), key=lambda e: e["pairwise"]) for p in PROPERTIES}}
    quads = result["quadruplets"]
    line["quadruplets"] = {
        **{f"strict_{how}": {p: R(quads["strict"][p][how]["quadruplet"]) for p in QUADRUPLET_PROPERTIES} for how in AGGREGATES},
        **{f"windows_{how}": {p: R(quads["windows"][p][how]["quadruplet"]) for p in QUADRUPLET_PROPERTIES} for how in AGGREGATES},
        # within the quadruplets, each impossible clip against the possible clip of its own start
        "permanence_pairs_strict_max": {"vanish": R(quads["strict"]["permanence"]["max"]["pairs"]["first_start"]),
                                        "appear": R(quads["strict"]["permanence"]["max"]["pairs"]["second_start"])},
        "immutability_by_variant_strict_max": {v: R(a) for v, a in quads["strict"]["immutability"]["max"]["by_variant"].items()}}
    return line


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    budget = p.add_mutually_exclusive_group(required=True)
    budget.add_argument("--train-minutes", type=float, help="wall-clock budget for each trained model")
    budget.add_argument("--train-steps", type=int,
                        help="step budget for each trained model instead (comparable across machines and loads)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=Path("bench_physics"))
    p.add_argument("--reuse", action="store_true", help="continue a run on the same --out: load what it trained")
    p.add_argument("--clips", type=int, default=2000, help="training clips")
    p.add_argument("--pairs", type=int, default=100, help="test pairs (and quadruplets) per property")
    p.add_argument("--contexts", type=int, nargs="+", default=[2, 4, 8],
                   help="strict contexts to score the vector JEPA at (those above its model.context are skipped)")
    p.add_argument("--context", type=int, default=4,
                   help="headline context of the vector JEPA, the pixel baseline and the memory JEPA's warm-up "
                        "(the spatial JEPA uses its model.context), and the fixed context of the windows")
    p.add_argument("--window", type=int, default=16, help="V-JEPA protocol: frames per window")
    p.add_argument("--window-stride", type=int, default=2, help="V-JEPA protocol: frames between window starts")
    p.add_argument("--window-contexts", type=int, nargs="+", default=[4, 8],
                   help="V-JEPA protocol: observed frames per window (the best per property is reported too)")
    p.add_argument("--set", nargs="*", default=[], help="video JEPA overrides, e.g. loss.regularizer=sigreg")
    p.add_argument("--spatial-set", nargs="*", default=[], help="spatial video JEPA overrides, e.g. model.channels=32")
    p.add_argument("--memory-set", nargs="*", default=[], help="memory JEPA overrides, e.g. loss.blackout_end=0.3")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args()
    if not all(0 < c < args.window for c in args.window_contexts):
        p.error(f"--window-contexts must be in [1, --window={args.window})")

    limit = [f"train.minutes={args.train_minutes}"] if args.train_steps is None else ["train.minutes=0",
                                                                                      f"train.steps={args.train_steps}"]
    common = [*limit, f"train.seed={args.seed}", f"data.clips={args.clips}", f"data.seed={args.seed}"]
    jepa_cfg = apply_overrides(VideoRunConfig(), [*common, *args.set])
    if args.context > jepa_cfg.model.context:
        p.error(f"--context {args.context} is longer than the JEPA is trained on (model.context={jepa_cfg.model.context})")
    pixel_cfg = apply_overrides(PixelRunConfig(), [*common, f"model.context={args.context}"])
    spatial_cfg = apply_overrides(SpatialVideoRunConfig(), [*common, *args.spatial_set])
    memory_cfg = apply_overrides(MemoryVideoRunConfig(), [*common, f"model.context={args.context}", *args.memory_set])
    configs = {"jepa": jepa_cfg, "pixel": pixel_cfg, "spatial_jepa": spatial_cfg, "memory_jepa": memory_cfg}
    out = BenchmarkOut(args.out, {name: to_dict(cfg) for name, cfg in configs.items()}, args.reuse)

    t0 = time.time()
    # training and calibration clips from the collect range, test pairs and probe clips from the test range (hjepa.seeds)
    clips = possible_clips(args.clips, seed=task_seed("collect", args.seed, 0))
    pairs = {prop: violation_pairs(prop, args.pairs, seed=task_seed("test", args.seed, 0)) for prop in PROPERTIES}
    quads = {prop: violation_quadruplets(prop, args.pairs, seed=task_seed("test", args.seed, 0)) for prop in QUADRUPLET_PROPERTIES}
    calibration = possible_clips(100, seed=task_seed("collect", args.seed, 1))
    print(f"generated {len(clips)} training clips, {args.pairs} pairs x {len(PROPERTIES)} properties and "
          f"{args.pairs} quadruplets x {len(QUADRUPLET_PROPERTIES)} in {time.time() - t0:.0f} s")

    trainers = {"memory_jepa": train_memory_video, "jepa": train_video, "pixel": train_pixel, "spatial_jepa": train_spatial_video}
    summaries = {name: train_or_reuse(out, name, trainers[name], configs[name], clips, args.quiet) for name in trainers}

    seed_everything(args.seed)
    trained = {name: load_video_model(out.path / name) for name in trainers}
    device = next(trained["jepa"].parameters()).device
    untrained = {"untrained": VideoJEPA(jepa_cfg.model), "untrained_spatial": SpatialVideoJEPA(spatial_cfg.model),
                 "untrained_memory": MemoryVideoJEPA(memory_cfg.model)}  # same architectures, initial weights
    models = {**trained, **{k: m.to(device).eval() for k, m in untrained.items()}}
    spatial_context = spatial_cfg.model.context  # its own: the spatial JEPA is scored at the context it is trained on
    jepa_contexts = sorted({c for c in args.contexts if c <= jepa_cfg.model.context} | {args.context})
    # name: (strict contexts, the headline one, window contexts it can be scored at)
    plans = {"jepa": (jepa_contexts, args.context), "untrained": (jepa_contexts, args.context),
             "spatial_jepa": ([spatial_context], spatial_context), "untrained_spatial": ([spatial_context], spatial_context),
             "memory_jepa": ([args.context], args.context), "untrained_memory": ([args.context], args.context),
             "pixel": ([args.context], args.context)}
    needs = {"spatial_jepa": spatial_context, "untrained_spatial": spatial_context, "pixel": args.context}
    results, lines = {}, {}
    for name, model in models.items():
        contexts, headline_context = plans[name]
        window_contexts = [c for c in args.window_contexts if c >= needs.get(name, 1)]
        if not window_contexts:
            p.error(f"{name} needs --window-contexts of at least {needs[name]}")
        results[name] = score(model, pairs, quads, contexts, headline_context, window_contexts, args.window, args.window_stride)
        lines[name] = summary_of(results[name], headline_context)
        if not args.quiet:
            print(f"scored {name} ({time.time() - t0:.0f} s)")

    # The CLI's default threshold: the 99th percentile of frame surprise on possible clips.
    for name in ("jepa", "spatial_jepa", "memory_jepa"):
        context = plans[name][1]
        threshold = float(np.nanpercentile(frame_surprise(models[name], calibration, context), 99))
        write_json(out.path / name / "surprise.json", {"context": context, "threshold": threshold,
                                                       "calibration": "99th percentile of frame surprise on 100 possible clips"})

    # What the latents know: linear probes of the ball and the wall on one-ball clips.
    probe_clips, facts = labelled_clips(200, seed=task_seed("test", args.seed, 1))
    probes = {name: {k: R(v) for k, v in clip_probes(models[name], probe_clips, facts).items()}
              for name in ("jepa", "spatial_jepa", "memory_jepa", "untrained", "untrained_memory")}

    print(f"\n{'model':<17} {'protocol':<22} " + " ".join(f"{p[:12]:>12}" for p in PROPERTIES))
    for name, line in lines.items():
        rows = {"strict max": line["pairwise"], "strict mean": line["strict_mean_over_time"],
                f"windows mean (c={line['windows']['context']})": line["windows"]["mean_over_windows"],
                "windows max": line["windows"]["max_over_windows"],
                "quadruplets strict max": line["quadruplets"]["strict_max"],
                "quadruplets strict mean": line["quadruplets"]["strict_mean"],
                "quadruplets windows mean": line["quadruplets"]["windows_mean"]}
        for protocol, values in rows.items():
            print(f"{name:<17} {protocol:<22} " + " ".join(f"{values[p]:>12.3f}" if p in values else f"{'':>12}"
                                                          for p in PROPERTIES))
        print(f"{'':<17} by variant (strict max): " + "  ".join(f"{v} {a:.2f}" for prop in PROPERTIES
                                                                 for v, a in line["by_variant"][prop].items()))
    print("\nlinear-probe R^2 (held-out one-ball clips):")
    for name, r2 in probes.items():
        print(f"{name:<17} " + "  ".join(f"{k} {v:.2f}" for k, v in r2.items()))

    line = {"benchmark": "intuitive_physics", **headline("test"), "uses_labels": False, "train_minutes": args.train_minutes,
            "train_steps": args.train_steps, "seed": args.seed, "clips": args.clips, "pairs_per_property": args.pairs,
            "context": args.context, "spatial_context": spatial_context, "aggregate": "max",
            "window": args.window, "window_stride": args.window_stride, "window_contexts": args.window_contexts,
            **{f"{name}_steps": summaries[name]["steps"] for name in trainers},
            "reused": [name for name in trainers if summaries[name].get("reused")],
            "overrides": args.set, "spatial_overrides": args.spatial_set, "memory_overrides": args.memory_set,
            **lines, "probe_r2": probes, "seconds": round(time.time() - t0, 1)}
    print(json.dumps({**line, **provenance()}))


if __name__ == "__main__":
    main()
