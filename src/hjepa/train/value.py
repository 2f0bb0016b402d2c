"""Fit the goal-conditioned cost-to-go V(z, g) of a trained world model from reward-free data.

Hindsight goals: any later frame of the same trajectory is a goal, and the steps it took to
get there are an upper bound on the true cost-to-go (the random walk wanders). A low expectile
regression (tau < 0.5 punishes over-estimates more than under-estimates) pulls V toward the
lower envelope of those bounds, i.e. toward the shortest way the data knows, through the door
when the goal is in the other room. The world model's encoder is frozen: V reads its latents.

    python -m hjepa.cli fit-value RUN --steps 3000     # writes RUN/value.safetensors + RUN/value.json

Limits: goals come from the same trajectory (the same layout), so V is trained on distances up
to the trajectory length; beyond that it saturates instead of growing.

Bellman targets (`target="bellman"`, opt-in): value iteration through the world model,
V(z, g) <- k + min over a discrete action set of V'(f(z, a), g), with V' a slowly moving copy
of V and the hindsight steps as a cap where z and g share a trajectory. Half the goals come
from another trajectory of the same scene (same layout), so the pairs that face each other
through the wall are trained on the path the model can take, not on the walks the data
happened to take. The minimum takes the `bellman_rank`-th smallest action value, not the
smallest: one action whose prediction leaks through the wall does not make a shortcut.
Bellman targets use labels: the scenes are read from the dataset's true layouts (layouts.npy),
so a critic fitted this way, and every planner that reads it, reports `uses_labels=True`; the
hindsight target reads nothing but the trajectories and is label-free.

    python -m hjepa.cli fit-value RUN --steps 10000 --set target=bellman
"""
from __future__ import annotations

import copy
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..actor.search import action_set
from ..config import Checked, ConfigError, ConfigValueError
from ..configurator import load_run_config, load_world_model
from ..cost.critic import CostToGo, CostToGoConfig
from ..data.dataset import TrajectoryDataset
from ..utils import seed_everything
from . import checkpoint as ckpt
from .loop import TrainingLoop, check_resumable, side_config_path, start_side_run


@dataclass
class ValueConfig(Checked):
    POSITIVE = ("steps", "batch_size", "lr", "bellman_directions", "bellman_step", "log_every", "checkpoint_every")
    NONNEGATIVE = ("seed", "minutes")
    RESUME_SAFE = ("steps", "minutes", "log_every", "checkpoint_every")
    FRACTION = ("expectile", "scene_share", "target_ema")
    CHOICES = {"target": ("hindsight", "bellman")}
    critic: CostToGoConfig = field(default_factory=CostToGoConfig)
    steps: int = 3000
    batch_size: int = 512
    lr: float = 1e-3
    expectile: float = 0.2  # hindsight target: < 0.5 pulls toward the shortest observed path
    seed: int = 0
    target: str = "hindsight"  # hindsight | bellman (value iteration through the world model; wants ~10,000 steps)
    bellman_rank: int = 1  # 0: the best action's value; 1: the second best (pessimistic against leaks)
    bellman_directions: int = 8
    bellman_step: float = 1.8  # action length of the Bellman action set, per environment step
    scene_share: float = 0.5  # bellman: share of goals drawn from another trajectory of the same scene
    target_ema: float = 0.01  # bellman: how fast V' follows V
    minutes: float = 0.0  # wall-clock budget (0: none, stop at `steps`)
    log_every: int = 50  # RUN/value_metrics.csv
    checkpoint_every: int = 1000  # RUN/value_checkpoints/ (resume with `hjepa fit-value RUN --resume`)

    def check(self) -> None:
        if not 0 <= self.bellman_rank < self.bellman_directions:
            raise ConfigValueError("bellman_rank", f"must be in [0, bellman_directions={self.bellman_directions}), got {self.bellman_rank}")


def expectile_loss(prediction: torch.Tensor, target: torch.Tensor, tau: float) -> torch.Tensor:
    """mean |tau - 1(target < prediction)| (target - prediction)^2."""
    u = target - prediction
    return (torch.abs(tau - (u < 0).float()) * u.pow(2)).mean()


@torch.no_grad()
def encode_trajectories(model, dataset: TrajectoryDataset, frame_stride: int | None = None, batch: int = 64) -> torch.Tensor:
    """Latents of every `frame_stride`-th frame (default: the model's frameskip k): (N, T/stride + 1, D)."""
    device = next(model.parameters()).device
    stride = frame_stride or model.frameskip
    chunks = []
    for i in range(0, dataset.num_trajectories, batch):
        obs = torch.from_numpy(dataset.observations[i:i + batch, ::stride]).to(device).float() / 255
        chunks.append(model.encode(obs).cpu())
    return torch.cat(chunks)


def sample_hindsight_pairs(latents: torch.Tensor, n: int, frameskip: int, generator: torch.Generator):
    """(z_t, z_goal, steps) for n random pairs t <= t' of the same trajectory; steps in env steps."""
    num, length = latents.shape[:2]
    traj = torch.randint(0, num, (n,), generator=generator)
    a = torch.randint(0, length, (n,), generator=generator)
    b = torch.randint(0, length, (n,), generator=generator)
    start, goal = torch.minimum(a, b), torch.maximum(a, b)
    steps = (goal - start).float().to(latents.device) * frameskip
    return latents[traj, start], latents[traj, goal], steps


def _cosine(step: int, progress: float) -> float:
    return 0.5 * (1 + np.cos(np.pi * progress))


def _value_loop(run_dir, cfg: ValueConfig, optimizer, modules: dict, generator, resume: bool, progress: bool, desc: str):
    """The shared loop of both fits: checkpoints in RUN/value_checkpoints/ when there is a run."""
    return TrainingLoop(run_dir, cfg, optimizer, modules, {"pairs": generator}, resume=resume, desc=desc, progress=progress,
                        schedule=_cosine, side="value")


def fit_cost_to_go(latents: torch.Tensor, frameskip: int, cfg: ValueConfig, progress: bool = True,
                   run_dir: str | Path | None = None, resume: bool = False) -> tuple[CostToGo, float]:
    """Train V on trajectories of latents (N, T, D), one every `frameskip` environment steps
    (checkpointed in `run_dir` when given; `resume` continues from there)."""
    seed_everything(cfg.seed)
    critic = CostToGo(latents.shape[-1], cfg.critic).to(latents.device)
    optimizer = torch.optim.AdamW(critic.parameters(), lr=cfg.lr, weight_decay=1e-4)
    generator = torch.Generator().manual_seed(cfg.seed)
    loop = _value_loop(run_dir, cfg, optimizer, {"critic": critic}, generator, resume, progress, "value")
    loss = torch.zeros(())
    with loop:
        while loop.next_step():
            z, g, steps = sample_hindsight_pairs(latents, cfg.batch_size, frameskip, generator)
            loss = expectile_loss(critic(z, g) / cfg.critic.scale, steps / cfg.critic.scale, cfg.expectile)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loop.end_step({"loss": loss})
    return critic.eval(), float(loss.detach())


def scene_partners(scene_ids: np.ndarray) -> torch.Tensor:
    """(N,) for each trajectory another one of the same scene (itself when it is alone in its scene)."""
    by_scene: dict = {}
    for i, scene in enumerate(scene_ids.tolist()):
        by_scene.setdefault(scene, []).append(i)
    partner = [next((j for j in by_scene[scene] if j != i), i) for i, scene in enumerate(scene_ids.tolist())]
    return torch.tensor(partner)


def sample_scene_pairs(latents: torch.Tensor, partners: torch.Tensor, n: int, frameskip: int, scene_share: float,
                       generator: torch.Generator):
    """(z, z_goal, cap) for n pairs: a hindsight pair (cap = its steps), or with probability
    `scene_share` a goal anywhere in a partner trajectory of the same scene (cap = inf)."""
    num, length = latents.shape[:2]
    z, goal, steps = sample_hindsight_pairs(latents, n, frameskip, generator)
    traj = torch.randint(0, num, (n,), generator=generator)
    t, t_goal = torch.randint(0, length, (2, n), generator=generator)
    other = (torch.rand(n, generator=generator) < scene_share) & (partners[traj] != traj)
    z = torch.where(other[:, None].to(z.device), latents[traj, t], z)
    goal = torch.where(other[:, None].to(z.device), latents[partners[traj], t_goal], goal)
    return z, goal, torch.where(other.to(z.device), torch.full_like(steps, float("inf")), steps)


def bellman_targets(model, value: CostToGo, z: torch.Tensor, goal: torch.Tensor, grouped: torch.Tensor, rank: int) -> torch.Tensor:
    """k + the rank-th smallest over the (M, k * A) actions of value(f(z, a), goal): (B,) in steps."""
    b, m = len(z), len(grouped)
    after = model.next(z[:, None].expand(b, m, -1), grouped[None].expand(b, m, -1))  # (B, M, D): one batched step
    return model.frameskip + value(after, goal[:, None]).sort(dim=1).values[:, rank]


def fit_cost_to_go_bellman(model, latents: torch.Tensor, scene_ids: np.ndarray, cfg: ValueConfig,
                           progress: bool = True, run_dir: str | Path | None = None,
                           resume: bool = False) -> tuple[CostToGo, float]:
    """Train V by value iteration through `model` on trajectories of latents (N, T, D), one every
    k environment steps; `scene_ids` (N,) says which trajectories share a scene. Checkpointed in
    `run_dir` when given (V and its slow copy V'); `resume` continues from there."""
    seed_everything(cfg.seed)
    k = model.frameskip
    critic = CostToGo(latents.shape[-1], cfg.critic, uses_labels=True).to(latents.device)  # scene_ids: true layouts
    slow = copy.deepcopy(critic).requires_grad_(False)  # V': the bootstrap target
    optimizer = torch.optim.AdamW(critic.parameters(), lr=cfg.lr, weight_decay=1e-4)
    generator = torch.Generator().manual_seed(cfg.seed)
    partners = scene_partners(np.asarray(scene_ids))
    grouped = action_set(cfg.bellman_directions, (cfg.bellman_step,)).to(latents).repeat(1, k)  # each held k steps
    loop = _value_loop(run_dir, cfg, optimizer, {"critic": critic, "slow": slow}, generator, resume, progress,
                       "value (bellman)")
    loss = torch.zeros(())
    with loop:
        while loop.next_step():
            z, g, cap = sample_scene_pairs(latents, partners, cfg.batch_size, k, cfg.scene_share, generator)
            with torch.no_grad():
                target = torch.minimum(bellman_targets(model, slow, z, g, grouped, cfg.bellman_rank), cap)
            loss = (critic(z, g) / cfg.critic.scale - target / cfg.critic.scale).pow(2).mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            with torch.no_grad():
                for p_slow, p in zip(slow.parameters(), critic.parameters()):
                    p_slow.lerp_(p, cfg.target_ema)
            loop.end_step({"loss": loss})
    return critic.eval(), float(loss.detach())


def rank_correlation(a: torch.Tensor, b: torch.Tensor) -> float:
    """Spearman correlation of two 1-D tensors."""
    ranks = torch.stack([a.argsort().argsort().float(), b.argsort().argsort().float()])
    return float(torch.corrcoef(ranks)[0, 1])


def fit_value(run_dir: str | Path, cfg: ValueConfig = ValueConfig(), progress: bool = True, resume: bool = False) -> dict:
    """Train V on the run's dataset; write value.safetensors and value.json into the run.
    `resume=True` continues a fit that was stopped, exactly, from RUN/value_checkpoints/."""
    start_time = time.time()
    run_dir = Path(run_dir)
    if resume:
        check_resumable(side_config_path(run_dir, "value"), cfg)
    model = load_world_model(run_dir)  # the CUDA device when there is one
    device = next(model.parameters()).device
    run_cfg = load_run_config(run_dir)
    train_set, holdout = TrajectoryDataset.load(run_cfg.data, verify_checksums=False).split(
        run_cfg.train.holdout_fraction, seed=run_cfg.train.seed)
    latents = encode_trajectories(model, train_set).to(device)
    if not resume:
        start_side_run(run_dir, "value", cfg)
    if cfg.target == "bellman":  # a scene: the trajectories with equal scene parameters (layouts rows)
        if train_set.layouts is None:
            raise ConfigError("target=bellman pairs trajectories of one scene: this dataset has no layouts.npy")
        scenes = np.unique(train_set.layouts, axis=0, return_inverse=True)[1].reshape(-1)
        critic, final_loss = fit_cost_to_go_bellman(model, latents, scenes, cfg, progress, run_dir, resume)
    else:
        critic, final_loss = fit_cost_to_go(latents, model.frameskip, cfg, progress, run_dir, resume)
    with torch.no_grad():
        z, g, steps = sample_hindsight_pairs(encode_trajectories(model, holdout).to(device), 4096, model.frameskip,
                                             torch.Generator().manual_seed(1))
        predicted = critic(z, g)
    summary = {"target": cfg.target, "steps": cfg.steps, "minutes": round((time.time() - start_time) / 60.0, 2), "final_loss": round(final_loss, 5), "holdout_rank_correlation": round(rank_correlation(predicted, steps), 4),
               "holdout_mean_abs_error_steps": round(float((predicted - steps).abs().mean()), 2)}
    ckpt.save_weights(run_dir / "value.safetensors", critic.state_dict())
    ckpt.write_json(run_dir / "value.json", {"config": asdict(cfg), "summary": summary})
    return summary


def load_value(run_dir: str | Path, latent_dim: int, device: str | torch.device = "cpu") -> CostToGo | None:
    """The run's fitted cost-to-go, or None if `fit-value` has not been run."""
    from ..config import from_dict

    path = Path(run_dir) / "value.json"
    if not path.is_file():
        return None
    cfg = from_dict(ValueConfig, json.loads(path.read_text())["config"])
    critic = CostToGo(latent_dim, cfg.critic, uses_labels=cfg.target == "bellman")  # Bellman pairs trajectories by true layouts
    critic.load_state_dict(ckpt.load_weights(Path(run_dir) / "value.safetensors"))
    return critic.to(device).eval()
