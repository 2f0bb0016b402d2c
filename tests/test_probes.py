"""Linear probes: what a latent knows, read out the same way whatever its scale."""
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
