"""Run one function over a night's items on a few threads; one failure never stops the rest."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

log = logging.getLogger(__name__)

Progress = Callable[[int, int, str, str], None]
"""``progress(done, total, item name, outcome)``, called as each item finishes."""


@dataclass
class BatchResult(Generic[T, R]):
    """Results in input order, and the items that raised (name, ``"Type: message"``)."""

    done: list[tuple[T, R]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)


def map_isolated(
    fn: Callable[[T], R],
    items: Sequence[T],
    *,
    name: Callable[[T], str],
    workers: int = 2,
    progress: Progress | None = None,
    describe: Callable[[R], str] = lambda _: "done",
) -> BatchResult[T, R]:
    """Apply ``fn`` to every item, ``workers`` at a time (threads: numpy, scipy, wfdb and
    Parquet I/O release the GIL). An exception is logged with its traceback and recorded
    against the item; the other items go on."""
    result: BatchResult[T, R] = BatchResult()

    def guarded(item: T) -> tuple[bool, object]:
        try:
            return True, fn(item)
        except Exception as exc:
            log.exception("%s failed", name(item))
            return False, exc

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for done, (item, (ok, value)) in enumerate(
            zip(items, pool.map(guarded, items), strict=True), 1
        ):
            if ok:
                result.done.append((item, value))  # type: ignore[arg-type]
                outcome = describe(value)  # type: ignore[arg-type]
            else:
                result.failed.append((name(item), f"{type(value).__name__}: {value}"))
                outcome = f"FAILED: {value!r}"
            if progress is not None:
                progress(done, len(items), name(item), outcome)
    return result
