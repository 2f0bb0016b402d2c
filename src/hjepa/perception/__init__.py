"""Perception: pixels -> latent."""
from .encoder import ConvEncoder, EncoderConfig, KeypointEncoder, make_encoder

__all__ = ["ConvEncoder", "EncoderConfig", "KeypointEncoder", "make_encoder"]
