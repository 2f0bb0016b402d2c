"""The mistakes users make, fed to the CLI: each exits 2 with one line `hjepa: error: ...`, no
traceback, and leaves what was saved before exactly as it was."""
import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from hjepa.cli import main
from hjepa.train import RunConfig, train
from hjepa.config import apply_overrides

SMALL = ["train.batch_size=8", "train.seq_len=3", "train.warmup_steps=2", "model.encoder.channels=[8,8,8]",
         "model.encoder.latent_dim=8", "model.predictor.hidden_dim=32"]


@pytest.fixture(scope="module")
def world(tmp_path_factory, tiny_dataset_dir):
    """A dataset, a trained run and a few user files, shared by every case (which must not change them)."""
    root = tmp_path_factory.mktemp("bad")
    data = root / "data"
    shutil.copytree(tiny_dataset_dir, data)
    run = root / "run"
    train(apply_overrides(RunConfig(data=str(data)), ["train.steps=2", *SMALL]), run, progress=False)
    (root / "notes.txt").write_text("not a dataset, a run, a video or a config\n")
    (root / "bad.yaml").write_text("train: [unclosed\n")
    np.save(root / "empty.npy", np.zeros((0, 64, 64, 3), np.uint8))
    np.save(root / "one_frame.npy", np.zeros((1, 64, 64, 3), np.uint8))
    np.save(root / "flat.npy", np.zeros((10, 64), np.uint8))
    np.save(root / "nan.npy", np.full((10, 64, 64, 3), np.nan, np.float32))
    np.save(root / "pickled.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    (root / "clips_empty").mkdir()
    (root / "clips_short").mkdir()
    np.save(root / "clips_short" / "a.npy", np.zeros((1, 64, 64, 3), np.uint8))
    # damaged copies of the dataset and the run, one defect each
    for name, damage in {
        "data_truncated": lambda d: _truncate(d / "observations.npy"),
        "data_badmeta": lambda d: (d / "meta.json").write_text("{not json"),
        "data_noactions": lambda d: (d / "actions.npy").unlink(),
        "data_wrongshape": lambda d: _replace_array(d, "actions", np.zeros((3, 2), np.float32)),
        "data_wrongdtype": lambda d: _replace_array(d, "observations", np.zeros((40, 17, 2, 65, 65), np.float32)),
        "data_nan_actions": lambda d: _replace_array(d, "actions", np.full((40, 16, 2), np.nan, np.float32)),
    }.items():
        shutil.copytree(data, root / name)
        damage(root / name)
    for name, damage in {
        "run_truncated": lambda r: _truncate(r / "model.safetensors"),
        "run_badconfig": lambda r: (r / "config.json").write_text("{"),
        "run_noweights": lambda r: (r / "model.safetensors").unlink(),
    }.items():
        shutil.copytree(run, root / name)
        damage(root / name)
    return root


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _replace_array(directory: Path, name: str, array: np.ndarray) -> None:
    """Write `array` as name.npy and make meta.json agree with it (so only the content is wrong)."""
    np.save(directory / f"{name}.npy", array)
    meta = json.loads((directory / "meta.json").read_text())
    meta["files"][name] = {"shape": list(array.shape), "dtype": str(array.dtype),
                           "sha256": hashlib.sha256((directory / f"{name}.npy").read_bytes()).hexdigest()}
    (directory / "meta.json").write_text(json.dumps(meta))


def _snapshot(root: Path) -> dict:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and "tb" not in p.parts}


CASES = {
    # bad paths
    "eval a missing run": "eval {root}/nope",
    "train on a missing dataset": "train --data {root}/nope --out {root}/new_run",
    "surprise on a missing video": "surprise {root}/nope.npy --run {root}/video_run",
    "import a missing file": "import {root}/nope.h5 --out {root}/new_data",
    "export a missing dataset": "export {root}/nope --out {root}/x.h5",
    "resume a run that is not there": "train --out {root}/nope --resume",
    # files of the wrong kind
    "train on a text file": "train --data {root}/notes.txt --out {root}/new_run",
    "eval a dataset as a run": "eval {root}/data",
    "eval a text file as a run": "eval {root}/notes.txt",
    "a run config that is not YAML": "train --data {root}/data --out {root}/new_run --config {root}/bad.yaml",
    "import a text file": "import {root}/notes.txt --out {root}/new_data",
    "surprise with a pickled array": "surprise {root}/pickled.npy --run {root}/video_run",
    "surprise with a JEPA run, not a video run": "surprise {root}/one_frame.npy --run {root}/run",
    # truncated and corrupt files
    "truncated observations": "train --data {root}/data_truncated --out {root}/new_run",
    "corrupt meta.json": "train --data {root}/data_badmeta --out {root}/new_run",
    "a dataset file missing": "train --data {root}/data_noactions --out {root}/new_run",
    "truncated weights": "eval {root}/run_truncated --episodes 1",
    "missing weights": "eval {root}/run_noweights --episodes 1",
    "corrupt run config": "eval {root}/run_badconfig --episodes 1",
    "export a truncated dataset": "export {root}/data_truncated --out {root}/x.h5",
    # wrong shapes and dtypes
    "actions of the wrong shape": "train --data {root}/data_wrongshape --out {root}/new_run",
    "float observations": "train --data {root}/data_wrongdtype --out {root}/new_run",
    "a 2-D video": "surprise {root}/flat.npy --run {root}/video_run",
    # NaNs
    "NaN learning rate": "train --data {root}/data --out {root}/new_run --set train.lr=nan",
    "NaN actions in the dataset": "train --data {root}/data_nan_actions --out {root}/new_run --set train.seq_len=3",
    "a NaN video": "surprise {root}/nan.npy --run {root}/video_run",
    "NaN minutes": "train --data {root}/data --out {root}/new_run --minutes nan",
    "NaN planner setting": "eval {root}/run --set init_std=nan",
    # empty and one-frame videos
    "an empty video": "surprise {root}/empty.npy --run {root}/video_run",
    "a one-frame video": "surprise {root}/one_frame.npy --run {root}/video_run",
    "a folder without clips": "train-video --data {root}/clips_empty --out {root}/new_video",
    "a folder of one-frame clips": "train-video --data {root}/clips_short --out {root}/new_video",
    # out-of-range and unknown options
    "zero episodes": "eval {root}/run --episodes 0",
    "negative minutes": "train --data {root}/data --out {root}/new_run --minutes -1",
    "negative batch size": "train --data {root}/data --out {root}/new_run --set train.batch_size=-5",
    "zero horizon": "eval {root}/run --set horizon=0",
    "a planner setting that is not a number": "eval {root}/run --set horizon=ten",
    "an unknown planner setting": "eval {root}/run --set horizn=4",
    "an unknown config key": "train --data {root}/data --out {root}/new_run --set train.bach_size=4",
    "an unknown section": "train --data {root}/data --out {root}/new_run --set trian.steps=4",
    "an override without =": "train --data {root}/data --out {root}/new_run --set train.steps",
    "an unknown planner": "eval {root}/run --planner rrt",
    "an unknown world": "collect --world NoSuchWorld-v9 --out {root}/new_data --trajectories 2",
    "an unknown flag": "eval {root}/run --episdes 3",
    "an unknown command": "trian --data {root}/data",
    "zero trajectories": "collect --out {root}/new_data --trajectories 0",
    "a Push-T block share above 1": "collect --world pusht --out {root}/new_data --trajectories 2 --set block_share=1.5",
    "a Push-T waypoint segment range upside down": "collect --world pusht --out {root}/new_data --trajectories 2 --set segment=[9,3]",
    "a negative seed": "collect --out {root}/new_data --trajectories 2 --seed -1",
    "a negative refit budget": "refit-predictor {root}/run --minutes -2",
    "zero value steps": "fit-value {root}/run --steps 0",
    "a bad expectile": "fit-value {root}/run --set expectile=2",
    "an unknown encoder": "train --data {root}/data --out {root}/new_run --set model.encoder.kind=vit",
    "an unknown predictor kind": "train --data {root}/data --out {root}/new_run --set model.predictor.kind=gnn",
    "more experts chosen than there are": "train --data {root}/data --out {root}/new_run --set model.predictor.kind=moe "
                                          "model.predictor.experts=2 model.predictor.top_k=3",
    "pessimism without an ensemble": "eval {root}/run --episodes 1 --skip-probes --set uncertainty_weight=1",
    "a disagreement bound without a calibration": "eval {root}/run --episodes 1 --skip-probes --max-uncertainty 2",
    "a zero disagreement bound": "eval {root}/run --episodes 1 --skip-probes --max-uncertainty 0",
    "a change on resume": "train --out {root}/run --resume --set loss.idm=0",
    "a config file on resume": "train --out {root}/run --resume --config {root}/bad.yaml",
    "another dataset on resume": "train --out {root}/run --resume --data {root}/data_truncated",
    # an output path that is a file, or that already holds something
    "collect into a file": "collect --out {root}/notes.txt --trajectories 2",
    "train into a file": "train --data {root}/data --out {root}/notes.txt",
    "collect over a dataset": "collect --out {root}/data --trajectories 2",
    "train over a run": "train --data {root}/data --out {root}/run",
    "explore into a file": "explore {root}/run --out {root}/notes.txt --episodes 1",
    "explore over a dataset": "explore {root}/run --out {root}/data --episodes 1",
    "import over a dataset": "import {root}/notes.txt --out {root}/data",
    "train-video into a file": "train-video --out {root}/notes.txt --clips 4",
    "physics clips into a file": "physics-pair continuity --out {root}/notes.txt",
    "a GIF inside a file": "eval {root}/run --episodes 1 --skip-probes --gif {root}/notes.txt/episodes.gif",
}


@pytest.fixture(scope="module")
def video_run(world):
    out = world / "video_run"
    main(["train-video", "--out", str(out), "--quiet", "--set", "train.steps=2", "train.minutes=0", "data.clips=4",
          "data.physics.frames=6", "model.context=2", "model.hidden_dim=8", "model.encoder.channels=[4,4]",
          "model.encoder.latent_dim=8", "train.batch_size=2"])
    return out


@pytest.mark.parametrize("case", list(CASES))
def test_a_user_mistake_is_one_line_exit_2_and_changes_nothing(case, world, video_run, capsys):
    argv = CASES[case].format(root=world).split()
    before = _snapshot(world)
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        main(argv + ["--quiet"] if argv[0] not in ("import", "export", "physics-pair", "value-map") else argv)
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert exit_info.value.code == 2, (case, err)
    assert len(lines) == 1 and lines[0].startswith("hjepa: error: "), (case, err)
    assert "Traceback" not in err + out
    after = _snapshot(world)
    assert after == before, (case, sorted(set(after.items()) ^ set(before.items())))
    for made in ("new_run", "new_data", "new_video"):  # nothing half-made left behind either
        assert not (world / made).exists() or not any((world / made).iterdir()), (case, made)
