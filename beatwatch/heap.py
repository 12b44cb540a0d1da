"""Process-wide memory settings for a run: the garbage collector and the C allocator.

* **The garbage collector.** A full collection walks every object the collector tracks.
  After the nightly flow's imports (Prefect, torch, Great Expectations, pandas, ...) that is
  about 520,000 objects, none of them garbage, and each walk holds the interpreter lock, so
  every thread of the night waits: on MIT-BIH the night's three full collections took 1.1 s
  of a 10 s night. Frozen (:func:`freeze_imports`), they take 0.3 s.
* **The C allocator.** A night allocates and frees arrays of a few MB over and over: the
  model's activations (up to 2.6 MB a layer for a batch of 256 beats), a record's lead at
  each filtering step (5.2 MB of float64 for 30 min at 360 Hz). glibc's ``malloc`` serves
  such blocks with fresh ``mmap`` pages, or trims them off its heap once freed, so the next
  block faults every page in again: 2,500 page faults per batch of 256 beats, which made the
  model 1.7x slower on this project's virtual machines (45 against 26 us a beat, on one
  thread). :func:`keep_freed_memory` keeps freed blocks for reuse.
"""

from __future__ import annotations

import ctypes
import gc
import os
from functools import cache

MIB = 1 << 20

# mallopt(3) parameters (glibc's malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3

MMAP_THRESHOLD_BYTES = 32 * MIB
"""Blocks below this come from malloc's heap, not ``mmap``: glibc's largest allowed value
on 64-bit systems (bigger blocks, e.g. a 24-hour lead, still get their own mapping and go
back to the kernel when freed)."""

TRIM_THRESHOLD_BYTES = 256 * MIB
"""Free memory at the top of malloc's heap is returned to the kernel only beyond this. Freed
blocks are reused by the next record, not added to: a 24-hour recording's night peaked at
1.47 and 1.50 GB, against 1.45 and 1.43 GB with glibc's defaults (2 alternating nights)."""


@cache
def freeze_imports() -> int:
    """Move every object the collector tracks now into its permanent generation, once per
    process (later calls do nothing); returns how many objects that froze.

    Call it after the process has imported what it runs with, before the work. Objects
    created afterwards (a night's records, frames, results) are collected as before; the
    frozen ones are modules and their tables, which live as long as the process anyway.
    """
    gc.freeze()
    return gc.get_freeze_count()


@cache
def keep_freed_memory(
    mmap_threshold_bytes: int = MMAP_THRESHOLD_BYTES,
    trim_threshold_bytes: int = TRIM_THRESHOLD_BYTES,
) -> bool:
    """Have glibc's ``malloc`` keep the memory a run frees for its next allocations instead
    of handing it back to the kernel (``mallopt(3)``: ``M_MMAP_THRESHOLD``,
    ``M_TRIM_THRESHOLD``, both in bytes), once per process.

    Returns True if the allocator took both settings; False, and nothing changes, with
    another C library (musl, macOS), where this is only a missed speed-up. Process-wide and
    safe to call with threads running; call it before the work. The memory kept goes with
    the run's process: Prefect runs each deployment's flow run in a process of its own
    (``beatwatch serve`` and process work pools alike), and the ``beatwatch`` commands exit
    after their flow.
    """
    if not _glibc():
        return False
    mallopt = ctypes.CDLL(None).mallopt
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    took_mmap = mallopt(_M_MMAP_THRESHOLD, mmap_threshold_bytes) == 1
    took_trim = mallopt(_M_TRIM_THRESHOLD, trim_threshold_bytes) == 1
    return took_mmap and took_trim


def _glibc() -> bool:
    """Whether this process runs on glibc (the only C library whose ``mallopt`` takes these
    parameters with these meanings)."""
    try:
        version = os.confstr("CS_GNU_LIBC_VERSION")
    except (ValueError, OSError):  # the name is unknown off glibc
        return False
    return bool(version) and version.startswith("glibc")
