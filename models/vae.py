"""A 1-D convolutional variational autoencoder with the same interface as the plain one."""

from __future__ import annotations

import torch
from torch import nn

from models.autoencoder import ConvDecoder, ConvEncoder, Upsampling, encoded_length


class ConvVAE(nn.Module):
    """Convolutional VAE: (batch, 1, window_samples) -> (reconstruction, mu, logvar).

    Encoder and decoder are those of :class:`models.autoencoder.ConvAutoencoder`; the
    bottleneck is a diagonal Gaussian ``q(z | x) = N(mu, exp(logvar))``.

    Parameters
    ----------
    window_samples, channels, latent_dim, kernel_size, dropout, upsampling
        As for :class:`~models.autoencoder.ConvAutoencoder`.
    kl_weight
        Weight of the KL divergence (summed over latent dimensions, averaged over the batch)
        against the mean squared reconstruction error in the training objective; the
        training code reads it from here.
    """

    def __init__(
        self,
        window_samples: int = 320,
        channels: tuple[int, ...] = (16, 32, 64),
        latent_dim: int = 32,
        kernel_size: int = 7,
        dropout: float = 0.0,
        upsampling: Upsampling = "linear",
        kl_weight: float = 1e-3,
    ) -> None:
        super().__init__()
        self.window_samples = window_samples
        self.kl_weight = kl_weight
        self.encoder = ConvEncoder(channels, kernel_size, dropout)
        features = channels[-1] * encoded_length(window_samples, len(channels))
        self.to_mu = nn.Linear(features, latent_dim)
        self.to_logvar = nn.Linear(features, latent_dim)
        self.decoder = ConvDecoder(
            window_samples, channels, latent_dim, kernel_size, dropout, upsampling
        )

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # x: (batch, 1, L) -> mu, logvar: (batch, latent) each
        h = self.encoder(x)
        return self.to_mu(h), self.to_logvar(h).clamp(-10.0, 10.0)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        # x: (batch, 1, L) -> reconstruction (batch, 1, L), mu and logvar (batch, latent)
        mu, logvar = self.encode(x)
        # reparameterisation while training: z = mu + sigma * eps; the mean otherwise
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu) if self.training else mu
        return self.decoder(z), mu, logvar

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """The mean reconstruction ``decoder(mu)``, (batch, 1, L): what beats are scored on."""
        mu, _ = self.encode(x)
        return self.decoder(mu)


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(q(z | x) || N(0, I)), summed over latent dimensions, averaged over the batch."""
    # mu, logvar: (batch, latent) -> scalar
    return (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(dim=1)).mean()
