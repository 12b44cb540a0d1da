"""Atomic file replacement: readers see the old file or the new one, never a partial one."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from pathlib import Path

from beatwatch.faults import crash_point


def write_atomic(path: Path, write: Callable[[Path], object]) -> Path:
    """Have ``write(tmp)`` produce the file at a hidden temporary path beside ``path``, flush
    it to disk, then rename it over ``path`` (``os.replace`` is atomic on POSIX file systems).

    If ``write`` raises, ``path`` is untouched and the temporary file removed.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{uuid.uuid4().hex}.tmp"
    try:
        write(tmp)
        with tmp.open("rb") as fh:
            os.fsync(fh.fileno())
        crash_point("write", str(path))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
