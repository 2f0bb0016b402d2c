"""Surprise with memory: quadruplets, V-JEPA's window protocol, blackout, the gate, the memory JEPA."""
import json

import numpy as np
import pytest
import torch

from hjepa.cli import run as run_cli
from hjepa.data.physics import PALETTE, PhysicsConfig
from hjepa.data.quadruplets import violation_quadruplets
from hjepa.eval.surprise import frame_surprise, quadruplet_accuracy, quadruplet_metrics, window_surprise
from hjepa.world_model.memory_video import (MemoryVideoJEPA, MemoryVideoJEPAObjective, MemoryVideoLossConfig,
                                            MemoryVideoModelConfig, blackout_mask)
from hjepa.world_model.pixel import PixelModelConfig, PixelPredictor
from hjepa.world_model.spatial_video import SpatialVideoJEPA, SpatialVideoModelConfig
from hjepa.world_model.video import VideoJEPA, VideoModelConfig

TINY_MEMORY = MemoryVideoModelConfig(channels=4, encoder_width=4, memory_channels=6, context=2)


@pytest.fixture(scope="module")
def permanence():
    return violation_quadruplets("permanence", 6, seed=0)


@pytest.fixture(scope="module")
def immutability():
    return violation_quadruplets("immutability", 6, seed=0)


def test_permanence_quadruplets_are_built_from_two_renders_of_one_physics(permanence):
    onset = permanence.onset
    for clips, o, occ in zip(permanence.clips, onset, permanence.occluded):
        present, absent, vanish, appear = clips
        assert np.array_equal(vanish[:o], present[:o]) and np.array_equal(vanish[o:], absent[o:])
        assert np.array_equal(appear[:o], absent[:o]) and np.array_equal(appear[o:], present[o:])
        assert np.array_equal(present[o], absent[o]) and occ[0, o]  # at the switch ball 0 is behind the occluder
        differs = (present != absent).reshape(len(present), -1).any(1)
        assert differs[:o].any() and differs[o:].any()  # seen before the onset, and out again after it
    assert (PhysicsConfig().onset[0] <= onset).all() and (onset <= PhysicsConfig().onset[1]).all()
    assert set(permanence.variant) == {"permanence"}


def test_immutability_quadruplets_share_what_the_physics_allows(immutability):
    assert list(immutability.variant) == ["recolour"] * 3 + ["resize"] * 3
    for clips, o, variant in zip(immutability.clips, immutability.onset, immutability.variant):
        a, b, a_to_b, b_to_a = clips
        assert np.array_equal(a_to_b[:o], a[:o]) and np.array_equal(b_to_a[:o], b[:o])
        assert not np.array_equal(a_to_b[o], a[o])  # the change is in plain view at the onset
        if variant == "recolour":  # colour is not physics: after the onset the frames are the other clip's
            assert np.array_equal(a_to_b[o:], b[o:]) and np.array_equal(b_to_a[o:], a[o:])
    again = violation_quadruplets("immutability", 6, seed=0)
    assert np.array_equal(again.clips, immutability.clips)
    with pytest.raises(ValueError, match="quadruplets exist"):
        violation_quadruplets("solidity", 2, seed=0)


class _Stub(torch.nn.Module):
    """A stand-in clip model (frame_surprise reads the device from a parameter)."""

    def __init__(self):
        super().__init__()
        self.unused = torch.nn.Parameter(torch.zeros(1))


class _Memoryless(_Stub):
    """Surprise = how many pixels changed since the last frame: no memory past one frame."""

    def frame_errors(self, clips, context):
        changed = (clips[:, 1:] != clips[:, :-1]).any(2).flatten(2).sum(-1).double()
        return torch.cat([torch.full_like(changed[:, :1], float("nan")), changed], 1)


class _CountingMemory(_Stub):
    """A perfect object memory: remembers every ball colour it has seen. Surprise: a colour never
    seen before (after the first frame), and at the last frame each remembered ball not in view."""

    @staticmethod
    def visible(clips):  # (B, T, len(PALETTE)) bool: a pixel of that ball colour is in view
        colours = torch.as_tensor(np.round(PALETTE * 255), dtype=torch.int16)
        x = clips.to(torch.int16).permute(0, 1, 3, 4, 2)[..., None, :]  # (B, T, H, W, 1, 3)
        return ((x - colours).abs() <= 2).all(-1).flatten(2, 3).any(2)

    def frame_errors(self, clips, context):
        seen = self.visible(clips)
        before = torch.cummax(seen.int(), 1).values.bool()
        new = (seen[:, 1:] & ~before[:, :-1]).sum(-1).double()
        errors = torch.cat([torch.full_like(new[:, :1], float("nan")), new], 1)
        errors[:, -1] += (before[:, -1] & ~seen[:, -1]).sum(-1)
        return errors


def test_a_perfect_memory_scores_vanish_quadruplets_where_a_memoryless_model_cannot(permanence):
    memoryless = quadruplet_metrics(permanence, frame_surprise(_Memoryless(), permanence.flat_clips(), context=1))
    # Summed over time the four clips hold the same one-frame changes: every quadruplet ties.
    assert memoryless["mean"]["quadruplet"] == 0.5
    memory = quadruplet_metrics(permanence, frame_surprise(_CountingMemory(), permanence.flat_clips(), context=1))
    assert memory["mean"]["quadruplet"] == 1.0
    # Vanish against its own start's possible clip: the ball coming out surprises the memoryless
    # model more, every time. The stub ties twice here, where the possible clip's ball is back behind
    # the occluder in the last frame (its end-of-clip count cannot tell that from gone).
    assert memory["mean"]["pairs"]["first_start"] == pytest.approx(5 / 6)
    assert memoryless["mean"]["pairs"]["first_start"] == 0.0


def test_quadruplet_accuracy_on_hand_computed_scores():
    scores = np.array([[1.0, 1.0, 2.0, 1.0], [1.0, 2.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0]])
    assert quadruplet_accuracy(scores) == pytest.approx((1 + 0 + 0.5) / 3)


class _WindowBrightness(_Stub):
    """rollout_errors = the brightness of each predicted frame, so window scores are checkable by hand."""

    def rollout_errors(self, clips, context):
        return clips[:, context:].float().mean((2, 3, 4))


def test_window_surprise_scores_each_window_on_its_predicted_frames():
    clips = np.zeros((2, 10, 3, 4, 4), np.uint8)
    clips[:, :, :] = np.arange(10, dtype=np.uint8)[None, :, None, None, None]  # frame t has brightness t
    scores = window_surprise(_WindowBrightness(), clips, context=2, window=4, stride=3)
    # windows start at 0, 3, 6; each scores its frames 2 and 3: mean brightness start + 2.5
    np.testing.assert_allclose(scores, [[2.5, 5.5, 8.5]] * 2)
    with pytest.raises(ValueError, match="context"):
        window_surprise(_WindowBrightness(), clips, context=4, window=4)
    with pytest.raises(ValueError, match="shorter"):
        window_surprise(_WindowBrightness(), clips, context=2, window=12)


def test_window_metrics_compare_the_pairs_window_by_window():
    from hjepa.data.physics import PairSet
    from hjepa.eval.surprise import window_metrics
    possible = np.full((4, 10, 3, 4, 4), 100, np.uint8)
    impossible = possible.copy()
    impossible[:2, 8:] = 200  # brightened at the end: only the last windows predict those frames
    impossible[2:, 8:] = 50
    pairs = PairSet("permanence", possible, impossible, np.full(4, 8), np.array(["brighten"] * 2 + ["darken"] * 2))
    metrics = window_metrics(_WindowBrightness(), pairs, context=2, window=4, stride=2)
    assert metrics["mean"]["by_variant"] == {"brighten": 1.0, "darken": 0.0}
    assert metrics["max"]["by_variant"] == {"brighten": 1.0, "darken": 0.5}  # the shared start ties the max


@pytest.mark.parametrize("make", [
    lambda: VideoJEPA(VideoModelConfig()),
    lambda: SpatialVideoJEPA(SpatialVideoModelConfig(channels=4, encoder_width=4, predictor_width=4, context=2)),
    lambda: PixelPredictor(PixelModelConfig(context=2, channels=4)),
    lambda: MemoryVideoJEPA(TINY_MEMORY),
], ids=["vector", "spatial", "pixel", "memory"])
def test_open_loop_rollouts_never_see_the_frames_they_predict(make):
    torch.manual_seed(0)
    model = make().eval()
    clips = torch.randint(0, 255, (2, 8, 3, 64, 64), dtype=torch.uint8)
    changed = clips.clone()
    changed[:, 5:] = 255 - changed[:, 5:]  # frames 5.. differ: errors before frame 5 cannot change
    with torch.no_grad():
        a, b = model.rollout_errors(clips, 2), model.rollout_errors(changed, 2)
    assert a.shape == (2, 6)
    torch.testing.assert_close(a[:, :3], b[:, :3])
    assert not torch.allclose(a[:, 3:], b[:, 3:])


def test_blackout_masks_hide_runs_of_frames_in_the_share_they_say():
    rng = np.random.default_rng(0)
    mask = blackout_mask(4000, 16, share=0.3, max_run=5, rng=rng).numpy()
    assert not mask[:, 0].any()  # the memory starts from a seen frame
    assert mask[:, 1:].mean() == pytest.approx(0.3, abs=0.04)
    assert blackout_mask(50, 16, share=0.0, max_run=5, rng=rng).sum() == 0
    # run lengths: at most max_run unless two runs touch; most are within it
    runs = [len(r) for row in mask for r in "".join("x" if v else "." for v in row).split(".") if r]
    assert np.mean(np.array(runs) <= 5) > 0.85 and max(runs) <= 15


def test_hidden_frames_reach_the_memory_only_through_its_own_prediction():
    torch.manual_seed(0)
    model = MemoryVideoJEPA(TINY_MEMORY).eval()
    z = torch.randn(2, 8, 4, 16, 16)
    seen = torch.ones(2, 8, dtype=torch.bool)
    seen[:, 3:6] = False  # frames 3, 4, 5 blacked out
    other = z.clone()
    other[:, 3:6] = torch.randn(2, 3, 4, 16, 16)  # whatever the hidden frames held
    with torch.no_grad():
        torch.testing.assert_close(model.filter(z, seen), model.filter(other, seen))
        seen_frame = z.clone()
        seen_frame[:, 2] += 1.0  # a frame it does see changes every later prediction
        assert not torch.allclose(model.filter(z, seen)[:, 3:], model.filter(seen_frame, seen)[:, 3:])


def test_the_gate_extremes_are_pure_observation_and_pure_prediction():
    model = MemoryVideoJEPA(TINY_MEMORY)
    predicted, observed = torch.randn(3, 4, 16, 16), torch.randn(3, 4, 16, 16)
    seen = torch.ones(3, dtype=torch.bool)
    with torch.no_grad():
        model.gate.weight.zero_()
        model.gate.bias.fill_(60.0)  # sigmoid(60) = 1 in float32
        torch.testing.assert_close(model.fuse(predicted, observed, seen), observed)
        model.gate.bias.fill_(-60.0)
        torch.testing.assert_close(model.fuse(predicted, observed, seen), predicted)
        model.gate.bias.fill_(60.0)  # a hidden frame is pure prediction whatever the gate says
        torch.testing.assert_close(model.fuse(predicted, observed, torch.zeros(3, dtype=torch.bool)), predicted)


def test_blackout_training_lowers_the_loss_and_ramps_the_hidden_share():
    torch.manual_seed(0)
    from hjepa.data.physics import possible_clips
    cfg = MemoryVideoLossConfig(blackout_start=0.1, blackout_end=0.5, blackout_ramp_steps=10, locations=256)
    objective = MemoryVideoJEPAObjective(MemoryVideoJEPA(TINY_MEMORY), cfg, seed=0)
    windows = torch.as_tensor(possible_clips(4, seed=0)[:, :8])
    optimizer = torch.optim.Adam(objective.parameters(), lr=3e-3)
    first = None
    for step in range(12):
        terms = objective(windows)
        first = first if first is not None else float(terms["pred"].detach())
        optimizer.zero_grad()
        terms["loss"].backward()
        optimizer.step()
        objective.update_target()
    assert objective.blackout_share() == pytest.approx(0.5) and int(objective.steps) == 12
    assert float(terms["pred"].detach()) < first
    assert torch.isfinite(terms["loss"]) and 0 < float(terms["hidden_share"]) < 1


def test_cli_trains_a_memory_run_and_its_surprise_plot_marks_the_occluded_frames(tmp_path):
    run = tmp_path / "run"
    small = ["model.channels=4", "model.encoder_width=4", "model.memory_channels=6", "model.context=2",
             "train.batch_size=2", "train.window=6", "train.steps=2", "data.clips=4"]
    out = run_cli(["train-video", "--out", str(run), "--latent", "memory", "--minutes", "0", "--quiet", "--set", *small])
    assert out["steps"] == 2 and json.loads((run / "config.json").read_text())["kind"] == "memory_jepa"
    pairs = run_cli(["physics-pair", "permanence", "--out", str(tmp_path / "clips"), "--pairs", "1"])
    video = next(f for f in pairs["files"] if f.endswith("_possible.npy"))
    occluded = json.loads((tmp_path / "clips" / "permanence_0_possible.occluded.json").read_text())["occluded_frames"]
    assert occluded  # a permanence pair's ball goes behind the occluder
    result = run_cli(["surprise", video, "--run", str(run), "--quiet"])
    assert result["occluded_frames"] == occluded and result["frames"] == 32
    from PIL import Image
    img = np.asarray(Image.open(result["png"]).convert("RGB"))
    assert ((img == 225).all(-1)).sum() > 100  # the grey band behind the curve


def test_synthetic_occluders_are_static_bands_of_one_colour():
    from hjepa.world_model.memory_video import paint_occluders
    windows = torch.randint(0, 255, (40, 5, 3, 16, 16), dtype=torch.uint8)
    painted = paint_occluders(windows, share=0.5, width=(3, 5), rng=np.random.default_rng(0))
    changed = (painted != windows).flatten(1).any(1)
    assert 10 < int(changed.sum()) < 30  # about half the windows
    for before, after in zip(windows[changed], painted[changed]):
        columns = np.flatnonzero((after != before).any(0).any(0).any(0).numpy())
        band = after[:, :, :, columns.min():columns.max() + 1]
        assert (band == band[:1, :, :1, :1]).all()  # one colour, every frame and row
        assert 1 <= columns.max() - columns.min() + 1 <= 5
        keep = np.setdiff1d(np.arange(16), np.arange(columns.min(), columns.max() + 1))
        assert torch.equal(after[..., keep], before[..., keep])  # nothing else touched
    assert torch.equal(paint_occluders(windows, 0.0, (3, 5), np.random.default_rng(0)), windows)
