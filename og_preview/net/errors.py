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
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        os_error = getattr(current, "os_error", None)
        if isinstance(os_error, BaseException) and id(os_error) not in seen:
            yield os_error
        current = current.__cause__ or current.__context__


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
        transient = isinstance(err, socket.gaierror) and err.errno == socket.EAI_AGAIN
        detail = f" ({err.strerror})" if err.strerror else ""
        host = where.rsplit(":", 1)[0]
        return ErrorInfo(kind=ErrorKind.DNS, message=f"could not resolve {host}{detail}"), transient
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
