"""The night report's figures (matplotlib, drawn off-screen): scores over time per record,
the top beats over their reconstructions, and signal strips around them.

Each figure function takes the report's rows (:class:`~beatwatch.night_report.RecordNight`,
:class:`~beatwatch.night_report.TopBeat`) and returns the figure as PNG bytes;
:mod:`beatwatch.night_report` embeds them in the HTML page.

Every figure is a grid of like panels, and all its panels are drawn with one
:class:`~matplotlib.axes.Axes`, moved from panel to panel (:func:`draw_panels`): a new Axes,
with the tick marks and labels it builds, costs more than what is drawn in it, and the 28
Axes of a night's figures took 0.2 s of its 0.8 s report. The pixels are those of a figure
with an Axes per panel (tested).
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import matplotlib.image
import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from matplotlib.transforms import Bbox

from beatwatch.evaluation_report import PNG_COMPRESS_LEVEL, PNG_DPI

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


Item = TypeVar("Item")

_MARGINS_IN = {"left": 0.7, "right": 0.2, "bottom": 0.55}  # around the panels, inches
_LEGEND_IN = 0.3  # the legend's row above the panels' titles, inches


@dataclass(frozen=True)
class PanelLayout:
    """The layout of a figure of like panels, in inches (no layout engine or cropped save,
    each of which would cost another drawing of every panel).

    Attributes
    ----------
    ncols
        Panels per row (fewer when a figure has fewer panels).
    panel_in
        (width, height) of a panel, inches.
    hspace
        Gap between rows, in panel heights.
    title_in
        Inches above the top row, for its titles.
    xlabel, ylabel
        Axis labels (7 pt), on the outer panels only: ``xlabel`` under each panel with none
        below it, ``ylabel`` left of each row's first panel. On every panel they said the
        same thing many times over.
    legend
        Whether a row for the figure's legend (0.3 in) sits above the titles.
    title_loc
        Where a panel's title (8 pt) sits: ``"center"`` or ``"left"``.
    """

    ncols: int
    panel_in: tuple[float, float]
    hspace: float
    title_in: float
    xlabel: str
    ylabel: str
    legend: bool = True
    title_loc: str = "center"

    def figure(self, n: int) -> tuple[Figure, list[Bbox]]:
        """A new figure of ``n`` panels at :data:`PNG_DPI`, and each panel's box (figure
        coordinates, rows from the top)."""
        ncols = min(self.ncols, n)
        nrows = math.ceil(n / ncols)
        top_in = self.title_in + (_LEGEND_IN if self.legend else 0.0)
        width_in = self.panel_in[0] * ncols + _MARGINS_IN["left"] + _MARGINS_IN["right"]
        height_in = self.panel_in[1] * nrows + top_in + _MARGINS_IN["bottom"]
        fig = Figure(figsize=(width_in, height_in), dpi=PNG_DPI)
        grid = fig.add_gridspec(
            nrows,
            ncols,
            hspace=self.hspace,
            wspace=0.35,
            left=_MARGINS_IN["left"] / width_in,
            right=1 - _MARGINS_IN["right"] / width_in,
            bottom=_MARGINS_IN["bottom"] / height_in,
            top=1 - top_in / height_in,
        )
        return fig, [grid[i // ncols, i % ncols].get_position(fig) for i in range(n)]

    def label(self, ax: Axes, i: int, n: int, title: str) -> None:
        """Give ``ax``, drawn as panel ``i`` of ``n``, its title and the axis labels it
        shows."""
        ncols = min(self.ncols, n)
        ax.set_title(_mpl(title), fontsize=8, loc=self.title_loc, y=1.0)
        ax.set_xlabel(self.xlabel if i + ncols >= n else "", fontsize=7)
        ax.set_ylabel(self.ylabel if i % ncols == 0 else "", fontsize=7)


def style_axes(ax: Axes) -> None:
    """Ticks of 7 pt, at most 5 an axis: small panels read as well, and each tick is
    several artists to draw. (Panel titles sit at the panel's top, ``y=1.0``: no tick
    labels are drawn there, and placing them automatically measured every tick label of the
    panel again at each drawing.)"""
    ax.tick_params(labelsize=7)
    ax.xaxis.set_major_locator(MaxNLocator(4))
    ax.yaxis.set_major_locator(MaxNLocator(4))


def legend_above(fig: Figure, ax: Axes) -> None:
    """One legend for the figure, in its top row (above the panels' titles), with ``ax``'s
    labelled artists."""
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


def draw_panels(
    layout: PanelLayout, items: Sequence[Item], panel: Callable[[Axes, Item], str]
) -> bytes:
    """Draw each item in a panel laid out by ``layout``; return the figure as PNG bytes.

    ``panel(ax, item)`` adds the item's artists to an Axes that shows nothing else, and
    returns the panel's title. One Axes serves every panel: it is drawn into the canvas at
    a panel's box, emptied of that panel's artists and moved to the next box; its ticks
    and their labels are made once and reused. The legend (if ``layout.legend``) lists the
    first panel's labelled artists.

    Raises
    ------
    ValueError
        If ``items`` is empty.
    """
    if not items:
        raise ValueError("no panel to draw")
    fig, boxes = layout.figure(len(items))
    canvas = FigureCanvasAgg(fig)
    renderer = canvas.get_renderer()
    renderer.clear()
    fig.patch.draw(renderer)
    ax = fig.add_axes(boxes[0])
    style_axes(ax)
    for i, (box, item) in enumerate(zip(boxes, items, strict=True)):
        for artist in [*ax.lines, *ax.collections, *ax.patches, *ax.texts, *ax.images]:
            artist.remove()
        ax.set_position(box)
        title = panel(ax, item)
        ax.relim()  # the data limits of this panel's artists alone
        ax.autoscale_view()
        layout.label(ax, i, len(items), title)
        ax.draw(renderer)
        if i == 0 and layout.legend:
            legend_above(fig, ax)
            fig.legends[0].draw(renderer)
    buffer = io.BytesIO()
    matplotlib.image.imsave(
        buffer,
        canvas.buffer_rgba(),
        format="png",
        dpi=PNG_DPI,
        pil_kwargs={"compress_level": PNG_COMPRESS_LEVEL},
    )
    return buffer.getvalue()


# --- the report's figures ----------------------------------------------------------------

OVER_TIME = PanelLayout(
    ncols=3,
    panel_in=(4.2, 2.5),
    hspace=0.75,
    title_in=0.3,
    xlabel="time into recording (min)",
    ylabel="score (SD of normal beats)",
)
TOP_BEATS = PanelLayout(
    ncols=4,
    panel_in=(2.9, 2.5),
    hspace=0.9,
    title_in=0.6,
    xlabel="time from R peak (ms)",
    ylabel="amplitude (norm. units)",
)
STRIPS = PanelLayout(
    ncols=1,
    panel_in=(10.0, 1.7),
    hspace=0.9,
    title_in=0.3,
    xlabel="time into recording (s)",
    ylabel="mV",
    legend=False,
    title_loc="left",
)


def over_time_figure(records: Sequence[RecordNight]) -> bytes:
    """Score against time into the recording (min), one panel per record (PNG bytes)."""
    return draw_panels(OVER_TIME, records, _over_time_panel)


def top_beats_figure(beats: Sequence[TopBeat]) -> bytes:
    """Each beat window (solid) over its reconstruction (dashed), x in ms from the R peak
    (PNG bytes)."""
    return draw_panels(TOP_BEATS, beats, _top_beat_panel)


def strips_figure(beats: Sequence[TopBeat]) -> bytes:
    """One row per beat: the lead signal (mV) against time into the recording (s) (PNG
    bytes)."""
    return draw_panels(STRIPS, beats, _strip_panel)


def _over_time_panel(ax: Axes, r: RecordNight) -> str:
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
        label="not flagged",
    )
    ax.plot(
        minutes[flagged], score[flagged], ls="none", marker="o", ms=3, c="tab:red", label="flagged"
    )
    if math.isfinite(r.threshold):
        ax.axhline(r.threshold, c="k", ls="--", lw=0.9, label="threshold")
    return f"{r.record}: {r.beats_flagged}/{r.beats_scored} flagged ({percent(r.share_flagged)} %)"


def _top_beat_panel(ax: Axes, b: TopBeat) -> str:
    t_ms = (np.arange(b.window.size) - b.r_index) / b.window_fs_hz * 1000.0
    ax.plot(t_ms, b.window, lw=1.1, c="tab:blue", label="beat")
    ax.plot(t_ms, b.reconstruction, lw=1.1, ls="--", c="tab:orange", label="reconstruction")
    ax.axvline(0.0, c="0.7", lw=0.6)
    return (
        f"{b.record} at {clock(b.time_s)}\nscore {b.score:.3g}, "
        f"{b.relative_score:.1f}× median\nref: {b.ref_symbol or DASH}"
    )


def _strip_panel(ax: Axes, b: TopBeat) -> str:
    t_s = b.strip_start_s + np.arange(b.strip_mv.size) / b.strip_fs_hz
    ax.plot(t_s, b.strip_mv, lw=0.8, c="k")
    ax.axvline(b.time_s, c="tab:red", lw=1.0, alpha=0.8)
    return f"{b.record}, beat {b.beat_index} at {clock(b.time_s)} (ref: {b.ref_symbol or DASH})"
