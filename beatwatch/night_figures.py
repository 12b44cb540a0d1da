"""The night report's figures (matplotlib, drawn off-screen): scores over time per record,
the top beats over their reconstructions, and signal strips around them.

Each function takes the report's rows (:class:`~beatwatch.night_report.RecordNight`,
:class:`~beatwatch.night_report.TopBeat`) and returns a :class:`~matplotlib.figure.Figure`;
:mod:`beatwatch.night_report` embeds them in the HTML page.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

if TYPE_CHECKING:
    from beatwatch.night_report import RecordNight, TopBeat

DASH = "–"
"""Shown where a value is missing."""


def percent(share: float) -> str:
    """A fraction (0..1) as a percentage with two decimals, without the sign."""
    return f"{100 * share:.2f}"


def clock(seconds: float) -> str:
    """Seconds as ``mm:ss`` (``h:mm:ss`` from one hour on)."""
    total = max(round(seconds), 0)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def _mpl(text: str) -> str:
    """Text safe for a matplotlib label: a ``$`` stays a dollar, not a mathtext switch."""
    return text.replace("$", r"\$")


def _label(ax: Axes, title: str, *, title_loc: str = "center") -> None:
    """A panel's title (8 pt) and ticks (7 pt; at most 5 per axis: small panels read as
    well, and each tick is several artists to draw). The title sits at the panel's top: no
    tick labels are drawn there, and placing it automatically measured every tick label of
    the panel again at each drawing."""
    ax.set_title(_mpl(title), fontsize=8, loc=title_loc, y=1.0)
    ax.tick_params(labelsize=7)
    ax.xaxis.set_major_locator(MaxNLocator(4))
    ax.yaxis.set_major_locator(MaxNLocator(4))


def _axis_labels(axes: Sequence[Axes], ncols: int, xlabel: str, ylabel: str) -> None:
    """Axis labels (7 pt) on the outer panels of a grid only: ``xlabel`` under each panel
    with none below it, ``ylabel`` left of each row's first panel. Repeated on every panel
    they said the same thing many times over and were a sixth of the drawing time."""
    for i, ax in enumerate(axes):
        if i + ncols >= len(axes):
            ax.set_xlabel(xlabel, fontsize=7)
        if i % ncols == 0:
            ax.set_ylabel(ylabel, fontsize=7)


_MARGINS_IN = {"left": 0.7, "right": 0.2, "bottom": 0.55}  # around the panels, inches
_LEGEND_IN = 0.3  # the legend's row above the panels' titles, inches


def _grid(
    n: int,
    ncols: int,
    panel_in: tuple[float, float],
    hspace: float,
    title_in: float,
    *,
    legend: bool = True,
) -> tuple[Figure, list[Axes]]:
    """A figure of ``n`` panels of ``panel_in`` (width, height) inches, in rows of ``ncols``.

    Fixed spacing in inches (``hspace`` in panel heights; ``title_in`` above the top row for
    its titles, and a row for the legend if ``legend``) rather than a layout engine or a
    cropped save, each of which costs another drawing of every panel.
    """
    ncols = min(ncols, n)
    nrows = math.ceil(n / ncols)
    top_in = title_in + (_LEGEND_IN if legend else 0.0)
    width_in = panel_in[0] * ncols + _MARGINS_IN["left"] + _MARGINS_IN["right"]
    height_in = panel_in[1] * nrows + top_in + _MARGINS_IN["bottom"]
    fig = Figure(figsize=(width_in, height_in))
    grid = {
        "hspace": hspace,
        "wspace": 0.35,
        "left": _MARGINS_IN["left"] / width_in,
        "right": 1 - _MARGINS_IN["right"] / width_in,
        "bottom": _MARGINS_IN["bottom"] / height_in,
        "top": 1 - top_in / height_in,
    }
    axes = list(fig.subplots(nrows, ncols, squeeze=False, gridspec_kw=grid).ravel())
    for ax in axes[n:]:
        fig.delaxes(ax)
    return fig, axes[:n]


def _legend_above(fig: Figure, ax: Axes) -> None:
    """One legend for the figure, in its top row (above the panels' titles), with ``ax``'s
    entries."""
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(
        handles,
        labels,
        loc="upper center",
        bbox_to_anchor=(0.5, 1.0),
        ncols=3,
        fontsize=8,
        frameon=False,
    )


def over_time_figure(records: Sequence[RecordNight]) -> Figure:
    """Score against time into the recording (min), one panel per record."""
    ncols = 3
    fig, axes = _grid(len(records), ncols, (4.2, 2.5), hspace=0.75, title_in=0.3)
    for ax, r in zip(axes, records, strict=True):
        keep = np.isfinite(r.score) & np.isfinite(r.time_s)
        minutes = r.time_s[keep] / 60.0
        score = r.score[keep]
        flagged = r.flagged[keep]
        ax.plot(
            minutes[~flagged],
            score[~flagged],
            ls="none",
            marker=".",
            ms=2,
            c="0.6",
            alpha=0.6,
            rasterized=True,
            label="not flagged",
        )
        ax.plot(
            minutes[flagged],
            score[flagged],
            ls="none",
            marker="o",
            ms=3,
            c="tab:red",
            rasterized=True,
            label="flagged",
        )
        if math.isfinite(r.threshold):
            ax.axhline(r.threshold, c="k", ls="--", lw=0.9, label="threshold")
        _label(
            ax,
            f"{r.record}: {r.beats_flagged}/{r.beats_scored} flagged "
            f"({percent(r.share_flagged)} %)",
        )
    _axis_labels(axes, ncols, "time into recording (min)", "score (SD of normal beats)")
    _legend_above(fig, axes[0])
    return fig


def top_beats_figure(beats: Sequence[TopBeat]) -> Figure:
    """Each beat window (solid) over its reconstruction (dashed), x in ms from the R peak."""
    ncols = 4
    fig, axes = _grid(len(beats), ncols, (2.9, 2.5), hspace=0.9, title_in=0.6)
    for ax, b in zip(axes, beats, strict=True):
        t_ms = (np.arange(b.window.size) - b.r_index) / b.window_fs_hz * 1000.0
        ax.plot(t_ms, b.window, lw=1.1, c="tab:blue", label="beat")
        ax.plot(t_ms, b.reconstruction, lw=1.1, ls="--", c="tab:orange", label="reconstruction")
        ax.axvline(0.0, c="0.7", lw=0.6)
        _label(
            ax,
            f"{b.record} at {clock(b.time_s)}\nscore {b.score:.3g}, "
            f"{b.relative_score:.1f}× median\nref: {b.ref_symbol or DASH}",
        )
    _axis_labels(axes, ncols, "time from R peak (ms)", "amplitude (norm. units)")
    _legend_above(fig, axes[0])
    return fig


def strips_figure(beats: Sequence[TopBeat]) -> Figure:
    """One row per beat: the lead signal (mV) against time into the recording (s)."""
    fig, axes = _grid(len(beats), 1, (10.0, 1.7), hspace=0.9, title_in=0.3, legend=False)
    for ax, b in zip(axes, beats, strict=True):
        t_s = b.strip_start_s + np.arange(b.strip_mv.size) / b.strip_fs_hz
        ax.plot(t_s, b.strip_mv, lw=0.8, c="k")
        ax.axvline(b.time_s, c="tab:red", lw=1.0, alpha=0.8)
        _label(
            ax,
            f"{b.record}, beat {b.beat_index} at {clock(b.time_s)} (ref: {b.ref_symbol or DASH})",
            title_loc="left",
        )
    _axis_labels(axes, 1, "time into recording (s)", "mV")
    return fig
