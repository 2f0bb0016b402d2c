"""Push-T: the physics, the success rules, the collection policy, tasks, and what the image keeps."""
import json

import gymnasium as gym
import numpy as np
import pytest
import torch

pytest.importorskip("pymunk")

from hjepa.envs import make_world
from hjepa.envs.dataset_tasks import DatasetTasks
from hjepa.envs.pusht import (PUSHER_RADIUS, STEM, T_AREA, WORKSPACE, PushT, PushTCollectConfig, collect_pusht, coverage,
                              inside_t, pusht_success, random_start, render, t_outline, to_body)
from hjepa.eval.probes import LinearProbe


def state(pusher=(100.0, 100.0), block=(256.0, 256.0, 0.0), velocity=(0.0, 0.0)):
    return np.float32([*pusher, *block, *velocity])


def test_the_block_stays_put_without_contact_and_moves_when_pushed():
    env = PushT()
    start = state(pusher=(80.0, 80.0), block=(300.0, 300.0, 0.4))
    env.reset(options={"state": start})
    for i in range(16):  # sweeps right then back along y = 80, far above the block
        _, _, _, _, info = env.step(np.float32([0.3, 0.0]) if i < 8 else np.float32([-0.3, 0.0]))
        if i == 7:
            assert info["state"][0] > 150
    assert np.array_equal(info["state"][2:5], start[2:5]) and info["block_moved"] == 0.0
    # The pusher left of the stem at its middle, pushing right: the block goes right
    block = (256.0, 200.0, 0.0)  # the stem spans x in [241, 271], y in [230, 320]
    env.reset(options={"state": state(pusher=(256.0 + STEM[0] - PUSHER_RADIUS - 4, 275.0), block=block)})
    moved = 0.0
    for _ in range(15):
        _, _, _, _, info = env.step(np.float32([0.5, 0.0]))
        moved += info["block_moved"]
    assert info["state"][2] > block[0] + 30 and moved > 30
    assert abs(info["state"][3] - block[1]) < abs(info["state"][2] - block[0])  # mostly along the push


def test_the_pusher_stays_inside_the_workspace():
    env = PushT()
    for direction in ([1, 0], [-1, 0], [0, 1], [0, -1], [1, 1]):
        env.reset(options={"state": state(pusher=(256.0, 256.0), block=(100.0, 420.0, 1.0))})
        for _ in range(40):
            _, _, _, _, info = env.step(np.float32(direction))
        assert (info["state"][:2] >= PUSHER_RADIUS).all() and (info["state"][:2] <= WORKSPACE - PUSHER_RADIUS).all()
    with pytest.raises(ValueError, match="7 finite numbers"):
        env.reset(options={"state": [1.0, 2.0]})


def test_success_rule_and_coverage_on_hand_placed_poses():
    goal = state(pusher=(100.0, 100.0), block=(256.0, 256.0, np.deg2rad(179.0)))
    shifted = lambda dx=0.0, dangle=0.0, pusher_dx=0.0: state((100.0 + pusher_dx, 100.0),
                                                              (256.0 + dx, 256.0, np.deg2rad(179.0 + dangle)))
    assert pusht_success(goal, goal)
    assert pusht_success(shifted(dx=19.0), goal) and not pusht_success(shifted(dx=21.0), goal)
    assert not pusht_success(shifted(dx=15.0, pusher_dx=15.0), goal)  # the pusher counts: sqrt(2) * 15 > 20
    assert pusht_success(shifted(dangle=19.0), goal) and not pusht_success(shifted(dangle=21.0), goal)
    assert pusht_success(shifted(dangle=2.0), goal)  # 181 degrees wraps to -179: 2 degrees off
    assert pusht_success(shifted(dangle=2.0, dx=1.0)[None].repeat(3, 0), goal).shape == (3,)
    # Coverage: the goal T's area under the block
    straight = state(block=(256.0, 256.0, 0.0))
    assert coverage(straight, straight) == pytest.approx(1.0)
    # 30 px to the right: the bar overlaps (120 - 30) x 30, the stem (30 wide) not at all
    right = state(block=(286.0, 256.0, 0.0))
    assert coverage(right, straight) == pytest.approx(90 * 30 / T_AREA, abs=0.01)
    far = state(block=(100.0, 400.0, 2.0))
    assert coverage(far, straight) == 0.0
    assert coverage(np.stack([straight, right]), straight).shape == (2,)
    # the world bands a task by whether the block must move, and reports coverage at the end
    world = make_world("pusht")
    assert world.task_band(goal, shifted(dx=5.0, pusher_dx=80.0)) == "reach"
    assert world.task_band(goal, shifted(dx=25.0)) == "push" and world.task_band(goal, shifted(dangle=25.0)) == "push"
    metrics = world.episode_metrics(right, straight)
    assert metrics["coverage"] == pytest.approx(90 * 30 / T_AREA, abs=0.01) and metrics["coverage_success"] == 0.0
    assert metrics["block_position_error_px"] == pytest.approx(30.0) and metrics["block_angle_error_deg"] == 0.0
    # the outline is the T: 8 corners, and its area is the T's
    x, y = t_outline(np.float64([256.0, 256.0, 0.7])).T
    assert 0.5 * abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))) == pytest.approx(T_AREA)


def test_start_distribution_never_overlaps_and_the_env_is_registered():
    rng = np.random.default_rng(0)
    for _ in range(200):
        s = random_start(rng)
        local = to_body(s[None, None, :2].astype(np.float64), s[None, 2:5].astype(np.float64))
        # sample the pusher's disk: no point of it inside the T
        ring = local + PUSHER_RADIUS * np.stack([np.cos(np.linspace(0, 6.3, 40)), np.sin(np.linspace(0, 6.3, 40))], -1)
        assert not inside_t(ring).any() and not inside_t(local).any()
    env = gym.make("hjepa/PushT-v0")
    obs, info = env.reset(seed=3)
    assert obs.shape == (3, 64, 64) and obs.dtype == np.float32 and info["state"].shape == (7,)
    world = make_world("pusht")
    assert (world.obs_shape, world.action_dim, world.supports_state_reset) == ((3, 64, 64), 2, True)


def test_collection_touches_the_block_is_seeded_and_stays_in_the_box():
    cfg = PushTCollectConfig(num_trajectories=6, length=30, seed=4)
    a, b = collect_pusht(cfg, progress=False), collect_pusht(cfg, progress=False)
    assert np.array_equal(a.observations, b.observations) and np.array_equal(a.actions, b.actions)
    assert np.abs(a.actions).max() <= 1.0
    assert a.meta["block_moving_step_fraction"] > 0.1 and a.meta["block_moved_trajectory_fraction"] > 0.5
    never = collect_pusht(PushTCollectConfig(num_trajectories=6, length=30, seed=4, block_share=0.0, noise=0.0), progress=False)
    assert never.meta["block_moving_step_fraction"] < a.meta["block_moving_step_fraction"]
    # a frame is the render of its recorded state (what a state reset reproduces)
    assert np.array_equal(a.observations[2, 7], np.round(render(a.states[2, 7][None])[0] * 255).astype(np.uint8))


def test_dataset_protocol_tasks_on_push_t_start_where_the_data_was_and_the_recorded_actions_reach_the_goal():
    world = make_world("pusht")
    data = world.collect(6, 30, seed=1, progress=False)
    tasks = DatasetTasks(world, data, goal_offset=10, budget=20)
    for seed in range(3):
        obs, info = tasks.reset(seed=seed)
        traj, t = tasks.task
        assert np.allclose(info["state"], data.states[traj, t], atol=1e-4)
        assert np.abs(obs - data.observations[traj, t] / 255.0).max() <= 1 / 255 + 1e-6
        assert np.abs(info["goal_obs"] - data.observations[traj, t + 10] / 255.0).max() < 1e-6
        assert not info["success"] and info["goal_outline"].shape == (8, 2)
        for action in data.actions[traj, t:t + 10]:
            _, _, terminated, _, info = tasks.step(action)
            if terminated:
                break
        assert info["success"]  # the physics is deterministic: the recorded actions reproduce the goal
    # the world's own tasks: a goal the collection policy reached, not already satisfied
    env = world.make_env()
    _, info = env.reset(seed=5)
    assert not info["success"] and info["goal_state"].shape == (7,)


def test_the_rendered_image_keeps_the_block_angle():
    """A linear read-out of the pixels (one channel, pooled to 32 x 32) recovers the angle's cosine and sine on held-out
    poses (the T is drawn asymmetric: an image that lost the angle, or confused theta with
    theta + pi, would fail), and the world's probe targets turn the angle into that pair."""
    rng = np.random.default_rng(0)
    n = 500
    angle = rng.uniform(-np.pi, np.pi, n)
    states = np.zeros((n, 7), np.float32)
    states[:, :2] = 60.0
    states[:, 2:4] = np.float32([256.0, 200.0]) + rng.uniform(-8, 8, (n, 2))
    states[:, 4] = angle
    x = torch.from_numpy(render(states)[:, 0].reshape(n, 32, 2, 32, 2).mean((2, 4)).reshape(n, -1))  # red, at 32 x 32
    targets = make_world("pusht").probe_targets(states)
    y = torch.from_numpy(targets[:, 4:6])
    assert np.allclose(np.arctan2(targets[:, 5], targets[:, 4]), angle, atol=1e-5)
    probe = LinearProbe.fit(x[:400], y[:400], ridge=1e-2)
    assert min(probe.r2_by_column(x[400:], y[400:])) > 0.95
    read = probe(x[400:]).numpy()
    error = np.abs(np.angle(np.exp(1j * (np.arctan2(read[:, 1], read[:, 0]) - angle[400:]))))
    assert np.degrees(np.median(error)) < 3.0


def test_push_t_from_the_cli_collects_trains_and_plans_with_per_dimension_probes(tmp_path, capsys):
    from PIL import Image

    from hjepa.cli import main

    data, run, gif = tmp_path / "d", tmp_path / "r", tmp_path / "ep.gif"
    main(["collect", "--world", "pusht", "--out", str(data), "--trajectories", "24", "--length", "16", "--quiet"])
    meta = json.loads((data / "meta.json").read_text())
    assert meta["world"] == "pusht" and 0 < meta["block_moving_step_fraction"] <= 1
    main(["train", "--data", str(data), "--out", str(run), "--steps", "3", "--quiet", "--set", "train.batch_size=8",
          "train.seq_len=2", "train.holdout_fraction=0.25", "model.encoder.channels=[8,8,8]",
          "model.predictor.hidden_dim=32"])
    config = json.loads((run / "config.json").read_text())
    assert config["world"] == "pusht" and config["model"]["encoder"]["in_channels"] == 3  # the world's shapes
    capsys.readouterr()
    main(["eval", str(run), "--episodes", "1", "--protocol", "dataset", "--goal-offset", "5", "--budget", "6",
          "--gif", str(gif), "--quiet", "--set", "num_samples=16", "iterations=1", "warm_iterations=1"])
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["world"] == "pusht" and result["episodes"] == 1 and result["mean_steps"] <= 6
    assert set(result["probe_r2_by_dim"]) == {"pusher_x", "pusher_y", "block_x", "block_y", "block_cos", "block_sin"}
    assert result["mean_final_distance"] < 1000  # px of the success rule's position term, not velocities
    assert set(result["final_metrics"]) == {"coverage", "coverage_success", "block_position_error_px", "block_angle_error_deg"}
    assert set(result["episodes_by_band"]) <= {"push", "reach"} and sum(result["episodes_by_band"].values()) == 1
    frame = np.asarray(Image.open(gif).convert("RGB"))
    assert (np.abs(frame.astype(int) - [60, 200, 90]).sum(-1) < 30).any()  # the goal pose's outline is drawn
