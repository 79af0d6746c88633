"""og-preview: link previews (OpenGraph, Twitter Card, JSON-LD, HTML fallbacks) for lists of URLs.

    import asyncio, og_preview
    record = asyncio.run(og_preview.preview("https://example.com/"))
    print(record.title, record.image)

The public names are imported lazily, so `import og_preview` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "preview": "pipeline",
    "preview_many": "pipeline",
    "preview_all": "pipeline",
    "parse_saved": "pipeline",
    "Settings": "config",
    "Preview": "record",
    "Metadata": "record",
    "Status": "record",
    "ErrorKind": "record",
    "ErrorInfo": "record",
    "Cache": "cache",
    "CacheError": "cache",
    "Query": "cache",
    "extract": "extract",
    "extract_bytes": "extract",
}

__all__ = ["__version__", *_EXPORTS]

if TYPE_CHECKING:
    from .cache import Cache as Cache
    from .cache import CacheError as CacheError
    from .cache import Query as Query
    from .config import Settings as Settings
    from .extract import extract as extract
    from .extract import extract_bytes as extract_bytes
    from .pipeline import parse_saved as parse_saved
    from .pipeline import preview as preview
    from .pipeline import preview_all as preview_all
    from .pipeline import preview_many as preview_many
    from .record import ErrorInfo as ErrorInfo
    from .record import ErrorKind as ErrorKind
    from .record import Metadata as Metadata
    from .record import Preview as Preview
    from .record import Status as Status


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'og_preview' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
