"""Interchange with the ecosystem: HDF5 in Minari's episode layout, and Minari datasets.

    hjepa export DATA --format hdf5 --out data.hdf5       # needs h5py
    hjepa export DATA --format minari --out DIR           # needs minari (pip install "minari[hdf5]"; no JAX)
    hjepa import data.hdf5 --out DATA                     # an .hdf5 file, or a Minari dataset directory

The HDF5 layout is Minari's `main_data.hdf5` (also D4RL-like in spirit: plain arrays, one group
per episode), so a file written by either reads here and ours reads there:

    /episode_{i}/observations   uint8   (T_i + 1, C, H, W)
    /episode_{i}/actions        float32 (T_i, A)
    /episode_{i}/rewards        float64 (T_i,)            zeros: the data are reward-free
    /episode_{i}/terminations   bool    (T_i,)
    /episode_{i}/truncations    bool    (T_i,)            True at the episode's last step
    /episode_{i}/infos/state    float32 (T_i + 1, S)      the true state, when the dataset has one
    /episode_{i}/infos/layout   float32 (T_i + 1, K)      per-trajectory scene parameters, repeated per step
    episode attrs: id, total_steps, seed (when recorded)
    root attrs: total_episodes, total_steps, hjepa_meta (the dataset's meta.json, as JSON)

Round trips are exact: import(export(d)) has the same arrays, lengths, seeds and meta. Files
from elsewhere may hold channel-last or float images; they are converted to uint8 (C, H, W),
and resized with `image_size`. Anything that is not a readable episode file is a DatasetError.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
from PIL import Image

from .dataset import DatasetError, TrajectoryDataset


def _require(module: str, install: str):
    try:
        return __import__(module)
    except ImportError:
        raise DatasetError(f"this needs the {module} package: pip install {install}") from None


def episodes_of(dataset: TrajectoryDataset):
    """Each trajectory as a dict of arrays cut to its own length (observations read per episode)."""
    lengths = dataset.episode_lengths
    for i in range(dataset.num_trajectories):
        t = int(lengths[i])
        ep = {"observations": np.asarray(dataset.observations[i, :t + 1]), "actions": dataset.actions[i, :t]}
        infos = {}
        if dataset.states is not None:
            infos["state"] = dataset.states[i, :t + 1]
        if dataset.layouts is not None:
            infos["layout"] = np.repeat(dataset.layouts[i][None], t + 1, axis=0)
        ep["infos"] = infos
        ep["seed"] = None if dataset.seeds is None else int(dataset.seeds[i])
        yield ep


def export_hdf5(dataset: TrajectoryDataset, path: str | Path) -> Path:
    h5py = _require("h5py", "h5py")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with h5py.File(tmp, "w") as f:
        total = 0
        for i, ep in enumerate(episodes_of(dataset)):
            g = f.create_group(f"episode_{i}")
            t = len(ep["actions"])
            g.create_dataset("observations", data=ep["observations"], compression="gzip", compression_opts=1)
            g.create_dataset("actions", data=ep["actions"])
            g.create_dataset("rewards", data=np.zeros(t))
            g.create_dataset("terminations", data=np.zeros(t, bool))
            g.create_dataset("truncations", data=np.arange(t) == t - 1)
            infos = g.create_group("infos")
            for key, value in ep["infos"].items():
                infos.create_dataset(key, data=value)
            g.attrs["id"], g.attrs["total_steps"] = i, t
            if ep["seed"] is not None:
                g.attrs["seed"] = ep["seed"]
            total += t
        f.attrs["total_episodes"], f.attrs["total_steps"] = dataset.num_trajectories, total
        f.attrs["hjepa_meta"] = json.dumps({k: v for k, v in dataset.meta.items() if k != "files"})
        f.attrs["hjepa_length"] = dataset.length  # the padded length, so a round trip keeps the arrays' shape
    os.replace(tmp, path)
    return path


def _frames(obs: np.ndarray, image_size: int | None, where: str) -> np.ndarray:
    """Images (T, C, H, W) or (T, H, W, C), uint8 or float in [0, 1] -> uint8 (T, C, S, S)."""
    obs = np.asarray(obs)
    if obs.ndim == 3:
        obs = obs[:, None]
    if obs.ndim != 4:
        raise DatasetError(f"{where}: observations of shape {obs.shape} are not images (T, C, H, W) or (T, H, W, C)")
    if obs.shape[-1] in (1, 3, 4) and obs.shape[1] not in (1, 3, 4):
        obs = obs.transpose(0, 3, 1, 2)
    if obs.dtype != np.uint8:
        obs = np.clip(np.rint(obs.astype(np.float32) * 255), 0, 255).astype(np.uint8)
    if image_size is not None and obs.shape[2:] != (image_size, image_size):
        obs = np.stack([[np.asarray(Image.fromarray(c).resize((image_size, image_size), Image.BILINEAR)) for c in frame]
                        for frame in obs]).astype(np.uint8)
    return obs


def dataset_from_episodes(episodes: list[dict], meta: dict, image_size: int | None, where: str,
                          padded_length: int = 0) -> TrajectoryDataset:
    """Pad episodes of any lengths into one TrajectoryDataset (lengths stored when they differ)."""
    if not episodes:
        raise DatasetError(f"{where}: no episodes")
    lengths = np.array([len(ep["actions"]) for ep in episodes], np.int64)
    t = max(int(lengths.max()), padded_length)
    first = episodes[0]
    obs = np.zeros((len(episodes), t + 1) + first["observations"].shape[1:], np.uint8)
    actions = np.zeros((len(episodes), t, first["actions"].shape[-1]), np.float32)
    has_state = all("state" in ep["infos"] for ep in episodes)
    has_layout = all("layout" in ep["infos"] for ep in episodes)
    states = np.zeros((len(episodes), t + 1, first["infos"]["state"].shape[-1]), np.float32) if has_state else None
    layouts = np.stack([ep["infos"]["layout"][0] for ep in episodes]).astype(np.float32) if has_layout else None
    for i, ep in enumerate(episodes):
        n = lengths[i]
        if ep["observations"].shape[1:] != obs.shape[2:] or ep["actions"].shape[-1] != actions.shape[-1]:
            raise DatasetError(f"{where}: episode {i} has other shapes than episode 0")
        obs[i, :n + 1], actions[i, :n] = ep["observations"], ep["actions"]
        obs[i, n + 1:] = ep["observations"][-1]  # padding: the last frame held
        if has_state:
            states[i, :n + 1], states[i, n + 1:] = ep["infos"]["state"], ep["infos"]["state"][-1]
    seeds = [ep.get("seed") for ep in episodes]
    seeds = np.array(seeds, np.int64) if all(s is not None for s in seeds) else None
    return TrajectoryDataset(obs, actions, states, layouts, meta, lengths if (lengths < t).any() else None, seeds)


def import_hdf5(path: str | Path, image_size: int | None = None) -> TrajectoryDataset:
    """An HDF5 file in Minari's episode layout (ours, or a Minari dataset's main_data.hdf5)."""
    h5py = _require("h5py", "h5py")
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: no such file")
    try:
        with h5py.File(path, "r") as f:
            names = sorted((k for k in f if k.startswith("episode_")), key=lambda k: int(k.split("_")[1]))
            episodes = []
            for name in names:
                g = f[name]
                if not isinstance(g.get("observations"), h5py.Dataset):
                    raise DatasetError(f"{path}: {name}/observations is not one array (dict observations are not images)")
                infos = {k: np.asarray(v) for k, v in g["infos"].items() if isinstance(v, h5py.Dataset)} if "infos" in g else {}
                episodes.append({"observations": _frames(g["observations"][()], image_size, f"{path}:{name}"),
                                 "actions": np.asarray(g["actions"][()], np.float32).reshape(len(g["actions"]), -1),
                                 "infos": infos, "seed": int(g.attrs["seed"]) if "seed" in g.attrs else None})
            meta = json.loads(f.attrs["hjepa_meta"]) if "hjepa_meta" in f.attrs else {"world": "imported"}
            padded = int(f.attrs.get("hjepa_length", 0))
    except (OSError, KeyError, ValueError) as err:
        if isinstance(err, DatasetError):
            raise
        raise DatasetError(f"{path}: not a readable episode file ({type(err).__name__}: {err})") from None
    meta = dict(meta, imported_from=str(path))
    return dataset_from_episodes(episodes, meta, image_size, str(path), padded)


def export_minari(dataset: TrajectoryDataset, out: str | Path, dataset_id: str = "hjepa/dataset-v0") -> Path:
    """A Minari dataset (written by the minari package) under `out` (its MINARI_DATASETS_PATH)."""
    _require("minari", '"minari[hdf5]"')
    import gymnasium as gym
    import minari
    from minari.data_collector import EpisodeBuffer

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    os.environ["MINARI_DATASETS_PATH"] = str(out.resolve())
    buffers = [EpisodeBuffer(id=i, seed=ep["seed"], observations=ep["observations"], actions=ep["actions"],
                             rewards=list(np.zeros(len(ep["actions"]))), terminations=list(np.zeros(len(ep["actions"]), bool)),
                             truncations=list(np.arange(len(ep["actions"])) == len(ep["actions"]) - 1), infos=ep["infos"] or None)
               for i, ep in enumerate(episodes_of(dataset))]
    obs_space = gym.spaces.Box(0, 255, dataset.obs_shape, np.uint8)
    act_space = gym.spaces.Box(-np.inf, np.inf, (dataset.action_dim,), np.float32)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        created = minari.create_dataset_from_buffers(dataset_id, buffers, observation_space=obs_space, action_space=act_space,
                                                     algorithm_name=dataset.meta.get("collector", "unknown"),
                                                     description=f"hjepa dataset of world {dataset.world}", data_format="hdf5")
    data_path = Path(created.spec.data_path)
    (data_path / "hjepa_meta.json").write_text(json.dumps({k: v for k, v in dataset.meta.items() if k != "files"}))
    return data_path


def import_minari(path: str | Path, image_size: int | None = None) -> TrajectoryDataset:
    """A Minari dataset directory (the one holding data/main_data.hdf5, or data/ itself)."""
    path = Path(path)
    data = path / "data" if (path / "data" / "main_data.hdf5").is_file() else path
    if not (data / "main_data.hdf5").is_file():
        raise DatasetError(f"{path}: not a Minari dataset (no data/main_data.hdf5)")
    dataset = import_hdf5(data / "main_data.hdf5", image_size)
    if (data / "hjepa_meta.json").is_file():
        dataset.meta = dict(json.loads((data / "hjepa_meta.json").read_text()), imported_from=str(path))
    return dataset


def import_any(path: str | Path, image_size: int | None = None) -> TrajectoryDataset:
    """An .hdf5/.h5 file or a Minari dataset directory."""
    path = Path(path)
    if path.is_dir():
        return import_minari(path, image_size)
    if path.suffix.lower() in (".hdf5", ".h5"):
        return import_hdf5(path, image_size)
    raise DatasetError(f"{path}: import reads an .hdf5/.h5 file or a Minari dataset directory")
