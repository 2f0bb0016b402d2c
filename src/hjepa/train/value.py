"""Fit the goal-conditioned cost-to-go V(z, g) of a trained world model from reward-free data.

Hindsight goals: any later frame of the same trajectory is a goal, and the steps it took to
get there are an upper bound on the true cost-to-go (the random walk wanders). A low expectile
regression (tau < 0.5 punishes over-estimates more than under-estimates) pulls V toward the
lower envelope of those bounds, i.e. toward the shortest way the data knows, through the door
when the goal is in the other room. The world model's encoder is frozen: V reads its latents.

    python -m hjepa.cli fit-value RUN --steps 3000     # writes RUN/value.safetensors + RUN/value.json

Limits: goals come from the same trajectory (the same layout), so V is trained on distances up
to the trajectory length; beyond that it saturates instead of growing.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from ..configurator import load_run_config, load_world_model
from ..cost.critic import CostToGo, CostToGoConfig
from ..data.dataset import TrajectoryDataset
from ..utils import seed_everything
from . import checkpoint as ckpt


@dataclass
class ValueConfig:
    critic: CostToGoConfig = field(default_factory=CostToGoConfig)
    steps: int = 3000
    batch_size: int = 512
    lr: float = 1e-3
    expectile: float = 0.2  # < 0.5: toward the shortest observed path
    seed: int = 0


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


def fit_cost_to_go(latents: torch.Tensor, frameskip: int, cfg: ValueConfig, progress: bool = True) -> tuple[CostToGo, float]:
    """Train V on trajectories of latents (N, T, D), one every `frameskip` environment steps."""
    seed_everything(cfg.seed)
    critic = CostToGo(latents.shape[-1], cfg.critic).to(latents.device)
    optimizer = torch.optim.AdamW(critic.parameters(), lr=cfg.lr, weight_decay=1e-4)
    generator = torch.Generator().manual_seed(cfg.seed)
    bar = tqdm(range(cfg.steps), desc="value", disable=not progress, dynamic_ncols=True)
    loss = torch.zeros(())
    for step in bar:
        for group in optimizer.param_groups:
            group["lr"] = cfg.lr * 0.5 * (1 + np.cos(np.pi * step / cfg.steps))
        z, g, steps = sample_hindsight_pairs(latents, cfg.batch_size, frameskip, generator)
        loss = expectile_loss(critic(z, g) / cfg.critic.scale, steps / cfg.critic.scale, cfg.expectile)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if step % 50 == 0:
            bar.set_postfix(loss=f"{loss.item():.4f}")
    return critic.eval(), float(loss.detach())


def rank_correlation(a: torch.Tensor, b: torch.Tensor) -> float:
    """Spearman correlation of two 1-D tensors."""
    ranks = torch.stack([a.argsort().argsort().float(), b.argsort().argsort().float()])
    return float(torch.corrcoef(ranks)[0, 1])


def fit_value(run_dir: str | Path, cfg: ValueConfig = ValueConfig(), progress: bool = True) -> dict:
    """Train V on the run's dataset; write value.safetensors and value.json into the run."""
    run_dir = Path(run_dir)
    model = load_world_model(run_dir)  # the CUDA device when there is one
    device = next(model.parameters()).device
    run_cfg = load_run_config(run_dir)
    train_set, holdout = TrajectoryDataset.load(run_cfg.data, verify_checksums=False).split(
        run_cfg.train.holdout_fraction, seed=run_cfg.train.seed)
    critic, final_loss = fit_cost_to_go(encode_trajectories(model, train_set).to(device), model.frameskip, cfg, progress)
    with torch.no_grad():
        z, g, steps = sample_hindsight_pairs(encode_trajectories(model, holdout).to(device), 4096, model.frameskip,
                                             torch.Generator().manual_seed(1))
        predicted = critic(z, g)
    summary = {"steps": cfg.steps, "final_loss": round(final_loss, 5), "holdout_rank_correlation": round(rank_correlation(predicted, steps), 4),
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
    critic = CostToGo(latent_dim, cfg.critic)
    critic.load_state_dict(ckpt.load_weights(Path(run_dir) / "value.safetensors"))
    return critic.to(device).eval()
