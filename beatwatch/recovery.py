"""Finishing what a killed run left behind, at the start of the next run.

Every write is atomic or transactional, so a run killed at any point (SIGKILL, power loss)
leaves only three kinds of debris, all invisible to readers, which the next run clears
while it holds the run lock (no other run can be writing):

* hidden temporary files ``.<name>.<uuid>.tmp`` of atomic writes that never got renamed;
* staging folders of earlier runs under ``<state>/staging/``;
* a quarantine interrupted between moving the files and recording the row: its
  ``reason.json`` (written first) names every original, so the move is completed and the
  ``quarantine`` row inserted from it.

Everything else (a recording in the lake without its warehouse row, beats without their
beat set, a night without its scores) is simply done again by the next run, because every
stage picks up what the warehouse says is missing.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from beatwatch.quarantine import QuarantineEntry


@dataclass
class Recovery:
    """What was cleared or completed."""

    temporary_files: list[Path] = field(default_factory=list)
    staging_dirs: list[Path] = field(default_factory=list)
    quarantines: list[QuarantineEntry] = field(default_factory=list)

    @property
    def anything(self) -> bool:
        return bool(self.temporary_files or self.staging_dirs or self.quarantines)


def sweep_temporary_files(roots: list[Path], *, shallow: tuple[Path, ...] = ()) -> list[Path]:
    """Delete the hidden ``.*.tmp`` files of unfinished atomic writes: anywhere under
    ``roots``, and directly in each folder of ``shallow`` (e.g. the data folder, where the
    published warehouse's copy is made, without descending into an inbox inside it)."""
    found = [tmp for root in roots if root.is_dir() for tmp in root.rglob(".*.tmp")]
    found += [tmp for folder in shallow if folder.is_dir() for tmp in folder.glob(".*.tmp")]
    removed = []
    for tmp in found:
        if tmp.is_file():
            tmp.unlink()
            removed.append(tmp)
    return removed


def sweep_staging(staging_dir: Path, current_run: str) -> list[Path]:
    """Delete staging folders of runs other than ``current_run`` (derived data only)."""
    if not staging_dir.is_dir():
        return []
    stale = [d for d in staging_dir.iterdir() if d.is_dir() and d.name != current_run]
    for folder in stale:
        shutil.rmtree(folder, ignore_errors=True)
    return stale


def unrecorded_quarantines(
    quarantine_dir: Path, recorded: set[str], inbox: Path
) -> list[QuarantineEntry]:
    """Quarantine folders with a ``reason.json`` but no warehouse row: finish their moves.

    Parameters
    ----------
    recorded
        ``quarantine_path`` of every row already in the ``quarantine`` table.
    """
    if not quarantine_dir.is_dir():
        return []
    entries = []
    for reason in sorted(quarantine_dir.glob("*/reason.json")):
        folder = reason.parent
        if str(folder) in recorded:
            continue
        payload = json.loads(reason.read_text(encoding="utf-8"))
        payload["quarantined_at"] = datetime.fromisoformat(payload["quarantined_at"])
        payload["original_paths"] = tuple(payload["original_paths"])
        entry = QuarantineEntry(**payload)
        for original in map(Path, entry.original_paths):
            try:
                relative = original.relative_to(inbox)
            except ValueError:
                relative = Path(original.name)
            target = folder / relative
            if original.exists() and not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(original, target)
        entries.append(entry)
    return entries
