import pytest
import torch

from hjepa.config import ConfigError
from hjepa.perception import EncoderConfig, make_encoder
from hjepa.perception.encoder import spatial_soft_argmax


def test_soft_argmax_reads_the_peak_position():
    side = 5
    grid = torch.linspace(-1, 1, side)
    coords = torch.stack(torch.meshgrid(grid, grid, indexing="xy"))
    maps = torch.zeros(1, 2, side, side)
    maps[0, 0, 1, 3] = 1.0  # row (y) 1, column (x) 3
    maps[0, 1, 4, 0] = 1.0
    sharp = spatial_soft_argmax(maps, coords, torch.tensor([100.0, 100.0]))
    assert torch.allclose(sharp[0], torch.tensor([[0.5, -0.5], [-1.0, 1.0]]), atol=1e-4)
    flat = spatial_soft_argmax(maps, coords, torch.tensor([0.0, 0.0]))  # no preference: the centre
    assert torch.allclose(flat, torch.zeros(1, 2, 2), atol=1e-6)


@pytest.mark.parametrize("kind", ["conv", "keypoints"])
def test_encoders_map_images_to_latents(kind):
    torch.manual_seed(0)
    enc = make_encoder(EncoderConfig(kind=kind, channels=(8, 8), latent_dim=12))
    x = torch.rand(3, 2, 65, 65)
    z = enc(x)
    assert z.shape == (3, 12) and torch.isfinite(z).all()
    assert not torch.allclose(z[0], z[1])  # different images, different latents


def test_unknown_encoder_kind():
    with pytest.raises(ConfigError, match=r"kind must be one of \['keypoints', 'conv', 'map'\], got 'vit'"):
        EncoderConfig(kind="vit")
    cfg = EncoderConfig()
    cfg.kind = "vit"  # changed after the check: make_encoder still refuses it
    with pytest.raises(ValueError, match="unknown encoder kind"):
        make_encoder(cfg)
