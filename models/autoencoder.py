"""A 1-D convolutional autoencoder for single-lead beat windows.

The encoder halves the time axis with each strided convolution, a linear layer maps the
last feature map to the latent code, and the decoder mirrors the encoder, doubling the
time axis per layer either with linear upsampling + convolution (``"linear"``) or with a
stride-2 transposed convolution (``"transpose"``, about half the arithmetic). Any window
length works: each stride-2 convolution rounds the length up (``ceil(L / 2)``), the
decoder doubles it back, and the output is cropped to ``window_samples``.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import nn

Upsampling = Literal["linear", "transpose"]


def encoded_length(window_samples: int, n_layers: int) -> int:
    """Length of the last encoder feature map: ``window_samples`` halved (rounding up)
    ``n_layers`` times."""
    length = window_samples
    for _ in range(n_layers):
        length = math.ceil(length / 2)
    return length


class ConvEncoder(nn.Module):
    """Strided 1-D convolutions and a flattening; (batch, 1, L) -> (batch, features)."""

    def __init__(self, channels: tuple[int, ...], kernel_size: int, dropout: float) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        in_channels = 1
        for out_channels in channels:
            layers += [
                nn.Conv1d(
                    in_channels, out_channels, kernel_size, stride=2, padding=kernel_size // 2
                ),
                nn.GELU(),
            ]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            in_channels = out_channels
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: (batch, 1, L) -> (batch, C_last, ceil(L / 2**n)) -> (batch, C_last * L_enc)
        return self.body(x).flatten(1)


class ConvDecoder(nn.Module):
    """Linear expansion, then a x2 upsampling layer per encoder layer, then a convolution to
    one channel; (batch, latent) -> (batch, 1, L)."""

    def __init__(
        self,
        window_samples: int,
        channels: tuple[int, ...],
        latent_dim: int,
        kernel_size: int,
        dropout: float,
        upsampling: Upsampling = "linear",
    ) -> None:
        super().__init__()
        self.window_samples = window_samples
        self.start_channels = channels[-1]
        self.start_length = encoded_length(window_samples, len(channels))
        self.expand = nn.Linear(latent_dim, self.start_channels * self.start_length)
        layers: list[nn.Module] = []
        reversed_channels = (*channels[::-1][1:], channels[0])
        in_channels = channels[-1]
        for out_channels in reversed_channels:
            if upsampling == "transpose":  # output length exactly 2 x input length
                layers.append(
                    nn.ConvTranspose1d(
                        in_channels,
                        out_channels,
                        kernel_size + 1,
                        stride=2,
                        padding=kernel_size // 2,
                    )
                )
            else:
                layers += [
                    nn.Upsample(scale_factor=2, mode="linear", align_corners=False),
                    nn.Conv1d(in_channels, out_channels, kernel_size, padding=kernel_size // 2),
                ]
            layers.append(nn.GELU())
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            in_channels = out_channels
        self.body = nn.Sequential(*layers)
        self.head = nn.Conv1d(in_channels, 1, kernel_size, padding=kernel_size // 2)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        # z: (batch, latent) -> (batch, C_last, L_enc)
        h = self.expand(z).view(-1, self.start_channels, self.start_length)
        # -> (batch, C_first, L_enc * 2**n) -> (batch, 1, L_enc * 2**n) -> crop to (batch, 1, L)
        return self.head(self.body(h))[..., : self.window_samples]


class ConvAutoencoder(nn.Module):
    """Convolutional autoencoder: (batch, 1, window_samples) -> same shape.

    Parameters
    ----------
    window_samples
        Samples per beat window (320 for MIT-BIH at 360 Hz, 140 for ECG5000).
    channels
        Feature maps of the encoder's stride-2 convolutions, first to last; the decoder
        mirrors them. Each layer halves the time axis.
    latent_dim
        Size of the bottleneck code.
    kernel_size
        Odd convolution kernel length, samples.
    dropout
        Dropout probability after each hidden convolution (0: none).
    upsampling
        How the decoder doubles the time axis: ``"linear"`` (upsample, then convolve) or
        ``"transpose"`` (a stride-2 transposed convolution of ``kernel_size + 1`` taps).
    """

    def __init__(
        self,
        window_samples: int = 320,
        channels: tuple[int, ...] = (16, 32, 64),
        latent_dim: int = 32,
        kernel_size: int = 7,
        dropout: float = 0.0,
        upsampling: Upsampling = "linear",
    ) -> None:
        super().__init__()
        self.window_samples = window_samples
        self.encoder = ConvEncoder(channels, kernel_size, dropout)
        features = channels[-1] * encoded_length(window_samples, len(channels))
        self.to_latent = nn.Linear(features, latent_dim)
        self.decoder = ConvDecoder(
            window_samples, channels, latent_dim, kernel_size, dropout, upsampling
        )

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        # x: (batch, 1, L) -> z: (batch, latent)
        return self.to_latent(self.encoder(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: (batch, 1, L) -> (batch, 1, L)
        return self.decoder(self.encode(x))

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """The reconstruction, (batch, 1, L); the same call as :meth:`ConvVAE.reconstruct`."""
        return self(x)
