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
    from .cache import Cache, CacheError, Query
    from .config import Settings
    from .extract import extract, extract_bytes
    from .pipeline import parse_saved, preview, preview_all, preview_many
    from .record import ErrorInfo, ErrorKind, Metadata, Preview, Status


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'og_preview' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
