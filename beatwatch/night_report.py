"""A self-contained HTML report of one nightly run, for the clinician reading it next morning:
what was scored, which records had the most flagged beats, when in the night they occurred,
and the top flagged beats drawn over their reconstructions and in their stretch of signal.

The file opens offline: CSS is inline and every figure is an embedded PNG ``data:`` URI (the
figures: :mod:`beatwatch.night_figures`). Rendering is a pure function of a
:class:`NightReport`; nothing here touches Prefect or the warehouse.
"""

from __future__ import annotations

import datetime
import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from beatwatch import night_figures
from beatwatch.atomic import write_atomic
from beatwatch.evaluation_report import png_data_uri
from beatwatch.night_figures import DASH, percent

MAX_RECORD_PLOTS = 12
"""At most this many records get an axis in "Flagged beats over time"."""


@dataclass(frozen=True, eq=False)  # eq=False: fields hold arrays, compared by identity
class RecordNight:
    """One record's scoring in one night (a row of ``nightly_reports``, plus its beats).

    Attributes
    ----------
    record
        Record name.
    beats_scored, beats_flagged
        Number of beats scored, and of those flagged (score >= threshold).
    mean_hr_bpm
        Mean heart rate, beats per minute; None when unknown.
    time_s
        ``(n,)`` R-peak time of every scored beat, seconds from the recording's start.
    score
        ``(n,)`` anomaly score of each beat, in standard deviations of normal beats
        (:mod:`beatwatch.rhythm`; about 0 for a typical normal beat).
    flagged
        ``(n,)`` bool, whether each beat was flagged.
    threshold
        The score threshold applied (same unit as ``score``); NaN when the flags come
        from another quantity (the ``relative`` rule), and no line is drawn.
    """

    record: str
    beats_scored: int
    beats_flagged: int
    mean_hr_bpm: float | None
    time_s: np.ndarray
    score: np.ndarray
    flagged: np.ndarray
    threshold: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "time_s", np.asarray(self.time_s, dtype=np.float64))
        object.__setattr__(self, "score", np.asarray(self.score, dtype=np.float64))
        object.__setattr__(self, "flagged", np.asarray(self.flagged, dtype=bool))
        shapes = {self.time_s.shape, self.score.shape, self.flagged.shape}
        if len(shapes) != 1 or self.time_s.ndim != 1:
            raise ValueError(f"{self.record}: time_s, score and flagged must be 1-D, same length")
        if not 0 <= self.beats_flagged <= self.beats_scored:
            raise ValueError(f"{self.record}: need 0 <= beats_flagged <= beats_scored")

    @property
    def share_flagged(self) -> float:
        """``beats_flagged / beats_scored`` (a fraction, 0..1); 0.0 if no beat was scored."""
        return self.beats_flagged / self.beats_scored if self.beats_scored else 0.0


@dataclass(frozen=True, eq=False)  # eq=False: fields hold arrays, compared by identity
class TopBeat:
    """A flagged beat shown in full: window over reconstruction, and a strip of signal.

    Attributes
    ----------
    record, beat_index
        The record and the beat's index within it.
    time_s
        R-peak time, seconds from the recording's start.
    score
        Anomaly score, standard deviations of normal beats.
    relative_score
        The beat's reconstruction error divided by its record's median (unitless).
    window, reconstruction
        ``(L,)`` the beat as the model saw it, and the model's reconstruction (normalised
        units).
    window_fs_hz, r_index
        Sampling rate of ``window``, Hz; the R peak is at ``window[r_index]``.
    strip_mv, strip_start_s, strip_fs_hz
        Lead signal around the beat, mV; the time of ``strip_mv[0]``, seconds from the
        recording's start; its sampling rate, Hz. ``strip_mv`` may be empty (no signal).
    ref_symbol
        Reference annotation at the beat (MIT-BIH code), or None.
    """

    record: str
    beat_index: int
    time_s: float
    score: float
    relative_score: float
    window: np.ndarray
    reconstruction: np.ndarray
    window_fs_hz: float
    r_index: int
    strip_mv: np.ndarray
    strip_start_s: float
    strip_fs_hz: float
    ref_symbol: str | None

    def __post_init__(self) -> None:
        for name in ("window", "reconstruction", "strip_mv"):
            object.__setattr__(self, name, np.asarray(getattr(self, name), dtype=np.float64))
        if self.window.ndim != 1 or self.window.shape != self.reconstruction.shape:
            raise ValueError(f"{self.record}: window and reconstruction must be 1-D, same length")
        if self.window.size and not 0 <= self.r_index < self.window.size:
            raise ValueError(f"{self.record}: r_index {self.r_index} outside the window")
        if self.window_fs_hz <= 0 or self.strip_fs_hz <= 0:
            raise ValueError(f"{self.record}: sampling rates must be > 0 Hz")


@dataclass(frozen=True)
class RejectedDelivery:
    """An input turned away this night (quarantined or failed), with why."""

    record: str
    kind: str
    reason: str


@dataclass(frozen=True)
class NightReport:
    """Everything one nightly run's report shows.

    Attributes
    ----------
    run_id, run_date, started_at
        The run's id, the night it covers, and when it started.
    model_version, threshold_rule
        The model that scored and its threshold rule; None when nothing was scored.
    stage_s
        Wall time per stage (e.g. ingest, validate, preprocess, train, score, report), seconds.
    counts
        Run counts, e.g. records_found, records_new, records_quarantined, records_failed.
    records, top_beats, rejected
        Per-record scoring, the beats to show in full, and the rejected inputs.
    notes
        Free-text lines, e.g. a scoring failure.
    """

    run_id: str
    run_date: datetime.date
    started_at: datetime.datetime
    model_version: str | None
    threshold_rule: str | None
    stage_s: Mapping[str, float]
    counts: Mapping[str, int]
    records: Sequence[RecordNight]
    top_beats: Sequence[TopBeat]
    rejected: Sequence[RejectedDelivery]
    notes: Sequence[str] = ()


def render_night_report(report: NightReport, path: Path) -> Path:
    """Write the night's HTML report to ``path`` atomically and return ``path``.

    Parameters
    ----------
    report
        The night to show.
    path
        Where the ``.html`` file goes (parent folders are created).

    Returns
    -------
    Path
        ``path``, once the complete file is in place.
    """
    ranked = sorted(report.records, key=lambda r: (-r.share_flagged, -r.beats_flagged, r.record))
    title = f"Beatwatch night report: {report.run_date:%Y-%m-%d}"
    body = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>
<style>body{{font-family:system-ui,sans-serif;margin:2rem;max-width:72rem;color:#222}}
table{{border-collapse:collapse;margin:.5rem 0}}
td,th{{border:1px solid #ccc;padding:.3rem .6rem;text-align:right}}
th{{background:#f3f3f3}}td.l,th.l{{text-align:left}}h2{{margin-top:2rem}}
figure{{margin:1rem 0}}figure img{{max-width:100%}}figcaption{{font-size:.85rem;color:#555}}
.none{{color:#555;font-style:italic}}</style></head><body>
<h1>{_e(title)}</h1>
{_header(report)}
<h2>Summary</h2>
{_summary(report)}
<h2>Records</h2>
{_records_table(ranked)}
<h2>Flagged beats over time</h2>
{_over_time_section(ranked)}
<h2>Top flagged beats</h2>
{_top_beats_section(report.top_beats)}
<h2>Signal around the top flagged beats</h2>
{_strips_section(report.top_beats)}
<h2>Rejected inputs</h2>
{_rejected_table(report.rejected)}
<h2>Notes</h2>
{_list(report.notes, "No notes.")}
</body></html>
"""
    return write_atomic(path, lambda tmp: tmp.write_text(body, encoding="utf-8"))


# --- HTML pieces -------------------------------------------------------------------------


def _header(report: NightReport) -> str:
    if report.model_version is None:
        model = "none: no model was available, nothing was scored"
    else:
        model = report.model_version
    rows = {
        "Night": f"{report.run_date:%Y-%m-%d}",
        "Run id": report.run_id,
        "Run started": _timestamp(report.started_at),
        "Model version": model,
        "Threshold rule": report.threshold_rule or DASH,
        "Report generated": _timestamp(datetime.datetime.now(datetime.UTC)),
    }
    line = "" if report.records else '<p class="none">Nothing was scored this night.</p>'
    return _table([], [[k, v] for k, v in rows.items()], left=2, table_id="run") + line


def _summary(report: NightReport) -> str:
    scored = sum(r.beats_scored for r in report.records)
    flagged = sum(r.beats_flagged for r in report.records)
    rows: list[list[str]] = [
        ["Records scored", str(len(report.records))],
        ["Beats scored", str(scored)],
        ["Beats flagged", str(flagged)],
        ["Share flagged (%)", percent(flagged / scored if scored else 0.0)],
    ]
    rows += [[key.replace("_", " ").capitalize(), str(n)] for key, n in report.counts.items()]
    rows += [[f"Time: {stage} (s)", f"{s:.1f}"] for stage, s in report.stage_s.items()]
    if report.stage_s:
        rows.append(["Time: total (s)", f"{sum(report.stage_s.values()):.1f}"])
    return _table(["Measure", "Value"], rows, left=1, table_id="summary")


def _records_table(ranked: Sequence[RecordNight]) -> str:
    if not ranked:
        return '<p class="none">No record was scored.</p>'
    head = ["Record", "Beats", "Flagged", "Share flagged (%)", "Mean HR (bpm)"]
    rows = [
        [
            r.record,
            str(r.beats_scored),
            str(r.beats_flagged),
            percent(r.share_flagged),
            DASH
            if r.mean_hr_bpm is None or not math.isfinite(r.mean_hr_bpm)
            else f"{r.mean_hr_bpm:.0f}",
        ]
        for r in ranked
    ]
    note = "<p>Sorted by share of beats flagged, highest first.</p>"
    return note + _table(head, rows, left=1, table_id="records")


def _over_time_section(ranked: Sequence[RecordNight]) -> str:
    candidates = [r for r in ranked if r.beats_flagged > 0 and r.score.size > 0]
    no_beats = [r.record for r in ranked if r.beats_flagged > 0 and r.score.size == 0]
    unplotted = f" No beat data to draw for: {', '.join(no_beats)}." if no_beats else ""
    if not candidates:
        return f'<p class="none">{_e("No record had a flagged beat to draw." + unplotted)}</p>'
    shown, left_out = candidates[:MAX_RECORD_PLOTS], candidates[MAX_RECORD_PLOTS:]
    caption = (
        f"Reconstruction error of every scored beat against time into the recording, one panel "
        f"per record with flagged beats (highest share flagged first): grey = not flagged, "
        f"red = flagged, dashed = threshold. Shown: {', '.join(r.record for r in shown)}."
    )
    if left_out:
        caption += (
            f" {len(left_out)} more records with flagged beats were left out: "
            f"{', '.join(r.record for r in left_out)}."
        )
    return _figure(night_figures.over_time_figure(shown), caption + unplotted, "over-time")


def _top_beats_section(beats: Sequence[TopBeat]) -> str:
    drawable = [b for b in beats if b.window.size > 0]
    if not drawable:
        return '<p class="none">No flagged beat to show.</p>'
    caption = (
        "Each top flagged beat (solid) over the model's reconstruction (dashed), in normalised "
        "units, against time from the R peak in ms. Titles: record, time into the recording "
        "(mm:ss), score, score relative to the record's median, reference annotation."
    )
    return _figure(night_figures.top_beats_figure(drawable), caption, "top-beats")


def _strips_section(beats: Sequence[TopBeat]) -> str:
    drawable = [b for b in beats if b.strip_mv.size > 0]
    if not drawable:
        return '<p class="none">No signal to show.</p>'
    caption = (
        "The lead signal (mV) around each top flagged beat, against time into the recording "
        "in seconds; the red line marks the beat's R peak."
    )
    missing = len(beats) - len(drawable)
    if missing:
        caption += f" {missing} beats had no signal available and are not drawn."
    return _figure(night_figures.strips_figure(drawable), caption, "strips")


def _rejected_table(rejected: Sequence[RejectedDelivery]) -> str:
    if not rejected:
        return '<p class="none">none</p>'
    rows = [[r.record, r.kind, r.reason] for r in rejected]
    return _table(["Record", "Kind", "Reason"], rows, left=3, table_id="rejected")


def _figure(png: bytes, caption: str, figure_id: str) -> str:
    return (
        f'<figure id="{figure_id}"><img src="{png_data_uri(png)}" alt="{_e(caption)}">'
        f"<figcaption>{_e(caption)}</figcaption></figure>"
    )


def _table(
    head: Sequence[str], rows: Sequence[Sequence[str]], *, left: int, table_id: str = ""
) -> str:
    """An escaped HTML table; the first ``left`` columns are left-aligned (text)."""

    def cells(tag: str, values: Sequence[str]) -> str:
        aligned = [' class="l"' if i < left else "" for i in range(len(values))]
        return "".join(f"<{tag}{a}>{_e(v)}</{tag}>" for a, v in zip(aligned, values, strict=True))

    ident = f' id="{_e(table_id)}"' if table_id else ""
    header = f"<tr>{cells('th', head)}</tr>" if head else ""
    body = "".join(f"<tr>{cells('td', row)}</tr>" for row in rows)
    return f"<table{ident}>{header}{body}</table>"


def _list(items: Sequence[str], empty: str) -> str:
    if not items:
        return f'<p class="none">{_e(empty)}</p>'
    return "<ul>" + "".join(f"<li>{_e(item)}</li>" for item in items) + "</ul>"


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _timestamp(moment: datetime.datetime) -> str:
    zone = f" {moment.tzname()}" if moment.tzinfo is not None else ""
    return f"{moment:%Y-%m-%d %H:%M:%S}{zone}"
