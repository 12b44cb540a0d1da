"""Signal profiling and the Great Expectations suites, on constructed frames."""

import json
import shutil
from pathlib import Path
from typing import Any

import great_expectations as gx
import jinja2
import numpy as np
import pandas as pd
import pytest

from beatwatch import data_docs_views
from beatwatch.settings import ValidationLimits
from beatwatch.validation import (
    SuiteRunner,
    annotation_frame,
    longest_flat_run,
    signal_profile,
    suite_parameters,
)
from expectations import SUITES_DIR


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([], 0),
        ([1.0], 1),
        ([1.0, 2.0, 3.0], 1),
        ([1.0, 1.0, 2.0, 2.0, 2.0, 3.0], 3),
        ([5.0] * 10, 10),
        ([np.nan, np.nan, 1.0], 1),  # NaN never equals NaN: not a flat run
    ],
)
def test_longest_flat_run(values: list[float], expected: int) -> None:
    assert longest_flat_run(np.asarray(values, dtype=np.float32)) == expected


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory) -> SuiteRunner:
    return SuiteRunner(tmp_path_factory.mktemp("gx"))


def _params() -> dict:
    return suite_parameters(ValidationLimits())


def _facts(**overrides) -> pd.DataFrame:
    row = dict(
        record="r",
        fs_hz=360.0,
        duration_s=60.0,
        n_leads=2,
        n_samples=21_600,
        n_samples_header=21_600,
    )
    row.update(overrides)
    return pd.DataFrame([row])


def test_recording_suite_passes_good_facts(runner: SuiteRunner) -> None:
    outcomes = runner.validate("recording", _facts(), _params(), run_name="t")
    assert list(outcomes) == ["r"]
    assert len(outcomes["r"]) == 4
    assert all(o.success for o in outcomes["r"])


@pytest.mark.parametrize(
    ("overrides", "failing_column"),
    [
        ({"fs_hz": 333.0}, "fs_hz"),
        ({"duration_s": 4.0}, "duration_s"),
        ({"n_samples_header": 30_000}, "n_samples,n_samples_header"),
        ({"n_leads": 0}, "n_leads"),
    ],
)
def test_recording_suite_catches(runner: SuiteRunner, overrides: dict, failing_column: str) -> None:
    frame = pd.concat([_facts(record="good"), _facts(record="bad", **overrides)], ignore_index=True)
    outcomes = runner.validate("recording", frame, _params(), run_name="t")
    assert all(o.success for o in outcomes["good"])  # one bad record fails alone
    failed = [o for o in outcomes["bad"] if not o.success]
    assert [o.column for o in failed] == [failing_column]
    assert failed[0].describe().startswith("recording.expect_")


def test_signal_suite_names_the_lead(runner: SuiteRunner) -> None:
    profile = pd.DataFrame(
        [
            dict(
                record="r", lead="MLII", unit="mV", nan_count=0, max_abs_mv=2.1, longest_flat_s=0.2
            ),
            dict(
                record="r", lead="V1", unit="mV", nan_count=7, max_abs_mv=1.5, longest_flat_s=312.0
            ),
        ]
    )
    outcomes = runner.validate("signal", profile, _params(), run_name="t")
    failed = {o.column: json.loads(o.observed) for o in outcomes["r"] if not o.success}
    assert set(failed) == {"nan_count", "longest_flat_s"}
    assert failed["longest_flat_s"]["unexpected"][0]["lead"] == "V1"
    assert failed["nan_count"]["unexpected_count"] == 1


def test_annotation_suite_per_record(runner: SuiteRunner) -> None:
    good = annotation_frame(
        "ok", np.array([10, 400, 400, 900]), np.array(["N", "V", "+", "N"]), 1000
    )
    bad = annotation_frame(
        "bad", np.array([10, 900, 400, 5000]), np.array(["N", "N", "Z", "N"]), 1000
    )
    outcomes = runner.validate("annotations", pd.concat([good, bad]), _params(), run_name="t")
    assert all(o.success for o in outcomes["ok"])
    failed = {o.column: json.loads(o.observed) for o in outcomes["bad"] if not o.success}
    assert set(failed) == {"sample_step", "n_samples,sample", "symbol"}
    assert failed["n_samples,sample"]["unexpected_count"] == 1
    assert failed["symbol"]["unexpected"][0]["symbol"] == "Z"


def test_signal_profile_in_millivolts(tmp_path: Path, make_record) -> None:
    from beatwatch.inbox import scan_inbox
    from beatwatch.recording import read_wfdb_recording

    make_record(tmp_path, "p1", duration_s=40.0)
    rec = read_wfdb_recording(scan_inbox(tmp_path).records[0])
    profile = signal_profile(rec)
    assert profile["lead"].tolist() == list(rec.leads)
    assert (profile["nan_count"] == 0).all()
    np.testing.assert_allclose(profile["max_abs_mv"], np.abs(rec.signals).max(axis=0), rtol=1e-6)
    assert (profile["longest_flat_s"] < 1.0).all()


def test_data_docs_are_built(runner: SuiteRunner) -> None:
    runner.validate("recording", _facts(), _params(), run_name="docs")
    index = runner.build_data_docs()
    assert index.name == "index.html"
    assert index.is_file()


def test_data_docs_render_each_run_once_and_index_every_run(tmp_path: Path) -> None:
    runner = SuiteRunner(tmp_path)
    first_index = runner.build_data_docs()
    runner.validate("recording", _facts(), _params(), run_name="night-1")
    runner.build_data_docs()
    site = first_index.parent
    (first,) = site.glob("validations/recording/night-1/**/*.html")
    rendered_at = first.stat().st_mtime_ns

    runner.validate("recording", _facts(record="q"), _params(), run_name="night-2")
    index = runner.build_data_docs()
    assert len(list(site.glob("validations/recording/night-2/**/*.html"))) == 1
    assert first.stat().st_mtime_ns == rendered_at  # the earlier night's page, not rebuilt
    page = index.read_text(encoding="utf-8")
    assert "night-1" in page
    assert "night-2" in page
    assert {p.name for p in site.glob("expectations/*.html")} == {
        "recording.html",
        "signal.html",
        "annotations.html",
    }


def _gx_files(root: Path) -> dict[str, int]:
    """GX's stored configuration (not results or Data Docs): file -> modification time, ns."""
    gx_dir = root / "gx"
    return {
        str(p.relative_to(gx_dir)): p.stat().st_mtime_ns
        for p in gx_dir.rglob("*")
        if p.is_file() and "uncommitted" not in p.parts
    }


def test_a_project_set_up_before_is_read_not_stored_again(tmp_path: Path) -> None:
    SuiteRunner(tmp_path)
    stored = _gx_files(tmp_path)
    assert any(name.startswith("checkpoints") for name in stored)

    again = SuiteRunner(tmp_path)  # the next night's process
    assert _gx_files(tmp_path) == stored  # nothing rewritten
    good = again.validate("recording", _facts(), _params(), run_name="t")
    bad = again.validate("recording", _facts(n_leads=0), _params(), run_name="t")
    assert all(o.success for o in good["r"])
    assert [o.column for o in bad["r"] if not o.success] == ["n_leads"]


def test_an_edited_suite_is_stored_again(tmp_path: Path) -> None:
    suites = tmp_path / "suites"
    suites.mkdir()
    for spec in SUITES_DIR.glob("*.json"):
        (suites / spec.name).write_bytes(spec.read_bytes())
    SuiteRunner(tmp_path / "project", suites)
    recording = json.loads((suites / "recording.json").read_text(encoding="utf-8"))
    (n_leads,) = [e for e in recording["expectations"] if e["kwargs"].get("column") == "n_leads"]
    n_leads["kwargs"]["max_value"] = 1  # two leads now fail
    (suites / "recording.json").write_text(json.dumps(recording), encoding="utf-8")

    outcomes = SuiteRunner(tmp_path / "project", suites).validate(
        "recording", _facts(n_leads=2), _params(), run_name="t"
    )
    assert [o.column for o in outcomes["r"] if not o.success] == ["n_leads"]


def test_a_project_missing_its_checkpoints_is_set_up_again(tmp_path: Path) -> None:
    SuiteRunner(tmp_path)
    shutil.rmtree(tmp_path / "gx" / "checkpoints")  # the stamp stays: it no longer tells true
    outcomes = SuiteRunner(tmp_path).validate("recording", _facts(), _params(), run_name="t")
    assert all(o.success for o in outcomes["r"])
    assert (tmp_path / "gx" / "checkpoints").is_dir()


def _pages(site: Path) -> dict[str, int]:
    """Data Docs pages: path under the site -> modification time, ns."""
    return {str(p.relative_to(site)): p.stat().st_mtime_ns for p in site.rglob("*.html")}


def test_suite_pages_are_rendered_again_only_when_stale(tmp_path: Path) -> None:
    first = SuiteRunner(tmp_path)  # sets the project up: the suites' pages are rendered
    first.validate("recording", _facts(), _params(), run_name="night-1")
    site = first.build_data_docs().parent
    before = _pages(site)
    suite_pages = {name for name in before if name.startswith("expectations/")}
    assert suite_pages == {f"expectations/{n}.html" for n in ("recording", "signal", "annotations")}

    (site / "expectations" / "signal.html").unlink()  # e.g. a site folder cleaned by hand
    night = SuiteRunner(tmp_path)  # the next night's process: the project is only read
    night.validate("recording", _facts(record="q"), _params(), run_name="night-2")
    night.build_data_docs()
    after = _pages(site)
    assert after["expectations/recording.html"] == before["expectations/recording.html"]
    assert after["expectations/annotations.html"] == before["expectations/annotations.html"]
    assert "expectations/signal.html" in after  # the missing page, rendered again
    assert any("night-2" in name for name in after)  # the night's result, rendered

    unchanged = _pages(site)
    SuiteRunner(tmp_path).build_data_docs()  # nothing new to render
    rebuilt = _pages(site)
    results = [name for name in unchanged if name.startswith("validations/")]
    assert results
    assert all(rebuilt[name] == unchanged[name] for name in results)  # not rendered again


def _compiles(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the Jinja templates compiled from now on."""
    compiled: list[str] = []
    real = jinja2.Environment.compile

    def spy(self: jinja2.Environment, source: Any, name: str | None = None, *a: Any, **k: Any):
        compiled.append(str(name))
        return real(self, source, name, *a, **k)

    monkeypatch.setattr(jinja2.Environment, "compile", spy)
    return compiled


def test_a_later_nights_data_docs_compile_no_template(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "jinja").mkdir()
    cache = data_docs_views.BestEffortBytecodeCache(str(tmp_path / "jinja"))
    monkeypatch.setattr(data_docs_views, "bytecode_cache", lambda: cache)
    compiled = _compiles(monkeypatch)
    first = SuiteRunner(tmp_path / "project")
    first.validate("recording", _facts(), _params(), run_name="night-1")
    site = first.build_data_docs().parent
    assert "page.j2" in compiled  # the first night compiles GX's templates

    compiled.clear()
    night = SuiteRunner(tmp_path / "project")  # the next night's process
    night.validate("recording", _facts(record="q", n_leads=0), _params(), run_name="night-2")
    index = night.build_data_docs()
    assert compiled == []  # loaded from the bytecode cache
    (page,) = site.glob("validations/recording/night-2/**/*.html")
    assert "n_leads" in page.read_text(encoding="utf-8")
    assert "night-2" in index.read_text(encoding="utf-8")


def test_a_bytecode_cache_that_cannot_be_written_loses_no_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = data_docs_views.BestEffortBytecodeCache(str(tmp_path / "gone"))  # no such folder
    monkeypatch.setattr(data_docs_views, "bytecode_cache", lambda: cache)
    runner = SuiteRunner(tmp_path / "project")
    runner.validate("recording", _facts(), _params(), run_name="night-1")
    site = runner.build_data_docs().parent
    assert len(list(site.glob("validations/recording/night-1/**/*.html"))) == 1
    assert {p.name for p in site.glob("expectations/*.html")} == {
        "recording.html",
        "signal.html",
        "annotations.html",
    }
    assert not (tmp_path / "gone").exists()


def test_data_docs_sites_are_given_the_cached_views(tmp_path: Path) -> None:
    SuiteRunner(tmp_path)
    gx_config = tmp_path / "gx" / "great_expectations.yml"
    views = "module_name: beatwatch.data_docs_views"
    assert gx_config.read_text(encoding="utf-8").count(views) == 4  # 3 sections, the index

    # a project set up before the views existed (its stamp is another) gets them
    stamp = tmp_path / "gx" / "beatwatch-set-up.json"
    stamp.write_text(stamp.read_text(encoding="utf-8").replace('"set_up": 2', '"set_up": 1'))
    context = gx.get_context(mode="file", project_root_dir=tmp_path)
    site = context.list_data_docs_sites()["local_site"]
    context.update_data_docs_site("local_site", {k: site[k] for k in site if "builder" not in k})
    assert views not in gx_config.read_text(encoding="utf-8")
    SuiteRunner(tmp_path)
    assert gx_config.read_text(encoding="utf-8").count(views) == 4


def test_cached_views_leave_a_sites_own_choices() -> None:
    own = {"module_name": "mine", "class_name": "MyView"}
    site = {
        "class_name": "SiteBuilder",
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": "d/"},
        "site_section_builders": {"profiling": "None", "validations": {"view": own}},
    }
    config = data_docs_views.with_cached_views(site)
    sections = config["site_section_builders"]
    assert sections["profiling"] == "None"  # turned off by the site: stays off
    assert sections["validations"]["view"] == own
    assert sections["expectations"]["view"]["class_name"] == "CachedPageView"
    assert config["site_index_builder"] == {
        "class_name": "DefaultSiteIndexBuilder",
        "view": {"module_name": "beatwatch.data_docs_views", "class_name": "CachedIndexPageView"},
    }
    assert config["store_backend"] == site["store_backend"]
    assert site["site_section_builders"]["validations"] == {"view": own}  # not changed
    other = {"class_name": "SomeOtherBuilder", "x": 1}
    assert data_docs_views.with_cached_views(other) == other
