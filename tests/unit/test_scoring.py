"""Scoring models on synthetic beat tables: normal-beat choice, thresholds, per-beat scores."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
import torch

from beatwatch.inference import reconstruction_errors, torch_threads
from beatwatch.preprocess import PreprocessConfig, beat_schema, preprocess_recording
from beatwatch.registry import ModelFileError, ModelVersion, save_model
from beatwatch.rhythm import RhythmContext, ScoreCalibration, rhythm_context
from beatwatch.scoring import (
    CLEARLY_NORMAL_SCORE,
    FittedModel,
    NothingToTrainError,
    ScoringModel,
    beat_windows,
    build_training_set,
    describe_rule,
    fit_scoring_model,
    load_scoring_model,
    score_beat_table,
    score_schema,
    select_normal_beats,
    table_context,
)
from beatwatch.synthetic import SyntheticConfig, generate_ecg
from beatwatch.training import TrainConfig
from models import AutoencoderConfig

MODEL_CFG = AutoencoderConfig(
    window_samples=320, latent_dim=4, channels=(4, 8, 16, 32), upsampling="transpose"
)
TRAIN_CFG = TrainConfig(epochs=5, batch_size=64, learning_rate=1e-2)


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    """One intra-op thread: tiny models gain nothing from more on a shared machine.

    Module-scoped, so the module's fitted model is trained with the same thread count as
    the tests' own fits (float sums differ in the last bits between thread counts).
    """
    with torch_threads(1):
        yield


def _beat_table(record: str, *, seed: int, duration_s: float = 120.0, **cfg) -> pa.Table:
    """A labelled beat table (360 Hz, 320-sample windows) of a seeded synthetic recording."""
    rec = generate_ecg(SyntheticConfig(duration_s=duration_s, noise_mv=0.01, seed=seed, **cfg))
    reference = (rec.beat_samples, rec.beat_symbols)
    beat_set = preprocess_recording(
        record, rec.signals_mv[:, 0], "MLII", rec.fs_hz, reference, PreprocessConfig()
    )
    return beat_set.table


def _unlabelled(table: pa.Table) -> pa.Table:
    """The same beats without reference labels (as a recording without annotations)."""
    for name in ("ref_symbol", "aami_class"):
        index = table.schema.get_field_index(name)
        table = table.set_column(
            index, pa.field(name, pa.string()), pa.nulls(len(table), pa.string())
        )
    return table


def _classes(table: pa.Table) -> np.ndarray:
    return np.asarray(table.column("aami_class").to_pylist(), dtype=object)


def _column(table: pa.Table, name: str) -> np.ndarray:
    return table.column(name).to_numpy()


def _fit(table: pa.Table, **kwargs) -> FittedModel:
    train_cfg = kwargs.pop("train_cfg", TRAIN_CFG)
    return fit_scoring_model(
        build_training_set([("a", table, None)]), train_cfg, MODEL_CFG, **kwargs
    )


@pytest.fixture(scope="module")
def labelled() -> pa.Table:
    """120 s at 75 bpm with 10 % PVCs (V) and 8 % PACs (S), reference-labelled."""
    table = _beat_table("a", seed=3, heart_rate_bpm=75.0, pvc_rate=0.1, pac_rate=0.08)
    counts = pc.value_counts(table.column("aami_class")).to_pylist()
    assert {c["values"] for c in counts} >= {"N", "S", "V"}
    return table


@pytest.fixture(scope="module")
def fitted(labelled: pa.Table) -> FittedModel:
    """A tiny model trained on the labelled record's N beats; percentile 97.5 threshold."""
    return _fit(labelled, rule="percentile", value=97.5)


# --------------------------------------------------------------------------- normal beats


def test_labelled_record_trains_on_its_reference_normal_beats(labelled: pa.Table) -> None:
    classes = _classes(labelled)
    chosen, source = select_normal_beats("a", labelled, None)
    assert source == "reference"
    np.testing.assert_array_equal(chosen, np.flatnonzero(classes == "N"))
    assert set(classes[chosen]) == {"N"}
    assert 0 < chosen.size < labelled.num_rows  # the S and V beats are left out
    # Reference labels win over a champion's scores.
    scores = np.zeros(labelled.num_rows)
    assert select_normal_beats("a", labelled, scores)[1] == "reference"


def test_unlabelled_record_trains_on_the_beats_the_champion_calls_clearly_normal(
    labelled: pa.Table,
) -> None:
    table = _unlabelled(labelled)
    scores = np.linspace(-2.0, 4.0, table.num_rows)
    scores[0] = CLEARLY_NORMAL_SCORE  # at the limit: kept
    scores[1] = np.nextafter(CLEARLY_NORMAL_SCORE, np.inf)  # just above: left out
    chosen, source = select_normal_beats("a", table, scores)
    assert source == "champion"
    np.testing.assert_array_equal(chosen, np.flatnonzero(scores <= CLEARLY_NORMAL_SCORE))
    assert 0 in chosen
    assert 1 not in chosen
    assert 0 < chosen.size < table.num_rows


def test_unlabelled_record_without_champion_trains_on_every_beat(labelled: pa.Table) -> None:
    chosen, source = select_normal_beats("a", _unlabelled(labelled), None)
    assert source == "all"
    np.testing.assert_array_equal(chosen, np.arange(labelled.num_rows))


@pytest.mark.parametrize("extra", [-1, 1])
def test_champion_scores_of_the_wrong_length_name_the_record(
    labelled: pa.Table, extra: int
) -> None:
    scores = np.zeros(labelled.num_rows + extra)
    with pytest.raises(ValueError, match="record night-7"):
        select_normal_beats("night-7", _unlabelled(labelled), scores)


# --------------------------------------------------------------------------- training set


def test_training_set_gathers_the_chosen_beats_of_every_record(labelled: pa.Table) -> None:
    other = _beat_table("b", seed=5, duration_s=60.0, heart_rate_bpm=90.0, pvc_rate=0.1)
    scored = _unlabelled(other)
    champion = np.where(np.arange(scored.num_rows) % 3 == 0, 2.0, 0.0)  # every third: abnormal
    plain = _unlabelled(labelled.slice(0, 40))
    training_set = build_training_set(
        [("a", labelled, None), ("b", scored, champion), ("c", plain, None)]
    )

    chosen = {
        "a": np.flatnonzero(_classes(labelled) == "N"),
        "b": np.flatnonzero(champion <= CLEARLY_NORMAL_SCORE),
        "c": np.arange(40),
    }
    tables = {"a": labelled, "b": scored, "c": plain}
    assert training_set.sources == {"a": "reference", "b": "champion", "c": "all"}
    assert training_set.beats_per_record == {k: v.size for k, v in chosen.items()}
    assert training_set.n_beats == sum(v.size for v in chosen.values())
    expected = np.concatenate([beat_windows(tables[k])[chosen[k]] for k in "abc"])
    np.testing.assert_array_equal(training_set.windows, expected)
    contexts = {k: table_context(tables[k]) for k in "abc"}
    for name in ("log_prematurity", "log_pause"):
        wanted = np.concatenate([getattr(contexts[k], name)[chosen[k]] for k in "abc"])
        np.testing.assert_array_equal(getattr(training_set.context, name), wanted)


def test_records_with_no_chosen_beats_are_left_out(labelled: pa.Table) -> None:
    ectopic_only = labelled.filter(pc.not_equal(labelled.column("aami_class"), "N"))
    assert ectopic_only.num_rows > 0
    unlabelled = _unlabelled(labelled)
    abnormal = np.full(unlabelled.num_rows, CLEARLY_NORMAL_SCORE + 0.5)
    training_set = build_training_set(
        [("ectopic", ectopic_only, None), ("a", labelled, None), ("doubtful", unlabelled, abnormal)]
    )
    n_normal = int((_classes(labelled) == "N").sum())
    assert training_set.beats_per_record == {"a": n_normal}
    assert training_set.sources == {"a": "reference"}
    assert training_set.n_beats == n_normal


@pytest.mark.parametrize("case", ["no records", "nothing clearly normal", "no beats"])
def test_nothing_to_train_on_raises(labelled: pa.Table, case: str) -> None:
    unlabelled = _unlabelled(labelled)
    tables = {
        "no records": [],
        "nothing clearly normal": [("a", unlabelled, np.full(unlabelled.num_rows, 5.0))],
        "no beats": [("a", beat_schema(320).empty_table(), None)],
    }[case]
    with pytest.raises(NothingToTrainError, match="no normal beats"):
        build_training_set(tables)
    assert issubclass(NothingToTrainError, ValueError)


def test_timing_context_is_taken_from_the_whole_record(labelled: pa.Table) -> None:
    """A premature beat's neighbours keep their context whether or not it is trained on."""
    classes = _classes(labelled)
    normal = np.flatnonzero(classes == "N")
    everything = build_training_set([("a", _unlabelled(labelled), None)])  # all beats
    normals_only = build_training_set([("a", labelled, None)])  # S and V left out
    assert everything.n_beats == labelled.num_rows
    assert normals_only.n_beats == normal.size

    ectopic = np.flatnonzero(np.isin(classes, ["S", "V"]))
    neighbours = np.intersect1d(np.union1d(ectopic - 1, ectopic + 1), normal)
    assert neighbours.size >= 10
    position = np.searchsorted(normal, neighbours)  # rows of the neighbours in normals_only
    for name in ("log_prematurity", "log_pause"):
        whole = getattr(table_context(labelled), name)
        np.testing.assert_array_equal(getattr(everything.context, name), whole)
        np.testing.assert_array_equal(getattr(normals_only.context, name), whole[normal])
        np.testing.assert_array_equal(
            getattr(normals_only.context, name)[position],
            getattr(everything.context, name)[neighbours],
        )
    # The check has teeth: context computed on the chosen beats alone would differ.
    rr_prev = labelled.column("rr_prev_s").to_numpy(zero_copy_only=False)
    rr_next = labelled.column("rr_next_s").to_numpy(zero_copy_only=False)
    subset = rhythm_context(rr_prev[normal], rr_next[normal])
    assert not np.allclose(subset.log_prematurity, normals_only.context.log_prematurity)


# --------------------------------------------------------------------------- fitting


def test_percentile_threshold_is_taken_over_the_held_out_beats(
    labelled: pa.Table, fitted: FittedModel
) -> None:
    training = fitted.training
    scores = fitted.train_scores
    normal = np.flatnonzero(_classes(labelled) == "N")
    assert scores.shape == (normal.size,)
    assert training.n_val > 0
    assert not set(training.val_index) & set(training.train_index)
    assert fitted.scoring.threshold_rule == "percentile"
    assert fitted.scoring.threshold == pytest.approx(
        np.percentile(scores[training.val_index], 97.5), rel=1e-12
    )
    assert fitted.scoring.threshold != pytest.approx(
        np.percentile(scores[training.train_index], 97.5)
    )
    # train_scores are the very scores the model gives those beats in their record.
    scored = score_beat_table("a", labelled, fitted.scoring)
    np.testing.assert_allclose(_column(scored.table, "score")[normal], scores, rtol=1e-6, atol=1e-9)


def test_score_calibration_is_fitted_on_the_trained_on_beats(
    labelled: pa.Table, fitted: FittedModel
) -> None:
    training_set = build_training_set([("a", labelled, None)])
    errors = reconstruction_errors(fitted.scoring.model, training_set.windows)
    trained = fitted.training.train_index
    context = training_set.context
    expected = ScoreCalibration.fit(
        errors[trained],
        RhythmContext(context.log_prematurity[trained], context.log_pause[trained]),
    )
    actual = fitted.scoring.calibration.to_dict()
    for name, value in expected.to_dict().items():
        assert actual[name] == pytest.approx(value, rel=1e-6, abs=1e-9), name
    everything = ScoreCalibration.fit(errors, context)  # held-out beats included: differs
    assert everything.to_dict() != pytest.approx(actual, rel=1e-6)


def test_percentile_without_held_out_beats_uses_the_trained_on_beats(labelled: pa.Table) -> None:
    cfg = dataclasses.replace(TRAIN_CFG, val_fraction=0.0, epochs=2)
    result = _fit(labelled, train_cfg=cfg, rule="percentile", value=90.0)
    assert result.training.n_val == 0
    assert result.scoring.threshold == pytest.approx(
        np.percentile(result.train_scores[result.training.train_index], 90.0), rel=1e-12
    )


def test_mean_k_std_threshold_is_over_the_trained_on_beats(labelled: pa.Table) -> None:
    result = _fit(labelled, rule="mean_k_std", value=2.5)
    trained = result.train_scores[result.training.train_index]
    assert result.training.n_val > 0
    assert result.scoring.threshold_rule == "mean_k_std"
    assert result.scoring.threshold == pytest.approx(
        trained.mean() + 2.5 * trained.std(), rel=1e-12
    )
    every = result.train_scores
    assert result.scoring.threshold != pytest.approx(every.mean() + 2.5 * every.std(), rel=1e-9)


def test_relative_threshold_is_the_value_given(labelled: pa.Table) -> None:
    result = _fit(labelled, rule="relative", value=2.75)
    assert result.scoring.threshold == 2.75
    assert result.scoring.threshold_rule == "relative"


def test_unknown_threshold_rule_is_refused(labelled: pa.Table) -> None:
    with pytest.raises(ValueError, match="threshold rule must be one of"):
        _fit(labelled, rule="median")


def test_window_length_mismatch_is_refused(labelled: pa.Table) -> None:
    short = dataclasses.replace(MODEL_CFG, window_samples=256)
    training_set = build_training_set([("a", labelled, None)])
    with pytest.raises(ValueError, match="beats have 320 samples, the model expects 256"):
        fit_scoring_model(training_set, TRAIN_CFG, short)


def test_same_seed_gives_the_same_threshold_and_weights(
    labelled: pa.Table, fitted: FittedModel
) -> None:
    again = _fit(labelled, rule="percentile", value=97.5)
    assert again.scoring.threshold == fitted.scoring.threshold
    assert again.scoring.calibration == fitted.scoring.calibration
    first, second = fitted.network.state_dict(), again.network.state_dict()
    assert first.keys() == second.keys()
    for name, weights in first.items():
        assert torch.equal(weights, second[name]), name
    other = _fit(labelled, train_cfg=dataclasses.replace(TRAIN_CFG, seed=1), value=97.5)
    assert other.scoring.threshold != fitted.scoring.threshold


# --------------------------------------------------------------------------- scoring


def test_every_beat_gets_one_row_in_order(labelled: pa.Table, fitted: FittedModel) -> None:
    result = score_beat_table("a", labelled, fitted.scoring)
    table = result.table
    assert table.schema.equals(score_schema())
    assert result.beats_scored == table.num_rows == labelled.num_rows
    for name in ("record", "beat_index", "r_sample", "time_s"):
        assert table.column(name).to_pylist() == labelled.column(name).to_pylist(), name
    for name in ("rr_prev_s", "rr_next_s", "lead", "ref_symbol", "aami_class"):  # context
        assert table.column(name).to_pylist() == labelled.column(name).to_pylist(), name
    bare = score_beat_table(
        "a",
        labelled.select(
            ["record", "beat_index", "r_sample", "time_s", "rr_prev_s", "rr_next_s", "window"]
        ),
        fitted.scoring,
    )
    assert bare.table.column("lead").null_count == labelled.num_rows  # windows alone: no context
    np.testing.assert_array_equal(_column(bare.table, "score"), _column(table, "score"))
    errors = reconstruction_errors(fitted.scoring.model, beat_windows(labelled))
    np.testing.assert_allclose(_column(table, "recon_error"), errors, rtol=1e-9)
    np.testing.assert_allclose(
        _column(table, "score"), _column(table, "shape_z") + _column(table, "timing_z")
    )
    assert np.all(_column(table, "timing_z") >= 0)
    assert result.threshold == fitted.scoring.threshold


def test_flagged_means_score_at_or_above_the_threshold(
    labelled: pa.Table, fitted: FittedModel
) -> None:
    scores = _column(score_beat_table("a", labelled, fitted.scoring).table, "score")
    at = int(np.argsort(scores)[scores.size // 2])  # a beat exactly at the threshold
    scoring = dataclasses.replace(fitted.scoring, threshold=float(scores[at]))
    result = score_beat_table("a", labelled, scoring)
    flagged = _column(result.table, "flagged")
    np.testing.assert_array_equal(flagged, scores >= scores[at])
    assert flagged[at]
    assert 0 < result.beats_flagged < result.beats_scored
    assert result.share_flagged == pytest.approx(result.beats_flagged / labelled.num_rows)


def test_relative_rule_flags_on_the_relative_score(labelled: pa.Table, fitted: FittedModel) -> None:
    scoring = dataclasses.replace(fitted.scoring, threshold=1.5, threshold_rule="relative")
    table = score_beat_table("a", labelled, scoring).table
    relative = _column(table, "relative_score")
    errors = _column(table, "recon_error")
    assert np.median(relative) == pytest.approx(1.0)
    np.testing.assert_allclose(relative, errors / np.median(errors))
    flagged = _column(table, "flagged")
    np.testing.assert_array_equal(flagged, relative >= 1.5)
    assert flagged.any()
    assert not np.array_equal(flagged, _column(table, "score") >= 1.5)  # not the score rule


def test_top_anomalies_are_the_highest_scoring_flagged_beats(
    labelled: pa.Table, fitted: FittedModel
) -> None:
    result = score_beat_table("a", labelled, fitted.scoring, top_n=3)
    table = result.table
    scores, flagged = _column(table, "score"), _column(table, "flagged")
    assert result.beats_flagged > 3
    assert len(result.top) == 3
    top_scores = [t.score for t in result.top]
    assert top_scores == sorted(top_scores, reverse=True)
    np.testing.assert_allclose(top_scores, np.sort(scores[flagged])[::-1][:3])
    time_s = _column(labelled, "time_s")
    windows = beat_windows(labelled)
    for top in result.top:
        assert flagged[top.beat_index]
        assert top.time_s == time_s[top.beat_index]
        assert top.score == scores[top.beat_index]
        np.testing.assert_array_equal(top.window_mv, windows[top.beat_index])  # for the report
    every = score_beat_table("a", labelled, fitted.scoring, top_n=10_000).top
    assert len(every) == result.beats_flagged
    above_all = dataclasses.replace(fitted.scoring, threshold=float(scores.max()) + 1.0)
    quiet = score_beat_table("a", labelled, above_all)
    assert quiet.top == ()
    assert quiet.beats_flagged == 0


@pytest.mark.parametrize("heart_rate_bpm", [60.0, 90.0])
def test_mean_heart_rate_is_60_over_the_mean_rr(fitted: FittedModel, heart_rate_bpm: float) -> None:
    table = _beat_table("hr", seed=1, duration_s=60.0, heart_rate_bpm=heart_rate_bpm)
    result = score_beat_table("hr", table, fitted.scoring)
    rr = table.column("rr_prev_s").to_numpy(zero_copy_only=False).astype(np.float64)
    assert np.isnan(rr[0])  # the first beat has no RR before: ignored
    assert result.mean_hr_bpm == pytest.approx(60.0 / np.nanmean(rr), abs=1e-6)
    assert result.mean_hr_bpm == pytest.approx(heart_rate_bpm, rel=0.03)


def test_an_empty_beat_table_scores_to_nothing(fitted: FittedModel) -> None:
    result = score_beat_table("empty", beat_schema(320).empty_table(), fitted.scoring)
    assert result.table.num_rows == 0
    assert result.table.schema.equals(score_schema())
    assert result.mean_hr_bpm is None
    assert result.top == ()
    assert (result.beats_scored, result.beats_flagged, result.share_flagged) == (0, 0, 0.0)


def test_ectopic_beats_score_higher_than_normal_beats(fitted: FittedModel) -> None:
    """On a recording the model never saw: PACs by their timing, PVCs by shape and timing."""
    table = _beat_table("b", seed=8, heart_rate_bpm=90.0, pvc_rate=0.1, pac_rate=0.1)
    classes = _classes(table)
    scores = _column(score_beat_table("b", table, fitted.scoring).table, "score")
    mean = {c: scores[classes == c].mean() for c in ("N", "S", "V")}
    assert min((classes == c).sum() for c in ("N", "S", "V")) >= 10
    assert mean["S"] > mean["N"] + 3.0
    assert mean["V"] > mean["N"] + 10.0


# --------------------------------------------------------------------------- registry


def _model_version(
    tmp_path: Path, fitted: FittedModel, scoring: ScoringModel, config: dict
) -> ModelVersion:
    path, sha = save_model(fitted.network, scoring.model_config, tmp_path / "models", "v1")
    return ModelVersion(
        version="v1",
        kind=scoring.model_config.kind,
        purpose="scoring",
        status="challenger",
        training_records=("a",),
        training_beats=100,
        config=json.loads(json.dumps(config)),  # as the warehouse hands it back
        threshold=scoring.threshold,
        threshold_rule=describe_rule(scoring.threshold_rule, scoring.threshold),
        file_path=str(path),
        file_sha256=sha,
    )


@pytest.mark.parametrize("rule", ["percentile", "relative"])
def test_a_saved_model_scores_the_same_beats_the_same(
    tmp_path: Path, labelled: pa.Table, fitted: FittedModel, rule: str
) -> None:
    scoring = dataclasses.replace(fitted.scoring, threshold_rule=rule, threshold=1.5)
    mv = _model_version(tmp_path, fitted, scoring, scoring.config_json(TRAIN_CFG))
    loaded = load_scoring_model(mv)
    assert loaded.version == "v1"
    assert loaded.model_config == MODEL_CFG
    assert loaded.calibration == scoring.calibration
    assert (loaded.threshold, loaded.threshold_rule) == (1.5, rule)
    before = score_beat_table("a", labelled, scoring)
    after = score_beat_table("a", labelled, loaded)
    assert after.table.equals(before.table)
    assert after.top == before.top


def test_a_model_without_score_calibration_cannot_score(
    tmp_path: Path, fitted: FittedModel
) -> None:
    config = fitted.scoring.config_json(TRAIN_CFG)
    del config["score_calibration"]
    mv = _model_version(tmp_path, fitted, fitted.scoring, config)
    with pytest.raises(ValueError, match="no score calibration"):
        load_scoring_model(mv)


def test_a_corrupted_model_file_is_refused(tmp_path: Path, fitted: FittedModel) -> None:
    mv = _model_version(tmp_path, fitted, fitted.scoring, fitted.scoring.config_json(TRAIN_CFG))
    path = Path(mv.file_path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="corrupt"):
        load_scoring_model(mv)
    path.unlink()
    with pytest.raises(ModelFileError, match="missing"):
        load_scoring_model(mv)
