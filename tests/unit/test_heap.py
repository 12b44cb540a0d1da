"""beatwatch.heap: freeze_imports (what exists is frozen once; what a run creates later is
still collected) and keep_freed_memory (freed memory is reused, not faulted in again)."""

from __future__ import annotations

import ctypes
import gc
import os
import subprocess
import sys
import weakref

import pytest

from beatwatch.heap import _glibc, freeze_imports, keep_freed_memory


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


def _cycle() -> weakref.ref[_Node]:
    a, b = _Node(), _Node()
    a.other, b.other = b, a  # garbage only the cycle collector can free
    return weakref.ref(a)


def test_existing_objects_are_frozen_once_and_later_garbage_is_still_collected() -> None:
    gc.unfreeze()  # as in a new process: an earlier test's flow may have frozen already
    freeze_imports.cache_clear()
    before = _cycle()  # garbage that exists when the first call freezes
    frozen = freeze_imports()
    assert frozen > 1000  # this process's imports, at least

    later = _cycle()  # a night's garbage, made after the freeze
    freeze_imports()  # a second night in the same process: must not freeze it
    gc.collect()
    assert later() is None
    assert before() is not None  # it was frozen with everything else: kept, by design


# ---------------------------------------------------------------- keep_freed_memory

_CHURN = """
import resource, sys
import numpy as np
from beatwatch.heap import keep_freed_memory

if sys.argv[1] == "keep":
    assert keep_freed_memory()


def churn():  # what a record's filtering or a batch's activations do: MBs made and freed
    arrays = [np.ones(1 << 20) for _ in range(3)]  # 3 x 8 MB, every page written
    del arrays


churn()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    churn()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _page_faults(mode: str) -> int:
    """Minor page faults of 20 rounds of allocating and freeing 24 MB, in a new process
    (malloc's settings are process-wide)."""
    done = subprocess.run(
        [sys.executable, "-c", _CHURN, mode], capture_output=True, text=True, check=True
    )
    return int(done.stdout)


@pytest.mark.skipif(not _glibc(), reason="mallopt's settings exist on glibc only")
def test_freed_memory_is_reused_instead_of_faulted_in_again() -> None:
    pages = 3 * (8 << 20) // 4096  # one round's pages
    assert _page_faults("default") > 2 * pages  # glibc's defaults: the kernel's again
    assert _page_faults("keep") < pages // 10  # kept: each round reuses the last one's


def test_other_c_libraries_are_left_as_they_are(monkeypatch: pytest.MonkeyPatch) -> None:
    def unknown(name: str) -> str:
        raise ValueError(f"unrecognized configuration name {name!r}")  # as off glibc

    def no_libc(*args: object) -> None:
        raise AssertionError("mallopt must not be called off glibc")

    monkeypatch.setattr(os, "confstr", unknown)
    monkeypatch.setattr(ctypes, "CDLL", no_libc)
    assert keep_freed_memory.__wrapped__() is False
