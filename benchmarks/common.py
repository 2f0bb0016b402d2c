"""What the benchmarks share: an output folder that is never reused silently, and provenance.

A benchmark writes its recipe (every setting that shapes the data and the model) to
OUT/benchmark.json. Run again on the same --out, it refuses unless --reuse is given; with
--reuse it refuses a different recipe, and its JSON line lists what it reused. Settings that
only change the evaluation (episodes, planner, split) may differ between reuses.

Every JSON line says whether it is a headline number (`headline`): only lines on held-out test
tasks are. A dev-split line says `headline: false` and the benchmark warns on stderr, so a
tuning number cannot pass for a reported one (tests/test_readme.py holds the README's table to
commands without `--split dev`).
"""
from __future__ import annotations

import datetime
import json
import subprocess
import sys
from pathlib import Path


class BenchmarkOut:
    """The --out folder of one benchmark run."""

    def __init__(self, out: Path, recipe: dict, reuse: bool):
        self.path = Path(out)
        record = self.path / "benchmark.json"
        self.before = sorted(p.name for p in self.path.iterdir()) if self.path.is_dir() else []
        if self.before and not reuse:
            fail(f"{self.path} already holds {', '.join(self.before)}: pass --reuse to continue that run "
                 "(the JSON line then lists what was reused), or choose a new --out")
        if self.before:
            if not record.is_file():
                fail(f"--reuse: {self.path} has no benchmark.json, so what made it is unknown: choose a new --out")
            saved = json.loads(record.read_text())["recipe"]
            changed = {k: {"saved": saved.get(k), "now": v} for k, v in recipe.items() if saved.get(k) != v}
            if changed:
                fail(f"--reuse: {self.path} was made with other settings {json.dumps(changed)}: "
                     "drop --reuse and choose a new --out")
            history = json.loads(record.read_text())
            history.setdefault("reused", []).append(provenance())  # what made it stays on record
        else:
            history = {"recipe": recipe, **provenance()}
        self.path.mkdir(parents=True, exist_ok=True)
        record.write_text(json.dumps(history, indent=2) + "\n")

    def existed(self, relative: str) -> bool:
        """Whether OUT/relative was there before this invocation (then it is reused, not made)."""
        parts = Path(relative).parts
        return parts[0] in self.before and (self.path / relative).exists()


def provenance() -> dict:
    """The commit (with a flag for uncommitted changes) and the date: what a quoted number needs."""
    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True,
                                check=True).stdout.strip()
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                                    capture_output=True, text=True, check=True).stdout.strip())
    except (OSError, subprocess.CalledProcessError):
        commit, dirty = "unknown", None
    return {"commit": commit, "uncommitted_changes": dirty, "date": datetime.date.today().isoformat()}


def headline(split: str) -> dict:
    """The JSON fields that say which tasks a number is on and whether it may be quoted as a result."""
    if split != "test":
        print(f"note: {split} tasks are for tuning; this is not a headline number (headline: false)", file=sys.stderr)
    return {"split": split, "headline": split == "test"}


def fail(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(2)
