"""Great Expectations suites, one JSON file per table, versioned beside the code.

``recording.json`` checks header facts, ``signal.json`` a per-lead profile of every sample,
``annotations.json`` the reference annotations. ``{"$PARAMETER": name}`` values are filled at
validation time from ``Settings.validation`` (see ``beatwatch.validation``).
"""

from pathlib import Path

SUITES_DIR = Path(__file__).resolve().parent
SUITE_NAMES: tuple[str, ...] = ("recording", "signal", "annotations")
