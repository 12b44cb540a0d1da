"""Tasks of the report stage: the night's HTML report and its Prefect artifacts."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from beatwatch.inference import reconstruct
from beatwatch.night_report import (
    NightReport,
    RecordNight,
    RejectedDelivery,
    TopBeat,
    render_night_report,
)
from beatwatch.preprocess import read_lead_mv
from beatwatch.scoring import RecordScores, ScoringModel
from beatwatch.settings import Settings
from beatwatch.summary import IngestSummary
from warehouse import connect


def record_night(scores: RecordScores, rule: str | None) -> RecordNight:
    """The report's view of one record's scores (no threshold line under the ``relative``
    rule, whose threshold applies to another quantity)."""
    table = scores.table
    return RecordNight(
        record=scores.record,
        beats_scored=scores.beats_scored,
        beats_flagged=scores.beats_flagged,
        mean_hr_bpm=scores.mean_hr_bpm,
        time_s=table.column("time_s").to_numpy(),
        score=table.column("score").to_numpy(),
        flagged=table.column("flagged").to_numpy(zero_copy_only=False),
        threshold=float("nan") if rule == "relative" else scores.threshold,
    )


def top_beats(
    settings: Settings, scored: list[RecordScores], scoring: ScoringModel
) -> list[TopBeat]:
    """The night's highest-scoring flagged beats, each with its window (as scored), the
    model's reconstruction of it and a strip of the recording around it."""
    ranked = sorted(
        ((s, t) for s in scored for t in s.top), key=lambda pair: pair[1].score, reverse=True
    )[: settings.scoring.top_beats]
    if not ranked:
        return []
    window = settings.preprocess.config().window
    with connect(settings.work_db_path) as con:
        where = {
            record: (Path(signal), fs, lead)
            for record, signal, fs, lead in con.execute(
                "select b.record, r.signal_path, r.fs_hz, b.lead"
                " from beat_sets b join recordings r using (record)"
            ).fetchall()
        }
    # one forward pass for all: each pass is padded to 64 beats (inference._padded)
    normalised, reconstruction = reconstruct(
        scoring.model, np.stack([top.window_mv for _, top in ranked])
    )
    beats: list[TopBeat] = []
    for i, (scores, top) in enumerate(ranked):
        signal_path, fs_hz, lead = where[scores.record]
        row = scores.table.filter(pc.equal(scores.table["beat_index"], top.beat_index))
        r_sample = int(row.column("r_sample")[0].as_py())
        half = round(settings.scoring.strip_s * fs_hz / 2)
        start = max(0, r_sample - half)
        beats.append(
            TopBeat(
                record=scores.record,
                beat_index=top.beat_index,
                time_s=top.time_s,
                score=top.score,
                relative_score=float(row.column("relative_score")[0].as_py()),
                window=normalised[i],
                reconstruction=reconstruction[i],
                window_fs_hz=window.fs_hz,
                r_index=window.n_before,
                strip_mv=read_lead_mv(signal_path, lead, start, r_sample + half),
                strip_start_s=start / fs_hz,
                strip_fs_hz=fs_hz,
                ref_symbol=row.column("ref_symbol")[0].as_py(),
            )
        )
    return beats


@task(name="write-night-report", cache_policy=NO_CACHE)
def write_night_report(
    settings: Settings,
    summary: IngestSummary,
    scored: list[RecordScores],
    scoring: ScoringModel | None,
    started_at: dt.datetime,
    stage_s: dict[str, float],
) -> Path:
    """Render the night's HTML report and publish its summary as Prefect artifacts."""
    night = summary.scoring
    assert night is not None
    notes = [f"Scoring failed: {night.error}"] if night.error else []
    notes += [f"Could not score {record}: {error}" for record, error in night.failed]
    notes += [f"Could not ingest {record}: {error}" for record, error in summary.failed]
    notes += [f"Could not preprocess {r}: {error}" for r, error in summary.preprocess_failed]
    report = NightReport(
        run_id=summary.run_id,
        run_date=night.run_date,
        started_at=started_at,
        model_version=night.model_version,
        threshold_rule=None
        if scoring is None
        else f"{scoring.threshold_text or scoring.threshold_rule}: {scoring.threshold:.2f}",
        stage_s=stage_s,
        counts={
            "records found": summary.found,
            "records new": len(summary.new),
            "records quarantined": len(summary.quarantined),
            "records failed": len(summary.failed) + len(summary.preprocess_failed),
        },
        records=[
            record_night(s, None if scoring is None else scoring.threshold_rule) for s in scored
        ],
        top_beats=[] if scoring is None else top_beats(settings, scored, scoring),
        rejected=[
            RejectedDelivery(q.record or Path(q.failed_file).name, q.kind, q.reason)
            for q in summary.quarantined
        ],
        notes=notes,
    )
    path = settings.reports_dir / f"night-{night.run_date.isoformat()}.html"
    render_night_report(report, path)
    _publish_artifacts(summary, scored, path)
    return path


def _publish_artifacts(summary: IngestSummary, scored: list[RecordScores], path: Path) -> None:
    night = summary.scoring
    assert night is not None
    lines = [
        f"# Beatwatch night {night.run_date.isoformat()}",
        "",
        f"**Report:** [{path.name}]({path.as_uri()}) (self-contained HTML, `{path}`)",
        "",
        "| | |",
        "|---|---|",
        f"| model | `{night.model_version or 'none'}` |",
        f"| records new / quarantined | {len(summary.new)} / {len(summary.quarantined)} |",
        f"| records scored | {night.records_scored} |",
        f"| beats scored | {night.beats_scored} |",
        f"| beats flagged | {night.beats_flagged} ({100 * night.share_flagged:.2f} %) |",
    ]
    if night.error:
        lines += ["", f"**Scoring failed:** {night.error}"]
    create_markdown_artifact(
        markdown="\n".join(lines), key="nightly-summary", description="The night at a glance"
    )
    rows = [
        {
            "record": s.record,
            "beats": s.beats_scored,
            "flagged": s.beats_flagged,
            "share flagged %": round(100 * s.share_flagged, 2),
            "mean HR bpm": None if s.mean_hr_bpm is None else round(s.mean_hr_bpm, 1),
        }
        for s in sorted(scored, key=lambda s: s.share_flagged, reverse=True)
    ]
    if rows:
        create_table_artifact(
            table=rows, key="nightly-records", description=f"Records scored, report: {path}"
        )
