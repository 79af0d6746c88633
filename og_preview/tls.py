"""TLS for fetching: the system's CA certificates, loaded when an https URL needs them.

Loading the CA bundle into an SSL context costs about 35 ms. aiohttp builds two
default contexts when it is imported, so a process paid some 70 ms before its first
request, https or not. og-preview's sessions use one context of their own instead
(`CLIENT`): certificates required, host names checked, as `ssl.create_default_context`
makes them, with the certificates loaded by `ensure_certificates()` at the first https
request of the process. `import_aiohttp()` lets the batch's zygote import aiohttp without
the default contexts' loading (og-preview never uses those contexts).
"""

from __future__ import annotations

import os
import ssl
import sys
from collections.abc import Callable
from typing import Any

__all__ = ["CLIENT", "ensure_certificates", "import_aiohttp"]


def _client_context() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED, check_hostname
    context.set_alpn_protocols(["http/1.1"])
    keylog = os.environ.get("SSLKEYLOGFILE")
    if keylog and not sys.flags.ignore_environment:
        context.keylog_filename = keylog  # as create_default_context honours it
    return context


CLIENT = _client_context()
_loaded = False


def ensure_certificates() -> None:
    """Load the system's CA certificates into `CLIENT` (once per process)."""
    global _loaded
    if not _loaded:
        CLIENT.load_default_certs(ssl.Purpose.SERVER_AUTH)
        _loaded = True


def import_aiohttp() -> None:
    """Import aiohttp without loading certificates into its default contexts.

    For a process that nothing else runs in yet (the batch zygote): while aiohttp is
    imported, a context created anywhere else would get no certificates either (it would
    fail every https handshake: unsafe to do where other threads may be making contexts).
    """
    if "aiohttp" in sys.modules:
        return
    create: Callable[..., ssl.SSLContext] = ssl.create_default_context
    overridden = "set_default_verify_paths" in ssl.SSLContext.__dict__

    def bare_context(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)

    def no_paths(self: ssl.SSLContext) -> None:
        return None

    ssl.create_default_context = bare_context
    if not overridden:
        ssl.SSLContext.set_default_verify_paths = no_paths  # type: ignore[method-assign]
    try:
        import aiohttp  # noqa: F401
    finally:
        ssl.create_default_context = create
        if not overridden:
            del ssl.SSLContext.set_default_verify_paths
