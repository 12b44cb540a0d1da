"""Ingest, step by step: triage deliveries, stage them, validate them, commit or reject them.

Each step is a plain function; the Prefect flow in ``flows/ingest.py`` chains them.

Exactly-once rules (by content, not by file name or time):

* a record already accepted with identical files is *unchanged*: nothing is added;
* a record whose samples equal an accepted record's under another name is a *duplicate*;
* a record under a known name whose files differ is a *conflict*. An accepted recording is
  never overwritten: the new delivery is quarantined, naming the files that differ, and the
  accepted version stays. To replace a recording, deliver it under a new record name;
* a delivery whose content was already quarantined is not quarantined again;
* a delivery still being written (``InboxScan.waiting``) is left for the next run.

Accepted originals are left where they were delivered; rejected ones are moved to quarantine.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from beatwatch import lake
from beatwatch.batch import Progress, map_isolated
from beatwatch.digests import file_identity
from beatwatch.errors import RejectedInput
from beatwatch.inbox import InboxScan, RecordDelivery
from beatwatch.quarantine import Rejection
from beatwatch.recording import read_wfdb_recording
from beatwatch.settings import ValidationLimits
from beatwatch.validation import (
    ExpectationOutcome,
    SuiteRunner,
    annotation_frame,
    recording_facts,
    signal_profile,
    suite_parameters,
)


@dataclass(frozen=True)
class KnownDelivery:
    """What the warehouse remembers of an accepted recording."""

    record: str
    content_sha256: str
    signal_sha256: str
    files: Mapping[str, str] = field(default_factory=dict)
    """File name to SHA-256 of the accepted delivery."""


@dataclass(frozen=True)
class Triage:
    """The inbox sorted into what to ingest, what to leave, and what to reject."""

    new: tuple[RecordDelivery, ...]
    unchanged: tuple[RecordDelivery, ...]
    rejected: tuple[Rejection, ...]


def triage(scan: InboxScan, known: Mapping[str, KnownDelivery], quarantined: set[str]) -> Triage:
    """Apply the exactly-once rules in the module docstring to one inbox scan."""
    by_signal = {k.signal_sha256: k.record for k in known.values()}
    new: list[RecordDelivery] = []
    unchanged: list[RecordDelivery] = []
    rejected: list[Rejection] = []
    seen_names: dict[str, RecordDelivery] = {}
    for d in scan.records:
        if d.content_sha256 in quarantined:
            continue  # rejected before and left in a read-only inbox
        rejection = _reject_delivery(d, known, by_signal, seen_names)
        if rejection is not None:
            rejected.append(rejection)
        elif d.name in known:
            unchanged.append(d)
        else:
            new.append(d)
            seen_names[d.name] = d
            by_signal[d.signal_sha256] = d.name
    for stray in scan.strays:
        sha = stray.sha256 if stray.sha256 is not None else file_identity(stray.path)
        if sha not in quarantined:
            rejected.append(
                Rejection(None, stray.kind, stray.reason, stray.path, (stray.path,), sha)
            )
    return Triage(tuple(new), tuple(unchanged), tuple(rejected))


def _reject_delivery(
    d: RecordDelivery,
    known: Mapping[str, KnownDelivery],
    by_signal: Mapping[str, str],
    seen_names: Mapping[str, RecordDelivery],
) -> Rejection | None:
    def reject(kind: str, reason: str, failed: Path) -> Rejection:
        return Rejection(d.name, kind, reason, failed, d.files, d.content_sha256)

    if d.problem is not None:
        return reject(d.problem.kind, d.problem.reason, d.problem.path)
    if d.name in seen_names:
        first = seen_names[d.name].header
        return reject(
            "conflict",
            f"record {d.name!r} is delivered twice in this inbox (also {first})",
            d.header,
        )
    accepted = known.get(d.name)
    if accepted is not None and accepted.content_sha256 != d.content_sha256:
        delivered = {p.path.name: p.sha256 for p in d.digests}
        changed = sorted(
            n
            for n in set(delivered) | set(accepted.files)
            if delivered.get(n) != accepted.files.get(n)
        )
        return reject(
            "conflict",
            f"record {d.name!r} was already ingested with different content "
            f"(files that differ: {', '.join(changed)}); accepted recordings are never "
            "overwritten, deliver a new version under a new record name",
            d.header,
        )
    owner = by_signal.get(d.signal_sha256)
    if accepted is None and owner is not None:
        return reject(
            "duplicate",
            f"duplicate delivery: the samples of {d.name!r} are identical to record {owner!r}",
            d.header,
        )
    return None


@dataclass(frozen=True)
class StagedRecording:
    """A record read and written to the staging area, waiting for validation."""

    delivery: RecordDelivery
    facts: pd.DataFrame
    """One row: ``beatwatch.validation.recording_facts``."""
    profile: pd.DataFrame
    """One row per lead: ``beatwatch.validation.signal_profile``."""
    header: dict[str, object]
    """Metadata for the ``recordings`` row (leads, units, gains, comments, ...)."""
    signal_file: Path
    annotation_file: Path | None
    annotations: pd.DataFrame | None
    """One row per reference annotation (``beatwatch.validation.annotation_frame``), made
    while staging, on the staging threads; None without an annotation file."""
    n_annotations: int


def stage_recording(delivery: RecordDelivery, staging_dir: Path) -> StagedRecording:
    """Read a delivery with wfdb and write its signals and annotations as staging Parquet.

    Raises ``RejectedInput`` (from :func:`read_wfdb_recording`) for bad input.
    """
    rec = read_wfdb_recording(delivery)
    signal_file = lake.write_parquet_atomic(
        lake.signals_table(rec), staging_dir / f"{rec.name}.signals.parquet"
    )
    annotation_file = None
    if rec.annotations is not None:
        annotation_file = lake.write_parquet_atomic(
            lake.annotations_table(rec.name, rec.annotations, rec.fs_hz),
            staging_dir / f"{rec.name}.annotations.parquet",
        )
    header = {
        "fs_hz": rec.fs_hz,
        "n_samples": rec.n_samples,
        "duration_s": rec.duration_s,
        "n_leads": rec.n_leads,
        "leads": list(rec.leads),
        "units": list(rec.units),
        "adc_gains": list(rec.adc_gains),
        "baselines": list(rec.baselines),
        "formats": list(rec.formats),
        "start_time": rec.start_time,
        "comments": list(rec.comments),
    }
    return StagedRecording(
        delivery=delivery,
        facts=recording_facts(rec),
        profile=signal_profile(rec),
        header=header,
        signal_file=signal_file,
        annotation_file=annotation_file,
        annotations=None
        if rec.annotations is None
        else annotation_frame(
            rec.name, rec.annotations.sample, rec.annotations.symbol, rec.n_samples
        ),
        n_annotations=0 if rec.annotations is None else len(rec.annotations),
    )


@dataclass
class StageBatch:
    """What staging a night's new deliveries produced."""

    staged: list[StagedRecording] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    """(record, error) for unexpected errors: a bug, not bad input; the record stays put."""


def stage_all(
    deliveries: Sequence[RecordDelivery],
    staging_dir: Path,
    *,
    workers: int = 2,
    progress: Progress | None = None,
) -> StageBatch:
    """Stage every delivery, ``workers`` at a time; one bad record never stops the others."""

    def one(delivery: RecordDelivery) -> StagedRecording | Rejection:
        try:
            return stage_recording(delivery, staging_dir)
        except RejectedInput as exc:
            return Rejection(
                delivery.name,
                exc.kind,
                exc.reason,
                exc.path,
                delivery.files,
                delivery.content_sha256,
            )

    result = map_isolated(
        one,
        deliveries,
        name=lambda d: d.name,
        workers=workers,
        progress=progress,
        describe=lambda r: f"rejected: {r.message}" if isinstance(r, Rejection) else "read",
    )
    batch = StageBatch(failed=result.failed)
    for _, value in result.done:
        (batch.rejected if isinstance(value, Rejection) else batch.staged).append(value)  # type: ignore[arg-type]
    return batch


def validate_all(
    staged: Sequence[StagedRecording], runner: SuiteRunner, limits: ValidationLimits, *, run_id: str
) -> dict[str, list[ExpectationOutcome]]:
    """Run the recording, signal and annotation suites over every staged record at once."""
    params = suite_parameters(limits)
    frames = {
        "recording": pd.concat([s.facts for s in staged], ignore_index=True),
        "signal": pd.concat([s.profile for s in staged], ignore_index=True),
        "annotations": pd.concat(
            [s.annotations for s in staged if s.annotations is not None]
            or [annotation_frame("", np.zeros(0, np.int64), np.zeros(0, str), 0)],
            ignore_index=True,
        ),
    }
    outcomes: dict[str, list[ExpectationOutcome]] = {s.delivery.name: [] for s in staged}
    for suite, frame in frames.items():
        for record, results in runner.validate(
            suite, frame, params, run_name=f"{run_id}-{suite}"
        ).items():
            outcomes[record].extend(results)
    return outcomes


def validation_rejection(
    staged: StagedRecording, outcomes: list[ExpectationOutcome]
) -> Rejection | None:
    """A rejection naming every failed expectation, or ``None`` if all passed."""
    failed = [o for o in outcomes if not o.success]
    if not failed:
        return None
    d = staged.delivery
    failed_file = d.annotation_file if failed[0].suite == "annotations" else d.header
    reason = "failed validation: " + "; ".join(o.describe() for o in failed)
    return Rejection(
        d.name, "validation_failed", reason, failed_file or d.header, d.files, d.content_sha256
    )


def promote_to_lake(staged: StagedRecording, lake_dir: Path) -> tuple[Path, Path | None]:
    """Rename the staged Parquet files into the lake (atomic, same file system)."""
    name = staged.delivery.name
    signals = lake.move_atomic(staged.signal_file, lake.signal_path(lake_dir, name))
    annotations = None
    if staged.annotation_file is not None:
        annotations = lake.move_atomic(staged.annotation_file, lake.annotation_path(lake_dir, name))
    return signals, annotations
