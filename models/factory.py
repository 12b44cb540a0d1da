"""The autoencoder configuration and the one place that builds a model from it."""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from models.autoencoder import ConvAutoencoder, Upsampling
from models.vae import ConvVAE

ModelKind = Literal["conv_ae", "vae"]
MODEL_KINDS: tuple[str, ...] = ("conv_ae", "vae")
UPSAMPLINGS: tuple[str, ...] = ("linear", "transpose")


def _is_int(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


@dataclass(frozen=True)
class AutoencoderConfig:
    """Which autoencoder to build and its size; invalid values raise ``ValueError``.

    Attributes
    ----------
    kind
        ``"conv_ae"`` (:class:`~models.autoencoder.ConvAutoencoder`) or ``"vae"``
        (:class:`~models.vae.ConvVAE`).
    window_samples
        Samples per beat window (320 for MIT-BIH at 360 Hz, 140 for ECG5000), >= 8.
    latent_dim
        Size of the bottleneck code, >= 1.
    channels
        Feature maps of the encoder's stride-2 convolutions (1 to 6 layers, each >= 1);
        ``2 ** len(channels)`` must not exceed ``window_samples``.
    kernel_size
        Odd convolution kernel length, samples, >= 3.
    dropout
        Dropout probability after each hidden convolution, in [0, 1).
    upsampling
        How the decoder doubles the time axis: ``"linear"`` (upsample + convolution) or
        ``"transpose"`` (stride-2 transposed convolution).
    kl_weight
        Weight of the KL term (VAE only), >= 0.
    """

    kind: ModelKind = "conv_ae"
    window_samples: int = 320
    latent_dim: int = 32
    channels: tuple[int, ...] = (16, 32, 64)
    kernel_size: int = 7
    dropout: float = 0.0
    upsampling: Upsampling = "linear"
    kl_weight: float = 1e-3

    def __post_init__(self) -> None:
        if isinstance(self.channels, list):  # e.g. from JSON parameters
            object.__setattr__(self, "channels", tuple(self.channels))
        if self.kind not in MODEL_KINDS:
            raise ValueError(
                f"AutoencoderConfig.kind must be one of {MODEL_KINDS}, got {self.kind!r}"
            )
        if not (_is_int(self.window_samples) and self.window_samples >= 8):
            raise ValueError(
                "AutoencoderConfig.window_samples must be an integer >= 8, "
                f"got {self.window_samples!r}"
            )
        if not (_is_int(self.latent_dim) and self.latent_dim >= 1):
            raise ValueError(
                f"AutoencoderConfig.latent_dim must be an integer >= 1, got {self.latent_dim!r}"
            )
        channels_ok = (
            isinstance(self.channels, tuple)
            and 1 <= len(self.channels) <= 6
            and all(_is_int(c) and c >= 1 for c in self.channels)
        )
        if not channels_ok:
            raise ValueError(
                "AutoencoderConfig.channels must be 1 to 6 positive integers, "
                f"got {self.channels!r}"
            )
        if 2 ** len(self.channels) > self.window_samples:
            raise ValueError(
                f"AutoencoderConfig.channels: {len(self.channels)} stride-2 layers are too many "
                f"for window_samples={self.window_samples}"
            )
        if not (_is_int(self.kernel_size) and self.kernel_size >= 3 and self.kernel_size % 2 == 1):
            raise ValueError(
                "AutoencoderConfig.kernel_size must be an odd integer >= 3, "
                f"got {self.kernel_size!r}"
            )
        if not (_is_real(self.dropout) and 0.0 <= self.dropout < 1.0):
            raise ValueError(f"AutoencoderConfig.dropout must be in [0, 1), got {self.dropout!r}")
        if self.upsampling not in UPSAMPLINGS:
            raise ValueError(
                f"AutoencoderConfig.upsampling must be one of {UPSAMPLINGS}, "
                f"got {self.upsampling!r}"
            )
        if not (_is_real(self.kl_weight) and self.kl_weight >= 0.0):
            raise ValueError(f"AutoencoderConfig.kl_weight must be >= 0, got {self.kl_weight!r}")


def build_model(cfg: AutoencoderConfig, *, seed: int | None = None) -> nn.Module:
    """Build the autoencoder ``cfg`` describes.

    Parameters
    ----------
    cfg
        The model's kind and size.
    seed
        If given, the initial weights are drawn from ``torch.manual_seed(seed)`` inside a
        forked RNG state, so the same seed gives the same weights without touching the
        caller's global random state. ``None``: draw from the current global state.

    Returns
    -------
    torch.nn.Module
        A :class:`~models.autoencoder.ConvAutoencoder` or :class:`~models.vae.ConvVAE`
        mapping (batch, 1, window_samples) to the same shape (the VAE also returns mu and
        logvar); both have ``reconstruct(x)``.
    """
    common = {
        "window_samples": cfg.window_samples,
        "channels": cfg.channels,
        "latent_dim": cfg.latent_dim,
        "kernel_size": cfg.kernel_size,
        "dropout": cfg.dropout,
        "upsampling": cfg.upsampling,
    }

    def make() -> nn.Module:
        if cfg.kind == "vae":
            return ConvVAE(**common, kl_weight=cfg.kl_weight)
        return ConvAutoencoder(**common)

    if seed is None:
        return make()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return make()
