"""The `og-preview` command.

For a batch on this machine, the worker pool's forkserver starts first thing: it imports
what the workers run (aiohttp, turbohtml, extruct: ~0.7 s) while this process imports
the CLI and reads its options.
"""

from __future__ import annotations

import sys


def _wants_local_workers(args: list[str]) -> bool:
    if "batch" not in args or "--help" in args or "--cluster" in args:
        return False
    return not any(
        (a in ("--workers", "-w") and nxt == "0") or a in ("--workers=0", "-w0")
        for a, nxt in zip(args, [*args[1:], ""], strict=True)
    )


def main() -> None:
    if _wants_local_workers(sys.argv[1:]):
        try:
            from ..run.pool import warm_up

            warm_up()
        except Exception:  # an optimisation only: the pool starts its forkserver itself then
            pass
    from .app import main as cli_main

    cli_main()
