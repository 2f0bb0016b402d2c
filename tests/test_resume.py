"""Exact resume, crash-safe checkpoint units, and the rules for what a resumed run may change."""
import json
import os
import stat

import numpy as np
import pytest
import torch

from hjepa.cli import main
from hjepa.cli import run as run_cli
from hjepa.config import ConfigError, apply_overrides
from hjepa.data.dataset import WindowSampler
from hjepa.train import RunConfig, train
from hjepa.train.checkpoint import CheckpointError, Checkpoints, load_weights
from hjepa.train.video import VideoRunConfig, train_video

SMALL = ["train.batch_size=8", "train.seq_len=3", "train.log_every=1", "train.warmup_steps=2", "train.checkpoint_every=2",
         "model.encoder.channels=[8,8,8]", "model.encoder.latent_dim=8", "model.predictor.hidden_dim=32"]


def _cfg(data, steps=7, *extra):
    return apply_overrides(RunConfig(data=str(data)), [f"train.steps={steps}", *SMALL, *extra])


class Killed(Exception):
    """Stands for SIGKILL: the loop saves nothing on its way out (only KeyboardInterrupt saves)."""


def _kill_after(monkeypatch, batches: int):
    """Make the sampler raise Killed on its (batches + 1)-th draw."""
    real, calls = WindowSampler.sample, {"n": 0}

    def sample(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] > batches:
            raise Killed
        return real(self, *args, **kwargs)

    monkeypatch.setattr(WindowSampler, "sample", sample)


def _same_weights(a, b) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_killed_and_resumed_run_ends_with_the_weights_of_an_uninterrupted_one(tiny_dataset_dir, tmp_path, monkeypatch):
    whole = tmp_path / "whole"
    train(_cfg(tiny_dataset_dir), whole, progress=False)
    cut = tmp_path / "cut"
    with monkeypatch.context() as m:
        _kill_after(m, 5)  # dies during step 6: the last unit is step 4
        with pytest.raises(Killed):
            train(_cfg(tiny_dataset_dir), cut, progress=False)
    assert Checkpoints(cut).load().state["step"] == 4
    torch.manual_seed(123)  # whatever the process did in between: the unit's random states win
    np.random.seed(123)
    summary = train(_cfg(tiny_dataset_dir), cut, resume=True, progress=False)
    assert summary["steps"] == 7
    assert _same_weights(load_weights(whole / "model.safetensors"), load_weights(cut / "model.safetensors"))
    opt_whole, _ = Checkpoints(whole).load().tensors("optimizer")
    opt_cut, _ = Checkpoints(cut).load().tensors("optimizer")
    assert _same_weights(opt_whole, opt_cut)
    steps = [int(r.split(",")[0]) for r in (cut / "metrics.csv").read_text().splitlines()[1:]]
    assert steps == [1, 2, 3, 4, 5, 6, 7]  # step 5, logged before the kill, is logged once


def test_a_control_run_without_restored_random_states_differs(tiny_dataset_dir, tmp_path, monkeypatch):
    """The exactness test above can fail: resuming with fresh sampler streams ends elsewhere."""
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    train(_cfg(tiny_dataset_dir), whole, progress=False)
    with monkeypatch.context() as m:
        _kill_after(m, 5)
        with pytest.raises(Killed):
            train(_cfg(tiny_dataset_dir), cut, progress=False)
    unit = Checkpoints(cut).load()
    state = dict(unit.state)
    del state["rng"]  # as an older hjepa wrote it
    (unit.path / "state.json").write_text(json.dumps(state))
    manifest = json.loads((unit.path / "MANIFEST.json").read_text())
    data = (unit.path / "state.json").read_bytes()
    import hashlib

    manifest["files"]["state.json"] = {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    (unit.path / "MANIFEST.json").write_text(json.dumps(manifest))
    train(_cfg(tiny_dataset_dir), cut, resume=True, progress=False)
    assert not _same_weights(load_weights(whole / "model.safetensors"), load_weights(cut / "model.safetensors"))


def test_video_run_resumes_exactly(tmp_path, monkeypatch):
    small = ["model.encoder.channels=[4,4]", "model.encoder.latent_dim=8", "model.hidden_dim=8", "model.context=2",
             "train.batch_size=4", "train.minutes=0", "train.steps=5", "train.checkpoint_every=2", "data.clips=6",
             "data.physics.frames=6"]
    cfg = apply_overrides(VideoRunConfig(), small)
    train_video(cfg, tmp_path / "whole", progress=False)
    import hjepa.train.video as video

    real, calls = video.sample_windows, {"n": 0}

    def sample(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] > 3:
            raise Killed
        return real(*args, **kwargs)

    with monkeypatch.context() as m:
        m.setattr(video, "sample_windows", sample)
        with pytest.raises(Killed):
            train_video(cfg, tmp_path / "cut", progress=False)
    train_video(cfg, tmp_path / "cut", resume=True, progress=False)
    assert _same_weights(load_weights(tmp_path / "whole" / "model.safetensors"),
                         load_weights(tmp_path / "cut" / "model.safetensors"))


def test_a_damaged_newest_unit_falls_back_to_the_previous_and_says_so(tiny_dataset_dir, tmp_path, capsys):
    run = tmp_path / "run"
    train(_cfg(tiny_dataset_dir, 6), run, progress=False)
    units = Checkpoints(run).units()
    assert [u.name for u in units] == ["step_00000004", "step_00000006"]  # the two newest are kept
    assert (run / "checkpoints" / "LATEST").read_text() == "step_00000006"
    model = units[-1] / "model.safetensors"
    model.write_bytes(model.read_bytes()[:-100])  # torn
    (run / "checkpoints" / ".step_00000008.tmp").mkdir()  # a save killed midway: ignored
    capsys.readouterr()
    unit = Checkpoints(run).load()
    assert unit.state["step"] == 4
    assert "step_00000006 is damaged" in capsys.readouterr().err
    summary = train(_cfg(tiny_dataset_dir, 7), run, resume=True, progress=False)
    assert summary["steps"] == 7 and not (run / "checkpoints" / ".step_00000008.tmp").exists()
    assert [u.name for u in Checkpoints(run).units()] == ["step_00000006", "step_00000007"]
    capsys.readouterr()
    assert Checkpoints(run).load().state["step"] == 7
    import shutil

    shutil.rmtree(run / "checkpoints" / "step_00000007")
    assert Checkpoints(run).load().state["step"] == 6  # rewritten whole when the resumed run passed step 6 again
    assert capsys.readouterr().err == ""


def test_no_complete_unit_is_an_error_not_a_fresh_start(tiny_dataset_dir, tmp_path):
    run = tmp_path / "run"
    train(_cfg(tiny_dataset_dir, 2), run, progress=False)
    for unit in Checkpoints(run).units():
        (unit / "state.json").write_text("{}")
    with pytest.raises(CheckpointError, match="no complete checkpoint"):
        train(_cfg(tiny_dataset_dir, 4), run, resume=True, progress=False)


def test_checkpoint_files_follow_the_umask(tiny_dataset_dir, tmp_path):
    old = os.umask(0o022)
    try:
        run = tmp_path / "run"
        train(_cfg(tiny_dataset_dir, 2), run, progress=False)
    finally:
        os.umask(old)
    files = [run / "model.safetensors", *Checkpoints(run).units()[-1].iterdir()]
    assert {stat.S_IMODE(f.stat().st_mode) for f in files} == {0o644}


def test_resume_refuses_a_changed_setting_and_names_it(tiny_dataset_dir, tmp_path):
    run = tmp_path / "run"
    train(_cfg(tiny_dataset_dir, 2), run, progress=False)
    before = (run / "config.json").read_text()
    with pytest.raises(ConfigError, match=r"--resume cannot change loss.idm \(saved 4.0, asked 0.0\)"):
        train(_cfg(tiny_dataset_dir, 4, "loss.idm=0"), run, resume=True, progress=False)
    with pytest.raises(ConfigError, match="cannot change model.encoder.latent_dim"):
        run_cli(["train", "--out", str(run), "--resume", "--quiet", "--set", "model.encoder.latent_dim=16"])
    assert (run / "config.json").read_text() == before
    # the budget and logging may change; the README's command needs no --data
    run_cli(["train", "--out", str(run), "--resume", "--steps", "3", "--quiet", "--set", "train.log_every=5"])
    assert Checkpoints(run).load().state["step"] == 3
    assert json.loads((run / "config.json").read_text())["train"]["steps"] == 3


def test_train_cli_on_an_existing_run_or_without_one(tiny_dataset_dir, tmp_path, capsys):
    run = tmp_path / "run"
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--out", str(run), "--resume", "--quiet"])
    assert exit_info.value.code == 2 and "no checkpoint to resume" in capsys.readouterr().err
    run_cli(["train", "--data", str(tiny_dataset_dir), "--out", str(run), "--steps", "2", "--quiet", "--set", *SMALL])
    with pytest.raises(ConfigError, match="already holds a run"):
        run_cli(["train", "--data", str(tiny_dataset_dir), "--out", str(run), "--steps", "2", "--quiet"])


def _raise_after(monkeypatch, module, name: str, calls: int):
    """Make module.name raise Killed from its (calls + 1)-th call on."""
    real, count = getattr(module, name), {"n": 0}

    def wrapped(*args, **kwargs):
        count["n"] += 1
        if count["n"] > calls:
            raise Killed
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, wrapped)


def test_refit_and_fit_value_resume_exactly(tiny_dataset_dir, tmp_path, monkeypatch):
    import hjepa.train.refit as refit
    import hjepa.train.value as value

    base = tmp_path / "base"
    train(_cfg(tiny_dataset_dir, 2), base, progress=False)
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    shutil_copy = __import__("shutil").copytree
    shutil_copy(base, whole)
    shutil_copy(base, cut)
    rcfg = refit.RefitConfig(minutes=0, steps=7, batch_size=16, seq_len=2, checkpoint_every=2, log_every=1)
    refit.refit_predictor(whole, rcfg, progress=False)
    with monkeypatch.context() as m:
        _raise_after(m, refit, "sample_latent_windows", 1 + 5)  # the held-out check, then 5 batches
        with pytest.raises(Killed):
            refit.refit_predictor(cut, rcfg, progress=False)
    assert Checkpoints(cut, "refit_checkpoints").load().state["step"] == 4
    with pytest.raises(ConfigError, match="cannot change lr"):
        refit.refit_predictor(cut, refit.RefitConfig(minutes=0, steps=7, batch_size=16, seq_len=2, lr=1e-2,
                                                     checkpoint_every=2, log_every=1), progress=False, resume=True)
    refit.refit_predictor(cut, rcfg, progress=False, resume=True)
    assert _same_weights(load_weights(whole / "model.safetensors"), load_weights(cut / "model.safetensors"))

    vcfg = value.ValueConfig(steps=7, batch_size=32, checkpoint_every=3)
    value.fit_value(whole, vcfg, progress=False)
    with monkeypatch.context() as m:
        _raise_after(m, value, "sample_hindsight_pairs", 5)
        with pytest.raises(Killed):
            value.fit_value(cut, vcfg, progress=False)
    assert Checkpoints(cut, "value_checkpoints").load().state["step"] == 3
    value.fit_value(cut, vcfg, progress=False, resume=True)
    assert _same_weights(load_weights(whole / "value.safetensors"), load_weights(cut / "value.safetensors"))


def test_a_high_level_resumes_exactly(tiny_dataset_dir, tmp_path, monkeypatch):
    import shutil

    import hjepa.train.high_level as high

    base = tmp_path / "base"
    train(_cfg(tiny_dataset_dir, 2), base, progress=False)
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    shutil.copytree(base, whole)
    shutil.copytree(base, cut)
    cfg = apply_overrides(high.HighTrainConfig(), ["steps=7", "batch_size=16", "seq_len=2", "checkpoint_every=2",
                                                   "log_every=1", "model.span=1", "model.hidden_dim=32"])
    high.train_high_level(whole, cfg, progress=False)
    with monkeypatch.context() as m:
        _raise_after(m, high, "sample_latent_windows", 1 + 5)  # the held-out windows, then 5 batches
        with pytest.raises(Killed):
            high.train_high_level(cut, cfg, progress=False)
    assert Checkpoints(cut, "high_1_checkpoints").load().state["step"] == 4
    with pytest.raises(ConfigError, match="cannot change lr"):
        high.train_high_level(cut, apply_overrides(cfg, ["lr=0.01"]), progress=False, resume=True)
    high.train_high_level(cut, cfg, progress=False, resume=True)
    assert _same_weights(load_weights(whole / "high_level_1.safetensors"), load_weights(cut / "high_level_1.safetensors"))


def test_a_run_in_the_old_layout_resumes_without_random_states_and_says_so(tiny_dataset_dir, tmp_path, capsys):
    import shutil

    run = tmp_path / "run"
    train(_cfg(tiny_dataset_dir, 4), run, progress=False)
    unit = Checkpoints(run).load()
    shutil.copy(unit.files["optimizer"], run / "optimizer.safetensors")  # the layout before units
    (run / "state.json").write_text(json.dumps({"step": 4, "elapsed_seconds": 1.0}))
    shutil.rmtree(run / "checkpoints")
    capsys.readouterr()
    summary = train(_cfg(tiny_dataset_dir, 6), run, resume=True, progress=False)
    assert summary["steps"] == 6 and "written by an older hjepa" in capsys.readouterr().err
