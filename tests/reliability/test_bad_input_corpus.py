"""The nightly flow over a corpus of bad inputs (``corpus.py``), and the cases one night can't
show: a file still being written, a file nobody may read.

One night ingests an inbox holding every kind of bad input beside good records. Each kind must
end as documented: quarantined with a reason that leads with the file at fault and says what
is wrong (originals moved, never deleted, ``reason.json`` beside them), accepted, or left in
the inbox for a later night. The night itself must complete: the good records are ingested,
preprocessed and scored, and the night's HTML report lists every rejection with its reason.
"""

from __future__ import annotations

import html
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pytest
from corpus import CASES, Case, Expect, age, build_inbox, snapshot, write

NIGHT_BEFORE = date(2026, 11, 30)
NIGHT = date(2026, 12, 1)

# Small, fast training: the tests check the plumbing, benchmarks/evaluate.py the quality.
FAST_TRAINING_TOML = """
[training]
epochs = 2
max_train_beats = 3000
latent_dim = 8
"""


@dataclass
class QuarantineRow:
    record: str | None
    kind: str
    reason: str
    failed_file: Path
    original_paths: list[str]
    quarantine_path: Path

    @property
    def label(self) -> str:
        return self.record if self.record is not None else self.failed_file.name


@dataclass
class Night:
    inbox: Path
    scratch: Path
    data: Path
    summary: object
    delivered: dict[str, bytes | str]
    outside: dict[str, bytes | str]
    quarantine: list[QuarantineRow]
    seconds: float

    def rows(self, label: str) -> list[QuarantineRow]:
        return [q for q in self.quarantine if q.label == label]


@pytest.fixture(scope="module")
def night(tmp_path_factory: pytest.TempPathFactory) -> Night:
    from flows.nightly import nightly_flow

    root = tmp_path_factory.mktemp("corpus")
    inbox, scratch, data = root / "inbox", root / "scratch", root / "data"
    config = root / "beatwatch.toml"
    config.write_text(FAST_TRAINING_TOML)
    # The night before trains the champion on two small records, so that the corpus night
    # does not spend a minute training on the 24-hour record's beats (that is not its point).
    before = root / "inbox-before"
    write(before, "warm1", seed=101)
    write(before, "warm2", seed=102, heart_rate_bpm=90.0)
    nightly_flow(data_dir=data, inbox=before, config_file=config, run_date=NIGHT_BEFORE)

    build_inbox(inbox, scratch)
    delivered, outside = snapshot(inbox), snapshot(scratch)

    start = time.perf_counter()
    summary = nightly_flow(data_dir=data, inbox=inbox, config_file=config, run_date=NIGHT)
    seconds = time.perf_counter() - start

    with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as con:
        rows = con.execute(
            "select record, kind, reason, failed_file, original_paths, quarantine_path "
            "from quarantine"
        ).fetchall()
    quarantine = [
        QuarantineRow(record, kind, reason, Path(failed), list(paths), Path(folder))
        for record, kind, reason, failed, paths, folder in rows
    ]
    return Night(inbox, scratch, data, summary, delivered, outside, quarantine, seconds)


def _expectations(outcome: str) -> list[tuple[str, Expect]]:
    return [(label, e) for case in CASES for label, e in case.expects if e.outcome == outcome]


def test_corpus_has_well_over_15_kinds_of_bad_input() -> None:
    bad = [c for c in CASES if any(e.outcome != "accepted" for _, e in c.expects)]
    assert len(bad) >= 25
    assert len({c.kind for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.kind)
def test_each_kind_is_treated_as_documented(night: Night, case: Case) -> None:
    for label, expect in case.expects:
        if expect.outcome == "accepted":
            assert label in night.summary.new, (label, night.rows(label))
        elif expect.outcome == "left":
            path = night.inbox / label
            assert path.is_file(), f"{label} should still be in the inbox"
            assert path.read_bytes() == night.delivered[label]
            assert not any(str(path) in q.original_paths for q in night.quarantine)
        else:
            _assert_quarantined(night, label, expect)


def _assert_quarantined(night: Night, label: str, expect: Expect) -> None:
    (row,) = night.rows(label)
    assert row.kind == expect.kind, row.reason
    assert row.failed_file == night.inbox / str(expect.failed_file), row.reason
    assert row.reason.startswith(f"{row.failed_file.name}: "), row.reason
    for words in expect.words:
        assert words in row.reason, (words, row.reason)

    saved = json.loads((row.quarantine_path / "reason.json").read_text(encoding="utf-8"))
    assert (saved["kind"], saved["reason"]) == (row.kind, row.reason)
    assert saved["moved"] is True
    for original in map(Path, row.original_paths):  # moved, every byte (or link) kept
        relative = str(original.relative_to(night.inbox))
        assert not os.path.lexists(original), f"{original} was not moved"
        kept = row.quarantine_path / relative
        if kept.is_symlink():
            assert os.readlink(kept) == night.delivered[relative]
        else:
            assert kept.read_bytes() == night.delivered[relative]


def test_the_night_completes_with_exactly_the_expected_outcomes(night: Night) -> None:
    summary = night.summary
    assert summary.failed == []
    assert summary.preprocess_failed == []
    assert summary.scoring is not None
    assert summary.scoring.error is None
    accepted = sorted({label for label, _ in _expectations("accepted")})
    assert sorted(summary.new) == accepted
    with duckdb.connect(str(night.data / "warehouse.duckdb"), read_only=True) as con:
        scored = con.execute(
            "select distinct record from beat_scores where run_date = ?", [NIGHT]
        ).fetchall()
    assert sorted(r for (r,) in scored) == accepted

    expected = sorted((label, e.kind) for label, e in _expectations("quarantined"))
    assert sorted((q.label, q.kind) for q in night.quarantine) == expected
    assert len(summary.quarantined) == len(expected)
    print(
        f"\none night over {len(CASES)} kinds: {len(accepted)} accepted, {len(expected)} "
        f"quarantined, in {night.seconds:.1f} s; stages (s): "
        + ", ".join(f"{k} {v:.1f}" for k, v in summary.stage_s.items())
    )


def test_nothing_delivered_is_lost_or_changed(night: Night) -> None:
    kept = snapshot(night.inbox)
    for row in night.quarantine:
        kept |= snapshot(row.quarantine_path)  # same relative paths as in the inbox
    for relative, content in night.delivered.items():
        assert kept.get(relative) == content, relative
    # Links are moved as links: what they point to, outside the inbox, is untouched.
    assert snapshot(night.scratch) == night.outside


def test_links_out_of_the_inbox_are_never_followed(night: Night) -> None:
    with duckdb.connect(str(night.data / "warehouse.duckdb"), read_only=True) as con:
        records = {r for (r,) in con.execute("select record from recordings").fetchall()}
    assert not records & {"lnk", "farrec"}
    assert (night.scratch / "outside" / "lnk.dat").is_file()
    assert (night.scratch / "outside_folder" / "farrec.hea").is_file()


def test_the_24_hour_record_is_ingested_preprocessed_and_scored(night: Night) -> None:
    with duckdb.connect(str(night.data / "warehouse.duckdb"), read_only=True) as con:
        duration_s, fs_hz = con.execute(
            "select duration_s, fs_hz from recordings where record = 'day24h'"
        ).fetchone()
        beats = con.execute("select count(*) from beats where record = 'day24h'").fetchone()[0]
        scored = con.execute("select count(*) from beat_scores where record = 'day24h'").fetchone()[
            0
        ]
    assert duration_s == 24 * 3600
    assert fs_hz == 128
    assert beats > 90_000  # about 72 beats a minute for a day
    assert scored == beats


def test_the_night_report_lists_every_rejection_and_why(night: Night) -> None:
    report = night.summary.scoring.report
    assert report is not None
    text = html.unescape(report.read_text(encoding="utf-8"))
    for row in night.quarantine:
        assert row.reason in text, row.reason
        assert row.kind in text


# -- what one night cannot show --------------------------------------------------------------


class _Writer(threading.Thread):
    """Appends to a file every 10 ms until stopped: an upload in progress."""

    def __init__(self, path: Path) -> None:
        super().__init__(daemon=True)
        self.path = path
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            with self.path.open("ab") as fh:
                fh.write(b"\x00" * 300)
            time.sleep(0.01)


@pytest.fixture
def prefect_records() -> Iterator[list[logging.LogRecord]]:
    """Log records of task runs (Prefect's loggers do not propagate to pytest's caplog)."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.INFO)
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("prefect.task_runs")
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)


def test_a_file_still_being_written_waits_for_the_next_night(
    tmp_path: Path, prefect_records: list[logging.LogRecord]
) -> None:
    from flows.ingest import ingest_flow

    inbox, data = tmp_path / "inbox", tmp_path / "data"
    write(inbox, "done1", seed=1)
    write(inbox, "growing", seed=2)
    complete = (inbox / "growing.dat").read_bytes()
    dat = inbox / "growing.dat"
    dat.write_bytes(complete[: len(complete) // 3])  # a third has arrived so far
    writer = _Writer(dat)
    writer.start()
    try:
        first = ingest_flow(data_dir=data, inbox=inbox)
    finally:
        writer.stop.set()
        writer.join()

    assert first.new == ["done1"]
    assert first.quarantined == []  # not quarantined: left where it is
    assert dat.is_file()
    assert (inbox / "growing.hea").is_file()
    logged = [r.getMessage() for r in prefect_records]
    assert any("growing" in m and "still being delivered" in m for m in logged), logged

    dat.write_bytes(complete)  # the upload finishes
    second = ingest_flow(data_dir=data, inbox=inbox)
    assert second.new == ["growing"]
    assert second.unchanged == ["done1"]


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


@pytest.mark.skipif(
    _is_root(),
    reason="running as root, which reads files whatever their permissions; "
    "test_unreadable_file_as_an_unprivileged_user covers this case",
)
def test_unreadable_signal_file_is_quarantined_and_the_night_goes_on(tmp_path: Path) -> None:
    from flows.ingest import ingest_flow

    inbox, data = tmp_path / "inbox", tmp_path / "data"
    write(inbox, "ok1", seed=1)
    write(inbox, "locked", seed=2)
    (inbox / "locked.dat").chmod(0)
    age(inbox, seconds=3600)
    try:
        summary = ingest_flow(data_dir=data, inbox=inbox)
    finally:
        for path in [*inbox.rglob("locked.dat"), *(data / "quarantine").rglob("locked.dat")]:
            path.chmod(0o644)
    assert summary.new == ["ok1"]
    (entry,) = summary.quarantined
    assert entry.kind == "unreadable_file"
    assert entry.reason.startswith("locked.dat: cannot be read (Permission denied)")
    assert not (inbox / "locked.dat").exists()
    assert (Path(entry.quarantine_path) / "locked.dat").is_file()


_AS_NOBODY = textwrap.dedent(
    """
    import json, os, sys
    from pathlib import Path
    from beatwatch.inbox import scan_inbox
    from beatwatch.ingest import stage_all, triage
    from beatwatch.quarantine import quarantine

    def ingest(inbox, work):
        plan = triage(scan_inbox(inbox), {}, set())
        batch = stage_all(plan.new, work / "staging")
        entries = [
            quarantine(r, inbox=inbox, quarantine_dir=work / "quarantine", run_id="nobody")
            for r in [*plan.rejected, *batch.rejected]
        ]
        return {
            "staged": [s.delivery.name for s in batch.staged],
            "failed": batch.failed,
            "quarantined": [[e.kind, e.reason, e.quarantine_path, e.moved] for e in entries],
        }

    warm_inbox, warm_work, inbox, work = map(Path, sys.argv[1:])
    ingest(warm_inbox, warm_work)  # as root: loads every module the steps use
    os.setgroups([])
    os.setgid(65534)  # then become nobody, who may not read what root chmod-ed to 000
    os.setuid(65534)
    print(json.dumps(ingest(inbox, work)))
    """
)


@pytest.mark.skipif(not _is_root(), reason="needs root to drop to another user")
def test_unreadable_file_as_an_unprivileged_user() -> None:
    """As root, permissions cannot hide a file. So the steps the ingest flow chains (scan,
    triage, read, quarantine) run in a process that drops to user ``nobody`` (after loading
    its modules as root: the interpreter may live where nobody can read), and ``nobody`` may
    not read ``locked.dat``."""
    root = Path(tempfile.mkdtemp(prefix="beatwatch-unreadable-"))
    try:
        warm_inbox, warm_work = root / "warm-inbox", root / "warm-work"
        write(warm_inbox, "warm", seed=3)
        (warm_inbox / "notes.txt").write_text("not ECG")
        inbox, work = root / "inbox", root / "work"
        write(inbox, "ok1", seed=1)
        write(inbox, "locked", seed=2)
        (inbox / "locked.dat").chmod(0)
        work.mkdir()
        for folder in (root, inbox, work):
            folder.chmod(0o777)
        args = [str(p) for p in (warm_inbox, warm_work, inbox, work)]
        done = subprocess.run(
            [sys.executable, "-c", _AS_NOBODY, *args],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=str(root),
        )
        if "Operation not permitted" in done.stderr:  # e.g. a container without CAP_SETUID
            pytest.skip(f"cannot become user nobody here: {done.stderr.strip().splitlines()[-1]}")
        assert done.returncode == 0, done.stderr
        out = json.loads(done.stdout.strip().splitlines()[-1])
        assert out["staged"] == ["ok1"]
        assert out["failed"] == []
        ((kind, reason, folder, moved),) = out["quarantined"]
        assert kind == "unreadable_file"
        assert reason.startswith("locked.dat: cannot be read (Permission denied)")
        assert moved is True
        assert not (inbox / "locked.dat").exists()
        assert (Path(folder) / "locked.dat").is_file()
        assert json.loads((Path(folder) / "reason.json").read_text())["kind"] == kind
    finally:
        shutil.rmtree(root, ignore_errors=True)
