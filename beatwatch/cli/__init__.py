"""The ``beatwatch`` command line: the one place settings are built and the environment read.

Commands live in :mod:`beatwatch.cli.pipeline` (run the pipeline, read its results) and
:mod:`beatwatch.cli.ops` (server, serving, retrains, the champion); importing them
registers them on the one Typer ``app`` (:mod:`beatwatch.cli.common`), in that order.
"""

from __future__ import annotations

import sys

# Importing a command module registers its commands; --help lists them in this order.
# isort: off
from beatwatch.cli import pipeline  # noqa: F401
from beatwatch.cli import ops  # noqa: F401

# isort: on
from beatwatch.cli.common import app

__all__ = ["app", "main"]


def main() -> None:
    """Entry point of the ``beatwatch`` script."""
    app(prog_name="beatwatch")


if __name__ == "__main__":
    sys.exit(main())
