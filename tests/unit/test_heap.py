"""freeze_imports: what exists is frozen once; what a run creates later is still collected."""

from __future__ import annotations

import gc
import weakref

from beatwatch.heap import freeze_imports


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
