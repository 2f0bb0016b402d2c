"""What a planner pays per rollout for each predictor kind: dense, ensemble, mixture of experts.

    python benchmarks/predictor_speed.py --repeats 20

Times `JEPAWorldModel.rollout_spread` on a planner-sized batch (default 256 candidates x 48
environment steps = 12 predictor steps, latent 64, Two-Rooms actions) with untrained weights
(the time does not depend on them), for the variants of `ensembles.py` and a few widths and
expert counts around them. One JSON line per variant: milliseconds per rollout, its ratio to
the dense model's, parameters and active parameters.
"""
from __future__ import annotations

import argparse
import json
import time

import torch

from common import provenance
from hjepa.perception.encoder import EncoderConfig
from hjepa.world_model.jepa import JEPAWorldModel, ModelConfig
from hjepa.world_model.predictor import PredictorConfig, active_parameters, count_parameters

VARIANTS = {
    "dense": {},
    "ensemble-5x384": {"kind": "ensemble", "members": 5},
    "ensemble-5x192": {"kind": "ensemble", "members": 5, "hidden_dim": 192},
    "ensemble-5x128": {"kind": "ensemble", "members": 5, "hidden_dim": 128},
    "moe-4-top1": {"kind": "moe", "experts": 4, "top_k": 1},
    "moe-8-top1": {"kind": "moe", "experts": 8, "top_k": 1},
}


@torch.no_grad()
def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--candidates", type=int, default=256)
    p.add_argument("--env-steps", type=int, default=48)
    p.add_argument("--latent-dim", type=int, default=64)
    p.add_argument("--repeats", type=int, default=20)
    args = p.parse_args()
    torch.manual_seed(0)
    dense_ms = None
    for name, predictor in VARIANTS.items():
        model = JEPAWorldModel(ModelConfig(encoder=EncoderConfig(latent_dim=args.latent_dim),
                                           predictor=PredictorConfig(**predictor))).eval()
        z0, actions = torch.randn(args.candidates, args.latent_dim), torch.randn(args.candidates, args.env_steps, 2)
        model.rollout_spread(z0, actions)  # warm-up
        start = time.perf_counter()
        for _ in range(args.repeats):
            model.rollout_spread(z0, actions)
        ms = 1000 * (time.perf_counter() - start) / args.repeats
        dense_ms = dense_ms or ms
        print(json.dumps({"benchmark": "predictor_speed", "variant": name, "ms_per_rollout": round(ms, 2),
                          "ratio_to_dense": round(ms / dense_ms, 2), "params": count_parameters(model.predictor),
                          "active_params": active_parameters(model.predictor), "candidates": args.candidates,
                          "env_steps": args.env_steps, "torch_threads": torch.get_num_threads(), **provenance()}))


if __name__ == "__main__":
    main()
