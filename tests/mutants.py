"""Would the tests notice? Replace a subject by a constant stub, run its tests, expect a failure.

    python tests/mutants.py          # not collected by pytest: a check of the tests, run by hand

Each mutant edits one line of a copy of src/ (in a temporary folder) and runs one test file
against it; a mutant the tests do not catch is reported as SURVIVED and the exit status is 1.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MUTANTS = [  # (what, file, line as written, the stub, the test file that must fail)
    ("evaluate's success rate -> 0.5", "src/hjepa/eval/episodes.py", '"success_rate": float(success.mean()),',
     '"success_rate": 0.5,', "tests/test_env.py"),
    ("task_seed -> the index alone", "src/hjepa/seeds.py",
     "return PURPOSES.index(purpose) * SPAN + int(seed) * STRIDE + int(index)", "return int(index)", "tests/test_seeds.py"),
    ("Planner.uses_labels -> False", "src/hjepa/actor/base.py", "return reads_labels(*self.guardrails, self.cost)",
     "return False", "tests/test_planner.py"),
    ("frames_above -> []", "src/hjepa/eval/surprise.py",
     "return [int(t) for t in np.flatnonzero(np.nan_to_num(errors, nan=-np.inf) > threshold)]", "return []",
     "tests/test_surprise.py"),
    ("ActionBound.violated -> never", "src/hjepa/cost/guardrails.py",
     "return actions.norm(dim=-1).amax(dim=-1) > self.max_norm * (1 + 1e-5)",
     "return torch.zeros(len(actions), dtype=torch.bool)", "tests/test_planner.py"),
    ("DatasetTasks.pick ignores the split", "src/hjepa/envs/dataset_tasks.py",
     "pairs = self.pairs_of.get(purpose_of(seed), self.pairs)", "pairs = self.pairs", "tests/test_seeds.py"),
    ("vicreg_variance -> 0", "src/hjepa/world_model/regularizers.py", "return torch.relu(target_std - std).mean()",
     "return z.sum() * 0", "tests/test_regularizers.py"),
]


def main() -> int:
    survived = 0
    for what, path, line, stub, tests in MUTANTS:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            for part in ("src", "tests"):
                shutil.copytree(ROOT / part, work / part)
            target = work / path
            text = target.read_text()
            if text.count(line) != 1:
                print(f"{what}: the line to replace is not in {path} once; update this script")
                return 2
            target.write_text(text.replace(line, stub))
            env = dict(os.environ, PYTHONPATH=str(work / "src"))
            run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:warnings", "-p", "no:cacheprovider",
                                  str(work / tests)], cwd=work, env=env, capture_output=True, text=True)
        failed = [ln.split("::")[1].split(" ")[0] for ln in run.stdout.splitlines() if ln.startswith("FAILED")]
        caught = run.returncode != 0 and bool(failed)
        survived += not caught
        print(f"{'caught' if caught else 'SURVIVED'}: {what} ({tests}{': ' + failed[0] if failed else ''})", flush=True)
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main())
