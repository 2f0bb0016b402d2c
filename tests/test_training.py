import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from hjepa import Agent
from hjepa.config import apply_overrides
from hjepa.train import RunConfig, train
from hjepa.train.checkpoint import CheckpointError, Checkpoints, load_weights


def _cfg(data, steps, **extra):
    overrides = [f"train.steps={steps}", "train.batch_size=8", "train.seq_len=3", "train.log_every=1",
                 "train.checkpoint_every=1000", "train.warmup_steps=2", "model.encoder.channels=[8,8,8]",
                 "model.encoder.latent_dim=8", "model.predictor.hidden_dim=32"]
    overrides += [f"{k}={v}" for k, v in extra.items()]
    return apply_overrides(RunConfig(data=str(data)), overrides)


def test_resume_continues_where_it_stopped(tiny_dataset_dir, tmp_path):
    run = tmp_path / "run"
    train(_cfg(tiny_dataset_dir, 4), run, progress=False)
    assert Checkpoints(run).load().state["step"] == 4
    first = load_weights(run / "model.safetensors")
    summary = train(_cfg(tiny_dataset_dir, 7), run, resume=True, progress=False)
    assert summary["steps"] == 7
    rows = (run / "metrics.csv").read_text().strip().splitlines()
    steps = [int(r.split(",")[0]) for r in rows[1:]]
    assert steps == [1, 2, 3, 4, 5, 6, 7]  # logging continued, not restarted
    second = load_weights(run / "model.safetensors")
    assert any(not torch.equal(first[k], second[k]) for k in first)
    assert json.loads((run / "config.json").read_text())["train"]["steps"] == 7


def test_all_loss_terms_are_finite_and_idm_can_be_off(tiny_dataset_dir, tmp_path):
    summary = train(_cfg(tiny_dataset_dir, 3, **{"loss.idm": 0, "loss.sigreg": 1.0}), tmp_path / "r", progress=False)
    for key in ("pred", "var", "cov", "temporal", "idm", "sigreg", "loss"):
        assert np.isfinite(summary[key])


def test_corrupt_checkpoint_is_a_clear_error(tiny_dataset_dir, tmp_path):
    run = tmp_path / "run"
    train(_cfg(tiny_dataset_dir, 2), run, progress=False)
    (run / "model.safetensors").write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="cannot be read"):
        Agent.load(run)


def test_agent_api_and_shape_errors(tiny_dataset_dir, tmp_path):
    run = tmp_path / "run"
    train(_cfg(tiny_dataset_dir, 2), run, progress=False)
    agent = Agent.load(run)
    agent.reset()
    obs = np.zeros((2, 65, 65), np.float32)
    action = agent.act(obs, obs)
    bound = agent.planner.cfg.max_action_norm
    assert bound == 1.8  # the Two-Rooms planner's bound (the longest step of the data), not the env's 2.45
    assert action.shape == (2,) and action.dtype == np.float32 and 0 < np.linalg.norm(action) <= bound + 1e-5
    second = agent.act(obs, obs)
    # Short-term memory pairs each executed action with the state it was taken from.
    assert len(agent.memory.states) == len(agent.memory.actions) == 2
    assert np.allclose(agent.memory.actions[0].numpy(), action) and np.allclose(agent.memory.actions[1].numpy(), second)
    with pytest.raises(ValueError, match=r"shape \(2, 65, 65\)"):
        agent.act(np.zeros((65, 65, 2), np.float32), obs)
    with pytest.raises(ValueError, match="dtype uint8"):
        agent.act(obs, np.zeros((2, 65, 65), np.uint8))
    with pytest.raises(ValueError, match="float array"):
        agent.act([[0.0]], obs)


def test_agent_reset_with_a_seed_replays_an_episode_after_other_episodes(tiny_dataset_dir, tmp_path):
    run = tmp_path / "run"
    train(_cfg(tiny_dataset_dir, 2), run, progress=False)
    agent = Agent.load(run)
    rng = np.random.default_rng(0)
    obs, goal = rng.random((2, 2, 65, 65), dtype=np.float32)

    def episode(seed):
        agent.reset(seed)
        return np.stack([agent.act(obs, goal) for _ in range(3)])

    first = episode(3)
    episode(4)  # another episode draws from the planner's random stream in between
    np.testing.assert_array_equal(episode(3), first)


def test_agent_holds_still_when_no_plan_is_safe(tiny_dataset_dir, tmp_path):
    from hjepa.cost import ForbiddenRegion

    run = tmp_path / "run"
    train(_cfg(tiny_dataset_dir, 2), run, progress=False)
    obs = np.zeros((2, 65, 65), np.float32)
    free = Agent.load(run)
    assert np.linalg.norm(free.act(obs, obs + 0.5)) > 0 and not free.info.get("guardrail_stop")
    # a read-out that puts every imagined state inside the forbidden box: nothing is safe
    walled_in = Agent.load(run, guardrails=[ForbiddenRegion(lambda z: z[..., :2] * 0, low=[-1, -1], high=[1, 1])])
    action = walled_in.act(obs, obs + 0.5)
    assert np.array_equal(action, np.zeros(2, np.float32)) and walled_in.info["guardrail_stop"]
    assert walled_in.info["planner_iterations"] >= 1


def _free_port() -> int:
    """A port nothing listens on now (a fixed port fails when another run still holds it)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_ddp_two_cpu_processes_stay_identical(tiny_dataset_dir, tmp_path):
    run = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", str(_free_port()),
           "-m", "hjepa.cli", "train", "--data", str(tiny_dataset_dir), "--out", str(run), "--steps", "3", "--quiet",
           "--set", "train.batch_size=4", "train.seq_len=2", "model.encoder.channels=[8,8,8]",
           "model.encoder.latent_dim=8", "model.predictor.hidden_dim=16"]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=env)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    replicas = json.loads((run / "replicas.json").read_text())
    prints = replicas["fingerprints"]
    assert len(prints) == 2 and replicas["steps"] == 3
    assert prints[0] == prints[1]  # each rank drew different batches, gradients were averaged


def test_collapse_is_reported(tiny_dataset_dir, tmp_path):
    from hjepa.train import CollapseWarning

    with pytest.warns(CollapseWarning, match="representation collapse"):
        train(_cfg(tiny_dataset_dir, 4, **{"loss.var": 0, "loss.cov": 0, "loss.idm": 0}), tmp_path / "r", progress=False)


def test_frameskip_model_steps_once_per_k_actions(tiny_dataset_dir, tmp_path):
    from hjepa.world_model import JEPAWorldModel

    cfg = _cfg(tiny_dataset_dir, 2, **{"model.frameskip": 2, "train.seq_len": 2})
    model = JEPAWorldModel(cfg.model)
    z0 = torch.zeros(3, 8)
    assert model.rollout(z0, torch.zeros(3, 6, 2)).shape == (3, 3, 8)  # 6 env steps -> 3 predictor steps
    with pytest.raises(ValueError, match="predictor steps of 2"):
        model.rollout(z0, torch.zeros(3, 5, 2))
    summary = train(cfg, tmp_path / "run", progress=False)
    assert summary["steps"] == 2 and np.isfinite(summary["loss"])
    agent = Agent.load(tmp_path / "run")  # default planner: horizon 8 x repeat 4 splits into steps of 2
    agent.reset()
    obs = np.zeros((2, 65, 65), np.float32)
    assert agent.act(obs, obs).shape == (2,)


def test_latent_windows_line_up_with_their_actions():
    from hjepa.train.refit import sample_latent_windows

    frames = torch.arange(17.0)  # trajectory t's frame f has latent 100 t + f, action 100 t + f
    latents = (100 * torch.arange(3.0)[:, None] + frames)[..., None]  # (3, 17, 1)
    actions = latents[:, :16].expand(-1, -1, 2)  # (3, 16, 2)
    z, a = sample_latent_windows(latents, actions, 50, seq_len=3, frameskip=4, generator=torch.Generator().manual_seed(0))
    assert z.shape == (50, 4, 1) and a.shape == (50, 12, 2)
    start = z[:, 0, 0]
    assert torch.equal(z[:, :, 0], start[:, None] + 4 * torch.arange(4.0))  # every k-th frame
    assert torch.equal(a[:, :, 0], start[:, None] + torch.arange(12.0))  # the actions between them, from the same start
    assert int(start.remainder(100).max()) <= 4 and len(set((start // 100).tolist())) == 3


def test_refit_changes_only_the_predictor_and_lowers_its_holdout_error(tiny_dataset_dir, tmp_path):
    from hjepa.train.refit import RefitConfig, refit_predictor

    run = tmp_path / "run"
    train(_cfg(tiny_dataset_dir, 3), run, progress=False)
    before = load_weights(run / "model.safetensors")
    from hjepa.config import ConfigError

    with pytest.raises(ConfigError, match="seq_len=10"):  # 40-step windows in 16-step trajectories
        refit_predictor(run, RefitConfig(minutes=0, steps=5, seq_len=10), progress=False)
    assert not (run / "refit.json").exists()
    summary = refit_predictor(run, RefitConfig(minutes=0, steps=80, batch_size=64, seq_len=3, lr=1e-3), progress=False)
    after = load_weights(run / "model.safetensors")
    assert summary["steps"] == 80 and summary["holdout_pred_after"] < summary["holdout_pred_before"]
    assert set(after) == set(before)
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed and all(k.startswith("model.predictor.") for k in changed)
    assert json.loads((run / "refit.json").read_text())["summary"]["steps"] == 80
    Agent.load(run)  # still a loadable run


def test_refit_learns_from_extra_data_in_its_share_of_each_batch(tiny_dataset_dir, tmp_path):
    from hjepa.config import ConfigError
    from hjepa.envs.two_rooms import CollectConfig, collect_random_walks
    from hjepa.train.refit import RefitConfig, refit_predictor

    run = tmp_path / "run"
    train(_cfg(tiny_dataset_dir, 3), run, progress=False)
    # Extra data from elsewhere in the world: fast straight runs (every step 1.8 px), unlike the training walks.
    fast = CollectConfig(num_trajectories=20, length=16, seed=3, step_mean=1.8, step_std=0.0, heading_concentration=50.0)
    collect_random_walks(fast, progress=False).save(tmp_path / "fast")
    collect_random_walks(CollectConfig(num_trajectories=4, length=8, seed=3), progress=False).save(tmp_path / "short")
    with pytest.raises(ConfigError, match="short"):  # 12-step windows cannot come from 8-step trajectories
        refit_predictor(run, RefitConfig(minutes=0, steps=5, seq_len=3, extra_data=str(tmp_path / "short")), progress=False)
    with pytest.raises(ConfigError, match="extra_share"):
        RefitConfig(extra_share=1.5)
    errors = {}
    for share in (0.0, 0.5):
        trial = tmp_path / f"run{share}"
        trial.mkdir()
        for f in run.iterdir():
            if f.is_file():
                (trial / f.name).write_bytes(f.read_bytes())
        summary = refit_predictor(trial, RefitConfig(minutes=0, steps=60, batch_size=64, seq_len=3, lr=1e-3,
                                                    extra_data=str(tmp_path / "fast"), extra_share=share), progress=False)
        assert summary["extra_trajectories"] == 20
        errors[share] = summary
    assert errors[0.0]["extra_pred_before"] == errors[0.5]["extra_pred_before"]  # same model, same held windows
    assert errors[0.5]["extra_pred_after"] < errors[0.5]["extra_pred_before"]
    assert errors[0.5]["extra_pred_after"] < errors[0.0]["extra_pred_after"]  # its share of the batches is what taught it


def test_ddp_run_resumes_with_each_rank_its_own_random_streams(tiny_dataset_dir, tmp_path):
    """Two ranks to step 4; the same run cut back to its step-2 unit (as a kill would leave it)
    resumes from it with both ranks' sampler and RNG states, and its replicas stay identical."""
    import shutil

    from hjepa.train.checkpoint import Checkpoints

    def launch(run, *extra):
        cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", str(_free_port()),
               "-m", "hjepa.cli", "train", "--out", str(run), "--steps", "4", "--quiet", *extra]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=dict(os.environ, OMP_NUM_THREADS="1"))
        assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]

    small = ["--data", str(tiny_dataset_dir), "--set", "train.batch_size=4", "train.seq_len=2", "train.checkpoint_every=2",
             "model.encoder.channels=[8,8,8]", "model.encoder.latent_dim=8", "model.predictor.hidden_dim=16"]
    cut = tmp_path / "cut"
    launch(cut, *small)
    shutil.rmtree(cut / "checkpoints" / "step_00000004")
    unit = Checkpoints(cut).load()
    assert unit.state["step"] == 2 and len(unit.state["rng"]) == 2
    assert unit.state["rng"][0]["generators"] != unit.state["rng"][1]["generators"]  # each rank its own stream
    launch(cut, "--resume")
    replicas = json.loads((cut / "replicas.json").read_text())
    assert replicas["steps"] == 4 and replicas["fingerprints"][0] == replicas["fingerprints"][1]
    assert Checkpoints(cut).load().state["step"] == 4
