"""aiohttp / OS exceptions → `ErrorInfo` (kind + one short human line) and "worth a retry?"."""

from __future__ import annotations

import re
import socket
import ssl
from collections.abc import Iterator

import aiohttp
from aiohttp import http_exceptions
from yarl import URL

from ..config import Settings
from ..record import ErrorInfo, ErrorKind, one_line
from .guard import AddressBlocked

Verdict = tuple[ErrorInfo, bool]  # the error, and whether another attempt may help


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """`exc`, then what it wraps (aiohttp's `os_error`), then its causes, and theirs."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        os_error = getattr(current, "os_error", None)
        if isinstance(os_error, BaseException):
            todo.append(os_error)
        cause = current.__cause__ or current.__context__
        if cause is not None:
            todo.append(cause)


# getaddrinfo() errors another lookup may cure: the DNS server failed or did not answer
# (`resolver.CaresResolver` gives c-ares' failures these errnos too). EAI_NONAME (NXDOMAIN:
# the name does not exist), EAI_NODATA (no address), EAI_FAIL and the rest are final.
_GAI_TEMPORARY = frozenset({socket.EAI_AGAIN})
# What resolvers say when they give no errno (aiohttp's own AsyncResolver raises
# OSError(None, c-ares' message)): a name that does not exist, or a lookup that failed.
_NO_SUCH_NAME = re.compile(
    r"name or service not known|domain name not found|nodename nor servname"
    r"|no address associated|nxdomain|no such host|does not exist|dns lookup failed",
    re.IGNORECASE,
)
_TEMPORARY = re.compile(
    r"temporary failure|try again|timeout|timed out|server failure|servfail"
    r"|connection refused|refused",
    re.IGNORECASE,
)


def _ares_status(cause: BaseException) -> int | None:
    """The c-ares status of an `aiodns.error.DNSError` (its first argument), else None."""
    if type(cause).__name__ != "DNSError" or not type(cause).__module__.startswith("aiodns"):
        return None
    status = cause.args[0] if cause.args else None
    return status if isinstance(status, int) else None


def _ares_is_temporary(status: int) -> bool | None:
    try:
        from pycares import errno as ares
    except ImportError:  # pragma: no cover - aiodns brings pycares
        return None
    if status in (ares.ARES_ENOTFOUND, ares.ARES_ENONAME, ares.ARES_EBADNAME, ares.ARES_ENODATA):
        return False  # NXDOMAIN, a name that cannot exist, a name without an address
    temporary = (
        ares.ARES_ESERVFAIL,
        ares.ARES_ETIMEOUT,
        ares.ARES_ECONNREFUSED,
        ares.ARES_EREFUSED,
        ares.ARES_EOF,
        ares.ARES_EBADRESP,
        ares.ARES_EFORMERR,
    )
    return True if status in temporary else None


def dns_failure_is_temporary(exc: BaseException) -> bool:
    """Whether another lookup may succeed: yes when the DNS server failed or did not
    answer (SERVFAIL, a timeout, `EAI_AGAIN`); no when the answer was that the name does
    not exist (NXDOMAIN: c-ares' `ARES_ENOTFOUND`, getaddrinfo()'s `EAI_NONAME`, "Name or
    service not known", "Domain name not found") or has no address, or when nothing says
    which (a retry would only ask the same question again)."""
    messages: list[str] = []
    for cause in _causes(exc):
        if isinstance(cause, socket.gaierror) and isinstance(cause.errno, int):
            return cause.errno in _GAI_TEMPORARY
        status = _ares_status(cause)
        if status is not None and (verdict := _ares_is_temporary(status)) is not None:
            return verdict
        if isinstance(cause, OSError) and cause.strerror:
            messages.append(cause.strerror)
    text = " ".join(messages)
    if _NO_SUCH_NAME.search(text):
        return False
    return _TEMPORARY.search(text) is not None


def _where(url: str) -> str:
    try:
        parsed = URL(url)
    except ValueError:
        return url
    host = parsed.host or "?"
    host = f"[{host}]" if ":" in host else host
    return f"{host}:{parsed.port}" if parsed.port else host


def _blocked(exc: BaseException) -> str | None:
    for cause in _causes(exc):
        if isinstance(cause, AddressBlocked):
            return cause.reason
        if AddressBlocked.MARKER in str(cause) and isinstance(cause, OSError):
            return one_line(cause)  # several addresses refused at once (happy eyeballs)
    return None


def _timeout(exc: BaseException, where: str, status: int | None, settings: Settings) -> str:
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return f"could not connect to {where} within {settings.connect_timeout:g}s"
    if status is None:
        return f"no response from {where} within {settings.timeout:g}s"
    return f"response from {where} not complete within {settings.timeout:g}s"


def _protocol(exc: aiohttp.ClientResponseError, where: str) -> Verdict:
    """The server's bytes are not HTTP aiohttp accepts (bad status line, huge headers, ...)."""
    for cause in _causes(exc):
        if isinstance(cause, http_exceptions.ContentEncodingError):
            return _decode(cause, where), False
        if isinstance(cause, http_exceptions.LineTooLong):
            return ErrorInfo(
                kind=ErrorKind.CONNECT,
                message=f"{where} sent a header line longer than aiohttp accepts",
            ), False
    detail = exc.message.splitlines()[0] if exc.message else type(exc).__name__
    return ErrorInfo(
        kind=ErrorKind.CONNECT, message=one_line(f"invalid HTTP response from {where}: {detail}")
    ), False


def _decode(exc: BaseException, where: str) -> ErrorInfo:
    match = re.search(r"content-encoding: (\S+)", str(getattr(exc, "message", None) or exc))
    encoding = match.group(1) if match else "compressed"
    return ErrorInfo(
        kind=ErrorKind.DECODE, message=f"could not decode the {encoding} body from {where}"
    )


def _tls(exc: aiohttp.ClientSSLError | ssl.SSLError, where: str) -> ErrorInfo:
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        cert = exc.certificate_error
        why = getattr(cert, "verify_message", None) or cert
        return ErrorInfo(
            kind=ErrorKind.TLS, message=one_line(f"TLS certificate of {where} rejected: {why}")
        )
    err = exc.os_error if isinstance(exc, aiohttp.ClientSSLError) else exc
    why = getattr(err, "reason", None) or err
    return ErrorInfo(
        kind=ErrorKind.TLS, message=one_line(f"TLS handshake with {where} failed: {why}")
    )


def classify(exc: BaseException, url: str, status: int | None, settings: Settings) -> Verdict:
    """What went wrong, for people, and whether retrying could help."""
    where = _where(url)
    if (reason := _blocked(exc)) is not None:
        return ErrorInfo(kind=ErrorKind.BLOCKED, message=reason), False
    if isinstance(exc, TimeoutError):  # also aiohttp's ServerTimeoutError family
        return ErrorInfo(
            kind=ErrorKind.TIMEOUT, message=_timeout(exc, where, status, settings)
        ), True
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        err = exc.os_error
        detail = f" ({err.strerror})" if err.strerror else ""
        host = where.rsplit(":", 1)[0]
        message = f"could not resolve {host}{detail}"
        return ErrorInfo(kind=ErrorKind.DNS, message=message), dns_failure_is_temporary(exc)
    if isinstance(exc, aiohttp.ClientSSLError | ssl.SSLError):
        return _tls(exc, where), False
    if isinstance(exc, aiohttp.ClientConnectorError):
        err = exc.os_error
        if isinstance(err, ConnectionRefusedError):
            message = f"connection refused by {where}"
        else:
            message = f"could not connect to {where}: {err.strerror or err}"
        return ErrorInfo(kind=ErrorKind.CONNECT, message=one_line(message)), True
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        when = "before responding" if status is None else "mid-response"
        return ErrorInfo(
            kind=ErrorKind.CONNECT, message=f"{where} closed the connection {when}"
        ), True
    if isinstance(exc, aiohttp.ClientPayloadError):
        for cause in _causes(exc):
            if isinstance(cause, http_exceptions.ContentEncodingError):
                return _decode(cause, where), False
        return ErrorInfo(
            kind=ErrorKind.CONNECT, message=f"connection to {where} broke while reading the body"
        ), True
    if isinstance(exc, aiohttp.ClientResponseError):
        return _protocol(exc, where)
    if isinstance(exc, ValueError):  # aiohttp.InvalidURL, or yarl refusing a URL
        return ErrorInfo(kind=ErrorKind.INVALID_URL, message=one_line(f"invalid URL: {exc}")), False
    if isinstance(exc, aiohttp.ClientError | OSError):
        return ErrorInfo(
            kind=ErrorKind.CONNECT, message=one_line(f"connection to {where} failed: {exc}")
        ), True
    return ErrorInfo(
        kind=ErrorKind.CONNECT,
        message=one_line(f"unexpected {type(exc).__name__} fetching {where}: {exc}"),
    ), False
