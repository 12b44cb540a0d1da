"""Tasks of the preprocess stage: find recordings needing beats, derive and register them."""

from __future__ import annotations

import threading

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from beatwatch.batch import BatchResult, map_isolated
from beatwatch.preprocess import BeatFile, PendingRecording, preprocess_to_lake
from beatwatch.settings import Settings
from tasks.retries import DB_RETRIES
from warehouse import connect, writes


@task(name="find-pending-recordings", cache_policy=NO_CACHE, **DB_RETRIES)
def pending_recordings(settings: Settings) -> list[PendingRecording]:
    """Accepted recordings whose beats are missing or out of date (settings or code changed).

    This is the stage's cache: keyed on the recording's content, the settings and the code
    (``PreprocessConfig.key``), kept in the warehouse beside the beats it describes.
    """
    with connect(settings.work_db_path) as con:
        return writes.pending_preprocess(con, settings.preprocess.config().key())


@task(name="preprocess-records", cache_policy=NO_CACHE, **DB_RETRIES)
def preprocess_records(
    pending: list[PendingRecording], settings: Settings, run_id: str
) -> BatchResult[PendingRecording, BeatFile]:
    """Denoise, resample, detect R peaks and cut beat windows; register each beat set.

    Each record's beat set is registered (one transaction) as soon as its file is written,
    while the other thread preprocesses the next record; writes share one connection, one
    at a time.
    """
    log = get_run_logger()
    cfg = settings.preprocess.config()
    write_lock = threading.Lock()

    def progress(done: int, total: int, record: str, outcome: str) -> None:
        log.info("preprocess %d/%d %s: %s", done, total, record, outcome)

    def describe(f: BeatFile) -> str:
        vs_reference = "" if f.n_reference is None else f", {f.missed} missed, {f.extra} extra"
        return f"{f.n_beats} beats{vs_reference}"

    with connect(settings.work_db_path) as con:

        def preprocess_one(pending: PendingRecording) -> BeatFile:
            beat_file = preprocess_to_lake(pending, settings.lake_dir, cfg)
            with write_lock:
                writes.insert_beat_set(con, beat_file, cfg=cfg, run_id=run_id)
            return beat_file

        return map_isolated(
            preprocess_one,
            pending,
            name=lambda p: p.record,
            workers=settings.preprocess.workers,
            progress=progress,
            describe=describe,
        )
