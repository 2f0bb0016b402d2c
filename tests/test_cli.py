import json

import pytest

from hjepa.cli import main


def test_end_to_end_smoke(tmp_path, capsys):
    data, run, gif = tmp_path / "d", tmp_path / "r", tmp_path / "ep.gif"
    main(["collect", "--out", str(data), "--trajectories", "30", "--length", "12", "--quiet"])
    main(["train", "--data", str(data), "--out", str(run), "--steps", "5", "--quiet", "--set", "train.batch_size=8",
          "train.seq_len=3", "model.encoder.channels=[8,8,8]", "model.predictor.hidden_dim=32"])
    capsys.readouterr()
    # the wavefront search reads cells through the position probe, which `eval` fits unless told not to
    assert "position probe" in _error(capsys, ["eval", str(run), "--planner", "wavefront", "--skip-probes"])
    main(["eval", str(run), "--episodes", "2", "--gif", str(gif), "--gif-episodes", "1", "--quiet",
          "--set", "num_samples=32", "iterations=2", "warm_iterations=1"])
    out = capsys.readouterr().out.strip().splitlines()
    result = json.loads(out[-1])
    # a 5-step model fails both tasks, and a failed task runs to the budget of 200 steps
    assert result["episodes"] == 2 and result["success_rate"] == 0.0 and result["mean_steps"] == 200.0
    assert result["split"] == "test" and result["uses_labels"] is False  # cem+grad acts on latents and the goal image only
    assert result["sec_per_episode"] > 0 and "probe_r2" in result and "4" in result["rollout_error"]  # frameskip 4: errors every 4 steps
    assert gif.stat().st_size > 1000 and (run / "probe.safetensors").exists()
    assert (run / "metrics.csv").exists() and any((run / "tb").iterdir())
    main(["eval", str(run), "--episodes", "1", "--planner", "wavefront", "--skip-probes", "--quiet", "--set", "max_waves=3", "goal_tolerance=0"])
    searched = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert searched["planner"] == "wavefront" and 1 <= searched["mean_planner_iterations"] <= 3  # waves searched
    assert searched["uses_labels"] is True  # its cells are read through the probe fitted on true positions
    # The agent collects its own data, then the predictor is refit on both datasets.
    main(["explore", str(run), "--out", str(tmp_path / "x"), "--episodes", "1", "--quiet", "--set", "chunk_length=16",
          "--planner-set", "num_samples=32", "iterations=2", "warm_iterations=1"])
    explored = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert "already holds a dataset" in _error(capsys, ["explore", str(run), "--out", str(tmp_path / "x")])  # kept, not overwritten
    assert explored["episodes"] == 1 and explored["trajectories"] == explored["steps"] // 16 and explored["length"] == 16
    main(["refit-predictor", str(run), "--minutes", "0", "--extra-data", str(tmp_path / "x"), "--quiet",
          "--set", "steps=3", "seq_len=2", "batch_size=16"])
    refit = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert refit["steps"] == 3 and refit["extra_trajectories"] == explored["trajectories"]
    # The cost-to-go, drawn over one layout next to the true path length.
    assert "fit-value" in _error(capsys, ["value-map", str(run), "--out", str(tmp_path / "v.png")])
    main(["fit-value", str(run), "--steps", "3", "--quiet", "--set", "target=bellman", "batch_size=16"])
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["target"] == "bellman"
    from hjepa.configurator import load_world_model
    from hjepa.train.value import load_value

    dim = load_world_model(run).latent_dim
    assert load_value(run, dim).uses_labels is True  # Bellman scenes are the dataset's true layouts
    assert "target must be" in _error(capsys, ["fit-value", str(run), "--set", "target=oracle"])
    main(["fit-value", str(run), "--steps", "5", "--quiet"])
    capsys.readouterr()
    assert load_value(run, dim).uses_labels is False  # hindsight targets: steps within one trajectory
    # Hierarchical planning: high levels over macro-actions hand the flat planner subgoals.
    assert "train-high" in _error(capsys, ["eval", str(run), "--planner", "hierarchical", "--skip-probes"])
    assert "level 1" in _error(capsys, ["train-high", str(run), "--level", "2"])  # levels are built bottom up
    main(["train-high", str(run), "--steps", "3", "--quiet", "--set", "model.span=1", "seq_len=2", "batch_size=16"])
    high = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert high["level"] == 1 and high["steps"] == 3 and high["env_steps_per_step"] == 4 and high["code_dim"] == 4
    assert {"holdout_error", "holdout_copy_error", "holdout_low_level_error"} <= set(high)  # a 5-step JEPA barely moves
    main(["train-high", str(run), "--level", "2", "--steps", "2", "--quiet", "--set", "model.span=2", "seq_len=1",
          "batch_size=16"])
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["env_steps_per_step"] == 2  # two level-1 steps
    hgif = tmp_path / "hier.gif"
    main(["eval", str(run), "--episodes", "1", "--planner", "hierarchical", "--skip-probes", "--quiet", "--gif", str(hgif),
          "--gif-episodes", "1", "--set", "num_samples=32", "iterations=2", "warm_iterations=1",
          "--high-set", "planner.num_samples=16", "planner.iterations=2"])
    planned = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert planned["planner"] == "hierarchical" and planned["uses_labels"] is False and planned["mean_steps"] == 200.0
    assert hgif.stat().st_size > 1000
    from hjepa.agent import Agent
    from hjepa.actor.hierarchical import HierarchyConfig

    agent = Agent.load(run, hierarchy=HierarchyConfig())
    assert len(agent.planner.high) == 2 and agent.planner.env_steps == [4, 8]  # three levels from the run's files alone
    assert "--high-set" in _error(capsys, ["eval", str(run), "--high-set", "subgoal_step=2"])
    assert "bands" in _error(capsys, ["eval", str(run), "--band", "3-4"])  # Two-Rooms tasks have no bands
    main(["value-map", str(run), "--wall-x", "30", "--door-y", "20", "--goal", "12", "40", "--out", str(tmp_path / "v.png")])
    drawn = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (tmp_path / "v.png").stat().st_size > 1000 and -1.0 <= drawn["rank_corr_geodesic"] <= 1.0
    assert "not a free" in _error(capsys, ["value-map", str(run), "--wall-x", "30", "--goal", "30", "40"])  # inside the wall


def _error(capsys, argv) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    return err


def test_user_mistakes_get_one_line_errors(tmp_path, capsys):
    assert "does not exist" in _error(capsys, ["train", "--data", str(tmp_path / "missing"), "--out", str(tmp_path / "r")])
    assert "config.json is missing" in _error(capsys, ["eval", str(tmp_path)])
    assert "unknown key" in _error(capsys, ["train", "--data", "x", "--out", str(tmp_path / "r"), "--set", "train.nope=1"])
    assert "no dataset given" in _error(capsys, ["train", "--out", str(tmp_path / "r")])
    (tmp_path / "bad.yaml").write_text("train: [unclosed")
    assert "not valid YAML" in _error(capsys, ["train", "--config", str(tmp_path / "bad.yaml"), "--out", str(tmp_path / "r")])


def test_demo_runs_end_to_end_reuses_its_data_and_says_what_it_used(tmp_path, capsys):
    out = tmp_path / "demo"
    argv = ["demo", "--out", str(out), "--trajectories", "12", "--minutes", "0.02", "--episodes", "1", "--quiet"]
    main(argv)
    text = capsys.readouterr().out
    assert "collecting 12 random-walk trajectories" in text and (out / "episode.gif").stat().st_size > 1000
    assert "label-free: the planner sees pixels and the goal image only" in text and f"{out / 'episode.gif'}" in text
    assert "over 1 held-out test task," in text  # the demo reports the test split, not the tasks its recipe was tuned on
    meta = (out / "data" / "meta.json").read_text()
    main(argv)  # again: the data are reused, the finished run is resumed (no further steps), nothing is refused
    assert "reusing the trajectories" in capsys.readouterr().out and (out / "data" / "meta.json").read_text() == meta
