"""Tasks of the preprocess stage: find recordings needing beats, derive, register and score them."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from beatwatch.batch import BatchResult, map_isolated
from beatwatch.inference import torch_threads
from beatwatch.preprocess import BeatFile, PendingRecording, derive_beat_set, write_beat_set
from beatwatch.scoring import RecordScores, ScoringModel
from beatwatch.settings import Settings
from tasks.retries import DB_RETRIES
from tasks.score import ScoreWriter, describe_scores, passes_at_once
from warehouse import connect, writes


@task(name="find-pending-recordings", cache_policy=NO_CACHE, **DB_RETRIES)
def pending_recordings(settings: Settings) -> list[PendingRecording]:
    """Accepted recordings whose beats are missing or out of date (settings or code changed).

    This is the stage's cache: keyed on the recording's content, the settings and the code
    (``PreprocessConfig.key``), kept in the warehouse beside the beats it describes.
    """
    with connect(settings.work_db_path) as con:
        return writes.pending_preprocess(con, settings.preprocess.config().key())


@dataclass(frozen=True)
class DerivedRecord:
    """A recording's new beat set, and its scores if the night's champion scored it as soon
    as it was derived (None: no champion yet, or that scoring failed)."""

    beat_file: BeatFile
    scores: RecordScores | None = None


@task(name="preprocess-records", cache_policy=NO_CACHE, **DB_RETRIES)
def preprocess_records(
    pending: list[PendingRecording],
    settings: Settings,
    run_id: str,
    scoring: ScoringModel | None = None,
    run_date: date | None = None,
) -> BatchResult[PendingRecording, DerivedRecord]:
    """Denoise, resample, detect R peaks and cut beat windows; register each beat set; with
    the night's champion (``scoring``, ``run_date``), score each beat set as soon as it exists.

    Each record's beat set is registered (one transaction) as soon as its file is written,
    and scored from memory: its beats are not read back from the lake, and one thread's
    model runs while the other preprocesses the next record, so both cores stay busy.
    Writes share one connection, one at a time. A record whose scoring fails here keeps its
    beat set; :func:`tasks.score.score_records` scores it again and reports a second failure.
    """
    log = get_run_logger()
    cfg = settings.preprocess.config()
    write_lock = threading.Lock()
    records_at_once, batches_at_once = passes_at_once(len(pending), settings.preprocess.workers)

    def progress(done: int, total: int, record: str, outcome: str) -> None:
        log.info("preprocess %d/%d %s: %s", done, total, record, outcome)

    def describe(derived: DerivedRecord) -> str:
        f = derived.beat_file
        vs_reference = "" if f.n_reference is None else f", {f.missed} missed, {f.extra} extra"
        scored = "" if derived.scores is None else f"; {describe_scores(derived.scores)}"
        return f"{f.n_beats} beats{vs_reference}{scored}"

    with connect(settings.work_db_path) as con, torch_threads(1):
        store = None
        if scoring is not None:
            if run_date is None:
                raise ValueError("preprocess_records: scoring needs the night's run_date")
            store = ScoreWriter(settings, scoring, run_id, run_date, con, write_lock)

        def preprocess_one(pending: PendingRecording) -> DerivedRecord:
            beat_set = derive_beat_set(pending, cfg)
            beat_file = write_beat_set(beat_set, settings.lake_dir)
            with write_lock:
                writes.insert_beat_set(con, beat_file, cfg=cfg, run_id=run_id)
            if store is None:
                return DerivedRecord(beat_file)
            try:
                return DerivedRecord(
                    beat_file, store(pending.record, beat_set.table, workers=batches_at_once)
                )
            except Exception:
                log.exception("scoring %s failed: the score stage tries again", pending.record)
                return DerivedRecord(beat_file)

        return map_isolated(
            preprocess_one,
            pending,
            name=lambda p: p.record,
            workers=records_at_once,
            progress=progress,
            describe=describe,
        )
