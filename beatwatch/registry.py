"""The model registry: weights on disk with their SHA-256, versions in ``model_versions``.

Invariant: at most one model has status ``champion`` at any time, and once any scoring
model exists, exactly one does. :func:`register` makes the first scoring model champion;
:func:`promote` demotes the previous champion to ``retired`` in the same transaction.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import torch
from torch import nn

from beatwatch.atomic import write_atomic
from beatwatch.digests import sha256_file
from beatwatch.inference import InferenceModel
from models.factory import AutoencoderConfig, build_model
from warehouse.store import transaction

STATUSES = ("champion", "challenger", "retired")


class ModelFileError(RuntimeError):
    """A model file that is missing or whose bytes differ from the registry's SHA-256."""


@dataclass(frozen=True)
class ModelVersion:
    """One row of ``model_versions``."""

    version: str
    kind: str
    purpose: str
    status: str
    training_records: tuple[str, ...]
    training_beats: int
    config: dict[str, Any]
    threshold: float
    threshold_rule: str
    file_path: str
    file_sha256: str
    metrics: dict[str, Any] = field(default_factory=dict)
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    promoted_at: datetime | None = None
    note: str | None = None


def new_version_id(kind: str, when: datetime | None = None) -> str:
    """A sortable, unique version id, e.g. ``20261122T013000Z-conv_ae-3f2a9c``."""
    when = when or datetime.now(UTC)
    salt = hashlib.sha256(f"{when.isoformat()}{kind}".encode()).hexdigest()[:6]
    return f"{when:%Y%m%dT%H%M%S%fZ}-{kind}-{salt}"


def save_model(
    model: nn.Module, cfg: AutoencoderConfig, models_dir: Path, version: str
) -> tuple[Path, str]:
    """Write the weights and the model configuration atomically; returns (path, SHA-256).

    ``model`` is the trained network (``FittedModel.network``); its frozen inference copy
    holds no parameters to save and is refused (``TypeError``).
    """
    if isinstance(model, InferenceModel):
        raise TypeError("save the trained network (FittedModel.network), not its inference copy")
    path = models_dir / f"{version}.pt"
    payload = {"model_config": asdict(cfg), "state_dict": model.state_dict()}
    write_atomic(path, lambda tmp: torch.save(payload, tmp))
    return path, sha256_file(path)


def load_model(path: Path, expected_sha256: str) -> nn.Module:
    """Load a registered model in eval mode, after checking its bytes against the registry.

    Raises
    ------
    ModelFileError
        If the file is missing or its SHA-256 differs (never score with the wrong model).
    """
    if not path.is_file():
        raise ModelFileError(f"model file {path} is missing")
    actual = sha256_file(path)
    if actual != expected_sha256:
        raise ModelFileError(
            f"model file {path} is corrupt or was replaced: SHA-256 {actual[:12]}..., "
            f"the registry expects {expected_sha256[:12]}..."
        )
    payload = torch.load(path, map_location="cpu", weights_only=True)
    model = build_model(AutoencoderConfig(**payload["model_config"]))
    model.load_state_dict(payload["state_dict"])
    return model.eval()


def register(con: duckdb.DuckDBPyConnection, mv: ModelVersion) -> ModelVersion:
    """Insert a model version; the first scoring model becomes champion."""
    if mv.status not in STATUSES:
        raise ValueError(f"status must be one of {STATUSES}, got {mv.status!r}")
    if mv.purpose == "scoring" and champion(con) is None:
        mv = ModelVersion(**{**asdict(mv), "status": "champion", "promoted_at": datetime.now(UTC)})
    elif mv.status == "champion":
        raise ValueError("register a challenger, then promote() it: one champion at a time")
    con.execute(
        "insert into model_versions (version, created_at, kind, purpose, status, training_records,"
        " training_beats, config, threshold, threshold_rule, metrics, file_path, file_sha256,"
        " promoted_at, note) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            mv.version,
            mv.created_at,
            mv.kind,
            mv.purpose,
            mv.status,
            list(mv.training_records),
            mv.training_beats,
            json.dumps(mv.config, default=str),
            mv.threshold,
            mv.threshold_rule,
            json.dumps(mv.metrics, default=str),
            mv.file_path,
            mv.file_sha256,
            mv.promoted_at,
            mv.note,
        ],
    )
    return mv


def promote(con: duckdb.DuckDBPyConnection, version: str) -> None:
    """Make ``version`` the champion; the previous champion becomes ``retired``."""
    row = con.execute("select purpose from model_versions where version = ?", [version]).fetchone()
    if row is None:
        raise KeyError(f"no model version {version!r}")
    if row[0] != "scoring":
        raise ValueError(f"model {version} was trained for {row[0]}, not for scoring")
    with transaction(con):
        con.execute("update model_versions set status = 'retired' where status = 'champion'")
        con.execute(
            "update model_versions set status = 'champion', promoted_at = ? where version = ?",
            [datetime.now(UTC), version],
        )


def record_decision(
    con: duckdb.DuckDBPyConnection,
    version: str,
    decision: str,
    *,
    compared_with: str | None = None,
    metric: str | None = None,
    value: float | None = None,
    champion_value: float | None = None,
) -> None:
    """Store how ``version`` fared against the champion, and what was decided."""
    con.execute(
        "update model_versions set decision = ?, compared_with = ?, comparison_metric = ?,"
        " comparison_value = ?, champion_value = ? where version = ?",
        [decision, compared_with, metric, value, champion_value, version],
    )


def rollback(con: duckdb.DuckDBPyConnection) -> str:
    """Retire the champion as ``rolled back`` and restore the model that was champion before
    it; returns the restored version.

    The one restored is the most recently promoted retired scoring model that was not itself
    rolled back, so rolling back twice goes two champions back.
    """
    current = champion(con)
    if current is None:
        raise LookupError("no champion yet: nothing to roll back")
    row = con.execute(
        "select version from model_versions where purpose = 'scoring' and status = 'retired'"
        " and promoted_at is not null and decision is distinct from 'rolled back'"
        " order by promoted_at desc limit 1"
    ).fetchone()
    if row is None:
        raise LookupError(f"{current.version} is the only model that has been champion")
    with transaction(con):
        con.execute(
            "update model_versions set decision = 'rolled back' where version = ?",
            [current.version],
        )
    promote(con, row[0])
    record_decision(con, row[0], f"restored by rollback (from {current.version})")
    return row[0]


def champion(con: duckdb.DuckDBPyConnection) -> ModelVersion | None:
    """The current champion, or None before any scoring model exists."""
    columns = ", ".join(f.name for f in fields(ModelVersion))
    rows = con.execute(f"select {columns} from model_versions where status = 'champion'").fetchall()
    if len(rows) > 1:
        raise RuntimeError(f"registry invariant broken: {len(rows)} champions")
    if not rows:
        return None
    columns = [d[0] for d in con.description]
    values = dict(zip(columns, rows[0], strict=True))
    values["training_records"] = tuple(values["training_records"])
    values["config"] = json.loads(values["config"])
    values["metrics"] = json.loads(values["metrics"] or "{}")
    return ModelVersion(**values)
