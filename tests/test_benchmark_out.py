"""The benchmarks' output folder: never reused silently (benchmarks/common.py)."""
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
from common import BenchmarkOut, headline, provenance  # noqa: E402


def test_an_existing_out_needs_reuse_and_the_same_recipe(tmp_path, capsys):
    out, recipe = tmp_path / "bench", {"seed": 0, "set": ["loss.idm=2"]}
    first = BenchmarkOut(out, recipe, reuse=False)
    assert not first.existed("data")
    (out / "data").mkdir()
    (out / "data" / "meta.json").write_text("{}")
    with pytest.raises(SystemExit) as stop:  # the same command again, without --reuse
        BenchmarkOut(out, recipe, reuse=False)
    assert stop.value.code == 2 and "--reuse" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # --reuse with another recipe
        BenchmarkOut(out, {**recipe, "seed": 1}, reuse=True)
    assert '"seed": {"saved": 0, "now": 1}' in capsys.readouterr().err
    again = BenchmarkOut(out, recipe, reuse=True)
    assert again.existed("data") and again.existed("data/meta.json") and not again.existed("run")
    record = json.loads((out / "benchmark.json").read_text())
    assert record["recipe"] == recipe and len(record["reused"]) == 1  # what made it stays, the reuse is added
    stranger = tmp_path / "other"
    (stranger / "run").mkdir(parents=True)
    with pytest.raises(SystemExit):  # a folder no benchmark recipe describes
        BenchmarkOut(stranger, recipe, reuse=True)


def test_provenance_names_the_commit_and_the_date():
    info = provenance()
    assert set(info) == {"commit", "uncommitted_changes", "date"} and len(info["date"]) == 10
    assert info["commit"] == "unknown" or len(info["commit"]) >= 7


def test_only_test_tasks_make_a_headline_number(capsys):
    assert headline("test") == {"split": "test", "headline": True}
    assert capsys.readouterr().err == ""
    assert headline("dev") == {"split": "dev", "headline": False}
    assert "not a headline number" in capsys.readouterr().err



def test_wall_crossings_are_told_from_door_passages():
    import numpy as np

    from wall_contact import crosses_wall

    through_wall = np.float32([[28, 10], [32, 10], [36, 10]])
    through_door = np.float32([[28, 30], [32, 31], [36, 32]])  # door at y = 30 +- 4
    along = np.float32([[28, 10], [31, 20], [32.5, 24]])  # slides along the wall (x 30.5 .. 33.5), never clearly past it
    assert crosses_wall(through_wall, 32.0, 30.0)
    assert not crosses_wall(through_door, 32.0, 30.0)
    assert not crosses_wall(along, 32.0, 30.0)
    assert crosses_wall(np.float32([[28, 10], [36, 12], [36, 30]]), 32.0, 30.0)  # past first, by the door only after


def test_the_map_benchmark_reads_the_agent_where_the_pooled_image_puts_it():
    from map_prediction import agent_centroid

    shape = (3, 16, 16)
    z = torch.zeros(2, *shape)
    z[0, 0, 5, 3] = 1.0  # row y=5, column x=3: the cell centred at (3.5, 5.5) cells
    z[1, 0, 2, 2] = z[1, 0, 2, 4] = 0.5  # two halves: the centroid between them
    z[1, 1] = 7.0  # walls and learned channels are not the agent
    z[1, 0, 9, 9] = -3.0  # negative mass (a prediction's undershoot) is clipped
    np.testing.assert_allclose(agent_centroid(z.flatten(1), shape, 64), [[14.0, 22.0], [14.0, 10.0]], atol=1e-5)
