"""Scoring beats with a trained autoencoder: reconstructions and reconstruction errors.

Beats are normalised exactly as for training (:func:`beatwatch.training.normalise_beats`).
A model loaded to score a night is frozen first (:class:`InferenceModel`), which on this
project's CPU reconstructs 1.4x more beats per second per thread than the eager module.
"""

from __future__ import annotations

import copy
import logging
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import numpy as np
import torch
from torch import nn

from beatwatch.training import normalise_beats

log = logging.getLogger(__name__)

_PAD_ROWS = 64  # part batches are padded to a multiple of this many beats (see below)


def reconstruct(model: nn.Module, beats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The beats normalised as the model sees them, and its reconstructions.

    Parameters
    ----------
    beats
        (n_beats, L) raw beat windows (mV).

    Returns
    -------
    tuple of numpy.ndarray
        Both float32 (n_beats, L), normalised units (:func:`normalise_beats`).
    """
    normalised = normalise_beats(beats)
    n = normalised.shape[0]
    with torch.inference_mode():
        x = torch.from_numpy(_padded(np.ascontiguousarray(normalised, dtype=np.float32)))
        out = model.reconstruct(x[:, None, :])[:n, 0, :].numpy()
    return normalised, out


def _padded(rows: np.ndarray, limit: int | None = None) -> np.ndarray:
    """``rows`` with flat (zero) rows appended up to a multiple of ``_PAD_ROWS`` (at most
    ``limit`` rows). A frozen model (:class:`InferenceModel`) re-optimises itself for each
    new input shape (~30 ms each), so few shapes are better than exact ones."""
    n = rows.shape[0]
    padded = -(-n // _PAD_ROWS) * _PAD_ROWS
    if limit is not None:
        padded = min(limit, padded)
    if n >= padded:
        return rows
    return np.concatenate([rows, np.zeros((padded - n, *rows.shape[1:]), rows.dtype)])


class InferenceModel(nn.Module):
    """A trained autoencoder's ``reconstruct``, frozen for fast CPU inference.

    The model is traced to TorchScript, frozen (weights become constants) and passed through
    ``torch.jit.optimize_for_inference``, which hands its convolutions to oneDNN. On this
    project's CPU that reconstructs 1.4x more beats per second than the eager module on one
    thread (16.1 k vs 11.5 k; 1.14x on two). Its transposed convolutions are first rewritten
    as ordinary ones (:func:`split_phases`), which oneDNN runs faster still (the model 8 %).
    Results agree with the eager module to float32 rounding (relative error ~5e-7).
    Inference only: no gradients, no training, nothing to save.

    TorchScript is deprecated in favour of ``torch.compile``, which needs a C++ tool chain at
    run time and tens of seconds to compile every night; torch is pinned (2.13), and if a
    later torch cannot trace, the eager module is used, only slower.
    """

    def __init__(self, model: nn.Module, window_samples: int, *, split: bool = True) -> None:
        """``split``: rewrite the transposed convolutions first (False: as they are, to
        measure the difference, ``benchmarks/model.py``)."""
        super().__init__()
        was_training = model.training
        model.eval()
        self.frozen: Callable[[torch.Tensor], torch.Tensor] = model.reconstruct
        try:
            with torch.no_grad(), warnings.catch_warnings():
                warnings.filterwarnings("ignore", "`torch.jit", DeprecationWarning)
                # trace's own check (a second trace, compared) cost 0.8 s a night; the check
                # below compares what will actually score, the optimised graph, instead
                traced = torch.jit.trace(
                    _Reconstruction(split_phases(model) if split else model).eval(),
                    torch.zeros(_PAD_ROWS, 1, window_samples),
                    check_trace=False,
                )
                frozen = torch.jit.optimize_for_inference(torch.jit.freeze(traced))
                _check_same(frozen, model, window_samples)
                self.frozen = frozen
        except Exception as exc:  # a failure to freeze costs speed, never scores
            log.warning("could not freeze the model for inference (%s): eager torch it is", exc)
        model.train(was_training)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: (batch, 1, L) normalised beats -> (batch, 1, L) reconstructions
        return self.frozen(x)

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """The reconstruction, (batch, 1, L); the same call as the eager models'."""
        return self.frozen(x)


def _check_same(
    frozen: Callable[[torch.Tensor], torch.Tensor], model: nn.Module, length: int
) -> None:
    """Raise ``ValueError`` unless ``frozen`` reconstructs like ``model`` (to float32
    rounding) a batch of beat-like inputs: smooth, varied, of unit scale. A trace records one
    path through ``forward``; a model whose path depends on its input would differ here."""
    t = torch.linspace(0.0, 1.0, length)
    rows = torch.arange(1, _PAD_ROWS + 1, dtype=torch.float32)[:, None]
    x = (torch.sin(2 * torch.pi * rows * t / 8) * torch.exp(-((t - 0.45) ** 2) * rows))[:, None]
    x = (x - x.mean(dim=2, keepdim=True)) / x.std(dim=2, keepdim=True)
    expected = model.reconstruct(x)
    got = frozen(x)
    scale = float(expected.abs().max()) or 1.0
    error = float((got - expected).abs().max()) / scale
    if got.shape != expected.shape or not error <= 1e-4:
        raise ValueError(f"the frozen graph reconstructs differently (relative error {error:.1e})")


class PhaseConvTranspose1d(nn.Module):
    """A stride-``s`` ``ConvTranspose1d`` computed as one ordinary ``Conv1d``: the same
    function of the same weights, to float32 rounding.

    Output sample ``s * m + r`` of a transposed convolution is a sum over input samples near
    ``m`` with every ``s``-th tap of its kernel, the ``r``-th phase. So one convolution with
    ``s`` x the output channels (a block per phase, the other phases' taps zero) computes all
    phases at once, and interleaving the blocks gives the output. The frozen graph runs the
    transposed layers through a generic path with extra copies; as ordinary convolutions
    they go to oneDNN's direct kernels: the whole model ran 8 % faster on one thread (28.0
    vs 30.6 us a beat, ``benchmarks/model.py``), for 25 % more multiplications (the zero
    taps); 10 % on a later host (26.1 vs 29.3 us). The interleave makes fresh buffers each
    pass: under glibc's default malloc settings they were faulted in page by page on that
    host, and the split graph ran 1.5x slower than the transposed layers; the flows keep
    freed memory for reuse (:func:`beatwatch.heap.keep_freed_memory`), as the benchmark does.

    Only for the layers :func:`split_phases` accepts (no groups, dilation or output padding;
    an output exactly ``s`` x the input's length; taps spread evenly around each output).
    """

    def __init__(self, layer: nn.ConvTranspose1d) -> None:
        super().__init__()
        if not _splittable(layer):
            raise ValueError(f"{layer} cannot be split into phases")
        (stride,) = layer.stride
        taps = _phase_taps(layer)
        reach = max(d for _, d in taps)  # input samples each side of an output's m
        weight = torch.zeros(stride * layer.out_channels, layer.in_channels, 2 * reach + 1)
        for (r, d), k in taps.items():  # layer.weight: (in, out, kernel)
            block = slice(r * layer.out_channels, (r + 1) * layer.out_channels)
            weight[block, :, d + reach] = layer.weight.detach()[:, :, k].T
        self.conv = nn.Conv1d(
            layer.in_channels, stride * layer.out_channels, 2 * reach + 1, padding=reach
        )
        self.conv.weight = nn.Parameter(weight, requires_grad=False)
        bias = torch.zeros(layer.out_channels) if layer.bias is None else layer.bias.detach()
        self.conv.bias = nn.Parameter(bias.repeat(stride), requires_grad=False)
        self.stride, self.out_channels = stride, layer.out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: (batch, in, L) -> phases (batch, s * out, L) -> (batch, out, L * s), interleaved
        phases = self.conv(x)
        batch, _, length = phases.shape
        return (
            phases.view(batch, self.stride, self.out_channels, length)
            .permute(0, 2, 3, 1)
            .reshape(batch, self.out_channels, length * self.stride)
        )


def _phase_taps(layer: nn.ConvTranspose1d) -> dict[tuple[int, int], int]:
    """``{(r, d): k}``: output sample ``s * m + r`` takes input sample ``m + d`` through tap
    ``k`` of the kernel (``k = r + padding - s * d``)."""
    (stride,), (kernel,), (padding,) = layer.stride, layer.kernel_size, layer.padding
    return {
        (r, d): r + padding - stride * d
        for r in range(stride)
        for d in range(-kernel, kernel + 1)
        if 0 <= r + padding - stride * d < kernel
    }


def _splittable(layer: nn.ConvTranspose1d) -> bool:
    """Whether :class:`PhaseConvTranspose1d` computes ``layer``: a plain strided layer
    whose output is exactly stride x its input's length (kernel - 2 padding = stride), and
    whose outputs reach as far left as right into the input (one symmetric padding)."""
    (stride,), (kernel,), (padding,) = layer.stride, layer.kernel_size, layer.padding
    if not (
        layer.groups == 1
        and layer.dilation == (1,)
        and layer.output_padding == (0,)
        and layer.padding_mode == "zeros"
        and stride > 1
        and kernel - 2 * padding == stride
    ):
        return False
    reach = [d for _, d in _phase_taps(layer)]
    return min(reach) == -max(reach)


def split_phases(model: nn.Module) -> nn.Module:
    """A copy of ``model`` with every transposed convolution that
    :class:`PhaseConvTranspose1d` can compute replaced by it (the model itself untouched)."""
    split = copy.deepcopy(model)
    layers = [
        (parent, name, child)
        for parent in split.modules()
        for name, child in parent.named_children()
        if isinstance(child, nn.ConvTranspose1d) and _splittable(child)
    ]
    for parent, name, child in layers:  # replaced after the walk, not during it
        setattr(parent, name, PhaseConvTranspose1d(child))
    return split


class _Reconstruction(nn.Module):
    """``model.reconstruct`` as a module's ``forward`` (what tracing records)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.reconstruct(x)


def reconstruction_errors(
    model: nn.Module, beats: np.ndarray, *, batch_size: int = 256, workers: int = 1
) -> np.ndarray:
    """Anomaly score of each beat: mean squared reconstruction error over its window.

    Parameters
    ----------
    model
        A trained autoencoder with ``reconstruct(x)`` (both model kinds have it; the VAE's
        is the mean reconstruction, so scores are deterministic).
    beats
        (n_beats, L) raw beat windows, normalised here exactly as in
        :func:`beatwatch.training.train`.
    batch_size
        Beats per forward pass (memory and speed only; results agree to float32 rounding).
        256 keeps a pass's activations (a few MB) closer to the core's cache than 512: in
        the machine's slow spells, when other work on the host competes for its memory,
        preprocess + score ran 0.35 s faster a night (medians of 6 alternating nights);
        in its fast spells the two were alike. 128 was no faster than 256. (Measured
        before the flows kept freed memory, :func:`beatwatch.heap.keep_freed_memory`:
        smaller passes also faulted fewer fresh pages in, which may explain part of it.)
    workers
        Batches run on this many threads at once. Give torch one intra-op thread then
        (:func:`torch_threads`): the model's layers are small, and on 2 cores two
        single-threaded passes got through 1.5x more beats than one two-threaded pass.

    Returns
    -------
    numpy.ndarray
        float64, shape (n_beats,), in normalised units squared (:func:`normalise_beats`):
        the mean squared error in the input unit divided by the beat's std (a beat
        reconstructed as a flat line scores its std).
    """
    beats = np.asarray(beats)
    errors = np.empty(beats.shape[0], dtype=np.float64)
    was_training = model.training
    model.eval()

    def one_batch(start: int) -> None:
        # Normalised batch by batch (a row-wise function: the same result), which keeps the
        # arrays in cache: normalising 100,000 beats at once took as long as the model. A
        # part batch is padded with flat beats to a multiple of 64 rows: a frozen model
        # (InferenceModel) re-optimises for each new input shape (~30 ms), which cost more
        # than the scoring when every record ended in a batch of its own size.
        rows = normalise_beats(beats[start : start + batch_size])
        n = rows.shape[0]
        rows = _padded(rows, limit=batch_size)
        with torch.inference_mode():  # per thread; float32: 2.7x faster than float64 on CPU
            batch = torch.from_numpy(rows).unsqueeze(1)  # (batch, 1, L)
            squared = (model.reconstruct(batch) - batch) ** 2
            errors[start : start + n] = squared.mean(dim=(1, 2)).numpy()[:n]

    starts = range(0, beats.shape[0], batch_size)
    if workers > 1 and len(starts) > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(one_batch, starts))  # list(): re-raises a batch's error here
    else:
        for start in starts:
            one_batch(start)
    model.train(was_training)
    return errors


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run the block with torch's intra-op pool at ``n`` threads, then restore it."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
