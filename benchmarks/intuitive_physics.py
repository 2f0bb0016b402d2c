"""Intuitive-physics benchmark: is a video JEPA surprised by impossible events?

    python benchmarks/intuitive_physics.py --train-minutes 20 --seed 0
    python benchmarks/intuitive_physics.py --train-steps 8000 --seed 0   # same work on any machine

Generates physically possible training clips and, per property (permanence, continuity,
solidity, immutability), matched possible/impossible test pairs; trains the video JEPA (one
latent vector per frame), the spatial video JEPA (one latent map per frame) and a pixel-space
next-frame predictor for the same wall-clock budget each on the same clips; scores them and
the two JEPAs untrained, and probes what the JEPAs' latents know (linear-probe R^2 of the
ball's position and velocity and of the wall, on one-ball clips). Prints a table and one JSON
line: pairwise accuracy per property (and per kind of violation: vanish/appear,
recolour/resize) and AUROC, for each model, with surprise aggregated as the max over time at
the headline context (the mean, and other contexts, are in the table), and the probes.
Leaves OUT/jepa and OUT/pixel as runs (`hjepa surprise VIDEO --run OUT/jepa`);
OUT/jepa/surprise.json holds the threshold (99th percentile of frame surprise on held-out
possible clips) that the CLI uses.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from common import headline, provenance
from hjepa.config import apply_overrides
from hjepa.data.physics import PROPERTIES, labelled_clips, possible_clips, violation_pairs
from hjepa.eval.probes import clip_probes
from hjepa.eval.surprise import AGGREGATES, frame_surprise, violation_metrics
from hjepa.train.checkpoint import write_json
from hjepa.train.video import (PixelRunConfig, SpatialVideoRunConfig, VideoRunConfig, load_video_model, train_pixel,
                               train_spatial_video, train_video)
from hjepa.seeds import task_seed
from hjepa.utils import seed_everything
from hjepa.world_model.spatial_video import SpatialVideoJEPA
from hjepa.world_model.video import VideoJEPA


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    budget = p.add_mutually_exclusive_group(required=True)
    budget.add_argument("--train-minutes", type=float, help="wall-clock budget for each trained model")
    budget.add_argument("--train-steps", type=int,
                        help="step budget for each trained model instead (comparable across machines and loads)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=Path("bench_physics"))
    p.add_argument("--clips", type=int, default=2000, help="training clips")
    p.add_argument("--pairs", type=int, default=100, help="test pairs per property")
    p.add_argument("--contexts", type=int, nargs="+", default=[2, 4, 8],
                   help="contexts to score the JEPAs at (those above the trained model.context are skipped)")
    p.add_argument("--context", type=int, default=4,
                   help="headline context of the vector JEPA and the pixel baseline (the spatial JEPA uses its model.context)")
    p.add_argument("--set", nargs="*", default=[], help="video JEPA overrides, e.g. loss.regularizer=sigreg")
    p.add_argument("--spatial-set", nargs="*", default=[], help="spatial video JEPA overrides, e.g. model.channels=32")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args()

    limit = [f"train.minutes={args.train_minutes}"] if args.train_steps is None else ["train.minutes=0",
                                                                                      f"train.steps={args.train_steps}"]
    jepa_cfg = apply_overrides(VideoRunConfig(), [*limit, f"train.seed={args.seed}",
                                                  f"data.clips={args.clips}", f"data.seed={args.seed}", *args.set])
    if args.context > jepa_cfg.model.context:
        p.error(f"--context {args.context} is longer than the JEPA is trained on (model.context={jepa_cfg.model.context})")

    t0 = time.time()
    # training and calibration clips from the collect range, test pairs and probe clips from the test range (hjepa.seeds)
    clips = possible_clips(args.clips, seed=task_seed("collect", args.seed, 0))
    pairs = {prop: violation_pairs(prop, args.pairs, seed=task_seed("test", args.seed, 0)) for prop in PROPERTIES}
    calibration = possible_clips(100, seed=task_seed("collect", args.seed, 1))
    gen_s = time.time() - t0
    print(f"generated {len(clips)} training clips and {args.pairs} pairs x {len(PROPERTIES)} properties in {gen_s:.0f} s")

    jepa_summary = train_video(jepa_cfg, args.out / "jepa", clips=clips, progress=not args.quiet)
    pixel_cfg = apply_overrides(PixelRunConfig(), [*limit, f"train.seed={args.seed}",
                                                   f"data.clips={args.clips}", f"data.seed={args.seed}",
                                                   f"model.context={args.context}"])
    pixel_summary = train_pixel(pixel_cfg, args.out / "pixel", clips=clips, progress=not args.quiet)
    spatial_cfg = apply_overrides(SpatialVideoRunConfig(), [*limit, f"train.seed={args.seed}",
                                                            f"data.clips={args.clips}", f"data.seed={args.seed}",
                                                            *args.spatial_set])
    spatial_summary = train_spatial_video(spatial_cfg, args.out / "spatial_jepa", clips=clips, progress=not args.quiet)

    seed_everything(args.seed)
    jepa = load_video_model(args.out / "jepa")
    untrained = VideoJEPA(jepa_cfg.model).to(next(jepa.parameters()).device).eval()  # same architecture, initial weights
    jepa_contexts = sorted({c for c in args.contexts if c <= jepa_cfg.model.context} | {args.context})  # headline included
    spatial = load_video_model(args.out / "spatial_jepa")
    untrained_spatial = SpatialVideoJEPA(spatial_cfg.model).to(next(spatial.parameters()).device).eval()
    spatial_context = spatial_cfg.model.context  # its own: the spatial JEPA is scored at the context it is trained on
    # name: (model, contexts it is scored at, the headline one among them)
    models = {"jepa": (jepa, jepa_contexts, args.context), "spatial_jepa": (spatial, [spatial_context], spatial_context),
              "pixel": (load_video_model(args.out / "pixel"), [args.context], args.context),
              "untrained": (untrained, jepa_contexts, args.context),
              "untrained_spatial": (untrained_spatial, [spatial_context], spatial_context)}
    results: dict = {}
    rows = []
    for name, (model, contexts, _) in models.items():
        for c in contexts:
            for prop in PROPERTIES:
                metrics = violation_metrics(model, pairs[prop], c)
                results.setdefault(name, {}).setdefault(c, {})[prop] = metrics
                for how in AGGREGATES:
                    by_variant = " ".join(f"{v} {a:.2f}" for v, a in metrics[how]["by_variant"].items())
                    rows.append((name, c, prop, how, metrics[how]["pairwise"], metrics[how]["auroc"], by_variant))

    # The CLI's default threshold: the 99th percentile of frame surprise on possible clips.
    errors = frame_surprise(models["jepa"][0], calibration, args.context)
    threshold = float(np.nanpercentile(errors, 99))
    write_json(args.out / "jepa" / "surprise.json", {"context": args.context, "threshold": threshold,
                                                      "calibration": "99th percentile of frame surprise on 100 possible clips"})

    # What the latents know: linear probes of the ball and the wall on one-ball clips.
    probe_clips, facts = labelled_clips(200, seed=task_seed("test", args.seed, 1))
    probes = {name: {k: round(v, 3) for k, v in clip_probes(models[name][0], probe_clips, facts).items()}
              for name in ("jepa", "untrained")}

    print(f"\n{'model':<17} {'ctx':>3} {'property':<13} {'agg':<5} {'pairwise':>8} {'auroc':>6}  pairwise by variant")
    for name, c, prop, how, acc, auc, by_variant in rows:
        print(f"{name:<17} {c:>3} {prop:<13} {how:<5} {acc:>8.3f} {auc:>6.3f}  {by_variant}")
    line = {"benchmark": "intuitive_physics", **headline("test"), "uses_labels": False, "train_minutes": args.train_minutes,
            "train_steps": args.train_steps,
            "seed": args.seed, "clips": args.clips, "pairs_per_property": args.pairs, "context": args.context,
            "spatial_context": spatial_context, "aggregate": "max",
            "jepa_steps": jepa_summary["steps"], "spatial_jepa_steps": spatial_summary["steps"],
            "pixel_steps": pixel_summary["steps"], "overrides": args.set, "spatial_overrides": args.spatial_set}
    for name, (_, _, headline_context) in models.items():
        headline = results[name][headline_context]
        line[name] = {"pairwise": {prop: round(headline[prop]["max"]["pairwise"], 3) for prop in PROPERTIES},
                      "auroc": {prop: round(headline[prop]["max"]["auroc"], 3) for prop in PROPERTIES},
                      "by_variant": {prop: {v: round(a, 3) for v, a in headline[prop]["max"]["by_variant"].items()}
                                     for prop in PROPERTIES}}
    print("\nlinear-probe R^2 (held-out one-ball clips):")
    for name, r2 in probes.items():
        print(f"{name:<10} " + "  ".join(f"{k} {v:.2f}" for k, v in r2.items()))
    line["probe_r2"] = probes
    line["seconds"] = round(time.time() - t0, 1)
    print(json.dumps({**line, **provenance()}))


if __name__ == "__main__":
    main()
