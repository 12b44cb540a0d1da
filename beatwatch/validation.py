"""Validate recordings with the Great Expectations suites kept in ``expectations/``.

Three frames are validated, each against its own suite, for all records of a run at once
(one GX validation per suite per run, not per record: GX's fixed cost per validation is
about 0.1 s, which dominated ingest when paid per record):

* ``recording``: one row of header facts per record (:func:`recording_facts`);
* ``signal``: one row per lead, profiled over every sample (:func:`signal_profile`):
  NaN count, largest magnitude in mV, longest flat run in seconds. Profiling in numpy keeps
  validation of a 30-minute, 360 Hz record to milliseconds, and the suite stays independent of
  which leads a record has;
* ``annotations``: the reference annotations themselves, one row per annotation
  (:func:`annotation_frame`).

Every frame carries a ``record`` column; GX reports unexpected rows with it, which splits a
suite's result back into one outcome per record and expectation. GX 1.x has no polars source,
so frames are pandas. One GX file context per process is set up lazily (:func:`suite_runner`);
results are stored in it, and Data Docs built from them at the end of a run.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from wfdb.io.annotation import ann_label_table

from beatwatch.atomic import write_atomic
from beatwatch.recording import Recording, mv_per_unit
from beatwatch.settings import ValidationLimits
from expectations import SUITE_NAMES, SUITES_DIR

ANNOTATION_SYMBOLS: tuple[str, ...] = tuple(str(s) for s in ann_label_table["symbol"])
"""Every annotation code WFDB defines."""

_INDEX_COLUMNS = {"recording": ["record"], "signal": ["record", "lead"], "annotations": ["record"]}
_EXAMPLES = 20  # unexpected rows kept per record and expectation


@dataclass(frozen=True)
class ExpectationOutcome:
    """One expectation's result for one record, as stored in the ``validations`` table."""

    record: str
    suite: str
    expectation: str
    column: str | None
    success: bool
    observed: str
    """JSON: the observed value, or the count and first examples of unexpected values."""
    why: str = ""
    """What the expectation asks, in words (its ``meta.why`` in the suite file)."""

    def describe(self) -> str:
        """One line for a person: ``<suite>.<expectation>(<column>) failed, observed <JSON>
        (expected: <what the expectation asks>)``."""
        column = f"({self.column})" if self.column else ""
        observed = self.observed if len(self.observed) <= 160 else self.observed[:157] + "..."
        why = f" (expected: {self.why})" if self.why else ""
        return f"{self.suite}.{self.expectation}{column} failed, observed {observed}{why}"


def recording_facts(rec: Recording) -> pd.DataFrame:
    """One row of header facts: sampling rate (Hz), duration (s), leads, sample counts."""
    return pd.DataFrame(
        {
            "record": [rec.name],
            "fs_hz": [rec.fs_hz],
            "duration_s": [rec.duration_s],
            "n_leads": [rec.n_leads],
            "n_samples": [rec.n_samples],
            "n_samples_header": [
                rec.n_samples_header if rec.n_samples_header is not None else rec.n_samples
            ],
        }
    )


def longest_flat_run(x: np.ndarray) -> int:
    """Length, in samples, of the longest run of exactly equal consecutive values (NaN never
    equals NaN, so NaN runs do not count). 0 for an empty signal."""
    if x.size == 0:
        return 0
    same = x[1:] == x[:-1]
    edges = np.flatnonzero(np.concatenate(([True], ~same, [True])))
    return int(np.diff(edges).max())


def signal_profile(rec: Recording) -> pd.DataFrame:
    """One row per lead: unit, NaN count, largest magnitude (mV), longest flat run (s)."""
    rows = []
    for j, lead in enumerate(rec.leads):
        x = rec.signals[:, j]
        finite = x[np.isfinite(x)]
        max_abs = float(np.abs(finite).max()) * mv_per_unit(rec.units[j]) if finite.size else 0.0
        rows.append(
            {
                "record": rec.name,
                "lead": lead,
                "unit": rec.units[j],
                "nan_count": int(x.size - finite.size),
                "max_abs_mv": max_abs,
                "longest_flat_s": longest_flat_run(x) / rec.fs_hz,
            }
        )
    return pd.DataFrame(rows)


def annotation_frame(
    record: str, sample: np.ndarray, symbol: np.ndarray, n_samples: int
) -> pd.DataFrame:
    """One row per annotation: sample, step from the previous annotation (samples), symbol,
    and the record's length in samples (to check every annotation lies inside it)."""
    sample = np.asarray(sample, dtype=np.int64)
    step = np.diff(sample, prepend=sample[:1]) if sample.size else sample
    return pd.DataFrame(
        {
            "record": record,
            "sample": sample,
            "sample_step": step,
            "symbol": np.asarray(symbol, dtype=object),
            "n_samples": np.int64(n_samples),
        }
    )


def suite_parameters(limits: ValidationLimits) -> dict[str, Any]:
    """Values for the suites' ``$PARAMETER`` placeholders."""
    return {
        "allowed_fs_hz": list(limits.allowed_fs_hz),
        "min_duration_s": limits.min_duration_s,
        "max_duration_s": limits.max_duration_s,
        "allowed_leads": list(limits.allowed_leads),
        "physical_limit_mv": limits.physical_limit_mv,
        "max_flat_s": limits.max_flat_s,
        "annotation_symbols": list(ANNOTATION_SYMBOLS),
    }


_STAMP_FILE = "beatwatch-set-up.json"
"""In GX's project folder: what :class:`SuiteRunner` stored there (see :func:`_set_up_stamp`)."""


_SET_UP_VERSION = 2
"""Bumped when the set-up stores something new, so that projects set up before are set up
again. 2: the Data Docs sites use :mod:`beatwatch.data_docs_views`."""


def _set_up_stamp(suite_texts: Mapping[str, str], gx_version: str) -> str:
    """What a :class:`SuiteRunner` set-up stores depends on: the suite files (their text,
    by suite name), the result format (index columns), GX's version and the set-up's own
    version. Another stamp means set it up again."""
    return json.dumps(
        {
            "great_expectations": gx_version,
            "suites": dict(suite_texts),
            "unexpected_index_columns": _INDEX_COLUMNS,
            "set_up": _SET_UP_VERSION,
        },
        sort_keys=True,
    )


class SuiteRunner:
    """A Great Expectations file context with Beatwatch's suites, ready to validate frames.

    Parameters
    ----------
    root_dir
        GX keeps its project (results, Data Docs) in ``<root_dir>/gx``.
    suites_dir
        Folder of the versioned suite files (``expectations/``).
    """

    def __init__(self, root_dir: Path, suites_dir: Path = SUITES_DIR) -> None:
        import great_expectations as gx  # heavy import, only where validation happens

        self._gx = gx
        root_dir.mkdir(parents=True, exist_ok=True)
        self._context = gx.get_context(mode="file", project_root_dir=root_dir)
        self._unrendered: list[Any] = []  # results validated since the last Data Docs build
        self._checkpoints: dict[str, Any] = {}
        self._suites_stored = False  # by this runner: their Data Docs pages are out of date
        # GX's project keeps what the set-up below stores. Storing it again rewrote GX's
        # YAML and JSON files every night (0.15-0.18 s), so a project that already holds it
        # (the stamp file says from which suites and GX version) is only read (0.02 s).
        suite_texts = {
            name: (suites_dir / f"{name}.json").read_text(encoding="utf-8") for name in SUITE_NAMES
        }
        stamp = _set_up_stamp(suite_texts, gx.__version__)
        stamp_file = Path(self._context.root_directory) / _STAMP_FILE
        stored = stamp_file.read_text(encoding="utf-8") if stamp_file.is_file() else None
        if stored != stamp or not self._load_checkpoints():
            self._set_up(suite_texts)
            write_atomic(stamp_file, lambda tmp: tmp.write_text(stamp, encoding="utf-8"))

    def _load_checkpoints(self) -> bool:
        """Load the stored checkpoints; False if one is missing or unreadable."""
        try:
            self._checkpoints = {
                name: self._context.checkpoints.get(f"beatwatch-{name}") for name in SUITE_NAMES
            }
        except Exception:  # missing, or stored by another GX version: set up afresh
            return False
        return True

    def _set_up(self, suite_texts: Mapping[str, str]) -> None:
        """Store the suites (their files' text, by name), their data assets, validation
        definitions and checkpoints; have the Data Docs sites cache their compiled page
        templates (:mod:`beatwatch.data_docs_views`)."""
        from great_expectations.data_context.types.base import ProgressBarsConfig

        from beatwatch.data_docs_views import with_cached_views

        gx, ctx = self._gx, self._context
        self._suites_stored = True
        ctx.enable_analytics(False)
        ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
        for site_name, site in list(ctx.list_data_docs_sites().items()):
            ctx.update_data_docs_site(site_name, with_cached_views(site))  # type: ignore[arg-type]
        source = ctx.data_sources.add_or_update_pandas("beatwatch")
        self._checkpoints = {}
        for name in SUITE_NAMES:
            spec = json.loads(suite_texts[name])
            suite = ctx.suites.add_or_update(gx.ExpectationSuite(**spec))
            asset = source.add_dataframe_asset(name)
            batch = asset.add_batch_definition_whole_dataframe("whole")
            definition = ctx.validation_definitions.add_or_update(
                gx.ValidationDefinition(name=name, data=batch, suite=suite)
            )
            self._checkpoints[name] = ctx.checkpoints.add_or_update(
                gx.Checkpoint(
                    name=f"beatwatch-{name}",
                    validation_definitions=[definition],
                    actions=[],
                    result_format={
                        "result_format": "COMPLETE",
                        "unexpected_index_column_names": _INDEX_COLUMNS[name],
                    },
                )
            )

    def validate(
        self, suite: str, frame: pd.DataFrame, parameters: Mapping[str, Any], *, run_name: str
    ) -> dict[str, list[ExpectationOutcome]]:
        """Validate ``frame`` (rows of many records) against ``suite``.

        Returns, for each record in the frame's ``record`` column, one outcome per expectation.
        """
        records = list(dict.fromkeys(frame["record"].tolist()))
        if not records:
            return {}
        result = self._checkpoints[suite].run(
            batch_parameters={"dataframe": frame},
            expectation_parameters=dict(parameters),
            run_id=self._gx.RunIdentifier(run_name=run_name.replace("/", "_")),
        )
        self._unrendered.extend(result.run_results)  # their identifiers
        (suite_result,) = result.run_results.values()
        outcomes: dict[str, list[ExpectationOutcome]] = {r: [] for r in records}
        for res in suite_result.results:
            for record, outcome in _split_by_record(suite, res, records):
                outcomes[record].append(outcome)
        return outcomes

    def build_data_docs(self) -> Path:
        """Render the results validated since the last build, the suites if their pages are
        out of date, and the index page; returns the index page.

        Pages already rendered are kept, not rebuilt. Rebuilding every stored result made
        each night's publish grow with the project's history, by about 6 ms a stored result
        (1.76 s with 300 results); this build grows only with the index page, which lists
        every rendered page (0.36 s with 300; ``benchmarks/data_docs.py``). A suite's page
        is rendered again only when this runner stored the suites (a first night, edited
        suites, another GX version) or the page is missing: rendering the three every night
        took 0.05 s of the build's 0.16 s. The results of a run killed before its build are
        stored, and in the warehouse's ``validations`` table, but get no page.
        """
        from great_expectations.data_context.types.resource_identifiers import (
            ExpectationSuiteIdentifier,
        )

        sites_dirs = [  # a site that is not a local folder never has the page: rendered
            Path(site["site_url"].removeprefix("file://")).parent
            for site in self._context.get_docs_sites_urls(only_if_exists=False)
        ]
        stale = [
            name
            for name in SUITE_NAMES
            if self._suites_stored
            or not all((d / "expectations" / f"{name}.html").is_file() for d in sites_dirs)
        ]
        if not stale and not self._unrendered:  # GX reads no identifiers as "render all"
            stale = list(SUITE_NAMES)
        suites = [ExpectationSuiteIdentifier(name=name) for name in stale]
        sites = self._context.build_data_docs(resource_identifiers=[*self._unrendered, *suites])
        self._unrendered.clear()
        self._suites_stored = False
        url = next(iter(sites.values()))
        return Path(url.removeprefix("file://"))


@cache
def suite_runner(root_dir: Path) -> SuiteRunner:
    """The process's one :class:`SuiteRunner` for ``root_dir`` (set up on first use)."""
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    return SuiteRunner(root_dir)


def _split_by_record(
    suite: str, res: Any, records: list[str]
) -> list[tuple[str, ExpectationOutcome]]:
    """One outcome per record from a result over many records' rows."""
    config = res.expectation_config
    kwargs = config.kwargs
    column = kwargs.get("column") or (
        f"{kwargs['column_A']},{kwargs['column_B']}" if "column_A" in kwargs else None
    )
    info = res.exception_info or {}
    by_record: dict[str, list[Any]] = {r: [] for r in records}
    for row in res.result.get("unexpected_index_list") or []:
        by_record.setdefault(str(row.get("record")), []).append(
            {k: v for k, v in row.items() if k != "record"}
        )

    def outcome(record: str) -> ExpectationOutcome:
        if info.get("raised_exception"):
            success, observed = False, {"error": info.get("exception_message")}
        elif "observed_value" in res.result:  # an aggregate expectation: one value for all
            success, observed = bool(res.success), res.result["observed_value"]
        else:
            bad = by_record[record]
            success = not bad
            observed = {"unexpected_count": len(bad), "unexpected": bad[:_EXAMPLES]}
        return ExpectationOutcome(
            record=record,
            suite=suite,
            expectation=config.type,
            column=column,
            success=success,
            observed=json.dumps(_plain(observed), default=str),
            why=str((config.meta or {}).get("why", "")),
        )

    return [(r, outcome(r)) for r in records]


def _plain(value: Any) -> Any:
    """JSON-friendly copy: numpy scalars to Python, NaN to None, long lists cut to 20."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value[:20]]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
