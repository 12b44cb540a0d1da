"""Crash points: where the crash-safety tests kill the pipeline, and only there.

``BEATWATCH_CRASH_AT="<point>[:<detail substring>][@<n>]"`` makes the process kill itself
with SIGKILL the ``n``-th time (default 1) it reaches ``crash_point(point, detail)`` with a
matching detail, e.g. ``write:lake/beats@3`` (the third beat Parquet, written but not yet
renamed into place), ``epoch@2`` (training, after its second epoch), ``transaction:beat_scores``
(inside a warehouse transaction, before its commit), ``write:warehouse.duckdb`` (publishing).
Unset, as in production, every crash point is a dictionary lookup and nothing else.
"""

from __future__ import annotations

import os
import signal
import threading
from collections import Counter

_ENV = "BEATWATCH_CRASH_AT"
_hits: Counter[str] = Counter()
_lock = threading.Lock()


def crash_point(point: str, detail: str = "") -> None:
    """Die here, now, if ``BEATWATCH_CRASH_AT`` names this point (see the module docstring)."""
    spec = os.environ.get(_ENV)
    if not spec:
        return
    target, _, nth = spec.partition("@")
    name, _, wanted_detail = target.partition(":")
    if name != point or wanted_detail not in detail:
        return
    with _lock:
        _hits[target] += 1
        if _hits[target] >= int(nth or 1):
            os.kill(os.getpid(), signal.SIGKILL)
