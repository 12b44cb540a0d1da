"""A self-contained HTML report of one evaluation: metrics, ROC curves, error histograms and
example reconstructions, with every image embedded (it opens offline, as one file)."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from beatwatch import metrics
from beatwatch.atomic import write_atomic

PNG_DPI = 110
"""Dots per inch of the reports' PNGs (this report's and the night report's)."""

PNG_COMPRESS_LEVEL = 1
"""zlib level of the reports' PNGs: 1, not PIL's 6, encoded the night's 48-panel figure in
half the time (0.26 -> 0.13 s of CPU), for files 9-14 % bigger."""


def png_data_uri(png: bytes) -> str:
    """PNG bytes as a base64 ``data:`` URI, for an ``<img src>`` that needs no other file."""
    return "data:image/png;base64," + base64.b64encode(png).decode()


def figure_png(fig: Figure) -> str:
    """A figure as a base64 PNG ``data:`` URI, cropped to what was drawn (the figure is
    closed)."""
    buffer = io.BytesIO()
    fig.savefig(
        buffer,
        format="png",
        dpi=PNG_DPI,
        bbox_inches="tight",
        pil_kwargs={"compress_level": PNG_COMPRESS_LEVEL},
    )
    plt.close(fig)
    return png_data_uri(buffer.getvalue())


def roc_figure(folds: Sequence[tuple[np.ndarray, np.ndarray]]) -> Figure:
    """ROC curve of each fold's (labels, scores); 1 = abnormal."""
    fig, ax = plt.subplots(figsize=(4.8, 4.4))
    for i, (labels, scores) in enumerate(folds):
        fpr, tpr, _ = metrics.roc_curve(labels, scores)
        ax.plot(fpr, tpr, lw=1.2, label=f"fold {i + 1}: AUC {metrics.roc_auc(labels, scores):.3f}")
    ax.plot([0, 1], [0, 1], ls=":", c="grey")
    ax.set(
        xlabel="false positive rate (normal beats flagged)",
        ylabel="true positive rate (abnormal beats flagged)",
        title="ROC",
    )
    ax.legend(loc="lower right", fontsize=8)
    return fig


def histogram_figure(labels: np.ndarray, scores: np.ndarray, threshold: float | None) -> Figure:
    """Reconstruction error of normal vs abnormal beats (log scale), with the threshold."""
    fig, ax = plt.subplots(figsize=(5.6, 3.6))
    positive = np.log10(np.clip(scores, 1e-9, None))
    bins = np.linspace(positive.min(), positive.max(), 80)
    ax.hist(
        positive[labels == 0],
        bins=bins,
        alpha=0.6,
        density=True,
        label=f"normal (n={int((labels == 0).sum())})",
    )
    ax.hist(
        positive[labels == 1],
        bins=bins,
        alpha=0.6,
        density=True,
        label=f"abnormal (n={int((labels == 1).sum())})",
    )
    if threshold is not None and threshold > 0:
        ax.axvline(np.log10(threshold), c="k", ls="--", lw=1, label="threshold")
    ax.set(xlabel="log10 reconstruction error", ylabel="density", title="Reconstruction error")
    ax.legend(fontsize=8)
    return fig


def reconstruction_figure(
    examples: Sequence[tuple[str, np.ndarray, np.ndarray]], fs_hz: float | None
) -> Figure:
    """Beats (normalised units) drawn over their reconstructions: (title, beat, reconstruction).

    The time axis is in ms at ``fs_hz``, or in samples when the rate is unknown (None)."""
    n = len(examples)
    fig, axes = plt.subplots(1, n, figsize=(2.6 * n, 2.4), squeeze=False, sharey=True)
    for ax, (title, beat, recon) in zip(axes[0], examples, strict=True):
        t = np.arange(beat.size) / fs_hz * 1000 if fs_hz else np.arange(beat.size)
        ax.plot(t, beat, lw=1.1, label="beat")
        ax.plot(t, recon, lw=1.1, ls="--", label="reconstruction")
        ax.set_title(title, fontsize=8)
        ax.set_xlabel("ms" if fs_hz else "sample")
    axes[0][0].legend(fontsize=7)
    return fig


def render_report(
    path: Path,
    *,
    title: str,
    summary_rows: Sequence[Mapping[str, object]],
    images: Mapping[str, str],
    notes: Sequence[str] = (),
) -> Path:
    """Write the HTML report atomically: a metrics table, then each image with its caption."""
    head = list(summary_rows[0]) if summary_rows else []
    table = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_fmt(row[c]))}</td>" for c in head) + "</tr>"
        for row in summary_rows
    )
    figures = "".join(
        f'<figure><img src="{uri}" alt="{html.escape(caption)}"><figcaption>{html.escape(caption)}'
        "</figcaption></figure>"
        for caption, uri in images.items()
    )
    body = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:system-ui,sans-serif;margin:2rem;max-width:72rem;color:#222}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:.3rem .6rem;text-align:right}}
th{{background:#f3f3f3}}figure{{display:inline-block;margin:1rem}}figcaption{{font-size:.85rem;color:#555}}
</style></head><body>
<h1>{html.escape(title)}</h1>
<p>Generated {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by <code>beatwatch evaluate</code>.</p>
<table><tr>{"".join(f"<th>{html.escape(c)}</th>" for c in head)}</tr>{table}</table>
{"".join(f"<p>{html.escape(n)}</p>" for n in notes)}
{figures}
</body></html>
"""
    return write_atomic(path, lambda tmp: tmp.write_text(body, encoding="utf-8"))


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return "" if np.isnan(value) else f"{value:.4f}"
    return "" if value is None else str(value)
