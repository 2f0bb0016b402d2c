"""Perception: encoders from observations to latent states."""
from .encoder import ConvEncoder, EncoderConfig

__all__ = ["ConvEncoder", "EncoderConfig"]
