"""Surprise scores, the video JEPA and its training run, and the `hjepa surprise` CLI."""
import json

import numpy as np
import pytest
import torch

from hjepa.cli import main
from hjepa.cli import run as run_cli
from hjepa.config import ConfigError
from hjepa.train.checkpoint import Checkpoints
from hjepa.data.physics import PairSet, PhysicsConfig, labelled_clips, possible_clips
from hjepa.eval.probes import clip_probes
from hjepa.eval.surprise import auroc, clip_scores, frame_surprise, frames_above, pairwise_accuracy, violation_metrics
from hjepa.train.video import load_video_model
from hjepa.world_model.spatial_video import (SpatialVideoJEPA, SpatialVideoJEPAObjective, SpatialVideoLossConfig,
                                             SpatialVideoModelConfig)
from hjepa.world_model.video import VideoJEPA, VideoJEPAObjective, VideoLossConfig, VideoModelConfig

SMALL = ["model.encoder.channels=[4,4,4,4]", "model.encoder.latent_dim=8", "model.hidden_dim=16", "model.context=3",
         "train.batch_size=4", "data.clips=6"]


def _constant_model(frame: torch.Tensor) -> VideoJEPA:
    """A model whose prediction is always the latent of `frame`."""
    torch.manual_seed(0)
    model = VideoJEPA(VideoModelConfig()).eval()
    with torch.no_grad():
        target = model.encode(frame[None, None])[0, 0]
        model.head.weight.zero_()
        model.head.bias.copy_(target)
    return model


def test_constant_prediction_on_a_constant_clip_is_not_surprised():
    frame = torch.rand(3, 64, 64)
    model = _constant_model(frame)
    still = frame.expand(10, -1, -1, -1)[None]
    errors = frame_surprise(model, still, context=4)
    assert np.isnan(errors[0, :4]).all()  # no full context yet
    np.testing.assert_allclose(errors[0, 4:], 0.0, atol=1e-10)
    moving = still.clone()
    moving[0, 7] = 0.0  # one black frame: surprise there, and only there
    errors = frame_surprise(model, moving, context=4)[0]
    assert errors[7] > 1e-6 and np.allclose(np.delete(errors[4:], 3), 0.0, atol=1e-10)
    assert frames_above(errors, 1e-8) == [7]


def test_scores_and_metrics_on_hand_computed_values():
    errors = np.array([[np.nan, 1.0, 3.0], [np.nan, 2.0, 2.0]])
    np.testing.assert_allclose(clip_scores(errors, "max"), [3.0, 2.0])
    np.testing.assert_allclose(clip_scores(errors, "mean"), [2.0, 2.0])
    with pytest.raises(ValueError, match="aggregate"):
        clip_scores(errors, "median")
    assert pairwise_accuracy(np.array([1.0, 2.0, 3.0, 4.0]), np.array([2.0, 1.0, 3.0, 5.0])) == pytest.approx(0.625)
    assert auroc(np.array([0.1, 0.2]), np.array([0.3, 0.4])) == 1.0
    assert auroc(np.array([0.3, 0.4]), np.array([0.1, 0.2])) == 0.0
    assert auroc(np.array([0.1, 0.3]), np.array([0.2, 0.3])) == pytest.approx(0.625)  # 2 wins, 1 tie, 1 loss of 4


class _Brightness(torch.nn.Module):
    """A stand-in model: the surprise of a frame is its mean brightness."""

    def __init__(self):
        super().__init__()
        self.unused = torch.nn.Parameter(torch.zeros(1))  # frame_surprise reads the device from a parameter

    def frame_errors(self, clips: torch.Tensor, context: int) -> torch.Tensor:
        errors = clips.float().mean((2, 3, 4))
        errors[:, :context] = float("nan")
        return errors


def test_violation_metrics_split_the_pairs_by_kind_of_violation():
    possible = np.full((4, 5, 3, 8, 8), 100, np.uint8)
    impossible = possible.copy()
    impossible[:2, 3:] = 200  # "brighten" pairs: the impossible clip is the more surprising
    impossible[2:, 3:] = 50  # "darken" pairs: it is the less surprising
    pairs = PairSet("permanence", possible, impossible, np.full(4, 3), np.array(["brighten", "brighten", "darken", "darken"]))
    metrics = violation_metrics(_Brightness(), pairs, context=1)
    assert metrics["mean"]["by_variant"] == {"brighten": 1.0, "darken": 0.0} and metrics["mean"]["pairwise"] == 0.5
    # Max over time: a darkened clip's max is its shared start, a tie with its pair (counted half).
    assert metrics["max"]["by_variant"] == {"brighten": 1.0, "darken": 0.5} and metrics["max"]["pairwise"] == 0.75
    assert metrics["max"]["auroc"] == pytest.approx(0.75)  # 8 of 16 (possible, impossible) pairs won, 8 tied


@pytest.mark.parametrize("regularizer", ["vicreg", "sigreg", "ema"])
def test_objective_trains_with_each_regularizer(regularizer):
    torch.manual_seed(0)
    cfg = VideoModelConfig()
    cfg.encoder.channels, cfg.encoder.latent_dim, cfg.hidden_dim, cfg.context = (4, 4, 4, 4), 8, 16, 3
    objective = VideoJEPAObjective(VideoJEPA(cfg), VideoLossConfig(regularizer=regularizer))
    windows = torch.as_tensor(possible_clips(4, seed=0)[:, :4])
    terms = objective(windows)
    terms["loss"].backward()
    grads = [p.grad for p in objective.model.encoder.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert (terms["time_var"] > 0) == (regularizer != "ema")  # time variance: only without an EMA target
    before = [p.detach().clone() for p in objective.target.parameters()] if objective.target is not None else None
    if before is not None:
        for p in objective.model.encoder.parameters():
            p.data.add_(1.0)
        objective.update_target()
        moved = [(b - a).abs().max().item() for a, b in zip(before, objective.target.parameters())]
        assert all(m == pytest.approx(0.01, rel=1e-3) for m in moved)  # (1 - decay) of the way
    with pytest.raises(ValueError, match="regularizer"):
        VideoJEPAObjective(VideoJEPA(cfg), VideoLossConfig(regularizer="none"))


def test_moving_covariance_charges_only_dimensions_that_move_together():
    cfg = VideoModelConfig()
    cfg.encoder.channels, cfg.encoder.latent_dim, cfg.hidden_dim = (4, 4, 4, 4), 4, 8
    objective = VideoJEPAObjective(VideoJEPA(cfg), VideoLossConfig(time_cov=1.0))
    t = torch.linspace(-1, 1, 5)
    static = torch.randn(16, 1, 4, generator=torch.Generator().manual_seed(0)).expand(16, 5, 4)  # a layout per clip
    one_moves = static.clone()
    one_moves[..., 0] += t * torch.linspace(0.5, 2, 16)[:, None]
    together = one_moves.clone()
    together[..., 1] += t * torch.linspace(0.5, 2, 16)[:, None]  # dimension 1 moves exactly as dimension 0
    assert objective.moving_covariance(static).item() == pytest.approx(0.0, abs=1e-10)  # what is constant is free
    assert objective.moving_covariance(one_moves).item() == pytest.approx(0.0, abs=1e-10)
    assert objective.moving_covariance(together).item() > 1.0
    windows = torch.as_tensor(possible_clips(4, seed=0)[:, :5])
    terms = objective(windows)
    assert terms["time_cov"] > 0 and VideoJEPAObjective(objective.model, VideoLossConfig())(windows)["time_cov"] == 0


@pytest.fixture(scope="module")
def video_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("video") / "run"
    main(["train-video", "--out", str(run), "--quiet", "--set", "train.steps=3", "train.minutes=0", *SMALL])
    return run


def test_train_video_writes_a_resumable_run(video_run, capsys):
    assert Checkpoints(video_run).load().state["step"] == 3
    cfg = json.loads((video_run / "config.json").read_text())
    assert cfg["kind"] == "video_jepa" and cfg["model"]["context"] == 3
    assert (video_run / "metrics.csv").read_text().startswith("step,")
    main(["train-video", "--out", str(video_run), "--resume", "--quiet", "--set", "train.steps=5", "train.minutes=0", *SMALL])
    assert Checkpoints(video_run).load().state["step"] == 5
    assert isinstance(load_video_model(video_run, "cpu"), VideoJEPA)


def test_surprise_cli_writes_curve_and_names_frames(video_run, tmp_path, capsys):
    clip = possible_clips(1, seed=0)[0]
    np.save(tmp_path / "clip.npy", clip.transpose(0, 2, 3, 1))  # (T, H, W, 3) is accepted too
    main(["surprise", str(tmp_path / "clip.npy"), "--run", str(video_run), "--context", "3", "--quiet"])
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    rows = (tmp_path / "clip.surprise.csv").read_text().splitlines()
    assert rows[0] == "frame,surprise" and len(rows) == 33 and rows[1:4] == ["0,", "1,", "2,"]  # no score before a full context
    curve = np.array([float(r.split(",")[1]) for r in rows[4:]])
    assert result["frames"] == 32 and result["threshold_from"] == "this clip: mean + 3 std"
    assert result["threshold"] == pytest.approx(curve.mean() + 3 * curve.std(), rel=1e-4)  # recomputed from the CSV
    assert result["frames_above"] == [3 + t for t in np.flatnonzero(curve > result["threshold"])]
    assert (tmp_path / "clip.surprise.png").stat().st_size > 1000
    # Real thresholds, with the expected frames read off the CSV: just above the clip's peak nothing
    # triggers; just below it, exactly the peak frame does. (That a violation raises surprise where
    # it happens is tested on a stand-in model above: a 3-step run has collapsed latents.)
    peak, frame = float(curve.max()), 3 + int(curve.argmax())
    for threshold, expected in ((peak * (1 + 1e-5), []), (peak * (1 - 1e-5), [frame])):  # the CSV keeps 6 digits
        main(["surprise", str(tmp_path / "clip.npy"), "--run", str(video_run), "--context", "3",
              "--threshold", repr(threshold), "--quiet"])
        result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        assert result["threshold_from"] == "--threshold" and result["frames_above"] == expected


def _error(capsys, argv) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and err.startswith("hjepa: error:")
    return err


def test_surprise_cli_errors(video_run, tmp_path, capsys):
    run = ["--run", str(video_run)]
    assert "no such file" in _error(capsys, ["surprise", str(tmp_path / "none.npy"), *run])
    (tmp_path / "junk.npy").write_bytes(b"not a numpy file")
    assert "cannot read it as a video" in _error(capsys, ["surprise", str(tmp_path / "junk.npy"), *run])
    (tmp_path / "junk.gif").write_bytes(b"GIF89a broken")
    assert "cannot read it as a video" in _error(capsys, ["surprise", str(tmp_path / "junk.gif"), *run])
    np.save(tmp_path / "small.npy", np.zeros((10, 32, 32, 3), np.uint8))  # another size is resized, as training resizes
    main(["surprise", str(tmp_path / "small.npy"), *run, "--quiet"])
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["frames"] == 10
    np.save(tmp_path / "gray.npy", np.zeros((10, 64, 64), np.uint8))
    assert "expected frames of shape" in _error(capsys, ["surprise", str(tmp_path / "gray.npy"), *run])
    np.save(tmp_path / "short.npy", np.zeros((3, 64, 64, 3), np.uint8))
    assert "needs more than the context" in _error(capsys, ["surprise", str(tmp_path / "short.npy"), *run])
    np.save(tmp_path / "hot.npy", np.full((10, 64, 64, 3), 2.0, np.float32))
    assert "in [0, 1]" in _error(capsys, ["surprise", str(tmp_path / "hot.npy"), *run])
    assert "config.json is missing" in _error(capsys, ["surprise", str(tmp_path / "short.npy"), "--run", str(tmp_path)])
    (tmp_path / "config.json").write_text(json.dumps({"kind": "two_rooms"}))
    assert "not a video run" in _error(capsys, ["surprise", str(tmp_path / "short.npy"), "--run", str(tmp_path)])


def test_physics_pair_cli_writes_a_matched_pair(tmp_path, capsys):
    main(["physics-pair", "solidity", "--out", str(tmp_path), "--seed", "1"])
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    onset = result["onset"][0]
    possible = np.load(tmp_path / "solidity_0_possible.npy")
    impossible = np.load(tmp_path / "solidity_0_impossible.npy")
    assert possible.shape == impossible.shape == (32, 3, 64, 64) and result["variant"] == ["pass_through"]
    assert np.array_equal(possible[:onset], impossible[:onset]) and not np.array_equal(possible, impossible)
    assert (tmp_path / "solidity_0_impossible.gif").stat().st_size > 1000


class _BallCentroid(torch.nn.Module):
    """A hand-made 'encoder': the mean column of the bright (ball-coloured) pixels, and noise."""

    def __init__(self):
        super().__init__()
        self.dummy = torch.nn.Parameter(torch.zeros(1))

    def encode(self, clips):
        x = clips.float() / 255
        bright = (x.amax(2) > 0.9).float()  # (B, T, H, W): ball colours have a channel at 1.0
        cols = torch.arange(x.shape[-1], dtype=torch.float32)
        centroid = (bright.sum(-2) * cols).sum(-1) / bright.sum((-2, -1)).clamp(min=1)
        noise = torch.randn(x.shape[:2] + (4,), generator=torch.Generator().manual_seed(0))
        return torch.cat([centroid[..., None], noise], -1)


def test_clip_probes_read_what_the_latent_holds():
    clips, facts = labelled_clips(40, seed=0, cfg=PhysicsConfig(frames=6, occluder_width=(0.0, 0.0)))  # no occluder: always visible
    assert clips.shape == (40, 6, 3, 64, 64) and facts["ball_x"].shape == (40, 6)
    np.testing.assert_allclose(facts["ball_x_from_wall"], facts["ball_x"] - facts["wall_x"])
    r2 = clip_probes(_BallCentroid(), clips, facts)
    assert r2["ball_x"] > 0.95  # the centroid is the ball's column
    assert r2["wall_height"] < 0.2  # nothing in this latent says how tall the wall is


def test_time_cov_dims_limits_the_moving_covariance_to_the_last_dimensions():
    model = VideoJEPA(VideoModelConfig())
    d = model.cfg.encoder.latent_dim
    z = torch.zeros(4, 5, d)
    z[..., 0] = z[..., 1] = torch.arange(5.0)  # the first two dimensions move together; the rest are still
    full = VideoJEPAObjective(model, VideoLossConfig(time_cov=1.0)).moving_covariance(z)
    last = VideoJEPAObjective(model, VideoLossConfig(time_cov=1.0, time_cov_dims=d - 2)).moving_covariance(z)
    first = VideoJEPAObjective(model, VideoLossConfig(time_cov=1.0, time_cov_dims=d)).moving_covariance(z)
    assert full > 0 and first == full and last == 0  # the correlated pair is outside the last d - 2 dimensions
    with pytest.raises(ValueError, match="time_cov_dims"):
        VideoJEPAObjective(model, VideoLossConfig(time_cov_dims=d + 1))


def _small_spatial() -> SpatialVideoJEPA:
    torch.manual_seed(0)
    return SpatialVideoJEPA(SpatialVideoModelConfig(channels=4, encoder_width=4, predictor_width=8, context=3)).eval()


def test_spatial_jepa_keeps_a_map_and_an_unchanged_map_is_not_surprising():
    model = _small_spatial()
    with torch.no_grad():  # the residual predictor with a zero change: "nothing moves"
        model.predictor[-1].weight.zero_()
        model.predictor[-1].bias.zero_()
    still = torch.rand(3, 64, 64).expand(8, -1, -1, -1)[None]
    assert model.encode(still).shape == (1, 8, 4, 16, 16)  # a 16 x 16 map of 4 channels per frame
    errors = frame_surprise(model, still, context=3)[0]
    assert np.isnan(errors[:3]).all() and np.allclose(errors[3:], 0.0, atol=1e-12)
    moved = still.clone()
    moved[0, 5, :, :8, :8] = 1.0  # one frame changes in a corner: surprise at that frame
    errors = frame_surprise(model, moved, context=3)[0]
    assert errors[5] > 1e-8 and errors[4] == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError, match="3 context frames"):
        model.frame_errors(still, context=4)


def test_spatial_objective_terms_and_a_resumable_cli_run(tmp_path, capsys):
    model = _small_spatial().train()
    terms = SpatialVideoJEPAObjective(model, SpatialVideoLossConfig(locations=64))(
        torch.as_tensor(possible_clips(2, seed=0)[:, :4]))
    assert {"pred", "var", "cov", "time_var", "loss", "latent_std"} <= set(terms) and torch.isfinite(terms["loss"])
    terms["loss"].backward()
    assert all(p.grad is not None for p in model.parameters())
    # A window of 6 frames with context 3 holds 3 targets; the loss averages the three errors.
    window = torch.as_tensor(possible_clips(2, seed=1)[:, :6])
    with torch.no_grad():
        pred = SpatialVideoJEPAObjective(model, SpatialVideoLossConfig(locations=64))(window)["pred"]
        z = model.encode(window)
        by_target = [(model.predict(z[:, t - 3:t]) - z[:, t]).pow(2).mean() for t in (3, 4, 5)]
    assert pred == pytest.approx(float(torch.stack(by_target).mean()), rel=1e-5)
    run = tmp_path / "spatial"
    small = ["model.channels=4", "model.encoder_width=4", "model.predictor_width=8", "model.context=3", "train.batch_size=4",
             "data.clips=6", "train.minutes=0"]
    main(["train-video", "--latent", "spatial", "--out", str(run), "--quiet", "--set", "train.steps=2", *small])
    assert json.loads((run / "config.json").read_text())["kind"] == "spatial_jepa"
    with pytest.raises(ConfigError, match=r"--resume cannot change train.window \(saved 0, asked 6\)"):
        run_cli(["train-video", "--latent", "spatial", "--out", str(run), "--resume", "--quiet", "--set", "train.steps=3",
                 "train.window=6", *small])
    main(["train-video", "--latent", "spatial", "--out", str(run), "--resume", "--quiet", "--set", "train.steps=3", *small])
    assert Checkpoints(run).load().state["step"] == 3
    assert isinstance(load_video_model(run, "cpu"), SpatialVideoJEPA)
    # No calibration in the run: surprise is read at the context the model was trained on (3).
    np.save(tmp_path / "clip.npy", possible_clips(1, seed=2)[0, :8])
    capsys.readouterr()
    main(["surprise", str(tmp_path / "clip.npy"), "--run", str(run), "--quiet"])
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["context"] == 3 and out["frames"] == 8
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main(["train-video", "--latent", "spatial", "--out", str(tmp_path / "bad"), "--quiet", "--set", "train.window=3", *small])
    assert "train.window=3 must be above model.context=3" in capsys.readouterr().err
    # A bad window on --resume leaves the saved run as it was.
    saved = (run / "config.json").read_text()
    with pytest.raises(SystemExit):
        main(["train-video", "--latent", "spatial", "--out", str(run), "--resume", "--quiet", "--set", "train.window=40", *small])
    assert "at most the clip length 32" in capsys.readouterr().err
    assert (run / "config.json").read_text() == saved and not (tmp_path / "bad").exists()
