"""Plain PyTorch models of normal beats; training lives in :mod:`beatwatch.training`."""

from models.autoencoder import ConvAutoencoder
from models.factory import MODEL_KINDS, AutoencoderConfig, build_model
from models.vae import ConvVAE, kl_divergence

__all__ = [
    "MODEL_KINDS",
    "AutoencoderConfig",
    "ConvAutoencoder",
    "ConvVAE",
    "build_model",
    "kl_divergence",
]
