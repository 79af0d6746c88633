"""og-preview: link previews (OpenGraph, Twitter Card, JSON-LD, HTML fallbacks) for lists of URLs.

    import og_preview
    record = og_preview.preview_sync("https://example.com/")  # in async code: await preview()
    print(record.title, record.image)

The public names are imported lazily, so `import og_preview` stays cheap. (Extraction
from a decoded `str` is `og_preview.extract.metadata.extract`: `og_preview.extract` is
the package that does it.)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "preview": "run.pipeline",
    "preview_many": "run.pipeline",
    "preview_all": "run.pipeline",
    "preview_sync": "run.pipeline",
    "preview_all_sync": "run.pipeline",
    "parse_saved": "run.pipeline",
    "watch": "run.watch",
    "WatchStatus": "run.watch",
    "Settings": "config",
    "Preview": "record",
    "Metadata": "record",
    "Status": "record",
    "ErrorKind": "record",
    "ErrorInfo": "record",
    "Cache": "store.cache",
    "CacheError": "store.cache",
    "Query": "store.cache",
    "extract_bytes": "extract.metadata",
}

__all__ = ["__version__", *_EXPORTS]

if TYPE_CHECKING:
    from .config import Settings as Settings
    from .extract.metadata import extract_bytes as extract_bytes
    from .record import ErrorInfo as ErrorInfo
    from .record import ErrorKind as ErrorKind
    from .record import Metadata as Metadata
    from .record import Preview as Preview
    from .record import Status as Status
    from .run.pipeline import parse_saved as parse_saved
    from .run.pipeline import preview as preview
    from .run.pipeline import preview_all as preview_all
    from .run.pipeline import preview_all_sync as preview_all_sync
    from .run.pipeline import preview_many as preview_many
    from .run.pipeline import preview_sync as preview_sync
    from .run.watch import WatchStatus as WatchStatus
    from .run.watch import watch as watch
    from .store.cache import Cache as Cache
    from .store.cache import CacheError as CacheError
    from .store.cache import Query as Query


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'og_preview' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
