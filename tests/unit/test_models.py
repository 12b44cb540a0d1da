"""Autoencoder shapes for both window lengths, the VAE's outputs, config validation."""

import pytest
import torch

from models import AutoencoderConfig, ConvAutoencoder, ConvVAE, build_model


@pytest.mark.parametrize("upsampling", ["linear", "transpose"])
@pytest.mark.parametrize("window_samples", [320, 140, 37])
@pytest.mark.parametrize("kind", ["conv_ae", "vae"])
def test_output_has_the_input_shape(kind: str, window_samples: int, upsampling: str) -> None:
    cfg = AutoencoderConfig(kind=kind, window_samples=window_samples, upsampling=upsampling)
    model = build_model(cfg, seed=0)
    x = torch.randn(3, 1, window_samples)
    output = model(x)
    reconstruction = output[0] if isinstance(output, tuple) else output
    assert reconstruction.shape == (3, 1, window_samples)
    assert model.reconstruct(x).shape == (3, 1, window_samples)


def test_build_model_picks_the_kind() -> None:
    assert isinstance(build_model(AutoencoderConfig(kind="conv_ae")), ConvAutoencoder)
    vae = build_model(AutoencoderConfig(kind="vae", kl_weight=0.5))
    assert isinstance(vae, ConvVAE)
    assert vae.kl_weight == 0.5


def test_vae_returns_mu_and_logvar_and_scores_on_the_mean() -> None:
    model = build_model(AutoencoderConfig(kind="vae", window_samples=140, latent_dim=8), seed=1)
    x = torch.randn(5, 1, 140)
    model.eval()
    reconstruction, mu, logvar = model(x)
    assert mu.shape == logvar.shape == (5, 8)
    with torch.no_grad():
        torch.testing.assert_close(model.reconstruct(x), model.decoder(mu))
        torch.testing.assert_close(model.reconstruct(x), reconstruction)
    model.train()
    torch.manual_seed(0)
    sampled, _, _ = model(x)  # training: z is sampled, so it differs from the mean
    assert not torch.allclose(sampled, reconstruction)


def test_same_seed_same_weights_and_the_global_rng_is_left_alone() -> None:
    cfg = AutoencoderConfig(window_samples=140, channels=(4, 8), latent_dim=4)
    torch.manual_seed(123)
    expected_next = torch.rand(1)
    torch.manual_seed(123)
    a, b = build_model(cfg, seed=7), build_model(cfg, seed=7)
    assert torch.rand(1) == expected_next
    for pa, pb in zip(a.state_dict().values(), b.state_dict().values(), strict=True):
        torch.testing.assert_close(pa, pb)
    c = build_model(cfg, seed=8)
    assert not torch.equal(a.to_latent.weight, c.to_latent.weight)


def test_channels_given_as_a_list_become_a_tuple() -> None:
    assert AutoencoderConfig(channels=[8, 16]).channels == (8, 16)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "field_name"),
    [
        ({"kind": "gan"}, "kind"),
        ({"window_samples": 4}, "window_samples"),
        ({"window_samples": 320.0}, "window_samples"),
        ({"latent_dim": 0}, "latent_dim"),
        ({"channels": ()}, "channels"),
        ({"channels": (16, 0)}, "channels"),
        ({"window_samples": 16, "channels": (4, 4, 4, 4, 4)}, "channels"),
        ({"kernel_size": 4}, "kernel_size"),
        ({"dropout": 1.0}, "dropout"),
        ({"upsampling": "nearest"}, "upsampling"),
        ({"kl_weight": -0.1}, "kl_weight"),
    ],
)
def test_invalid_config_names_the_field(kwargs: dict, field_name: str) -> None:
    with pytest.raises(ValueError, match=f"AutoencoderConfig.{field_name}"):
        AutoencoderConfig(**kwargs)
