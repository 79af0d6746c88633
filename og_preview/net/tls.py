"""TLS for fetching: the system's CA certificates, loaded when an https URL needs them.

Loading the CA bundle into an SSL context costs about 35 ms. aiohttp builds two
default contexts when it is imported, so a process paid some 70 ms before its first
request, https or not. og-preview's sessions use one context of their own instead
(`CLIENT`): certificates required, host names checked, as `ssl.create_default_context`
makes them, with the certificates loaded by `ensure_certificates()` at the first https
request of the process.
"""

from __future__ import annotations

import os
import ssl
import sys

__all__ = ["CLIENT", "ensure_certificates"]


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
