"""`og-preview report`: placeholder until the renderer lands."""

from __future__ import annotations


def report() -> None:
    """Write an HTML page of preview cards from the cache."""
