"""Training on a dataset larger than memory: the process stays small.

    python benchmarks/memory.py --gb 8 --train-steps 300 --out /tmp/big

Writes a Rooms dataset of at least --gb GiB chunk by chunk (`hjepa.data.DatasetWriter`: the
observations go straight to disk), trains on it for --train-steps in a child process (the
trainer leaves observations past `train.max_memory_gb` on disk and reads each batch's frames
with pread), and prints one JSON line with the dataset's size and the child's peak resident
memory (ru_maxrss). An existing --out is refused unless --reuse (the same --gb, --length and
--seed), which reuses the dataset; the training run always starts over, so the peak is measured.
"""
from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

from common import BenchmarkOut, provenance
from hjepa.data import TrajectoryDataset
from hjepa.data.dataset import DatasetWriter
from hjepa.envs.rooms import RoomsCollectConfig, collect_rooms


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--gb", type=float, default=8.0, help="dataset size in GiB of observations")
    p.add_argument("--train-steps", type=int, default=300)
    p.add_argument("--length", type=int, default=64)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--reuse", action="store_true", help="reuse the dataset of an existing OUT made with the same settings")
    args = p.parse_args()
    out = BenchmarkOut(args.out, {"benchmark": "memory", "gb": args.gb, "length": args.length, "seed": args.seed}, args.reuse)
    data, run_dir = args.out / "data", args.out / "run"
    reused = ["data"] if out.existed("data/meta.json") else []
    if run_dir.exists():  # a finished run would train nothing, and measure nothing
        shutil.rmtree(run_dir)
    frame_bytes = 2 * 64 * 64
    n = int(args.gb * 2**30 / (frame_bytes * (args.length + 1))) + 1
    t0 = time.time()
    if not (data / "meta.json").exists():
        writer, chunk = None, 500
        for start in range(0, n, chunk):
            k = min(chunk, n - start)
            # chunk c of --seed s is collect seed s * 1000 + c (up to 1,000 chunks, --seed up to 8)
            part = collect_rooms(RoomsCollectConfig(num_trajectories=k, length=args.length, seed=args.seed * 1000 + start // chunk),
                                 progress=False)
            if writer is None:
                writer = DatasetWriter(data, n, args.length, part.obs_shape, part.meta)
            writer.append(part)
            print(f"\rwrote {start + k}/{n} trajectories", end="", file=sys.stderr)
        writer.close()
        print(file=sys.stderr)
    write_s = time.time() - t0
    size = (data / "observations.npy").stat().st_size
    TrajectoryDataset.load(data, verify_checksums=False, in_memory=False)  # the written dataset loads and checks
    t1 = time.time()
    cmd = [sys.executable, "-m", "hjepa.cli", "train", "--data", str(data), "--out", str(run_dir), "--steps",
           str(args.train_steps), "--minutes", "0", "--quiet"]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(json.dumps({"benchmark": "memory", "dataset_gib": round(size / 2**30, 3), "dataset_bytes": size,
                      "trajectories": n, "train_steps": args.train_steps, "peak_rss_gib": round(peak_kib / 2**20, 3),
                      "write_seconds": round(write_s, 1), "train_seconds": round(time.time() - t1, 1), "reused": reused,
                      **provenance()}))


if __name__ == "__main__":
    main()
