"""Linear probes: what a latent knows, read out the same way whatever its scale."""
import pytest
import torch

from hjepa.eval.probes import LinearProbe


def test_linear_probe_does_not_depend_on_the_latent_scale_or_offset():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(500, 6, generator=g)
    z[:, 5] = 3.0  # a constant feature must not break the fit
    y = z[:, :2] @ torch.tensor([[1.0, -2.0], [0.5, 3.0]]) + 10 + 0.1 * torch.randn(500, 2, generator=g)
    base = LinearProbe.fit(z, y)
    assert base.weight.shape == (7, 2) and base.r2(z, y) > 0.99
    for scale, offset in ((1e-3, 0.0), (1e3, 0.0), (1.0, 50.0)):
        moved = z * scale + offset
        torch.testing.assert_close(LinearProbe.fit(moved, y)(moved), base(z), rtol=1e-4, atol=1e-3)


def test_linear_probe_leaves_out_a_feature_that_only_moves_by_rounding_noise():
    g = torch.Generator().manual_seed(1)
    z = torch.randn(200, 3, generator=g, dtype=torch.float64)
    z[:, 2] = 7.0 + 1e-10 * torch.randn(200, generator=g, dtype=torch.float64)
    y = 2 * z[:, :1] + 1
    probe = LinearProbe.fit(z, y)
    assert probe.weight[2, 0] == 0 and abs(probe.weight[0, 0] - 2) < 1e-2 and abs(probe.weight[3, 0] - 1) < 1e-2  # ridge 1e-3 shrinks a little


def test_the_copy_baseline_is_what_an_untrained_conv_predictor_scores():
    """A conv predictor starts at "nothing changes" (zero flow and residual), so its open-loop
    error is exactly the copy baseline's; both grow with the horizon on data where the agent moves."""
    from hjepa.envs import make_world
    from hjepa.eval import copy_errors, encoded_windows, prediction_errors, rollout_error_by_horizon
    from hjepa.world_model import JEPAWorldModel
    from hjepa.world_model.jepa import ModelConfig
    from hjepa.perception.encoder import EncoderConfig
    from hjepa.world_model.predictor import PredictorConfig

    torch.manual_seed(0)
    data = make_world("two_rooms").collect(6, 16, seed=0, progress=False)
    model = JEPAWorldModel(ModelConfig(encoder=EncoderConfig(kind="map", in_channels=2, image_size=65, channels=(4,),
                                                             map_channels=1, latent_dim=3 * 16 * 16),
                                       predictor=PredictorConfig(kind="conv", hidden_dim=8, depth=1)))
    z, actions = encoded_windows(model, data, horizon=12, num_windows=32, seed=0)
    predicted, copied = prediction_errors(model, z, actions), copy_errors(z, model.frameskip)
    assert rollout_error_by_horizon(model, data, horizon=12, num_windows=32) == predicted  # the same windows
    assert list(copied) == [4, 8, 12]
    for h in copied:
        assert predicted[h] == pytest.approx(copied[h], rel=1e-5)
    assert 0 < copied[4] < copied[12]
