"""benchmarks/pusht_probes.py reads what a keypoint encoder's head is fed, for the same frames it encodes."""
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
from pusht_probes import encode_with_head_inputs  # noqa: E402

from hjepa.data import TrajectoryDataset  # noqa: E402
from hjepa.perception.encoder import EncoderConfig  # noqa: E402
from hjepa.world_model import JEPAWorldModel  # noqa: E402
from hjepa.world_model.jepa import ModelConfig  # noqa: E402
from hjepa.world_model.predictor import PredictorConfig  # noqa: E402


def _data(n=3, t=4, side=16):
    rng = np.random.default_rng(0)
    obs = rng.integers(0, 256, (n, t + 1, 3, side, side)).astype(np.uint8)
    return TrajectoryDataset(obs, rng.normal(size=(n, t, 2)).astype(np.float32),
                             rng.normal(size=(n, t + 1, 5)).astype(np.float32))


def test_the_head_inputs_are_what_the_head_turns_into_the_latents():
    torch.manual_seed(0)
    enc = EncoderConfig(kind="keypoints", in_channels=3, image_size=16, downsample=2, channels=(4,), keypoints=3, latent_dim=6)
    model = JEPAWorldModel(ModelConfig(encoder=enc)).eval()
    z, states, features = encode_with_head_inputs(model, _data(), frames=11, seed=0)
    assert z.shape == (11, 6) and states.shape == (11, 5)
    assert features.shape == (11, 2 * 3 + 3 * 4 * 4)  # 3 keypoints (x, y) and 3 maps pooled to 4 x 4
    with torch.no_grad():
        assert torch.allclose(model.encoder.head(features), z, atol=1e-5)
    assert not model.encoder.head._forward_pre_hooks  # the hook is gone afterwards


def test_a_map_encoder_has_no_head_to_read():
    enc = EncoderConfig(kind="map", in_channels=3, image_size=16, downsample=2, channels=(4,), map_channels=1,
                        latent_dim=4 * 8 * 8)
    model = JEPAWorldModel(ModelConfig(encoder=enc, predictor=PredictorConfig(kind="conv", hidden_dim=4, depth=1)))
    z, _, features = encode_with_head_inputs(model, _data(), frames=5, seed=0)
    assert z.shape == (5, 256) and features is None
