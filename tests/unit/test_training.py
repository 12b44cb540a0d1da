"""Training on synthetic beats: loss falls, runs reproduce, early stopping, scoring."""

import numpy as np
import pytest
import torch

from beatwatch.beats import BeatWindow, cut_beat_windows
from beatwatch.inference import InferenceModel, reconstruct, reconstruction_errors, torch_threads
from beatwatch.metrics import roc_auc
from beatwatch.registry import save_model
from beatwatch.synthetic import SyntheticConfig, generate_ecg
from beatwatch.training import (
    TrainConfig,
    normalise_beats,
    seed_everything,
    train,
)
from models import AutoencoderConfig, build_model

WINDOW = BeatWindow(fs_hz=120.0)  # the 360 Hz window at 120 Hz: 107 samples, fast
TINY = AutoencoderConfig(window_samples=WINDOW.n_samples, channels=(8, 16), latent_dim=8)


@pytest.fixture(autouse=True)
def _one_thread():
    """One intra-op thread: tiny models gain nothing from more on a shared machine."""
    with torch_threads(1):
        yield


@pytest.fixture(scope="module")
def beats() -> tuple[np.ndarray, np.ndarray]:
    """Windows (mV) and symbols ('N' or 'V') of a seeded synthetic recording at 120 Hz."""
    cfg = SyntheticConfig(
        fs_hz=120.0, duration_s=360.0, heart_rate_bpm=75.0, pvc_rate=0.15, noise_mv=0.01, seed=4
    )
    rec = generate_ecg(cfg)
    windows, kept = cut_beat_windows(rec.signals_mv[:, 0], rec.beat_samples, WINDOW)
    return windows, rec.beat_symbols[kept]


def _fit(windows: np.ndarray, cfg: TrainConfig) -> tuple[torch.nn.Module, object]:
    model = build_model(TINY, seed=cfg.seed)
    return model, train(model, windows, cfg)


def test_normalise_beats_centres_and_divides_by_the_root_of_the_std() -> None:
    rng = np.random.default_rng(0)
    windows = rng.normal(2.0, 3.0, (4, 50))
    z = normalise_beats(windows)
    assert z.dtype == np.float32
    np.testing.assert_allclose(z.mean(axis=1), 0, atol=1e-6)
    np.testing.assert_allclose(z.std(axis=1), np.sqrt(windows.std(axis=1)), rtol=1e-5)
    np.testing.assert_array_equal(normalise_beats(windows[2:3]), z[2:3])  # one beat alone
    np.testing.assert_allclose(normalise_beats(windows - 7.0), z, atol=1e-5)  # offset gone
    np.testing.assert_allclose(normalise_beats(4 * windows), 2 * z, rtol=1e-5)  # 4x -> 2x
    assert np.all(normalise_beats(np.ones((1, 10))) == 0)  # a flat beat stays flat


def test_training_lowers_the_loss(beats) -> None:
    windows, symbols = beats
    _, result = _fit(windows[symbols == "N"], TrainConfig(epochs=8, batch_size=32, patience=8))
    assert result.epochs_run == 8
    assert result.train_loss[-1] < 0.5 * result.train_loss[0]
    assert result.val_loss[-1] < result.val_loss[0]
    assert result.n_train + result.n_val == int((symbols == "N").sum())
    assert not set(result.train_index) & set(result.val_index)


def test_same_seed_same_losses_and_weights(beats) -> None:
    windows, _ = beats
    cfg = TrainConfig(epochs=3, batch_size=32, noise_std=0.05, amplitude_scale=(0.9, 1.1))
    (model_a, a), (model_b, b) = _fit(windows, cfg), _fit(windows, cfg)
    assert a.train_loss == b.train_loss
    assert a.val_loss == b.val_loss
    for pa, pb in zip(model_a.state_dict().values(), model_b.state_dict().values(), strict=True):
        assert torch.equal(pa, pb)
    _, c = _fit(windows, TrainConfig(epochs=3, batch_size=32, noise_std=0.05, seed=1))
    assert c.train_loss != a.train_loss


def test_cosine_schedule_and_beat_cap(beats) -> None:
    windows, _ = beats
    cfg = TrainConfig(epochs=2, batch_size=32, lr_schedule="cosine", max_train_beats=100)
    _, result = _fit(windows, cfg)
    assert result.n_train + result.n_val == 100
    assert result.train_loss[1] < result.train_loss[0]


def test_vae_trains_reproducibly(beats) -> None:
    windows, _ = beats
    cfg = TrainConfig(epochs=2, batch_size=64)
    vae = AutoencoderConfig(kind="vae", window_samples=WINDOW.n_samples, channels=(8,))
    losses = [train(build_model(vae, seed=0), windows, cfg).train_loss for _ in range(2)]
    assert losses[0] == losses[1]


def test_early_stopping_stops_and_keeps_the_best_epoch(beats) -> None:
    windows, _ = beats
    # A learning rate this large makes the validation loss stop improving at once.
    cfg = TrainConfig(epochs=50, batch_size=32, learning_rate=1.0, patience=2)
    model, result = _fit(windows, cfg)
    assert result.epochs_run < 50
    assert result.epochs_run - result.best_epoch == 2
    assert min(result.val_loss) == result.val_loss[result.best_epoch - 1]
    # the restored weights give the best epoch's validation loss
    val_errors = reconstruction_errors(model, windows[result.val_index])
    assert val_errors.mean() == pytest.approx(result.val_loss[result.best_epoch - 1], rel=1e-4)


def test_abnormal_beats_score_higher_after_training_on_normal_ones(beats) -> None:
    windows, symbols = beats
    normal = symbols == "N"
    model, _ = _fit(windows[normal], TrainConfig(epochs=15, batch_size=32, patience=15))
    errors = reconstruction_errors(model, windows, batch_size=50)
    assert errors.shape == (windows.shape[0],)
    assert errors.dtype == np.float64
    assert np.median(errors[~normal]) > 3 * np.median(errors[normal])
    assert roc_auc(~normal, errors) > 0.95
    single = reconstruction_errors(model, windows[:1])
    assert single[0] == pytest.approx(errors[0], rel=1e-5)  # scored alone or in a batch


@pytest.mark.parametrize("kind", ["conv_ae", "vae"])
def test_the_frozen_model_reconstructs_as_the_trained_one(beats, kind: str) -> None:
    windows, _ = beats
    cfg = AutoencoderConfig(**{**TINY.__dict__, "kind": kind, "upsampling": "transpose"})
    model = build_model(cfg, seed=3)
    train(model, windows[:200], TrainConfig(epochs=1, seed=3))
    model.train()
    frozen = InferenceModel(model, cfg.window_samples)
    assert isinstance(frozen.frozen, torch.jit.ScriptModule)  # traced, not the eager fallback
    eager = reconstruction_errors(model, windows)
    # every batch size gives the same errors: one beat, a part batch, several batches
    for batch_size in (1, 7, 64, 1024):
        np.testing.assert_allclose(
            reconstruction_errors(frozen, windows, batch_size=batch_size), eager, rtol=1e-4
        )
    # batches on two threads: each beat's error is the one it gets on one thread
    one_thread = reconstruction_errors(frozen, windows, batch_size=64)
    np.testing.assert_array_equal(
        reconstruction_errors(frozen, windows, batch_size=64, workers=2), one_thread
    )
    assert model.training  # the trained module is left in the mode it was in


class _PathDependsOnInput(torch.nn.Module):
    """A model a trace gets wrong: which branch runs depends on the input's values."""

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        return x * 2 if bool(x.abs().sum() > 0) else x * 3


@pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning")
def test_a_model_the_trace_gets_wrong_is_scored_eagerly(caplog) -> None:
    model = _PathDependsOnInput()
    with caplog.at_level("WARNING", logger="beatwatch.inference"):
        frozen = InferenceModel(model, 40)
    assert frozen.frozen == model.reconstruct  # the eager module, not the traced graph
    assert "reconstructs differently" in caplog.text
    x = torch.ones(3, 1, 40)
    torch.testing.assert_close(frozen.reconstruct(x), x * 2)


def test_a_few_beats_are_reconstructed_as_in_a_full_batch(beats) -> None:
    windows, _ = beats
    model = build_model(TINY, seed=1)
    frozen = InferenceModel(model, TINY.window_samples)
    normalised, alone = reconstruct(frozen, windows[:3])
    assert alone.shape == normalised.shape == (3, TINY.window_samples)
    _, together = reconstruct(frozen, windows[:200])
    np.testing.assert_allclose(alone, together[:3], rtol=1e-5, atol=1e-6)


def test_the_frozen_copy_cannot_be_saved_in_place_of_the_model(tmp_path) -> None:
    model = build_model(TINY, seed=0)
    with pytest.raises(TypeError, match=r"FittedModel\.network"):
        save_model(InferenceModel(model, TINY.window_samples), TINY, tmp_path, "v1")


def test_seed_everything_repeats_every_rng() -> None:
    seed_everything(5)
    first = (np.random.rand(), torch.rand(1).item())
    seed_everything(5)
    assert (np.random.rand(), torch.rand(1).item()) == first


@pytest.mark.parametrize(
    ("kwargs", "field_name"),
    [
        ({"epochs": 0}, "epochs"),
        ({"batch_size": 2.5}, "batch_size"),
        ({"learning_rate": 0.0}, "learning_rate"),
        ({"weight_decay": -1.0}, "weight_decay"),
        ({"patience": 0}, "patience"),
        ({"val_fraction": 0.6}, "val_fraction"),
        ({"seed": -1}, "seed"),
        ({"noise_std": -0.1}, "noise_std"),
        ({"amplitude_scale": (1.2, 0.8)}, "amplitude_scale"),
        ({"amplitude_scale": (0.0, 1.0)}, "amplitude_scale"),
        ({"baseline_shift": float("nan")}, "baseline_shift"),
        ({"lr_schedule": "step"}, "lr_schedule"),
        ({"max_train_beats": 1}, "max_train_beats"),
    ],
)
def test_invalid_train_config_names_the_field(kwargs: dict, field_name: str) -> None:
    with pytest.raises(ValueError, match=f"TrainConfig.{field_name}"):
        TrainConfig(**kwargs)
