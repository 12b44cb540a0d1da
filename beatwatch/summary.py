"""What a run did, as numbers for the warehouse and one screen for a person."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from beatwatch.preprocess import BeatFile
from beatwatch.quarantine import QuarantineEntry


class StageTimer:
    """Accumulates wall time per stage, in seconds: ``with timer("validate"): ...``."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - start


INGEST_STAGES: tuple[str, ...] = ("scan", "ingest", "validate", "preprocess", "publish")
"""Stages with a column in ``ingest_runs``; a night's other stages go to ``nightly_runs``."""


@dataclass
class ScoringSummary:
    """What a night's train, score and report stages did."""

    run_date: date
    model_version: str | None = None
    """The champion that scored the night (None: nothing scored)."""
    model_trained: str | None = None
    records_scored: int = 0
    beats_scored: int = 0
    beats_flagged: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    """(record, error) of records that could not be scored; retried next night."""
    error: str | None = None
    """Why the night scored nothing (e.g. a corrupt champion file), if it did not."""
    report: Path | None = None

    @property
    def share_flagged(self) -> float:
        return self.beats_flagged / self.beats_scored if self.beats_scored else 0.0


@dataclass
class IngestSummary:
    """The outcome of one ingest or nightly run."""

    run_id: str
    inbox: Path
    found: int = 0
    new: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    quarantined: list[QuarantineEntry] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    """(record, error) for internal errors; those records stay in the inbox."""
    beat_files: list[BeatFile] = field(default_factory=list)
    """Beat sets derived this run (nightly only)."""
    preprocess_failed: list[tuple[str, str]] = field(default_factory=list)
    stage_s: dict[str, float] = field(default_factory=dict)
    """Wall time per stage (scan, ingest, validate, preprocess, publish), seconds."""
    validated: bool = False
    """Whether any record reached validation (and so Data Docs have something new)."""
    warehouse: Path | None = None
    data_docs: Path | None = None
    scoring: ScoringSummary | None = None
    """The night's scoring (nightly runs only)."""

    def counts(self) -> dict[str, float | int]:
        """Columns of the ``ingest_runs`` row."""
        return {
            "records_found": self.found,
            "records_new": len(self.new),
            "records_unchanged": len(self.unchanged),
            "records_quarantined": len(self.quarantined),
            "records_failed": len(self.failed) + len(self.preprocess_failed),
            "records_preprocessed": len(self.beat_files),
            "beats": sum(f.n_beats for f in self.beat_files),
            **{
                f"{stage}_s": round(s, 3)
                for stage, s in self.stage_s.items()
                if stage in INGEST_STAGES
            },
        }

    def _beats_line(self) -> str:
        files = self.beat_files
        line = (
            f"  beats        {sum(f.n_beats for f in files)} from {len(files)} recordings"
            f", {len(self.preprocess_failed)} failed"
        )
        scored = [f for f in files if f.n_reference is not None]
        if scored:
            n_ref = sum(f.n_reference or 0 for f in scored)
            missed = sum(f.missed or 0 for f in scored)
            extra = sum(f.extra or 0 for f in scored)
            line += (
                f"; against {n_ref} reference beats: {n_ref - missed} matched, "
                f"{missed} missed, {extra} extra"
            )
        return line

    def render(self) -> str:
        """A one-screen summary for the terminal."""
        total = sum(self.stage_s.values())
        lines = [
            f"Run {self.run_id}",
            f"  inbox        {self.inbox}",
            f"  records      {self.found} found: {len(self.new)} new, "
            f"{len(self.unchanged)} already ingested (nothing added), "
            f"{len(self.quarantined)} quarantined, {len(self.failed)} failed",
            "  time         "
            + ", ".join(f"{stage} {s:.1f} s" for stage, s in self.stage_s.items())
            + f" (total {total:.1f} s)",
        ]
        if self.beat_files or self.preprocess_failed:
            lines.append(self._beats_line())
        if not self.new and self.unchanged and not self.quarantined:
            lines.append("  nothing new: every record in the inbox was already ingested")
        if self.quarantined:
            lines.append("  quarantined (originals moved, nothing deleted):")
            for q in self.quarantined[:15]:
                lines.append(f"    - [{q.kind}] {q.reason}")
            if len(self.quarantined) > 15:
                lines.append(
                    f"    ... and {len(self.quarantined) - 15} more (see `beatwatch status`)"
                )
            lines.append(f"    folder: {Path(self.quarantined[0].quarantine_path).parent}")
        for record, error in self.failed:
            lines.append(f"  FAILED {record}: {error} (left in the inbox, retried next run)")
        for record, error in self.preprocess_failed:
            lines.append(f"  FAILED preprocessing {record}: {error} (retried next run)")
        if self.scoring is not None:
            lines += self.scoring_lines(self.scoring)
        if self.warehouse is not None:
            lines.append(f"  warehouse    {self.warehouse}")
        if self.data_docs is not None:
            lines.append(f"  data docs    {self.data_docs}")
        return "\n".join(lines)

    @staticmethod
    def scoring_lines(night: ScoringSummary) -> list[str]:
        lines = []
        if night.model_trained is not None:
            lines.append(f"  trained      model {night.model_trained}")
        if night.error is not None:
            lines.append(f"  SCORING FAILED: {night.error}")
        elif night.model_version is not None:
            lines.append(
                f"  scored       {night.beats_scored} beats of {night.records_scored} recordings"
                f" with {night.model_version}: {night.beats_flagged} flagged"
                f" ({100 * night.share_flagged:.1f} %)"
            )
        for record, error in night.failed:
            lines.append(f"  FAILED scoring {record}: {error} (retried next night)")
        if night.report is not None:
            lines.append(f"  report       {night.report}")
        return lines
