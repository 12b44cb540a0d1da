"""The night report's figures draw every panel with one Axes moved from box to box
(``night_figures.draw_panels``). The claim that makes this safe: the pixels are exactly
those of the same figure drawn the ordinary way, with an Axes of its own per panel."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from typing import Any

import matplotlib.image
import numpy as np
import pytest
from matplotlib.axes import Axes

from beatwatch import night_figures
from beatwatch.night_figures import PanelLayout
from beatwatch.night_report import RecordNight, TopBeat

FS_HZ = 360.0


def _record(name: str, minutes: float, n_beats: int, threshold: float, seed: int) -> RecordNight:
    """Scores over ``minutes`` of recording; beats above ``threshold`` are flagged."""
    rng = np.random.default_rng(seed)
    time_s = np.sort(rng.uniform(0.0, 60.0 * minutes, n_beats))
    score = rng.gamma(2.0, 1.0 + seed, n_beats)
    flagged = score >= threshold if np.isfinite(threshold) else score > np.quantile(score, 0.98)
    return RecordNight(name, n_beats, int(flagged.sum()), 70.0, time_s, score, flagged, threshold)


def _top_beat(record: str, seed: int, amplitude_mv: float, ref_symbol: str | None) -> TopBeat:
    rng = np.random.default_rng(seed)
    t = np.arange(int(0.7 * FS_HZ)) / FS_HZ - 0.25
    window = amplitude_mv * np.exp(-((t / 0.02) ** 2)) + rng.normal(0.0, 0.05, t.size)
    strip = amplitude_mv * np.sin(np.arange(int(6 * FS_HZ)) / FS_HZ * 2 * np.pi * 1.2)
    return TopBeat(
        record=record,
        beat_index=seed,
        time_s=60.0 * seed + 3.0,
        score=2.0 * seed,
        relative_score=3.5,
        window=window,
        reconstruction=0.8 * window,
        window_fs_hz=FS_HZ,
        r_index=90,
        strip_mv=strip,
        strip_start_s=60.0 * seed,
        strip_fs_hz=FS_HZ,
        ref_symbol=ref_symbol,
    )


# Panels whose limits, titles and artists all differ: a short and a 24-hour recording, a
# threshold of NaN (no line), a "$" in a name, beats of very different amplitudes.
RECORDS = [
    _record("100", 30.0, 2000, 6.0, seed=1),
    _record("holter$1", 24 * 60.0, 3000, 12.0, seed=3),
    _record("208", 2.0, 150, float("nan"), seed=2),
    _record("119", 30.0, 1800, 4.0, seed=0),
]
BEATS = [
    _top_beat("100", 1, 1.0, "V"),
    _top_beat("208", 7, 0.2, None),
    _top_beat("119", 30, 4.0, "A"),
]


def _pixels(png: bytes) -> np.ndarray:
    return matplotlib.image.imread(io.BytesIO(png), format="png")


def _one_axes_per_panel(
    layout: PanelLayout, items: Sequence[Any], panel: Callable[[Axes, Any], str]
) -> np.ndarray:
    """The same figure drawn the ordinary way: an Axes per panel, one ``savefig``."""
    fig, boxes = layout.figure(len(items))
    axes = []
    for i, (box, item) in enumerate(zip(boxes, items, strict=True)):
        ax = fig.add_axes(box)
        night_figures.style_axes(ax)
        layout.label(ax, i, len(items), panel(ax, item))
        axes.append(ax)
    if layout.legend:
        night_figures.legend_above(fig, axes[0])
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return _pixels(buffer.getvalue())


@pytest.mark.parametrize(
    ("figure", "items"),
    [
        (night_figures.over_time_figure, RECORDS),
        (night_figures.top_beats_figure, BEATS),
        (night_figures.strips_figure, BEATS),
    ],
    ids=["over-time", "top-beats", "strips"],
)
def test_panels_drawn_on_one_axes_are_the_ordinary_figure_pixel_for_pixel(
    figure: Callable[[Sequence[Any]], bytes],
    items: Sequence[Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    drawn: list[tuple[PanelLayout, Sequence[Any], Callable[[Axes, Any], str]]] = []
    real = night_figures.draw_panels

    def spy(layout: PanelLayout, items: Sequence[Any], panel: Callable[[Axes, Any], str]) -> bytes:
        drawn.append((layout, items, panel))
        return real(layout, items, panel)

    monkeypatch.setattr(night_figures, "draw_panels", spy)
    png = figure(items)
    [(layout, passed, panel)] = drawn
    assert list(passed) == list(items)
    expected = _one_axes_per_panel(layout, items, panel)
    got = _pixels(png)
    assert got.shape == expected.shape
    differ = np.any(got != expected, axis=-1)
    assert not differ.any(), f"{int(differ.sum())} pixels differ"


def test_a_figure_needs_a_panel() -> None:
    with pytest.raises(ValueError, match="no panel to draw"):
        night_figures.draw_panels(night_figures.OVER_TIME, [], night_figures._over_time_panel)
