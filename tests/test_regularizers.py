import math

import torch

from hjepa.world_model.regularizers import epps_pulley, sigreg, vicreg_covariance, vicreg_variance


def test_variance_hinge_by_hand():
    # column 0 has std 2 (no penalty), column 1 is constant (penalty 1), column 2 std 0.5 (penalty 0.5)
    z = torch.tensor([[1.0, 3.0, 0.25], [-1.0, 3.0, -0.25], [1.0, 3.0, 0.25], [-1.0, 3.0, -0.25]])
    std = math.sqrt(4 / 3)  # unbiased std of (+-1) x4
    expected = (max(0, 1 - std) + (1 - math.sqrt(1e-4)) + (1 - math.sqrt(0.25**2 * 4 / 3 + 1e-4))) / 3
    assert torch.isclose(vicreg_variance(z), torch.tensor(expected), atol=1e-5)


def test_covariance_by_hand():
    z = torch.tensor([[1.0, 1.0], [-1.0, -1.0], [1.0, 1.0], [-1.0, -1.0]])  # perfectly correlated
    cov01 = 4 / 3
    assert torch.isclose(vicreg_covariance(z), torch.tensor(2 * cov01**2 / 2))
    z = torch.tensor([[1.0, 1.0], [-1.0, -1.0], [1.0, -1.0], [-1.0, 1.0]])  # uncorrelated
    assert vicreg_covariance(z).item() < 1e-10


def test_sigreg_prefers_a_gaussian():
    g = torch.Generator().manual_seed(0)
    gaussian = torch.randn(2048, 16, generator=g)
    collapsed = torch.zeros(2048, 16) + 0.01 * torch.randn(2048, 16, generator=g)
    assert sigreg(gaussian, generator=g) < 3.0  # N * integral is O(1) for a true Gaussian sample
    assert sigreg(collapsed, generator=g) > 50 * sigreg(gaussian, generator=g)


def test_epps_pulley_of_a_point_mass():
    # all samples at 0: phi_emp = 1, so the statistic is N * integral (1 - e^{-t^2/2})^2 e^{-t^2/2}
    x = torch.zeros(10, 1)
    t = torch.linspace(-3, 3, 17)
    expected = 10 * torch.trapezoid((1 - torch.exp(-t**2 / 2)) ** 2 * torch.exp(-t**2 / 2), t)
    assert torch.isclose(epps_pulley(x)[0], expected)
