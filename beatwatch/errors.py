"""Errors that name the file at fault and the reason, so an operator can act on them."""

from __future__ import annotations

from pathlib import Path


class RejectedInput(Exception):
    """An input that Beatwatch refuses, for a reason an operator can read and fix.

    Raised by the domain code for bad deliveries (truncated signal files, corrupt headers,
    annotations that do not belong, ...). The pipeline catches it per record, quarantines the
    originals with ``reason`` and goes on with the other records.

    Parameters
    ----------
    path
        The file at fault (or the record's header when the whole record is at fault).
    reason
        One sentence, for a person: what is wrong and, where possible, what was expected.
    kind
        A short stable category used in the ``quarantine`` table, e.g. ``"truncated_signal"``.
    """

    def __init__(self, path: Path, reason: str, *, kind: str) -> None:
        self.path = Path(path)
        self.reason = reason
        self.kind = kind
        super().__init__(f"{self.path}: {reason}")
