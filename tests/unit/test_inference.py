"""Transposed convolutions rewritten as ordinary ones for inference (``split_phases``)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from beatwatch.inference import InferenceModel, PhaseConvTranspose1d, split_phases
from models import AutoencoderConfig, build_model


@pytest.mark.parametrize(
    ("stride", "kernel", "padding"),
    [(2, 8, 3), (2, 2, 0), (2, 4, 1), (3, 5, 1), (3, 9, 3), (4, 6, 1)],
)
@pytest.mark.parametrize("bias", [True, False])
def test_a_split_transposed_convolution_computes_the_same_function(
    stride: int, kernel: int, padding: int, bias: bool
) -> None:
    torch.manual_seed(stride * 100 + kernel)
    layer = nn.ConvTranspose1d(5, 7, kernel, stride=stride, padding=padding, bias=bias)
    x = torch.randn(3, 5, 23)
    with torch.no_grad():
        expected = layer(x)
        got = PhaseConvTranspose1d(layer)(x)
    assert got.shape == expected.shape == (3, 7, 23 * stride)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "layer",
    [
        nn.ConvTranspose1d(4, 4, 8, stride=2, padding=3, output_padding=1),
        nn.ConvTranspose1d(4, 4, 7, stride=2, padding=3),  # output 2 L - 1 long
        nn.ConvTranspose1d(4, 4, 8, stride=2, padding=3, groups=2),
        nn.ConvTranspose1d(4, 4, 3, stride=1, padding=1),
    ],
)
def test_layers_it_cannot_compute_are_refused_and_left_as_they_are(layer: nn.Module) -> None:
    with pytest.raises(ValueError, match="cannot be split"):
        PhaseConvTranspose1d(layer)
    model = nn.Sequential(layer, nn.GELU())
    assert isinstance(split_phases(model)[0], nn.ConvTranspose1d)


def test_the_autoencoder_is_frozen_without_transposed_convolutions() -> None:
    cfg = AutoencoderConfig(
        window_samples=64, channels=(4, 8), latent_dim=4, upsampling="transpose"
    )
    model = build_model(cfg, seed=0).eval()
    split = split_phases(model)
    assert not any(isinstance(m, nn.ConvTranspose1d) for m in split.modules())
    assert any(isinstance(m, nn.ConvTranspose1d) for m in model.modules())  # not modified
    x = torch.randn(5, 1, 64)
    with torch.no_grad():
        torch.testing.assert_close(split.reconstruct(x), model.reconstruct(x))
    frozen = InferenceModel(model, 64).frozen
    assert isinstance(frozen, torch.jit.ScriptModule)
    assert "conv_transpose" not in str(frozen.graph)
    as_they_are = InferenceModel(model, 64, split=False).frozen  # for benchmarks/model.py
    assert "conv_transpose" in str(as_they_are.graph)
