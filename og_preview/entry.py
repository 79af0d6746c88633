"""The `og-preview` command: for a batch, a worker zygote starts before anything else.

Importing the CLI (Typer) and reading the command line take about a quarter of a
second; a batch's workers spend that time importing what they run, in a zygote forked
here first (see `zygote.py`). Every other command goes straight to `cli.main`.
"""

from __future__ import annotations

import sys


def main() -> None:
    if "batch" in sys.argv[1:]:
        try:
            from . import zygote

            zygote.start(zygote.wanted_capacity(sys.argv))
        except Exception:  # an optimisation only: the batch starts its workers itself then
            pass
    from .cli import main as cli_main

    cli_main()
