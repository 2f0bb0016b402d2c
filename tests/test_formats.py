"""Dataset format v2 (v1 still loads), on-disk frames, shards, interchange, user clips for the video JEPA."""
import json

import numpy as np
import pytest

from hjepa.cli import main
from hjepa.data import DatasetError, DiskFrames, TrajectoryDataset, WindowSampler
from hjepa.envs.two_rooms import CollectConfig, collect_random_walks


def _small(n=6, t=10, seed=0):
    return collect_random_walks(CollectConfig(num_trajectories=n, length=t, seed=seed), progress=False)


def _variable(n=7, t=12, seed=0):
    """A v2 dataset of 3-channel 8x8 frames, 3-d actions, 4-d states, episodes of different lengths."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(3, t + 1, n)
    obs = rng.integers(0, 256, (n, t + 1, 3, 8, 8)).astype(np.uint8)
    actions = rng.normal(size=(n, t, 3)).astype(np.float32)
    states = rng.normal(size=(n, t + 1, 4)).astype(np.float32)
    for i, k in enumerate(lengths):  # the padding convention: the last frame and state held, no action
        obs[i, k + 1:], states[i, k + 1:], actions[i, k:] = obs[i, k], states[i, k], 0
    return TrajectoryDataset(obs, actions, states, None, {"world": "imported"}, lengths.astype(np.int64),
                             rng.integers(0, 1000, n).astype(np.int64))


def test_v1_datasets_still_load_and_save_as_v2(tmp_path):
    ds = _small()
    ds.save(tmp_path / "v1")
    meta = json.loads((tmp_path / "v1" / "meta.json").read_text())
    meta = {k: v for k, v in meta.items() if k not in ("world", "action_dim")} | {"version": 1}  # as v1 wrote it
    (tmp_path / "v1" / "meta.json").write_text(json.dumps(meta))
    old = TrajectoryDataset.load(tmp_path / "v1")
    assert old.world == "two_rooms" and np.array_equal(old.observations, ds.observations) and old.lengths is None
    old.save(tmp_path / "v2")
    assert json.loads((tmp_path / "v2" / "meta.json").read_text())["version"] == 2
    (tmp_path / "v1" / "layouts.npy").unlink()  # v1 requires all four files
    with pytest.raises(DatasetError, match="layouts.npy is missing"):
        TrajectoryDataset.load(tmp_path / "v1")


def test_v2_any_shapes_round_trip_and_every_file_is_checked(tmp_path):
    ds = _variable()
    ds.save(tmp_path / "d")
    back = TrajectoryDataset.load(tmp_path / "d")
    for name, array in ds.arrays().items():
        assert np.array_equal(array, back.arrays()[name]), name
    assert back.obs_shape == (3, 8, 8) and back.action_dim == 3 and back.layouts is None
    raw = bytearray((tmp_path / "d" / "lengths.npy").read_bytes())
    raw[-1] ^= 0xFF
    (tmp_path / "d" / "lengths.npy").write_bytes(bytes(raw))
    with pytest.raises(DatasetError, match="lengths.npy is corrupt"):
        TrajectoryDataset.load(tmp_path / "d")
    (tmp_path / "d" / "seeds.npy").unlink()
    with pytest.raises(DatasetError, match="seeds.npy is missing"):
        TrajectoryDataset.load(tmp_path / "d", verify_checksums=False)
    obs = tmp_path / "d" / "observations.npy"
    obs.write_bytes(obs.read_bytes()[:-100])
    with pytest.raises(DatasetError, match="observations.npy is truncated"):
        TrajectoryDataset.load(tmp_path / "d", verify_checksums=False, in_memory=False)
    with pytest.raises(DatasetError, match="lengths must lie"):
        TrajectoryDataset(ds.observations, ds.actions, lengths=np.full(7, 99))


def test_disk_frames_index_like_numpy_and_train_batches_match(tmp_path):
    ds = _variable(n=9)
    ds.save(tmp_path / "d")
    disk = TrajectoryDataset.load(tmp_path / "d", in_memory=False)
    assert isinstance(disk.observations, DiskFrames) and disk.observations.shape == ds.observations.shape
    a, b = np.array([[3, 1], [0, 8]]), np.array([[2, 2], [5, 0]])
    full = ds.observations
    for key in [(a, b), (a[:, :1], np.arange(4)[None]), 4, (slice(2, 5), 3), (np.array([1, 7]), slice(None, None, 3)),
                (slice(None), np.array([0, 12])), (-1, -2)]:
        assert np.array_equal(disk.observations[key], full[key]), key
    train, hold = disk.split(0.3, seed=1)
    mem_train, _ = ds.split(0.3, seed=1)
    assert isinstance(train.observations, DiskFrames)
    batch_disk = WindowSampler(train, 3, seed=5).sample(16)
    batch_mem = WindowSampler(mem_train, 3, seed=5).sample(16)
    for key in batch_mem:
        assert bool((batch_disk[key] == batch_mem[key]).all()), key


def test_windows_stay_inside_episodes_and_shards_are_disjoint():
    ds = _variable(n=40, t=12, seed=3)
    ds.actions[:] = 0
    for i, k in enumerate(ds.lengths):
        ds.actions[i, :k] = 1.0  # real steps are ones, padding zeros
    sampler = WindowSampler(ds, 4, seed=0)
    assert bool((sampler.sample(512)["actions"] == 1).all())  # no window reaches into padding
    assert set(sampler.trajectories) == set(np.flatnonzero(ds.lengths >= 4))
    shards = [set(WindowSampler(ds, 4, seed=0, shard=(r, 3)).trajectories) for r in range(3)]
    assert not (shards[0] & shards[1]) and not (shards[1] & shards[2]) and set.union(*shards) == set(sampler.trajectories)
    with pytest.raises(DatasetError, match="do not fit"):
        WindowSampler(ds, 13)


def test_hdf5_and_minari_round_trips_are_exact(tmp_path, capsys):
    pytest.importorskip("h5py")
    from hjepa.data.interchange import export_hdf5, import_any

    ds = _variable()
    ds.meta["collector"] = "test"
    export_hdf5(ds, tmp_path / "d.hdf5")
    back = import_any(tmp_path / "d.hdf5")
    for name, array in ds.arrays().items():
        assert np.array_equal(array, back.arrays()[name]), name
    assert back.meta["collector"] == "test" and back.world == "imported"
    rooms = _small()  # layouts survive too
    export_hdf5(rooms, tmp_path / "r.h5")
    assert np.array_equal(import_any(tmp_path / "r.h5").layouts, rooms.layouts)
    (tmp_path / "junk.hdf5").write_bytes(b"not hdf5")
    with pytest.raises(DatasetError, match="not a readable episode file"):
        import_any(tmp_path / "junk.hdf5")
    (tmp_path / "not_minari").mkdir()
    with pytest.raises(DatasetError, match="not a Minari dataset"):
        import_any(tmp_path / "not_minari")
    with pytest.raises(DatasetError, match="reads an .hdf5"):
        import_any(tmp_path / "d.csv")
    rooms.save(tmp_path / "data")
    with pytest.raises(SystemExit) as code:
        main(["import", str(tmp_path / "junk.hdf5"), "--out", str(tmp_path / "x")])
    assert code.value.code == 2 and "not a readable episode file" in capsys.readouterr().err
    pytest.importorskip("minari")
    main(["export", str(tmp_path / "data"), "--format", "minari", "--out", str(tmp_path / "mroot"), "--dataset-id", "hjepa/t-v0"])
    main(["import", str(tmp_path / "mroot" / "hjepa" / "t-v0"), "--out", str(tmp_path / "again")])
    again = TrajectoryDataset.load(tmp_path / "again")
    for name, array in rooms.arrays().items():
        assert np.array_equal(array, again.arrays()[name]), name
    assert again.world == "two_rooms"


def test_import_converts_channel_last_float_frames_and_resizes(tmp_path):
    h5py = pytest.importorskip("h5py")
    from hjepa.data.interchange import import_any

    with h5py.File(tmp_path / "ext.hdf5", "w") as f:  # as another tool might write it: (T+1, H, W, C) floats
        for i in range(2):
            g = f.create_group(f"episode_{i}")
            g["observations"] = np.random.default_rng(i).random((6, 20, 20, 3)).astype(np.float32)
            g["actions"] = np.zeros((5, 2), np.float32)
    ds = import_any(tmp_path / "ext.hdf5", image_size=10)
    assert ds.observations.shape == (2, 6, 3, 10, 10) and ds.observations.dtype == np.uint8 and ds.states is None


def test_train_video_on_a_folder_of_user_clips(tmp_path, capsys):
    from hjepa.data.video_io import write_gif

    clips = tmp_path / "clips"
    clips.mkdir()
    rng = np.random.default_rng(0)
    np.save(clips / "a.npy", rng.integers(0, 256, (9, 32, 32, 3)).astype(np.uint8))  # channel-last, another size
    np.save(clips / "b.npy", rng.random((14, 3, 64, 64)).astype(np.float32))  # channel-first floats, longer
    write_gif(rng.integers(0, 256, (7, 3, 48, 48)).astype(np.uint8), clips / "c.gif", scale=1)
    np.save(clips / "tiny.npy", np.zeros((2, 64, 64, 3), np.uint8))  # shorter than a training window: left out
    run = tmp_path / "run"
    main(["train-video", "--data", str(clips), "--out", str(run), "--set", "train.steps=3", "train.minutes=0",
          "train.batch_size=4", "--quiet"])
    record = json.loads((run / "clips.json").read_text())
    assert record["clips"] == 3 and record["frames"] == 9 + 14 + 7 and record["image_size"] == 64
    assert json.loads((run / "config.json").read_text())["data"]["folder"] == str(clips)
    capsys.readouterr()
    main(["surprise", str(clips / "c.gif"), "--run", str(run), "--quiet"])
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["frames"] == 7
    (tmp_path / "empty").mkdir()
    with pytest.raises(SystemExit):
        main(["train-video", "--data", str(tmp_path / "empty"), "--out", str(tmp_path / "r2"), "--quiet"])
    assert "no clip of at least" in capsys.readouterr().err and not (tmp_path / "r2").exists()
