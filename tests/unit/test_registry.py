"""The model registry: one champion, files checked by SHA-256 before use."""

from pathlib import Path

import duckdb
import pytest
import torch

from beatwatch.registry import (
    ModelFileError,
    ModelVersion,
    champion,
    load_model,
    new_version_id,
    promote,
    record_decision,
    register,
    rollback,
    save_model,
)
from models.factory import AutoencoderConfig, build_model
from warehouse import apply_schema


@pytest.fixture
def con(tmp_path: Path):
    with duckdb.connect(str(tmp_path / "w.duckdb")) as c:
        apply_schema(c)
        yield c


def _version(tmp_path: Path, *, purpose: str = "scoring", seed: int = 0) -> ModelVersion:
    cfg = AutoencoderConfig(kind="conv_ae", window_samples=320, latent_dim=8)
    model = build_model(cfg, seed=seed)
    version = new_version_id("conv_ae") + f"-{seed}"
    path, sha = save_model(model, cfg, tmp_path / "models", version)
    return ModelVersion(
        version=version,
        kind="conv_ae",
        purpose=purpose,
        status="challenger",
        training_records=("101", "106"),
        training_beats=1000,
        config={"latent_dim": 8},
        threshold=0.5,
        threshold_rule="mean+3std",
        file_path=str(path),
        file_sha256=sha,
    )


def _champions(con) -> list[str]:
    return [
        r[0]
        for r in con.execute(
            "select version from model_versions where status = 'champion'"
        ).fetchall()
    ]


def test_first_scoring_model_becomes_champion_and_promotion_keeps_one(con, tmp_path: Path) -> None:
    assert champion(con) is None
    first = register(con, _version(tmp_path, seed=1))
    assert first.status == "champion"
    assert _champions(con) == [first.version]
    second = register(con, _version(tmp_path, seed=2))
    assert second.status == "challenger"
    assert _champions(con) == [first.version]
    register(con, _version(tmp_path, purpose="evaluation:beatgan", seed=3))
    assert _champions(con) == [first.version]

    promote(con, second.version)
    assert _champions(con) == [second.version]
    statuses = dict(con.execute("select version, status from model_versions").fetchall())
    assert statuses[first.version] == "retired"
    current = champion(con)
    assert current is not None
    assert current.training_records == ("101", "106")


def test_promotion_rules(con, tmp_path: Path) -> None:
    evaluation = register(con, _version(tmp_path, purpose="evaluation:ecg5000"))
    with pytest.raises(ValueError, match="not for scoring"):
        promote(con, evaluation.version)
    with pytest.raises(KeyError, match="nope"):
        promote(con, "nope")
    with pytest.raises(ValueError, match="one champion at a time"):
        register(
            con,
            ModelVersion(
                **{**_version(tmp_path, seed=4).__dict__, "purpose": "x", "status": "champion"}
            ),
        )


def test_saved_model_loads_identically_and_corruption_is_caught(tmp_path: Path) -> None:
    mv = _version(tmp_path, seed=5)
    model = load_model(Path(mv.file_path), mv.file_sha256)
    reference = build_model(
        AutoencoderConfig(kind="conv_ae", window_samples=320, latent_dim=8), seed=5
    ).eval()
    x = torch.randn(4, 1, 320)
    with torch.no_grad():
        torch.testing.assert_close(model(x), reference(x))

    data = bytearray(Path(mv.file_path).read_bytes())
    data[-10] ^= 0xFF
    Path(mv.file_path).write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="corrupt or was replaced"):
        load_model(Path(mv.file_path), mv.file_sha256)
    Path(mv.file_path).unlink()
    with pytest.raises(ModelFileError, match="missing"):
        load_model(Path(mv.file_path), mv.file_sha256)


def test_rollback_restores_the_previous_champion(con, tmp_path: Path) -> None:
    first, second, third = (_version(tmp_path, seed=s) for s in (1, 2, 3))
    for mv in (first, second, third):
        register(con, mv)
    with pytest.raises(LookupError, match="only model"):
        rollback(con)  # the first champion has no predecessor
    promote(con, second.version)
    promote(con, third.version)
    assert rollback(con) == second.version
    assert _champions(con) == [second.version]
    decision = con.execute(
        "select decision from model_versions where version = ?", [second.version]
    ).fetchone()[0]
    assert decision == f"restored by rollback (from {third.version})"
    assert rollback(con) == first.version
    assert _champions(con) == [first.version]


def test_rollback_without_a_champion_says_so(con) -> None:
    with pytest.raises(LookupError, match="no champion"):
        rollback(con)


def test_a_decision_is_stored_with_both_figures(con, tmp_path: Path) -> None:
    first, second = _version(tmp_path, seed=1), _version(tmp_path, seed=2)
    register(con, first)
    register(con, second)
    record_decision(
        con,
        second.version,
        "kept as challenger",
        compared_with=first.version,
        metric="roc_auc",
        value=0.91,
        champion_value=0.93,
    )
    row = con.execute(
        "select decision, compared_with, comparison_metric, comparison_value, champion_value"
        " from model_versions where version = ?",
        [second.version],
    ).fetchone()
    assert row == ("kept as challenger", first.version, "roc_auc", 0.91, 0.93)
    assert champion(con).version == first.version  # a decision alone promotes nothing
