"""The `og-preview` command."""

from __future__ import annotations


def main() -> None:
    from .cli import main as cli_main

    cli_main()
