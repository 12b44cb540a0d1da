"""The nightly HTML report: self-contained, real embedded PNGs, ranked and escaped tables, an
empty night that still renders, and the cap on per-record panels. Generated data only."""

from __future__ import annotations

import base64
import datetime
import io
from html.parser import HTMLParser
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest
from matplotlib.axes import Axes

from beatwatch import night_figures
from beatwatch.night_report import (
    NightReport,
    RecordNight,
    RejectedDelivery,
    TopBeat,
    render_night_report,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
FS_HZ = 360.0


class _Page(HTMLParser):
    """Start tags with their attributes, every text node, and the cell texts of each table."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.tables: dict[str, list[list[str]]] = {}
        self.captions: dict[str, str] = {}
        self.headings: list[str] = []
        self._heading = False
        self._table: str | None = None
        self._figure: str | None = None
        self._cell: list[str] | None = None
        self._caption: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if tag == "table":
            self._table = attributes.get("id") or f"table{len(self.tables)}"
            self.tables[self._table] = []
        elif tag == "tr" and self._table is not None:
            self.tables[self._table].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "figure":
            self._figure = attributes.get("id")
        elif tag == "figcaption":
            self._caption = []
        elif tag in ("h1", "h2"):
            self.headings.append("")
            self._heading = True

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._table is not None:
            self.tables[self._table][-1].append("".join(self._cell))
            self._cell = None
        elif tag == "table":
            self._table = None
        elif tag in ("h1", "h2"):
            self._heading = False
        elif tag == "figcaption" and self._caption is not None and self._figure:
            self.captions[self._figure] = "".join(self._caption)
            self._caption = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._heading:
            self.headings[-1] += data
        if self._cell is not None:
            self._cell.append(data)
        if self._caption is not None:
            self._caption.append(data)

    def all_of(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]


def _parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    page.close()
    return page


def _record(name: str, n_beats: int, n_flagged: int, seed: int) -> RecordNight:
    """Beats about 0.8 s apart, log-normal scores; the ``n_flagged`` highest are flagged."""
    rng = np.random.default_rng(seed)
    time_s = np.cumsum(rng.uniform(0.6, 1.0, n_beats))
    score = rng.lognormal(mean=-4.0, sigma=0.5, size=n_beats)
    order = np.argsort(score)[::-1]
    flagged = np.zeros(n_beats, dtype=bool)
    flagged[order[:n_flagged]] = True
    score[order[:n_flagged]] *= 20.0  # flagged beats clearly above the rest
    threshold = float(score[flagged].min()) if n_flagged else float(score.max()) * 2
    return RecordNight(
        record=name,
        beats_scored=n_beats,
        beats_flagged=n_flagged,
        mean_hr_bpm=60.0 / float(np.diff(time_s).mean()),
        time_s=time_s,
        score=score,
        flagged=flagged,
        threshold=threshold,
    )


def _top_beat(record: str, seed: int, ref_symbol: str | None = "V") -> TopBeat:
    """A Gaussian QRS in a 0.7 s window, a smoothed reconstruction and 6 s of signal."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(0.7 * FS_HZ)) / FS_HZ - 0.25
    window = np.exp(-((t / 0.02) ** 2)) + 0.2 * np.exp(-(((t - 0.25) / 0.05) ** 2))
    reconstruction = 0.7 * np.exp(-((t / 0.04) ** 2))
    strip_t = np.arange(int(6 * FS_HZ)) / FS_HZ
    strip = 1.2 * np.exp(-((((strip_t % 0.8) - 0.4) / 0.015) ** 2)) - 0.1
    strip += rng.normal(0.0, 0.02, strip.size)
    return TopBeat(
        record=record,
        beat_index=100 + seed,
        time_s=603.0 + seed,
        score=0.5,
        relative_score=25.0,
        window=window,
        reconstruction=reconstruction,
        window_fs_hz=FS_HZ,
        r_index=int(0.25 * FS_HZ),
        strip_mv=strip,
        strip_start_s=600.0 + seed,
        strip_fs_hz=FS_HZ,
        ref_symbol=ref_symbol,
    )


def _night(
    records: list[RecordNight],
    top_beats: list[TopBeat],
    rejected: list[RejectedDelivery] | None = None,
    notes: tuple[str, ...] = (),
    model_version: str | None = "ae-2024-06-01",
) -> NightReport:
    return NightReport(
        run_id="run-0001",
        run_date=datetime.date(2024, 6, 2),
        started_at=datetime.datetime(2024, 6, 2, 2, 0, tzinfo=datetime.UTC),
        model_version=model_version,
        threshold_rule="relative_to_record >= 3" if model_version else None,
        stage_s={"ingest": 1.5, "validate": 0.7, "score": 4.25},
        counts={"records_found": len(records), "records_quarantined": 1},
        records=records,
        top_beats=top_beats,
        rejected=rejected or [],
        notes=notes,
    )


@pytest.fixture
def busy_night() -> NightReport:
    records = [
        _record("100", 400, 4, seed=1),  # 1 %
        _record("119", 300, 30, seed=2),  # 10 %
        _record("105", 500, 0, seed=3),  # 0 %
        _record("208", 200, 10, seed=4),  # 5 %
    ]
    return _night(
        records,
        [_top_beat("119", 1), _top_beat("208", 2, ref_symbol=None)],
        rejected=[RejectedDelivery("777", "bad_header", "sampling rate missing")],
        notes=("score stage retried once",),
    )


def test_report_is_written_and_parses(busy_night: NightReport, tmp_path: Path) -> None:
    path = tmp_path / "nights" / "2024-06-02.html"
    assert render_night_report(busy_night, path) == path
    assert path.is_file()
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary left behind
    page = _parse(path)
    assert page.headings == [
        "Beatwatch night report: 2024-06-02",
        "Summary",
        "Records",
        "Flagged beats over time",
        "Top flagged beats",
        "Signal around the top flagged beats",
        "Rejected inputs",
        "Notes",
    ]
    summary = {row[0]: row[1] for row in page.tables["summary"][1:]}
    assert summary["Records scored"] == "4"
    assert summary["Beats scored"] == "1400"
    assert summary["Beats flagged"] == "44"
    assert summary["Share flagged (%)"] == "3.14"  # 44 / 1400
    assert summary["Time: score (s)"] == "4.2"  # 4.25 rounded half to even
    assert summary["Time: total (s)"] == "6.5"
    assert ["777", "bad_header", "sampling rate missing"] in page.tables["rejected"]
    assert "score stage retried once" in page.text
    assert "ae-2024-06-01" in "".join(page.text)


def test_report_has_no_external_references(busy_night: NightReport, tmp_path: Path) -> None:
    path = render_night_report(busy_night, tmp_path / "night.html")
    page = _parse(path)
    links = [
        value
        for _, attrs in page.tags
        for name, value in attrs.items()
        if name in ("src", "href") and value is not None
    ]
    assert links  # the images
    for value in links:
        assert not value.lower().startswith(("http", "//", "file:")), value
    assert not page.all_of("script")
    assert not page.all_of("link")
    assert "://" not in path.read_text(encoding="utf-8")


def test_every_image_is_an_embedded_real_png(busy_night: NightReport, tmp_path: Path) -> None:
    page = _parse(render_night_report(busy_night, tmp_path / "night.html"))
    images = page.all_of("img")
    assert len(images) == 3  # flagged over time, top beats, signal strips
    prefix = "data:image/png;base64,"
    for attrs in images:
        src = attrs["src"] or ""
        assert src.startswith(prefix)
        data = base64.b64decode(src[len(prefix) :], validate=True)
        assert data.startswith(PNG_SIGNATURE)
        pixels = matplotlib.image.imread(io.BytesIO(data), format="png")
        assert pixels.shape[0] >= 100
        assert pixels.shape[1] >= 100
        assert float(pixels.std()) > 0.0
        assert attrs["alt"]


def test_records_table_is_ordered_by_share_flagged(busy_night: NightReport, tmp_path: Path) -> None:
    page = _parse(render_night_report(busy_night, tmp_path / "night.html"))
    head, *rows = page.tables["records"]
    assert head == ["Record", "Beats", "Flagged", "Share flagged (%)", "Mean HR (bpm)"]
    assert [row[0] for row in rows] == ["119", "208", "100", "105"]
    assert [row[3] for row in rows] == ["10.00", "5.00", "1.00", "0.00"]
    assert all(60 <= float(row[4]) <= 100 for row in rows)  # beats 0.6-1.0 s apart


def test_html_special_characters_are_escaped(tmp_path: Path) -> None:
    name = '<b>x&"y"</b>'
    reason = "<script>alert('boo')</script> & more"
    night = _night(
        [_record(name, 200, 5, seed=1)],
        [_top_beat(name, 1, ref_symbol="<")],
        rejected=[RejectedDelivery(name, "bad<kind>", reason)],
        notes=("<i>note</i>",),
    )
    path = render_night_report(night, tmp_path / "night.html")
    raw = path.read_text(encoding="utf-8")
    assert "<script>" not in raw
    assert "<b>x" not in raw
    assert "<i>note" not in raw
    assert "&lt;script&gt;" in raw
    assert "&lt;b&gt;x&amp;&quot;y&quot;&lt;/b&gt;" in raw
    page = _parse(path)
    assert not page.all_of("script")
    assert not page.all_of("b")
    assert page.tables["records"][1][0] == name  # the text reads back unchanged
    assert page.tables["rejected"][1] == [name, "bad<kind>", reason]
    assert "<i>note</i>" in page.text


def test_empty_night_renders_without_figures(tmp_path: Path) -> None:
    night = _night([], [], model_version=None)
    path = render_night_report(night, tmp_path / "night.html")
    page = _parse(path)
    text = "".join(page.text)
    assert not page.all_of("img")
    assert not page.all_of("figure")
    assert "Nothing was scored this night." in text
    assert "no model was available" in text
    assert "records" not in page.tables
    assert "rejected" not in page.tables
    summary = {row[0]: row[1] for row in page.tables["summary"][1:]}
    assert summary["Beats scored"] == "0"
    assert summary["Share flagged (%)"] == "0.00"


def test_records_without_flagged_beats_get_no_panel(tmp_path: Path) -> None:
    night = _night([_record("100", 300, 0, seed=1)], [])
    page = _parse(render_night_report(night, tmp_path / "night.html"))
    assert not page.all_of("img")
    assert "No record had a flagged beat to draw." in page.text
    assert [row[0] for row in page.tables["records"][1:]] == ["100"]


def test_at_most_twelve_records_are_plotted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # r01 has the highest share flagged (20 of 100), r20 the lowest (1 of 100).
    records = [_record(f"r{i:02d}", 100, 21 - i, seed=i) for i in range(1, 21)]
    records += [_record("quiet1", 100, 0, seed=30), _record("quiet2", 100, 0, seed=31)]
    panels: list[str] = []
    real = night_figures._over_time_panel

    def spy(ax: Axes, record: RecordNight) -> str:
        panels.append(record.record)
        return real(ax, record)

    monkeypatch.setattr(night_figures, "_over_time_panel", spy)
    page = _parse(render_night_report(_night(records, []), tmp_path / "night.html"))
    expected = [f"r{i:02d}" for i in range(1, 13)]
    assert panels == expected
    caption = page.captions["over-time"]
    assert "Shown: " + ", ".join(expected) + "." in caption
    assert "8 more records with flagged beats were left out: r13, " in caption
    assert "quiet" not in caption
    assert len(page.tables["records"]) == 1 + 22  # the table still lists every record
